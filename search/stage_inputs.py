"""Pick what a later stage starts from out of an earlier stage's results table."""

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.results import finished
from errors import ConfigError


def best_checkpoint(
    table: pd.DataFrame, metric: str, tie_breakers: Sequence[tuple[str, bool]] = ()
) -> dict[str, Any]:
    """The row of the best finished trial by `metric` (max), as a dict with its `checkpoint`.

    `tie_breakers` are (column, ascending) pairs applied among equal metrics, e.g.
    [("width", True)] prefers the smaller width. Raises ConfigError when no trial finished
    with a checkpoint, naming the experiment so the user knows what to rerun.
    """
    done = finished(table).dropna(subset=["checkpoint", metric])
    if done.empty:
        name = table["experiment"].iloc[0] if len(table) else "?"
        raise ConfigError(
            f"experiment {name!r} has no finished trial with a checkpoint and {metric!r}; rerun it with --force"
        )
    columns = [metric] + [column for column, _ in tie_breakers]
    ascending = [False] + [asc for _, asc in tie_breakers]
    return done.sort_values(columns, ascending=ascending, kind="stable").iloc[0].to_dict()
