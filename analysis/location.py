"""Reading and writing a results location that is a local path or a URI (s3://, gs://, file://).

Every reader of stored results goes through these, so a command that takes a folder takes a URI
the same way. URIs are handled by pyarrow's filesystems, which read credentials and the endpoint
from the standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
AWS_ENDPOINT_URL). Paths are joined as strings with "/": `pathlib` would turn `s3://b/x` into
`s3:/b/x`.
"""

from pathlib import Path

import pyarrow
import pyarrow.fs

from analysis.paths import is_uri as _is_uri
from errors import ResultsError


def is_uri(location: str | Path) -> bool:
    return _is_uri(str(location))


def join(location: str | Path, *parts: str) -> str:
    """`location/part/...` for a path or a URI."""
    return "/".join([str(location).rstrip("/"), *parts])


def name(location: str | Path) -> str:
    """The last part of a path or URI (`lab1-qat` of `s3://b/adls/lab1-qat/`)."""
    text = str(location).rstrip("/")
    if not is_uri(text):
        return Path(text).resolve().name
    return text.rsplit("/", 1)[-1]


def parent(location: str | Path) -> str:
    return str(location).rstrip("/").rsplit("/", 1)[0]


def _fs(location: str) -> tuple[pyarrow.fs.FileSystem, str]:
    try:
        return pyarrow.fs.FileSystem.from_uri(location)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, OSError) as error:
        raise ResultsError(f"{location} cannot be opened: {error}") from None


def _type(location: str) -> pyarrow.fs.FileType:
    fs, path = _fs(location)
    try:
        return fs.get_file_info(path).type
    except OSError as error:
        raise ResultsError(f"{location} cannot be read: {error}") from None


def is_file(location: str | Path) -> bool:
    if not is_uri(location):
        return Path(location).is_file()
    return _type(str(location)) == pyarrow.fs.FileType.File


def is_dir(location: str | Path) -> bool:
    """A local folder, or a URI prefix under which something is stored (object stores have no folders)."""
    if not is_uri(location):
        return Path(location).is_dir()
    return _type(str(location)) == pyarrow.fs.FileType.Directory


def children(location: str | Path) -> list[str]:
    """The entries directly under a folder (paths or URIs), sorted; [] when there is none."""
    if not is_uri(location):
        folder = Path(location)
        return sorted(str(p) for p in folder.iterdir()) if folder.is_dir() else []
    fs, path = _fs(str(location))
    infos = fs.get_file_info(pyarrow.fs.FileSelector(path, allow_not_found=True))
    return sorted(join(location, info.base_name) for info in infos)


def read_bytes(location: str | Path) -> bytes:
    if not is_uri(location):
        return Path(location).read_bytes()
    fs, path = _fs(str(location))
    with fs.open_input_stream(path) as handle:
        return handle.read()


def write_bytes(location: str | Path, data: bytes) -> None:
    """Write a file, creating its folder; local files are replaced atomically (temp file + rename)."""
    if not is_uri(location):
        target = Path(location)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        temporary.write_bytes(data)
        temporary.replace(target)
        return
    fs, path = _fs(str(location))
    with fs.open_output_stream(path) as handle:
        handle.write(data)
