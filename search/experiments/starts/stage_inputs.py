"""Pick what a later stage starts from out of an earlier stage's results table."""

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.best import TIE_BREAKERS, ranked
from errors import ConfigError
from trainables.models.saved_files import check_saved_model


def best_checkpoint(
    table: pd.DataFrame,
    metric: str,
    tie_breakers: Sequence[tuple[str, bool]] = TIE_BREAKERS,
    mode: str = "max",
) -> dict[str, Any]:
    """The row of the best finished trial with a checkpoint, as a dict with its `checkpoint`.

    Ranked by `metric` (`mode`) and then `tie_breakers`, (column, ascending) pairs; the default
    is analysis.best's rule, so a later stage starts from the trial `adls best` shows first.
    Raises ConfigError when no trial finished with a checkpoint, naming the experiment so the
    user knows what to rerun, and ResultsError when that checkpoint is damaged (checked here, in the
    driver, so a truncated start model is one line before Ray starts, not a failure in every trial).
    """
    with_checkpoint = table[table["checkpoint"].notna()] if "checkpoint" in table else table.iloc[0:0]
    done = ranked(with_checkpoint, metric, mode, tie_breakers)
    if done.empty:
        name = table["experiment"].iloc[0] if len(table) else "?"
        raise ConfigError(
            f"experiment {name!r} has no finished trial with a checkpoint and {metric!r}; rerun it with --force"
        )
    best = done.iloc[0].to_dict()
    check_saved_model(best["checkpoint"])
    return best
