"""Which trials keep their checkpoint: the best K of each search and the ones a later stage loads.

Every trial saves its model (a NAS checkpoint on the full profile is ~165 MB); most are never
loaded again. After an experiment's searches end, `drop_checkpoints` keeps, per search (variant
and repeat), the `keep` best finished trials, plus every checkpoint in `loaded` (what the
experiment's `loaded_checkpoints(table)` says a later stage starts from), and clears the
`checkpoint` column of the others: the table says which rows have one. "Best" is
`analysis.best`'s one rule (objective, then its tie-breakers; a two-objective search's Pareto set
first), so the trials `adls best --top K` shows for K <= `keep` always have their checkpoint.
`delete_checkpoints` then removes the dropped folders, after the table is written.
"""

from collections.abc import Collection, Iterable
from typing import Any

import pandas as pd

from analysis.best import best_trials, objectives_of, ranked
from search import storage


def drop_checkpoints(rows: list[dict[str, Any]], keep: int | None, loaded: Collection[str]) -> list[str]:
    """Clear `checkpoint` in the rows whose checkpoint is not kept; returns those folders.

    `keep` None keeps every checkpoint. Rows carry their search's `objective` and `objective_mode`
    columns (as the runner writes them); a search is one (variant, repeat).
    """
    if keep is None or not rows:
        return []
    table = pd.DataFrame(rows)
    kept: set[str] = set(loaded)
    for _, search in table.groupby(["variant", "repeat"], sort=False, dropna=False):
        metric, mode = objectives_of(search)[0]
        kept.update(ranked(search, metric, mode).head(keep)["checkpoint"].dropna())
    # Across repeats too, as `adls best` ranks them (and the Pareto set of a two-objective search).
    kept.update(best_trials(table, keep)["checkpoint"].dropna())
    dropped = []
    for row in rows:
        if row.get("checkpoint") and row["checkpoint"] not in kept:
            dropped.append(row["checkpoint"])
            row["checkpoint"] = None
    return dropped


def delete_checkpoints(locations: Iterable[str]) -> int:
    """Delete the given checkpoint folders (local or URI); returns how many existed."""
    deleted = 0
    for location in locations:
        fs, path = storage.filesystem(location)
        if storage.exists(location):
            fs.delete_dir(path)
            deleted += 1
    return deleted
