"""Best-so-far curves and Pareto fronts from a trial table."""

from collections.abc import Sequence

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


def pareto_front(table: pd.DataFrame, maximize: str, minimize: str) -> pd.DataFrame:
    """The rows no other row dominates (at least as good on both, better on one), by `minimize`."""
    points = table[[maximize, minimize]].apply(pd.to_numeric, errors="coerce").dropna()
    keep = []
    for index, (high, low) in points.iterrows():
        dominated = (
            (points[maximize] >= high)
            & (points[minimize] <= low)
            & ((points[maximize] > high) | (points[minimize] < low))
        ).any()
        if not dominated:
            keep.append(index)
    return table.loc[keep].sort_values(minimize, kind="stable")


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
