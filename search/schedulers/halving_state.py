"""The state of a `--scheduler sha` search, kept with the run so that a new driver continues its batches.

`<storage>/<experiment>/tune/<search>/sha_state.json` holds every batch (its trials in the order
they joined, their rung scores, which ended before the rung, the verdict) and, for each trial, its
folder, its sampled params, its rung report and, for a trial carried over from a dead driver,
which trial it continues and from which training snapshot. SynchronousHalving rewrites it at
every rung score and verdict (search/schedulers/sync_halving.py) through `search.storage.write_bytes`: a temp file
renamed over the old one on a local disk, one whole object (PUT) on object storage, so a driver
killed mid-write leaves the previous state readable. search/run/halving_resume.py reads it.

A state file that cannot be read (not JSON, another version, fields missing or of the wrong type)
is moved aside to `sha_state.json.broken[-n]` with a warning: the resumed search then runs every
unfinished trial again and judges its batches again, as a search without a state would.
"""

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow.fs

from errors import ConfigError
from search import storage

log = logging.getLogger(__name__)

STATE_FILE = "sha_state.json"
STATE_VERSION = 1
# Ray Tune's own result keys (ray.tune.result.AUTO_RESULT_KEYS and the trial's bookkeeping): not
# part of a trial's rung report, which a carried trial reports again.
TUNE_RESULT_KEYS = frozenset(
    {
        "training_iteration",
        "time_total_s",
        "episodes_total",
        "timesteps_total",
        "node_ip",
        "hostname",
        "pid",
        "time_this_iter_s",
        "timestamp",
        "date",
        "time_since_restore",
        "timesteps_since_restore",
        "iterations_since_restore",
        "config",
        "checkpoint_dir_name",
        "trial_id",
        "done",
        "experiment_tag",
        "should_checkpoint",
    }
)


@dataclass
class Batch:
    """The trials of one batch (in the order Tune added them), their rung scores, and the verdict."""

    size: int  # trials it waits for; a batch closed early (see `close`) waits for those it has
    trial_ids: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)  # ended before the rung (completed, errored, removed)
    winners: list[str] | None = None  # None until decided
    losers: list[str] = field(default_factory=list)
    decided_by: str | None = None  # the trial whose rung result completed it: it goes on unpaused

    @property
    def decided(self) -> bool:
        return self.winners is not None

    def full(self) -> bool:
        return len(self.trial_ids) >= self.size

    def ready(self) -> bool:
        """Every trial is in and each has a score or has ended: the batch can be decided."""
        return self.full() and all(tid in self.scores or tid in self.ended for tid in self.trial_ids)

    def decide(self, mode: str, reduction_factor: int) -> None:
        """Keep the best ceil(n_scored / reduction_factor) scores (at least one); ties go to the earlier trial."""
        scored = [tid for tid in self.trial_ids if tid in self.scores]
        order = {tid: index for index, tid in enumerate(self.trial_ids)}
        ranked = sorted(scored, key=lambda tid: (_badness(self.scores[tid], mode), order[tid]))
        keep = max(1, math.ceil(len(scored) / reduction_factor)) if scored else 0
        self.winners, self.losers = ranked[:keep], ranked[keep:]
        self.size = len(self.trial_ids)

    def rename(self, old: str, new: str) -> None:
        """Put trial `new` in the place of `old` (a trial carried over from a dead driver)."""
        self.trial_ids = [new if tid == old else tid for tid in self.trial_ids]
        if old in self.scores:
            self.scores[new] = self.scores.pop(old)
        if old in self.ended:
            self.ended.discard(old)
            self.ended.add(new)
        if self.winners is not None:
            self.winners = [new if tid == old else tid for tid in self.winners]
        self.losers = [new if tid == old else tid for tid in self.losers]
        if self.decided_by == old:
            self.decided_by = new


def _badness(score: float, mode: str) -> float:
    """Sort key: lower is better; a NaN score ranks last."""
    if score != score:
        return math.inf
    return score if mode == "min" else -score


@dataclass
class TrialRecord:
    """What a new driver needs of one trial: its folder, params, rung report and where it came from."""

    trial_id: str
    folder: str  # the trial folder's name in the search's Tune folder
    params: dict[str, Any]
    report: dict[str, Any] | None = None  # its rung report (our keys only); None before the rung
    seconds: float | None = None  # Tune's time_total_s at the rung report
    # A trial carried over from a dead driver: {"trial_id": the trial it continues, "snapshot":
    # the training snapshot's folder (a storage location) or None}.
    carried_from: dict[str, Any] | None = None


@dataclass
class HalvingState:
    """Every batch of one search and a record of each trial in them."""

    batches: list[Batch]
    records: dict[str, TrialRecord]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "batches": [
                {**asdict(batch), "ended": sorted(batch.ended, key=batch.trial_ids.index)}
                for batch in self.batches
            ],
            "records": {tid: asdict(record) for tid, record in self.records.items()},
        }

    @classmethod
    def from_json(cls, value: Any) -> "HalvingState":
        """The state a file held; ValueError (with what is wrong) when it is not one this code wrote."""
        if not isinstance(value, dict) or value.get("version") != STATE_VERSION:
            raise ValueError(f"not a version {STATE_VERSION} state")
        try:
            batches = [_batch(item) for item in value["batches"]]
            records = {str(tid): TrialRecord(**item) for tid, item in value["records"].items()}
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"a field is missing or of the wrong type ({error})") from None
        for record in records.values():
            if not isinstance(record.params, dict) or not isinstance(record.folder, str):
                raise ValueError(f"trial {record.trial_id}: params or folder of the wrong type")
        return cls(batches, records)


def _batch(item: dict[str, Any]) -> Batch:
    batch = Batch(
        size=int(item["size"]),
        trial_ids=[str(tid) for tid in item["trial_ids"]],
        scores={str(tid): float(score) for tid, score in item["scores"].items()},
        ended={str(tid) for tid in item["ended"]},
        winners=None if item["winners"] is None else [str(tid) for tid in item["winners"]],
        losers=[str(tid) for tid in item["losers"]],
        decided_by=item["decided_by"],
    )
    if not set(batch.scores) | batch.ended <= set(batch.trial_ids):
        raise ValueError("a batch scores a trial it does not hold")
    return batch


def state_location(tune_path: str) -> str:
    """Where the state of the search whose Tune folder is `tune_path` lives."""
    return storage.join(tune_path, STATE_FILE)


def write_state(location: str, state: HalvingState) -> None:
    """Replace the state file whole (storage.write_bytes); a failed write is a warning, the search goes on."""
    try:
        storage.write_bytes(location, json.dumps(state.to_json(), indent=1, default=str).encode())
    except (OSError, ConfigError) as error:
        log.warning("could not write %s (%s): a new driver would judge the open batch again", location, error)


def read_state(location: str) -> HalvingState | None:
    """The state stored at `location`; None when there is none, or when it is unreadable (moved aside, warned)."""
    fs, path = storage.filesystem(location)
    if fs.get_file_info(path).type != pyarrow.fs.FileType.File:
        return None
    try:
        return HalvingState.from_json(json.loads(storage.read_bytes(location)))
    except (OSError, ValueError) as error:
        aside = storage.free_name(fs, path, "broken")
        if isinstance(fs, pyarrow.fs.LocalFileSystem):
            fs.move(path, aside)
        else:
            fs.copy_file(path, aside)
            fs.delete_file(path)
        log.warning(
            "%s is not a readable scheduler state (%s); moved to %s: the unfinished trials run "
            "again and their batches are judged again",
            location,
            error,
            aside,
        )
        return None
