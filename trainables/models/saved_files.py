"""Whether a folder holds a complete saved model: checked from file sizes and indexes, without torch.

A driver checks a later stage's start model with this before Ray starts (and the resume logic
checks finished trials' models), so it must stay importable without torch or transformers.
"""

import json
import struct
import zipfile
from pathlib import Path

import pyarrow.fs

from errors import ResultsError

RECIPE_FILE = "recipe.json"
WEIGHTS_FILE = "model.pt"
HF_WEIGHTS_FILE = "model.safetensors"


def check_saved_model(location: str | Path, filesystem: pyarrow.fs.FileSystem | None = None) -> None:
    """ResultsError (one line naming the file) unless `location` holds a complete saved model.

    Reads only the recipe, the weights file's size and its index (a zip's central directory, a
    safetensors header), not the tensors: cheap enough for a driver to check a later stage's start
    model before Ray starts. `location` is a local folder or a URI pyarrow understands, or, with
    `filesystem`, a path inside that filesystem.
    """
    text = str(location).rstrip("/")
    if filesystem is not None:
        fs, path = filesystem, text
    elif "://" in text:
        fs, path = pyarrow.fs.FileSystem.from_uri(text)
    else:
        fs, path = pyarrow.fs.LocalFileSystem(), text
    kinds = {
        name: fs.get_file_info(f"{path}/{name}").type for name in (RECIPE_FILE, WEIGHTS_FILE, HF_WEIGHTS_FILE)
    }
    found = [name for name, kind in kinds.items() if kind == pyarrow.fs.FileType.File]
    if RECIPE_FILE not in found or len(found) < 2:
        raise ResultsError(
            f"no saved model in {text} (expected {RECIPE_FILE} and {WEIGHTS_FILE} or {HF_WEIGHTS_FILE}); "
            "rerun the experiment that saved it with --force"
        )
    with fs.open_input_stream(f"{path}/{RECIPE_FILE}") as handle:
        read_recipe_bytes(handle.read(), f"{text}/{RECIPE_FILE}")
    weights = WEIGHTS_FILE if WEIGHTS_FILE in found else HF_WEIGHTS_FILE
    with fs.open_input_file(f"{path}/{weights}") as handle:
        try:
            if weights == WEIGHTS_FILE:
                zipfile.ZipFile(handle).close()  # torch.save writes a zip: truncation loses its directory
            else:
                _check_safetensors(handle)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as error:
            raise damaged(f"{text}/{weights}", error) from None


def holds_model_files(location: str, filesystem: pyarrow.fs.FileSystem) -> bool:
    """True when the folder (a path inside `filesystem`) holds any file of a saved model."""
    names = (RECIPE_FILE, WEIGHTS_FILE, HF_WEIGHTS_FILE)
    infos = filesystem.get_file_info([f"{location.rstrip('/')}/{name}" for name in names])
    return any(info.type != pyarrow.fs.FileType.NotFound for info in infos)


def _check_safetensors(handle: pyarrow.NativeFile) -> None:
    """ValueError unless the header parses and the file is as long as its tensors need."""
    size = handle.size()
    (header_length,) = struct.unpack("<Q", handle.read(8))
    if 8 + header_length > size:
        raise ValueError(f"its header needs {header_length} bytes, the file has {size}")
    header = json.loads(handle.read(header_length))
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if 8 + header_length + end != size:
        raise ValueError(f"its tensors need {8 + header_length + end} bytes, the file has {size}")


def damaged(file: str, error: BaseException) -> ResultsError:
    """The one-line error for a saved-model file that is truncated or not what it should be."""
    reason = (str(error).splitlines() or [type(error).__name__])[0][:160]
    return ResultsError(
        f"{file} is damaged (truncated or not a saved model: {reason}); rerun the experiment that saved "
        "it with --force (its folder is moved aside, not deleted)"
    )


def read_recipe_bytes(data: bytes, file: str) -> dict:
    """The recipe JSON object in `data` (read from `file`); ResultsError naming the file otherwise."""
    try:
        recipe = json.loads(data)
    except ValueError as error:
        raise damaged(file, error) from None
    if not isinstance(recipe, dict):
        raise damaged(file, ValueError(f"a JSON {type(recipe).__name__}, not an object"))
    return recipe
