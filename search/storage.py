"""Where results live: a local folder or a URI that pyarrow's filesystems understand."""

import errno
import json
import logging
import os
import re
import shutil
from typing import Any

import pyarrow.fs

# The one URI test (analysis/paths.py), re-exported for the callers of search.storage.
from analysis.paths import is_uri as is_uri
from errors import ConfigError

log = logging.getLogger(__name__)


class StorageFullError(ConfigError):
    """The storage has no space left for a file a run must write (one line: which file, what to do)."""


def storage_full(location: str) -> StorageFullError:
    return StorageFullError(
        f"no space left on the storage writing {location}; free space there and run the same command "
        "again: trials whose checkpoints are stored are kept, the rest run again"
    )


# Less free space than this on a local storage counts as full (Tune's own writes failed there).
FULL_BELOW_BYTES = 1 << 20


def raise_if_full(location: str, error: BaseException) -> None:
    """StorageFullError naming `location` when `error` came from a full storage, else nothing.

    Full: an ENOSPC error, or a local storage with less than FULL_BELOW_BYTES free (Ray Tune turns
    its own half-written files into other errors, e.g. EOFError reading back an empty error.pkl).
    """
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        raise storage_full(location) from None
    if is_uri(location):
        return
    folder = location
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    if folder and shutil.disk_usage(folder).free < FULL_BELOW_BYTES:
        raise storage_full(location) from None


def normalize(location: str) -> str:
    """An absolute local path (Ray Tune requires one) or the URI unchanged."""
    return location.rstrip("/") if is_uri(location) else os.path.abspath(os.path.expanduser(location))


def join(location: str, *parts: str) -> str:
    return "/".join([location.rstrip("/"), *parts])


# Storages whose in-filesystem paths start with the bucket (pyarrow: "bucket/key", no scheme).
_BUCKET_SCHEMES = ("s3", "gs", "gcs")


def as_uri(path: str | None, like: str) -> str | None:
    """A path that Ray Tune reports inside the storage `like` (a URI), as a full URI of that storage.

    Tune gives checkpoint and trial folders as in-filesystem paths ("bucket/adls/..." for
    s3://bucket/adls); stored that way in the results table, a later stage would look for them on
    its local disk. Local storage, None and paths that already are URIs are returned unchanged.
    """
    if not path or not is_uri(like) or is_uri(path):
        return path
    scheme, rest = like.split("://", 1)
    if scheme in _BUCKET_SCHEMES:
        return f"{scheme}://{path.lstrip('/')}"
    authority = rest.split("/", 1)[0]  # host:port of hdfs://..., empty for file:///
    return f"{scheme}://{authority}/{path.lstrip('/')}"


def filesystem(location: str) -> tuple[pyarrow.fs.FileSystem, str]:
    """The pyarrow filesystem and in-filesystem path of a location; ConfigError if unsupported."""
    if not is_uri(location):
        return pyarrow.fs.LocalFileSystem(), location
    try:
        return pyarrow.fs.FileSystem.from_uri(location)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, OSError) as error:
        raise ConfigError(f"--storage {location!r} is not usable: {error}") from None


def exists(location: str) -> bool:
    fs, path = filesystem(location)
    return fs.get_file_info(path).type != pyarrow.fs.FileType.NotFound


def write_bytes(location: str, data: bytes) -> None:
    """Write atomically on local disks (temp file + rename) so readers never see half a file.

    A full storage raises StorageFullError naming the file; the half-written temp file is removed
    and the file it was to replace is left as it was.
    """
    fs, path = filesystem(location)
    parent = path.rsplit("/", 1)[0]
    try:
        fs.create_dir(parent, recursive=True)
        if isinstance(fs, pyarrow.fs.LocalFileSystem):
            tmp = f"{path}.tmp-{os.getpid()}"
            try:
                with open(tmp, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)  # our own half-written copy, never the user's file
            return
        with fs.open_output_stream(path) as handle:
            handle.write(data)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise storage_full(location) from None
        raise


def read_bytes(location: str) -> bytes:
    fs, path = filesystem(location)
    with fs.open_input_stream(path) as handle:
        return handle.read()


def write_json(location: str, value: Any) -> None:
    write_bytes(location, json.dumps(value, indent=1, default=str).encode())


def read_json(location: str) -> Any:
    return json.loads(read_bytes(location))


def free_name(fs: pyarrow.fs.FileSystem, path: str, suffix: str) -> str:
    """`<path>.<suffix>` when nothing is there, else the first free `<path>.<suffix>-<n>` (n >= 2)."""
    target, n = f"{path}.{suffix}", 1
    while fs.get_file_info(target).type != pyarrow.fs.FileType.NotFound:
        n += 1
        target = f"{path}.{suffix}-{n}"
    return target


def move_tree(fs: pyarrow.fs.FileSystem, source: str, target: str) -> None:
    """Move folder `source` to `target` (which must not exist) on `fs`.

    A rename on a filesystem. On object storage, file by file: S3 has no folders, and a folder whose
    own key is missing (a process killed mid-upload leaves such prefixes) makes pyarrow's move of
    the whole prefix fail. Files are copied before the source is deleted, so nothing is lost.
    """
    if isinstance(fs, pyarrow.fs.LocalFileSystem):
        fs.move(source, target)
        return
    source = source.rstrip("/")
    selector = pyarrow.fs.FileSelector(source, recursive=True, allow_not_found=True)
    fs.create_dir(target, recursive=True)
    for info in fs.get_file_info(selector):
        if info.type == pyarrow.fs.FileType.File:
            fs.copy_file(info.path, f"{target}/{info.path[len(source) + 1 :]}")
    try:
        fs.delete_dir(source)
    except OSError as error:  # copied already: what is left is found again (and moved) next time
        log.warning("could not delete %s after copying it to %s: %s", source, target, error)


def move_aside(location: str, suffix: str) -> str | None:
    """Rename a folder to `<location>.<suffix>[-n]` (nothing is deleted); returns the new name.

    None when there is no folder. `prune_aside` deletes all but the newest of them.
    """
    if not exists(location):
        return None
    fs, path = filesystem(location)
    target = free_name(fs, path, suffix)
    move_tree(fs, path, target)
    return target


def prune_aside(location: str, suffix: str, keep: int) -> list[str]:
    """Delete all but the newest `keep` of the folders move_aside made (`<location>.<suffix>[-n]`).

    Newest by modification time (move_aside reuses freed names, so numbers do not tell age).
    Returns the deleted paths.
    """
    fs, path = filesystem(location)
    parent, name = path.rstrip("/").rsplit("/", 1) if "/" in path.rstrip("/") else (".", path)
    pattern = re.compile(rf"{re.escape(name)}\.{re.escape(suffix)}(-\d+)?")
    folders = [
        info
        for info in fs.get_file_info(pyarrow.fs.FileSelector(parent, allow_not_found=True))
        if info.type == pyarrow.fs.FileType.Directory and pattern.fullmatch(info.base_name)
    ]
    folders.sort(key=lambda info: info.mtime_ns or 0, reverse=True)
    deleted = []
    for info in folders[keep:]:
        fs.delete_dir(info.path)
        deleted.append(info.path)
    return deleted
