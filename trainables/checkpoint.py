"""Save and load trained models as a directory holding a recipe and a state dict."""

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pyarrow.fs
import torch
from torch import nn

from trainables.model_recipe import ModelRecipe, build_from_recipe

RECIPE_FILE = "recipe.json"
WEIGHTS_FILE = "model.pt"


def save_model(model: nn.Module, recipe: ModelRecipe, directory: str | Path) -> Path:
    """Write `recipe.json` and `model.pt` into `directory` (created if needed); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RECIPE_FILE).write_text(json.dumps(recipe.to_dict(), indent=1))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, directory / WEIGHTS_FILE)
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


def load_model(location: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelRecipe]:
    """Rebuild a saved model from a local folder or a URI pyarrow understands (s3://, gs://).

    Raises FileNotFoundError naming the location when it holds no saved model.
    """
    local = _local_copy(str(location))
    try:
        recipe = ModelRecipe.from_dict(json.loads((local / RECIPE_FILE).read_text()))
        state = torch.load(local / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no saved model in {location} (expected {RECIPE_FILE} and {WEIGHTS_FILE})"
        ) from None
    model = build_from_recipe(recipe)
    model.load_state_dict(state)
    return model.to(device), recipe


def _local_copy(location: str) -> Path:
    if "://" not in location:
        return Path(location)
    filesystem, path = pyarrow.fs.FileSystem.from_uri(location)
    target = Path(tempfile.mkdtemp(prefix="adls-ckpt-"))
    for name in (RECIPE_FILE, WEIGHTS_FILE):
        with filesystem.open_input_stream(f"{path}/{name}") as src, open(target / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return target
