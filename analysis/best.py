"""The winning configurations of a results table: one ranking rule for every experiment.

The rule: finished trials only (status TERMINATED, objective present and not NaN, no
--constraint broken: `feasible` not False), ordered by
the search's objective in its direction (`objective` / `objective_mode` columns, written into
every row by the runner), then, among equal objective values, fewer weight bits
(`cost_weight_bits`), fewer parameters (`cost_params`), the earlier repeat and the earlier
launched trial (`trial_index`). A two-objective search has no single best: its best trials are
the Pareto-optimal ones (`pareto_optimal`), listed by the first objective, then the same rule.

Ray Tune's `ResultGrid.get_best_result(metric, mode)` breaks ties differently: it keeps the first
trial in Tune's trial list (a later trial must be strictly better) and knows no cost columns, and
it also considers failed trials that reported the metric. Both agree whenever the best value is
unique among finished trials.
"""

import json
import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.results import finished
from errors import ResultsError

# (column, ascending) applied in order among trials with equal objective values.
TIE_BREAKERS: tuple[tuple[str, bool], ...] = (
    ("cost_weight_bits", True),
    ("cost_params", True),
    ("repeat", True),
    ("trial_index", True),
)
# Columns the runner writes into every row to say what the search optimised.
OBJECTIVE_COLUMN = "objective"
MODE_COLUMN = "objective_mode"
PARAMS_COLUMN = "params"
# The cost columns a reader looks at first, in this order (then the other cost_* columns).
HEADLINE_COSTS = ("cost_size_mb", "cost_avg_linear_bits", "cost_sparsity", "cost_params")
# Bookkeeping columns that are neither sampled parameters nor metrics.
NOT_METRICS = frozenset(
    {
        "experiment",
        "variant",
        "repeat",
        "trial_index",
        "trial_id",
        "status",
        "error",
        "node",
        "device",
        "checkpoint",
        "trial_path",
        "profile",
        "dataset",
        "seed",
        "num_classes",
        "duration_s",
        OBJECTIVE_COLUMN,
        MODE_COLUMN,
        PARAMS_COLUMN,
        "pareto_optimal",
        "feasible",
        "rank",
        "rule",
    }
)


