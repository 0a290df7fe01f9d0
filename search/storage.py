"""Where results live: a local folder or a URI that pyarrow's filesystems understand."""

import json
import os
import re
from typing import Any

import pyarrow.fs

# The one URI test (analysis/paths.py), re-exported for the callers of search.storage.
from analysis.paths import is_uri as is_uri
from errors import ConfigError


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
    """Write atomically on local disks (temp file + rename) so readers never see half a file."""
    fs, path = filesystem(location)
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    if isinstance(fs, pyarrow.fs.LocalFileSystem):
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        return
    with fs.open_output_stream(path) as handle:
        handle.write(data)


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


def move_aside(location: str, suffix: str) -> str | None:
    """Rename a folder to `<location>.<suffix>[-n]` (nothing is deleted); returns the new name.

    None when there is no folder. `prune_aside` deletes all but the newest of them.
    """
    if not exists(location):
        return None
    fs, path = filesystem(location)
    target = free_name(fs, path, suffix)
    fs.move(path, target)
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
