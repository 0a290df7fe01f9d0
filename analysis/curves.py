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
