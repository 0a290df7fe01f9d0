"""Copy an experiment's results from cluster storage (a URI or a shared folder) to a local folder.

The storage is not trusted: every name it lists must land inside the destination (a key such as
`lab1-qat/../../x` is refused, not followed), and nothing local is ever deleted: a local copy that
would change is moved aside to `<name>.previous`.
"""

import filecmp
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.fs

from analysis.results import load_results
from errors import ClusterError, ResultsError
from search import storage

log = logging.getLogger(__name__)
TUNE_DIR = "tune"  # Ray Tune's own files and the trial checkpoints: large, not needed for analysis


def fetch_experiment(name: str, source_root: str, target_root: Path, with_checkpoints: bool = False) -> Path:
    """Copy `<source_root>/<name>/` to `<target_root>/<name>/`; returns the local folder.

    Without `with_checkpoints` the `tune/` folder is skipped: the table, run.json and figure data
    are all that analysis needs. The same run fetched again (identical run.json and files) gains
    the files it did not have (e.g. checkpoints) and keeps the user's own; any other local copy is
    moved aside to `<name>.previous`. Raises ClusterError before copying when the destination is
    not a folder, when the stored table is unreadable, and for a stored name that would land outside it.
    """
    source = storage.join(storage.normalize(source_root), name)
    fs, source_path = storage.filesystem(source)
    if not storage.exists(storage.join(source, "trials.parquet")):
        raise ClusterError(
            f"no finished results of {name!r} at {source} (trials.parquet is missing); check that the job "
            "succeeded (`adls jobs`) and that --storage is the one it was submitted with"
        )
    try:
        load_results(source)  # a damaged table is refused before anything is copied
    except ResultsError as error:
        raise ClusterError(f"{error}; nothing was fetched") from None
    _require_folder(target_root)
    target = target_root / name
    # A fresh staging folder per fetch: a leftover of an interrupted fetch is left alone, not deleted.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.fetching-", dir=target_root))
    copy_tree(fs, source_path, staging, with_checkpoints)
    _install(target, staging)
    return target


def copy_tree(fs: pyarrow.fs.FileSystem, source_path: str, staging: Path, with_checkpoints: bool) -> int:
    """Copy every file under `source_path` of `fs` into `staging`; returns the number copied.

    Every name is checked before anything is written: one that resolves outside `staging` (`..`
    parts, an absolute name) raises ClusterError naming it, and nothing is copied.
    """
    root = staging.resolve()
    plan: list[tuple[str, Path]] = []
    for info in fs.get_file_info(pyarrow.fs.FileSelector(source_path, recursive=True)):
        if info.type != pyarrow.fs.FileType.File:
            continue
        relative = info.path[len(source_path) :].lstrip("/")
        if not with_checkpoints and relative.split("/", 1)[0] == TUNE_DIR:
            continue
        local = (root / relative).resolve()
        if not local.is_relative_to(root) or local == root:
            raise ClusterError(
                f"refusing to fetch {info.path!r}: its name leads outside the destination folder {staging}; "
                "the storage holds a name no adls run writes, so check who else writes to it"
            )
        plan.append((info.path, local))
    for remote, local in plan:
        local.parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(remote) as reader, open(local, "wb") as writer:
            shutil.copyfileobj(reader, writer, length=1 << 20)
    return len(plan)


def _require_folder(target_root: Path) -> None:
    if target_root.exists() and not target_root.is_dir():
        raise ClusterError(
            f"--to {str(target_root)!r} is a file, not a folder; give a folder for the results"
        )
    try:
        target_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ClusterError(
            f"--to {str(target_root)!r} cannot be created ({error.strerror}); give a folder you can write"
        ) from None
    if not os.access(target_root, os.W_OK | os.X_OK):
        raise ClusterError(f"--to {str(target_root)!r} is not writable; give a folder you can write")


def _install(target: Path, staging: Path) -> None:
    """Put the staged copy at `target`: merged into the same run's copy, else after moving the old one aside."""
    if target.exists() and _same_run(target, staging):
        for staged in sorted(p for p in staging.rglob("*") if p.is_file()):
            local = target / staged.relative_to(staging)
            if not local.exists():
                local.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, local)
        # Only our own staging folder goes, and only its duplicates of files already in `target`.
        shutil.rmtree(staging)
        return
    if target.exists() or target.is_symlink():
        moved = storage.move_aside(str(target), "previous")
        log.warning("an earlier local copy was moved to %s", moved)
    staging.rename(target)


def _same_run(target: Path, staging: Path) -> bool:
    """True when `target` holds the same run as `staging` and no file the two share differs."""
    old, new = target / "run.json", staging / "run.json"
    if not (old.is_file() and new.is_file() and old.read_bytes() == new.read_bytes()):
        return False
    for staged in staging.rglob("*"):
        local = target / staged.relative_to(staging)
        if (
            staged.is_file()
            and local.exists()
            and not (local.is_file() and filecmp.cmp(staged, local, False))
        ):
            return False
    return True
