"""Resume an interrupted search from what its trial folders hold, never from Tune's pickled state.

Tune saves its experiment state only every ~10 s, so a driver killed with SIGKILL leaves trials
that finished after the last save unknown to that state: `Tuner.restore` runs them again under
new ids and leaves their folders behind. And restoring unpickles `tuner.pkl`, which runs whatever
code a writer of the storage put in it. Instead, a trial is finished when its checkpoint on
storage holds the `adls_result.json` the trial wrote beside its model (trainables/ray_adapter.py):
plain JSON, read, never executed. A resumed search keeps those trials (same ids, folders,
durations), moves the other trial folders aside to `<search>.interrupted/`, tells the study about
the finished trials, and runs only the remaining budget in a fresh Tuner.
"""

import json
import logging
import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
import pyarrow.fs

from analysis.results import FINISHED
from errors import ResultsError
from search import storage
from search.run.results_table import TUNE_KEYS
from search.study.constraints import Constraint, constraint_values
from search.study.database import TUNE_TRIAL_ID
from search.study.samplers import TuneGridSampler
from trainables.models.saved_files import check_saved_model, holds_model_files
from trainables.trial_keys import RESULT_FILE, SEARCH_KEY

log = logging.getLogger(__name__)
# Tune names a trial folder `<trainable>_<8 hex id>_<launch counter>_<params>_<date>`.
_TRIAL_DIR = re.compile(r"_([0-9a-f]{8})_(\d+)_")
_CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")


@dataclass(frozen=True)
class FinishedTrial:
    """A trial whose final metrics and checkpoint are on storage."""

    trial_id: str
    index: int  # 0-based launch order, from the folder name
    path: str
    checkpoint: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class InterruptedSearch:
    """What an interrupted search left: its finished trials, and where the unfinished ones went."""

    finished: list[FinishedTrial]
    set_aside: str | None

    def rows(self, base: dict[str, Any]) -> list[dict[str, Any]]:
        """Results-table rows of the finished trials (the columns results_table.result_rows writes)."""
        rows = []
        for trial in self.finished:
            row: dict[str, Any] = {**base, "trial_index": trial.index, "trial_id": trial.trial_id}
            params = {k: v for k, v in trial.params.items() if k != SEARCH_KEY}
            row.update(params)
            # The sampled parameters by name, as results_table.result_rows writes them (analysis.best).
            row["params"] = json.dumps(params, default=str)
            row.update(
                (k, v)
                for k, v in trial.metrics.items()
                if k not in TUNE_KEYS and not isinstance(v, dict | list)
            )
            row.update(
                status=FINISHED,
                error=None,
                node=trial.metrics.get("node"),
                duration_s=trial.seconds,
                checkpoint=trial.checkpoint,
                trial_path=trial.path,
            )
            rows.append(row)
        return rows

    def renumber(
        self, new_rows: list[dict[str, Any]], kept: Sequence[dict[str, Any]] = ()
    ) -> list[dict[str, Any]]:
        """Give the trials of the resumed Tuner (numbered from 0 again) the launch numbers still free.

        `kept`: rows of other kept trials (stopped ones, search/run/halving_resume.py) whose numbers are taken.
        """
        taken = {trial.index for trial in self.finished} | {int(row["trial_index"]) for row in kept}
        free = [i for i in range(len(taken) + len(new_rows)) if i not in taken]
        for row in sorted(new_rows, key=lambda r: r["trial_index"]):
            row["trial_index"] = free.pop(0)
        return new_rows


def stored_trials(rows: Sequence[dict[str, Any]], objectives: Sequence[str]) -> list[FinishedTrial]:
    """The finished trials among a stored search's table rows, as `prime_study` takes them.

    For a search that grows (a larger --budget on finished results): its sampled parameters come
    from the row's `params`, its metrics from the row's numbers; failed rows are left out.
    """
    trials = []
    for row in rows:
        metrics = {k: v for k, v in row.items() if _is_number(v)}
        if row.get("status") != FINISHED or not all(_is_number(row.get(name)) for name in objectives):
            continue
        trials.append(
            FinishedTrial(
                str(row["trial_id"]),
                int(row["trial_index"]),
                str(row.get("trial_path") or ""),
                str(row.get("checkpoint") or ""),
                json.loads(row.get("params") or "{}"),
                metrics,
                float(row.get("duration_s") or 0.0),
            )
        )
    return trials


def interrupted_search(
    tune_path: str, objectives: Sequence[str], keep: Collection[str] = ()
) -> InterruptedSearch | None:
    """Read an interrupted search's folder; None when it has no trial folders (nothing to resume).

    A trial is finished when its last checkpoint holds a readable result record and, if it holds
    any file of a saved model, a complete one (a copy cut short by a full disk is not finished).
    Finished trials stay where they are, and so do the folders named in `keep` (trials an
    early-stopping scheduler had stopped: search/run/halving_resume.py); every other trial folder
    is moved aside (not deleted).
    """
    fs, path = storage.filesystem(tune_path)
    if fs.get_file_info(path).type != pyarrow.fs.FileType.Directory:
        return None
    trial_dirs = [
        info.path
        for info in fs.get_file_info(pyarrow.fs.FileSelector(path))
        if info.type == pyarrow.fs.FileType.Directory and _TRIAL_DIR.search(info.base_name + "_")
    ]
    if not trial_dirs:
        return None
    finished, unfinished = [], []
    for trial_dir in sorted(trial_dirs):
        trial = _finished_trial(fs, trial_dir, objectives)
        if trial is None and trial_dir.rstrip("/").rsplit("/", 1)[-1] in keep:
            continue
        (finished if trial else unfinished).append(trial or trial_dir)
    aside = _set_aside(fs, path, unfinished) if unfinished else None
    return InterruptedSearch(sorted(finished, key=lambda t: t.index), aside)


