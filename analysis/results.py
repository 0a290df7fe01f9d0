"""The results table of an experiment (`trials.parquet`): its file, its status values, reading it."""

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow

from analysis.paths import is_uri, resolve_paths
from errors import ResultsError

TABLE_FILE = "trials.parquet"
# The `status` column: Ray Tune's words for a trial that ended normally and one that failed, and
# ours for one an early-stopping scheduler stopped.
FINISHED = "TERMINATED"
FAILED = "ERROR"
STOPPED = "STOPPED"
REQUIRED_COLUMNS = ("experiment", "variant", "trial_index", "status")


def load_results(path: str | Path) -> pd.DataFrame:
    """Read an experiment folder's (or a parquet file's) trial table; ResultsError if unusable.

    Local paths and URIs pyarrow understands (s3://, gs://) both work. The `checkpoint` and
    `trial_path` columns, stored relative to the experiment folder, come back resolved against
    the folder they were read from (see analysis.paths), so a moved results folder still works.
    """
    location = str(path)
    if not location.endswith(".parquet"):
        location = location.rstrip("/") + "/" + TABLE_FILE
    if not is_uri(location) and not Path(location).is_file():
        folder = Path(location).parent
        if not folder.is_dir():
            raise ResultsError(
                f"{folder} does not exist; run `adls run <experiment>` first or give its folder"
            )
        raise ResultsError(f"{folder} holds no {TABLE_FILE}; the run did not finish, rerun it with --force")
    try:
        table = pd.read_parquet(location)
    except (pyarrow.ArrowException, OSError, ValueError) as error:
        raise ResultsError(
            f"{location} is not a readable results table ({error}); rerun with --force"
        ) from None
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise ResultsError(
            f"{location} lacks columns {missing}; it was not written by adls, rerun with --force"
        )
    return resolve_paths(table, location.rsplit("/", 1)[0])


def finished(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of trials that ended normally (status FINISHED)."""
    return table[table["status"] == FINISHED]


def first_value(table: pd.DataFrame, column: str, default: Any = None) -> Any:
    """The first non-null value of `column`; `default` when the column is missing or all null."""
    if column not in table.columns:
        return default
    values = table[column].dropna()
    return values.iloc[0] if len(values) else default
