"""Save and load trained models as a directory holding a recipe, the weights and the tokenizer.

An uncompressed model (no quantization, pruning or identity projections) is saved in Hugging
Face's `save_pretrained` layout (`config.json` + `model.safetensors`), so
`AutoModelForSequenceClassification.from_pretrained(path)` opens it without this project; a
compressed one keeps its state dict in `model.pt` (its layers are ours). Either way `recipe.json`
says how to rebuild it with `load_model`, and the tokenizer the model was trained with is saved
beside it (`AutoTokenizer.from_pretrained(path)`).
"""

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.models.saved_files import (  # noqa: F401 (re-exported: the checkpoint API)
    HF_WEIGHTS_FILE,
    RECIPE_FILE,
    WEIGHTS_FILE,
    check_saved_model,
    damaged,
    holds_model_files,
    read_recipe_bytes,
)


def is_plain(recipe: ModelRecipe) -> bool:
    """True when the recipe builds a stock BertForSequenceClassification (Hugging Face can load it)."""
    return not (recipe.quantization or recipe.pruning or recipe.identity_projections)


def save_model(
    model: nn.Module, recipe: ModelRecipe, directory: str | Path, tokenizer_dir: str | Path | None = None
) -> Path:
    """Write the model into `directory` (created if needed) as the module docstring says; returns it.

    `tokenizer_dir` is a folder written by a tokenizer's `save_pretrained`; its files are copied in.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RECIPE_FILE).write_text(json.dumps(recipe.to_dict(), indent=1))
    if is_plain(recipe) and hasattr(model, "save_pretrained"):
        save_pretrained_quietly(model, directory)
    else:
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save(state, directory / WEIGHTS_FILE)
    if tokenizer_dir is not None:
        for path in Path(tokenizer_dir).iterdir():
            if path.is_file():
                shutil.copy2(path, directory / path.name)
    return directory


def weights_fingerprint(model_or_state: nn.Module | dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order: equal iff the weights are."""
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_pretrained_quietly(model: nn.Module, directory: Path) -> None:
    """save_pretrained without its "Writing model shards" bar (one per trial in a search's log)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(directory)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def load_model(location: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelRecipe]:
    """Rebuild a saved model from a local folder or a URI pyarrow understands (s3://, gs://).

    Raises FileNotFoundError naming the location when it holds no saved model.
    """
    try:
        with _local_folder(str(location)) as local:
            recipe = ModelRecipe.from_dict(_read_recipe(local / RECIPE_FILE, location))
            weights = local / WEIGHTS_FILE if (local / WEIGHTS_FILE).is_file() else local / HF_WEIGHTS_FILE
            try:
                if weights.name == WEIGHTS_FILE:
                    state = torch.load(weights, map_location="cpu", weights_only=True)
                else:
                    state = load_file(weights)
            except (RuntimeError, SafetensorError, EOFError, OSError, ValueError) as error:
                if isinstance(error, FileNotFoundError):
                    raise
                raise damaged(f"{str(location).rstrip('/')}/{weights.name}", error) from None
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no saved model in {location} (expected {RECIPE_FILE} and {WEIGHTS_FILE} or {HF_WEIGHTS_FILE})"
        ) from None
    model = build_from_recipe(recipe)
    model.load_state_dict(state)
    return model.to(device), recipe


def _read_recipe(path: Path, location: str | Path) -> dict:
    return read_recipe_bytes(path.read_bytes(), f"{str(location).rstrip('/')}/{RECIPE_FILE}")


@contextlib.contextmanager
def _local_folder(location: str) -> Iterator[Path]:
    """The folder itself, or for a URI a temporary local copy of its files (not subfolders).

    The copy is deleted on leaving the block: a trial that loads its start model from s3://
    must not leave one copy per trial in /tmp (a full-profile NAS checkpoint is ~165 MB).
    """
    if "://" not in location:
        yield Path(location)
        return
    filesystem, path = pyarrow.fs.FileSystem.from_uri(location)
    with tempfile.TemporaryDirectory(prefix="adls-ckpt-") as folder:
        target = Path(folder)
        for info in filesystem.get_file_info(pyarrow.fs.FileSelector(path)):
            if info.type == pyarrow.fs.FileType.File:
                with (
                    filesystem.open_input_stream(info.path) as src,
                    open(target / info.base_name, "wb") as dst,
                ):
                    shutil.copyfileobj(src, dst)
        yield target