def prime_study(
    study: optuna.Study,
    finished: Sequence[FinishedTrial],
    sampler: optuna.samplers.BaseSampler,
    space: dict[str, Any] | Callable[[optuna.Trial], Any],
    objectives: Sequence[str],
    constraints: Sequence[Constraint] = (),
    stopped: Sequence[tuple[str, dict[str, Any], float | None]] = (),
) -> None:
    """Make `study` hold every finished trial as COMPLETE, and fail the trials the dead driver left running.

    `stopped` (Tune trial id, params, progress score at the rung or None): trials an early-stopping
    scheduler had stopped, kept by a resumed search; added as PRUNED, with the score as their
    intermediate value, as the searcher tells such a trial.

    A study in a database already has the trials the driver told it about; one the driver asked
    for but never told (it died first) is told now; an in-memory study gets each trial added. A
    grid point added by hand is marked visited, so the grid does not hand it out again. With
    `constraints`, a trial added by hand carries its constraint values, as the searcher sets them.
    """
    by_tune_id = {t.user_attrs.get(TUNE_TRIAL_ID): t for t in study.get_trials(deepcopy=False)}
    for trial in finished:
        values = [float(trial.metrics[name]) for name in objectives]
        known = by_tune_id.get(trial.trial_id)
        if known is not None and known.state == optuna.trial.TrialState.COMPLETE:
            continue
        if known is not None and known.state == optuna.trial.TrialState.RUNNING:
            study.tell(known.number, values if len(values) > 1 else values[0])
            continue
        distributions = _distributions(space, trial.params)
        params = {name: trial.params[name] for name in distributions}
        system_attrs = sampler.visited_attrs(params) if isinstance(sampler, TuneGridSampler) else {}
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                values=values,
                user_attrs={TUNE_TRIAL_ID: trial.trial_id},
                system_attrs=system_attrs,
                constraints=constraint_values(constraints, trial.metrics) if constraints else None,
            )
        )
    for trial_id, params, score in stopped:
        if trial_id in by_tune_id:
            continue
        distributions = _distributions(space, params)
        kept = {name: params[name] for name in distributions}
        system_attrs = sampler.visited_attrs(kept) if isinstance(sampler, TuneGridSampler) else {}
        study.add_trial(
            optuna.trial.create_trial(
                params=kept,
                distributions=distributions,
                state=optuna.trial.TrialState.PRUNED,
                intermediate_values={} if score is None else {1: float(score)},
                user_attrs={TUNE_TRIAL_ID: trial_id},
                system_attrs=system_attrs,
            )
        )
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)


def _finished_trial(
    fs: pyarrow.fs.FileSystem, trial_dir: str, objectives: Sequence[str]
) -> FinishedTrial | None:
    name = trial_dir.rstrip("/").rsplit("/", 1)[-1]
    match = _TRIAL_DIR.search(name + "_")
    checkpoints = sorted(
        (int(m.group(1)), info.path)
        for info in fs.get_file_info(pyarrow.fs.FileSelector(trial_dir))
        if info.type == pyarrow.fs.FileType.Directory and (m := _CHECKPOINT_DIR.match(info.base_name))
    )
    if not match or not checkpoints:
        return None
    checkpoint = checkpoints[-1][1]
    try:
        with fs.open_input_stream(f"{checkpoint}/{RESULT_FILE}") as handle:
            record = json.loads(handle.read())
        metrics, params, seconds = dict(record["metrics"]), dict(record["params"]), float(record["seconds"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.info("%s has no readable %s (%s): not finished", checkpoint, RESULT_FILE, error)
        return None
    if not all(_is_number(metrics.get(name)) for name in objectives):
        return None
    if holds_model_files(checkpoint, fs):
        try:
            check_saved_model(checkpoint, fs)
        except ResultsError as error:  # half a copy (a full disk, a killed upload): not finished
            log.warning("%s: not finished", error)
            return None
    return FinishedTrial(
        match.group(1), int(match.group(2)) - 1, trial_dir, checkpoint, params, metrics, seconds
    )


def _set_aside(fs: pyarrow.fs.FileSystem, search_path: str, trial_dirs: list[str]) -> str:
    """Move unfinished trial folders into `<search>.interrupted[-n]/`; returns that folder."""
    target = storage.free_name(fs, search_path, "interrupted")
    fs.create_dir(target, recursive=True)
    for trial_dir in trial_dirs:
        storage.move_tree(fs, trial_dir, f"{target}/{trial_dir.rstrip('/').rsplit('/', 1)[-1]}")
    return target


def _distributions(
    space: dict[str, Any] | Callable[[optuna.Trial], Any], params: dict[str, Any]
) -> dict[str, optuna.distributions.BaseDistribution]:
    """The Optuna distributions of a finished trial's sampled params (a define-by-run space is replayed)."""
    if not callable(space):
        return {name: dist for name, dist in space.items() if name in params}
    replay = optuna.trial.FixedTrial(params)
    space(replay)
    return dict(replay.distributions)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
