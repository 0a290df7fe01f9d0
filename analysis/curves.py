"""Best-so-far curves and Pareto fronts from a trial table."""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def running_max(
    table: pd.DataFrame,
    metric: str,
    by: Sequence[str] = ("variant",),
    order: str = "trial_index",
) -> pd.DataFrame:
    """Best `metric` so far within each group, trials taken in launch order.

    Returns the rows sorted by group and `order` with a `best_so_far` column (failed trials,
    whose metric is NaN, carry the previous best) and a 1-based `trial` column.
    """
    groups = [column for column in by if column in table.columns]
    ordered = table.sort_values([*groups, order], kind="stable").copy()
    values = pd.to_numeric(ordered[metric], errors="coerce")
    if groups:
        ordered["best_so_far"] = values.groupby([ordered[g] for g in groups]).cummax()
        ordered["best_so_far"] = ordered.groupby(groups)["best_so_far"].ffill()
        ordered["trial"] = ordered.groupby(groups).cumcount() + 1
    else:
        ordered["best_so_far"] = values.cummax().ffill()
        ordered["trial"] = np.arange(1, len(ordered) + 1)
    return ordered


def pareto_optimal(table: pd.DataFrame, objectives: Mapping[str, str]) -> pd.Series:
    """True for each row that no other row dominates; `objectives` maps a column to "max" or "min".

    A row dominates another when it is at least as good on every objective and better on one, so
    rows with equal values are all optimal. Rows missing an objective's value are never optimal.
    The project's one Pareto rule: the runner marks `pareto_optimal` with it, figures draw it.
    """
    signs = np.array([1.0 if mode == "max" else -1.0 for mode in objectives.values()])
    values = table[list(objectives)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float) * signs
    complete = ~np.isnan(values).any(axis=1)
    candidates = values[complete]
    optimal = np.zeros(len(table), dtype=bool)
    for row in np.flatnonzero(complete):
        point = values[row]
        dominated = ((candidates >= point).all(axis=1) & (candidates > point).any(axis=1)).any()
        optimal[row] = not dominated
    return pd.Series(optimal, index=table.index)


def pareto_front(table: pd.DataFrame, maximize: str, minimize: str) -> pd.DataFrame:
    """The rows no other row dominates (at least as good on both, better on one), by `minimize`."""
    optimal = pareto_optimal(table, {maximize: "max", minimize: "min"})
    return table[optimal].sort_values(minimize, kind="stable")


def best_so_far_band(table: pd.DataFrame, metric: str, by: Sequence[str] = ("variant",)) -> pd.DataFrame:
    """Per group and trial number (1-based, launch order): best `metric` so far over repeats.

    Columns: the `by` columns, `trial`, `best_so_far` (mean over repeats), `lowest`, `highest`
    and `repeats` (how many repeats reached that trial). Each repeat's curve is a running max,
    so it never decreases and starts at its first trial's value; a failed trial keeps the best.
    """
    curves = running_max(table, metric, by=(*by, "repeat"))
    groups = [column for column in by if column in curves.columns]
    return (
        curves.groupby([*groups, "trial"], sort=False)["best_so_far"]
        .agg(best_so_far="mean", lowest="min", highest="max", repeats="count")
        .reset_index()
    )


def best_so_far_by_cost(
    table: pd.DataFrame,
    metric: str,
    cost: str = "duration_s",
    by: Sequence[str] = ("variant",),
    order: str = "trial_index",
) -> pd.DataFrame:
    """Best `metric` so far against the cumulative `cost` (trial-seconds) spent, trials in launch order.

    Every row counts, stopped and failed trials included: they cost seconds and leave the best
    unchanged (their metric is NaN). Adds `cumulative_cost` and `best_so_far` per `by` group.
    """
    curves = running_max(table, metric, by=by, order=order)
    groups = [column for column in by if column in curves.columns]
    spent = pd.to_numeric(curves[cost], errors="coerce").fillna(0.0)
    curves["cumulative_cost"] = (
        spent.groupby([curves[g] for g in groups]).cumsum() if groups else spent.cumsum()
    )
    return curves


def band_on_grid(curves: pd.DataFrame, x: str, y: str, by: str, points: int = 200) -> pd.DataFrame:
    """Mean, lowest and highest of several step curves (one per `by` value) on a common x grid.

    Each curve holds its last value from its x onward and is undefined before its first x; the
    grid spans from the largest first x to the largest last x (a curve that ended earlier keeps
    its final value: a finished search keeps its best).
    """
    start = curves.groupby(by)[x].min().max()
    stop = curves[x].max()
    grid = np.linspace(start, stop, points)
    values = []
    for _, curve in curves.groupby(by):
        curve = curve.sort_values(x)
        index = np.searchsorted(curve[x].to_numpy(), grid, side="right") - 1
        values.append(curve[y].to_numpy()[np.clip(index, 0, None)])
    stacked = np.vstack(values)
    return pd.DataFrame(
        {
            x: grid,
            "mean": stacked.mean(0),
            "lowest": stacked.min(0),
            "highest": stacked.max(0),
            "curves": len(values),
        }
    )
