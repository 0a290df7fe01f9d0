"""Paths inside an experiment folder, stored relative to it so a moved or fetched folder still works.

The results table keeps `checkpoint` and `trial_path` relative to the experiment folder
(`tune/qat/<trial>/checkpoint_000000`); `resolve_path` turns one back into a path (or URI) that
can be opened, for wherever the folder is now.
"""

from pathlib import Path

import pandas as pd

# The table columns that hold paths inside the experiment folder.
PATH_COLUMNS = ("checkpoint", "trial_path")


def is_uri(location: str) -> bool:
    """True for a URI (s3://, gs://, file://, ...), False for a local path.

    The project's one answer above trainables/ (search.storage and cluster/ use it too).
    """
    return "://" in location


def relative_path(path: str | None, folder: str) -> str | None:
    """`path` relative to the experiment `folder` when it lies inside it, else unchanged.

    Both may be local paths or URIs of the same storage (s3://bucket/adls/lab1-qat/...).
    """
    if not isinstance(path, str) or not path:
        return None
    base = folder.rstrip("/") + "/"
    if path.startswith(base):
        return path[len(base) :]
    if not is_uri(path) and not is_uri(folder):
        try:
            return Path(path).resolve().relative_to(Path(folder).resolve()).as_posix()
        except ValueError:
            return path
    return path


def resolve_path(path: str | None, folder: str | Path) -> str | None:
    """A stored path made usable: relative ones are joined to the experiment `folder`.

    Absolute paths and URIs (written by older versions, or pointing outside the folder) are
    returned unchanged; None and empty values give None.
    """
    if not isinstance(path, str) or not path:
        return None
    if is_uri(path) or Path(path).is_absolute():
        return path
    location = str(folder)
    if is_uri(location):
        return location.rstrip("/") + "/" + path
    return str(Path(location).resolve() / path)


def resolve_paths(table: pd.DataFrame, folder: str | Path) -> pd.DataFrame:
    """A copy of `table` whose path columns are resolved against the experiment `folder`."""
    table = table.copy()
    for column in PATH_COLUMNS:
        if column in table.columns:
            table[column] = [resolve_path(value, folder) for value in table[column]]
    return table
