"""Turn a finished Tune run into the tidy `trials.parquet` table: one row per trial."""

import io
import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from analysis.curves import pareto_optimal
from analysis.results import FAILED, FEASIBLE_COLUMN, FINISHED, STOPPED, TABLE_FILE
from search import storage
from search.schedulers.early_stopping import rung_reached
from trainables.trial_keys import CARRIED_FROM, CARRIED_TRIAL, PROGRESS_TIME, SEARCH_KEY, TRIAL_ERROR_KEY

# Tune's bookkeeping keys that are not metrics of ours.
TUNE_KEYS = {
    "timestamp",
    "checkpoint_dir_name",
    "done",
    "training_iteration",
    "trial_id",
    "date",
    "time_this_iter_s",
    "pid",
    "hostname",
    "config",
    "time_since_restore",
    "iterations_since_restore",
    "should_checkpoint",
    "time_total_s",
    "node_ip",
    "experiment_tag",
}


def result_rows(
    result_grid: Any,
    launch_index: dict[str, int],
    base: dict[str, Any],
    stopped: Collection[str] = (),
    trial_rungs: Sequence[float] = (),
    configs: Mapping[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One dict per trial of a ResultGrid; `base` (experiment, variant, ...) goes into every row.

    `configs` (trial id -> sampled config, TrialLedger.configs) fills the params of a trial whose
    Tune result has none: one that failed before its first report, e.g. when its node was lost.
    A trial that continues a dead driver's (CARRIED_TRIAL in its config) names it in CARRIED_FROM.

    Trials in `stopped` (ids an early-stopping scheduler ended) get status STOPPED, the metrics of
    their last progress report (`epoch`, `eval_accuracy`, ...) and `rung`: the 0-based index of the
    last of `trial_rungs` (epochs, ascending) they reached, None if they stopped before the first.
    """
    rows = []
    for result in result_grid:
        metrics = dict(result.metrics or {})
        trial_id = metrics.get("trial_id") or _trial_id_from_path(result.path)
        row: dict[str, Any] = dict(base)
        row["trial_index"] = _launch_number(result.path, trial_id, launch_index, len(rows))
        row["trial_id"] = trial_id
        config = dict(result.config or (configs or {}).get(trial_id) or {})
        carried = config.pop(CARRIED_TRIAL, None)  # not a param: which trial it continues
        config.pop(SEARCH_KEY, None)  # not a param: the search of a shared Tuner it belongs to
        if isinstance(carried, dict):
            row[CARRIED_FROM] = carried.get("trial_id")
        for key, value in config.items():
            row[key] = value
        # The sampled parameters by name, so readers tell them apart from metrics (analysis.best).
        row["params"] = json.dumps(config, default=str)
        for key, value in metrics.items():
            if key not in TUNE_KEYS and not isinstance(value, dict | list):
                row[key] = value
        # A trial that ended itself with a reason (non-finite loss) failed as surely as one that raised.
        failed = result.error or metrics.get(TRIAL_ERROR_KEY)
        row["status"] = FAILED if failed else STOPPED if trial_id in stopped else FINISHED
        if stopped or trial_rungs:
            row["rung"] = (
                rung_reached(metrics.get(PROGRESS_TIME), trial_rungs) if row["status"] == STOPPED else None
            )
        row["error"] = (_first_line(result.error) if result.error else str(failed)) if failed else None
        row.pop(TRIAL_ERROR_KEY, None)
        row["node"] = metrics.get("node", metrics.get("node_ip"))
        row["duration_s"] = metrics.get("time_total_s")
        # A stopped trial's last checkpoint is not a model: none (ASHA) or the training snapshot a
        # synchronous scheduler paused it with (search/schedulers/sync_halving.py).
        model = result.checkpoint and row["status"] != STOPPED
        row["checkpoint"] = result.checkpoint.path if model else None
        row["trial_path"] = result.path
        rows.append(row)
    return rows


def write_table(rows: list[dict[str, Any]], experiment_dir: str) -> pd.DataFrame:
    """Sort rows by (variant, repeat, trial_index) and write `trials.parquet` + `trials.csv`."""
    table = pd.DataFrame(rows)
    order = [c for c in ("variant", "repeat", "trial_index") if c in table.columns]
    table = table.sort_values(order, kind="stable").reset_index(drop=True)
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    storage.write_bytes(storage.join(experiment_dir, TABLE_FILE), buffer.getvalue())
    storage.write_bytes(storage.join(experiment_dir, "trials.csv"), table.to_csv(index=False).encode())
    return table


def mark_pareto_front(rows: list[dict[str, Any]], metrics: list[str], modes: list[str]) -> None:
    """Set `pareto_optimal` on every row of one multi-objective search, in place.

    `modes` says "max" or "min" per metric; the rule is analysis.curves.pareto_optimal, over the
    finished rows only (failed rows, and rows marked infeasible by a --constraint, are never optimal).
    """
    table = pd.DataFrame(rows, index=range(len(rows)))
    done = table[table["status"] == FINISHED] if "status" in table else table.iloc[:0]
    if FEASIBLE_COLUMN in done:
        done = done[done[FEASIBLE_COLUMN].fillna(False).astype(bool)]
    optimal = pareto_optimal(done, dict(zip(metrics, modes, strict=True))) if len(done) else pd.Series()
    for index, row in enumerate(rows):
        row["pareto_optimal"] = bool(optimal.get(index, False))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    # Ray wraps the real error; its last line is the one that names the cause.
    return (text[-1] if text else type(error).__name__)[:500]


def _launch_number(
    path: str | None, trial_id: str | None, launch_index: dict[str, int], fallback: int
) -> int:
    """0-based launch order: Tune names a trial's folder `<trainable>_<id>_<counter>_...`.

    The counter comes from Tune's search generator and survives a resumed run, unlike the
    ledger's in-memory record (used when the folder name does not have it).
    """
    if path and trial_id:
        match = re.search(rf"_{re.escape(trial_id)}_(\d+)_", path.rstrip("/").rsplit("/", 1)[-1] + "_")
        if match:
            return int(match.group(1)) - 1
    return launch_index.get(trial_id, len(launch_index) + fallback)


def _trial_id_from_path(path: str | None) -> str | None:
    if not path:
        return None
    parts = path.rstrip("/").rsplit("/", 1)[-1].split("_")
    return parts[1] if len(parts) > 1 else None
