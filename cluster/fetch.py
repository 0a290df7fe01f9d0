"""Copy an experiment's results from cluster storage (a URI or a shared folder) to a local folder."""

import logging
import shutil
from pathlib import Path

import pyarrow.fs

from cluster.errors import ClusterError
from search import storage

log = logging.getLogger(__name__)
TUNE_DIR = "tune"  # Ray Tune's own files and the trial checkpoints: large, not needed for analysis


def fetch_experiment(name: str, source_root: str, target_root: Path, with_checkpoints: bool = False) -> Path:
    """Copy `<source_root>/<name>/` to `<target_root>/<name>/`; returns the local folder.

    Without `with_checkpoints` the `tune/` folder is skipped: the table, run.json and figure data
    are all that analysis needs. A different local copy already there is moved aside to
    `<name>.previous` (nothing is deleted); the same run fetched again is refreshed in place.
    """
    source = storage.join(storage.normalize(source_root), name)
    fs, source_path = storage.filesystem(source)
    if not storage.exists(storage.join(source, "trials.parquet")):
        raise ClusterError(
            f"no finished results of {name!r} at {source} (trials.parquet is missing); check that the job "
            "succeeded (`adls jobs`) and that --storage is the one it was submitted with"
        )
    target = target_root / name
    staging = target_root / f".{name}.fetching"
    shutil.rmtree(staging, ignore_errors=True)
    selector = pyarrow.fs.FileSelector(source_path, recursive=True)
    for info in fs.get_file_info(selector):
        relative = info.path[len(source_path) :].lstrip("/")
        if info.type != pyarrow.fs.FileType.File:
            continue
        if not with_checkpoints and relative.split("/", 1)[0] == TUNE_DIR:
            continue
        local = staging / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(info.path) as reader, open(local, "wb") as writer:
            shutil.copyfileobj(reader, writer, length=1 << 20)
    _replace(target, staging)
    return target


def _replace(target: Path, staging: Path) -> None:
    if target.exists():
        old, new = target / "run.json", staging / "run.json"
        same_run = old.is_file() and new.is_file() and old.read_bytes() == new.read_bytes()
        if same_run:
            shutil.rmtree(target)
        else:
            moved = storage.move_aside(str(target), "previous")
            log.warning("an earlier local copy was moved to %s", moved)
    staging.rename(target)
