"""Which trials keep their checkpoint: the best K of each search and the ones a later stage loads.

Every trial saves its model (a NAS checkpoint on the full profile is ~165 MB); most are never
loaded again. After an experiment's searches end, `drop_checkpoints` keeps, per search (variant
and repeat), the `keep` best finished trials by the search's (first) metric, plus every
checkpoint in `loaded` (what the experiment's `loaded_checkpoints(table)` says a later stage
starts from), and clears the `checkpoint` column of the others: the table says which rows have
one. `delete_checkpoints` then removes those folders, after the table is written.
"""

from collections.abc import Collection, Iterable
from typing import Any

from analysis.best import TIE_BREAKERS
from search import storage
from search.experiment import SearchVariant


def drop_checkpoints(
    rows: list[dict[str, Any]], variants: Iterable[SearchVariant], keep: int | None, loaded: Collection[str]
) -> list[str]:
    """Clear `checkpoint` in the rows whose checkpoint is not kept; returns those folders.

    `keep` None keeps every checkpoint. Rows are matched to their search by (variant, repeat).
    """
    if keep is None:
        return []
    searches = {(v.name, v.repeat): v for v in variants}
    kept: set[str] = set(loaded)
    for (name, repeat), variant in searches.items():
        metric = variant.metric if isinstance(variant.metric, str) else variant.metric[0]
        mode = variant.mode if isinstance(variant.mode, str) else variant.mode[0]
        finished = [
            row
            for row in rows
            if (row.get("variant"), row.get("repeat")) == (name, repeat)
            and row.get("status") == "TERMINATED"
            and row.get("checkpoint")
            and _number(row.get(metric)) is not None
        ]
        # Among equal metrics a checkpoint a later stage loads counts as the best (it is kept
        # anyway), then analysis.best's tie rule, so the trial `adls best` shows keeps its checkpoint.
        sign = -1.0 if mode == "max" else 1.0
        finished.sort(
            key=lambda row: (
                sign * _number(row[metric]),
                row["checkpoint"] not in kept,
                *_tie_keys(row),
            )
        )
        kept.update(row["checkpoint"] for row in finished[:keep])
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


def _tie_keys(row: dict[str, Any]) -> tuple[float, ...]:
    """analysis.best.TIE_BREAKERS as sort keys (a missing value sorts last)."""
    keys = []
    for column, ascending in TIE_BREAKERS:
        value = _number(row.get(column))
        keys.append(float("inf") if value is None else value if ascending else -value)
    return tuple(keys)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)