def objectives_of(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """The (metric, mode) pairs the rows' search optimised, read from their `objective` columns.

    Raises ResultsError when the table predates these columns or mixes objectives.
    """
    if OBJECTIVE_COLUMN not in rows.columns or MODE_COLUMN not in rows.columns:
        raise ResultsError(
            "this results table does not record its objective (written by an older adls); "
            "rerun the experiment with --force"
        )
    pairs = rows[[OBJECTIVE_COLUMN, MODE_COLUMN]].drop_duplicates()
    if len(pairs) != 1:
        raise ResultsError(f"rows of one search name several objectives: {pairs.values.tolist()}")
    metrics, modes = str(pairs.iloc[0, 0]).split(","), str(pairs.iloc[0, 1]).split(",")
    if len(metrics) != len(modes) or any(mode not in ("max", "min") for mode in modes):
        raise ResultsError(f"objective {metrics} with modes {modes} is not readable")
    return list(zip(metrics, modes, strict=True))


def rule_text(
    objectives: Sequence[tuple[str, str]], tie_breakers: Sequence[tuple[str, bool]] = TIE_BREAKERS
) -> str:
    """The ranking rule in words, e.g. `max qat_accuracy; ties: fewer cost_weight_bits, ...`."""
    if len(objectives) == 1:
        head = f"{objectives[0][1]} {objectives[0][0]}"
    else:
        head = "Pareto front of " + ", ".join(f"{mode} {metric}" for metric, mode in objectives)
        head += f", listed by {objectives[0][1]} {objectives[0][0]}"
    ties = ", ".join(f"{'lower' if ascending else 'higher'} {column}" for column, ascending in tie_breakers)
    return f"{head}; ties: {ties}"


def ranked(
    rows: pd.DataFrame,
    metric: str,
    mode: str = "max",
    tie_breakers: Sequence[tuple[str, bool]] = TIE_BREAKERS,
) -> pd.DataFrame:
    """The finished rows with a numeric `metric`, best first by `metric` then `tie_breakers`.

    Tie-breaker columns missing from the table are skipped.
    """
    if metric not in rows.columns:
        return rows.iloc[0:0]
    values = pd.to_numeric(rows[metric], errors="coerce")
    done = rows[values.notna()]
    if "status" in rows:
        done = finished(done)  # finished within the search's cost budgets
    columns = [metric] + [column for column, _ in tie_breakers if column in done.columns]
    ascending = [mode == "min"] + [asc for column, asc in tie_breakers if column in done.columns]
    return done.sort_values(columns, ascending=ascending, kind="stable", na_position="last")


def best_trials(table: pd.DataFrame, k: int = 1) -> pd.DataFrame:
    """The best `k` trials of every search (experiment, variant) of a results table, best first.

    Returns the winning rows with all their columns plus `rank` (1 = best) and `rule` (the rule
    in words, see the module docstring). A two-objective search returns at most `k` of its
    Pareto-optimal trials. A search without a finished trial contributes no row.
    """
    if k < 1:
        raise ValueError(f"k={k}: ask for at least one trial")
    keys = [column for column in ("experiment", "variant") if column in table.columns]
    groups = table.groupby(keys, sort=False, dropna=False) if keys else [((), table)]
    picked = []
    for _, rows in groups:
        objectives = objectives_of(rows)
        metric, mode = objectives[0]
        if len(objectives) > 1 and "pareto_optimal" in rows.columns:
            rows = rows[rows["pareto_optimal"].fillna(False).astype(bool)]
        top = ranked(rows, metric, mode).head(k).copy()
        top["rank"] = range(1, len(top) + 1)
        top["rule"] = rule_text(objectives)
        picked.append(top)
    if not picked:
        return table.iloc[0:0].assign(rank=[], rule=[])
    return pd.concat(picked).reset_index(drop=True)


def params_of(row: pd.Series | dict[str, Any]) -> dict[str, Any]:
    """The sampled parameters of one row (its `params` JSON), in the order they were sampled."""
    text = row.get(PARAMS_COLUMN)
    if not isinstance(text, str) or not text:
        return {}
    return json.loads(text)


def metrics_of(row: pd.Series | dict[str, Any]) -> dict[str, float]:
    """The numeric metrics of one row: objective first, then accuracies, then costs and the rest.

    Sampled parameters and bookkeeping columns are left out, and so are NaN values.
    """
    params = params_of(row)
    objectives = str(row.get(OBJECTIVE_COLUMN) or "").split(",")
    values = {
        key: value
        for key, value in dict(row).items()
        if key not in NOT_METRICS
        and key not in params
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    }

    def order(key: str) -> tuple[int, str]:
        if key in objectives:
            return (0, f"{objectives.index(key):03d}")
        if "accuracy" in key:
            return (1, key)
        if key in HEADLINE_COSTS:
            return (2, f"{HEADLINE_COSTS.index(key):03d}")
        return (3 if key.startswith("cost_") else 4, key)

    return {key: values[key] for key in sorted(values, key=order)}


def best_records(table: pd.DataFrame, k: int = 1) -> list[dict[str, Any]]:
    """best_trials as plain dicts (JSON-ready): search, rank, rule, objective, params, metrics, checkpoint."""
    records = []
    for _, row in best_trials(table, k).iterrows():
        objectives = objectives_of(pd.DataFrame([row]))
        records.append(
            {
                "experiment": row.get("experiment"),
                "variant": row.get("variant"),
                "rank": int(row["rank"]),
                "objective": [{"metric": metric, "mode": mode} for metric, mode in objectives],
                "rule": row["rule"],
                "trial_id": row.get("trial_id"),
                "trial_index": _plain(row.get("trial_index")),
                "repeat": _plain(row.get("repeat")),
                "params": params_of(row),
                "metrics": {key: _plain(value) for key, value in metrics_of(row).items()},
                "checkpoint": row.get("checkpoint") if isinstance(row.get("checkpoint"), str) else None,
                "model": _text(row.get("model")) or "bert-tiny",
                "dataset": _text(row.get("dataset")),
            }
        )
    return records


def export_command(folder: str, trial_id: Any, target: str = "hf") -> str:
    """The `adls export` command line that hands one trial of an experiment folder on."""
    out = f"export/{Path(folder).name}-{trial_id}-{target}"
    return f"adls export {shlex.quote(str(folder))} --trial {trial_id} --to {target} -o {out}"


def format_best(
    records: Sequence[dict[str, Any]], metric_limit: int = 6, folder: str | None = None
) -> list[str]:
    """Human-readable lines for best_records: one header line per search, then one per trial.

    With the experiment `folder`, the first trial of each search with a checkpoint also shows
    the `adls export` command for it.
    """
    lines: list[str] = []
    last = None
    for record in records:
        search = f"{record['experiment']}/{record['variant']}"
        if search != last:
            on = f"model {record.get('model') or 'bert-tiny'}, data {record.get('dataset') or '?'}"
            lines.append(f"[{search}] best by: {record['rule']} ({on})")
            last = search
        params = ", ".join(f"{key}={_short(value)}" for key, value in record["params"].items()) or "-"
        shown = list(record["metrics"].items())[:metric_limit]
        metrics = ", ".join(f"{key}={_short(value)}" for key, value in shown)
        lines.append(f"  #{record['rank']} trial {record['trial_index']}: {params}")
        lines.append(f"     {metrics}")
        lines.append(f"     checkpoint: {record['checkpoint'] or '-'}")
        if folder is not None and record["rank"] == 1 and record["checkpoint"]:
            lines.append(f"     export: {export_command(folder, record['trial_id'])}")
    return lines


def _text(value: Any) -> str | None:
    """A text cell, or None for a missing one (NaN in a table read back)."""
    return value if isinstance(value, str) and value else None


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so json.dumps takes them."""
    return value.item() if hasattr(value, "item") else value
