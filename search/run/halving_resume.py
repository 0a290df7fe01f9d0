"""Resume a `--scheduler sha` search from its stored batches (search/schedulers/halving_state.py).

A driver that dies leaves, besides its trial folders, the state of its batches. The new driver:

- keeps a decided batch's verdict: its losers stay STOPPED (their folders stay where they are,
  their rows come from the state), its winners that had not finished go on from their rung
  snapshot without being judged again;
- keeps an open batch: its trials that were paused at the rung (scored, with a snapshot) are
  carried over: new Tune trials with the same params, which report the same rung report with the
  snapshot as their checkpoint, so the scheduler pauses them until the batch is complete; the
  batch's other trials (running before the rung) are run again as new samples in their places;
- runs only the rest of the budget.

A carried trial's snapshot is found in its folder after resume.py moved it to
`<search>.interrupted/`, or, for a trial carried once already that had not reported it again, where
its own `carried_from` says.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow.fs

from analysis.results import STOPPED
from search import storage
from search.run.resume import InterruptedSearch
from search.schedulers.early_stopping import rung_reached
from search.schedulers.halving_state import HalvingState, TrialRecord
from trainables.trial_keys import PROGRESS_TIME, SNAPSHOT_FILE

_CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")
_LAUNCH = re.compile(r"_([0-9a-f]{8})_(\d+)_")


@dataclass
class HalvingResume:
    """What a new driver does with a dead driver's batches: the scheduler's start, the carried and kept trials."""

    state: HalvingState  # the batches for the new scheduler (SynchronousHalving.keep_state)
    carried: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (params, marker)
    stopped: list[TrialRecord] = field(default_factory=list)  # losers of decided batches, kept
    tune_path: str = ""  # the search's Tune folder (a local path or a URI)

    @property
    def carried_ids(self) -> list[str]:
        return [marker["trial_id"] for _, marker in self.carried]

    def rows(self, base: dict[str, Any], trial_rungs: Sequence[float]) -> list[dict[str, Any]]:
        """Results-table rows of the kept losers: STOPPED, with their rung report's metrics."""
        rows = []
        for record in self.stopped:
            report = dict(record.report or {})
            match = _LAUNCH.search(record.folder + "_")
            row: dict[str, Any] = {**base, "trial_index": int(match.group(2)) - 1 if match else -1}
            row["trial_id"] = record.trial_id
            row.update(record.params)
            row["params"] = json.dumps(record.params, default=str)
            row.update(report)
            row.update(
                status=STOPPED,
                rung=rung_reached(report.get(PROGRESS_TIME), list(trial_rungs)),
                error=None,
                node=report.get("node"),
                duration_s=record.seconds,
                checkpoint=None,
                trial_path=f"{storage.filesystem(self.tune_path)[1]}/{record.folder}",
            )
            rows.append(row)
        return rows

    def stopped_snapshots(self) -> list[str]:
        """The kept losers' snapshot checkpoints, deleted once the search ends (as a stopped trial's are)."""
        fs, path = storage.filesystem(self.tune_path)
        found = (_snapshot_in(fs, f"{path}/{record.folder}", self.tune_path) for record in self.stopped)
        return [location for location in found if location]


def kept_folders(state: HalvingState | None) -> set[str]:
    """The folders of the losers of decided batches: they stay in place (resume.py moves the rest aside)."""
    if state is None:
        return set()
    return {
        state.records[tid].folder for batch in state.batches for tid in batch.losers if tid in state.records
    }


def plan_resume(state: HalvingState, resumed: InterruptedSearch, tune_path: str) -> HalvingResume:
    """What goes on of `state` once `resumed` (resume.interrupted_search) kept and moved the trial folders."""
    fs, fs_path = storage.filesystem(tune_path)
    finished = {trial.trial_id for trial in resumed.finished}
    aside = resumed.set_aside

    def snapshot(record: TrialRecord) -> str | None:
        found = _snapshot_in(fs, f"{aside}/{record.folder}", tune_path) if aside else None
        earlier = (record.carried_from or {}).get("snapshot")
        if found is None and earlier and storage.exists(earlier):
            found = earlier
        return found

    plan = HalvingResume(HalvingState([], {}), tune_path=tune_path)
    for batch in state.batches:
        if batch.decided:
            for tid in batch.losers:
                record = state.records.get(tid)
                if record and record.report is not None and _is_dir(fs, f"{fs_path}/{record.folder}"):
                    plan.stopped.append(record)
            for tid in batch.winners or ():
                record = state.records.get(tid)
                if tid not in finished and record is not None:
                    plan.carried.append((record.params, _marker(record, snapshot(record))))
            plan.state.batches.append(batch)
            continue
        keep = []
        for tid in batch.trial_ids:
            record = state.records.get(tid)
            location = snapshot(record) if record and tid in batch.scores else None
            if tid in batch.ended and tid in finished:
                keep.append(tid)
            elif record is not None and record.report is not None and location is not None:
                keep.append(tid)
                plan.carried.append((record.params, _marker(record, location)))
        batch.trial_ids = keep
        batch.scores = {tid: score for tid, score in batch.scores.items() if tid in keep}
        batch.ended &= set(keep)
        plan.state.batches.append(batch)
    referenced = {tid for batch in plan.state.batches for tid in batch.trial_ids}
    plan.state.records = {tid: record for tid, record in state.records.items() if tid in referenced}
    return plan


def _marker(record: TrialRecord, snapshot: str | None) -> dict[str, Any]:
    """The CARRIED_TRIAL config value of the trial that continues `record`'s."""
    return {"trial_id": record.trial_id, "snapshot": snapshot, "report": record.report}


def _is_dir(fs: pyarrow.fs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pyarrow.fs.FileType.Directory


def _snapshot_in(fs: pyarrow.fs.FileSystem, trial_dir: str, like: str) -> str | None:
    """The location (a URI where `like` is one) of the last checkpoint in `trial_dir` that holds a training snapshot."""
    if not _is_dir(fs, trial_dir):
        return None
    checkpoints = sorted(
        (int(m.group(1)), info.path)
        for info in fs.get_file_info(pyarrow.fs.FileSelector(trial_dir))
        if info.type == pyarrow.fs.FileType.Directory and (m := _CHECKPOINT_DIR.match(info.base_name))
    )
    for _, path in reversed(checkpoints):
        if fs.get_file_info(f"{path}/{SNAPSHOT_FILE}").type == pyarrow.fs.FileType.File:
            return storage.as_uri(path, like)
    return None
