"""`export_hf`: a `save_pretrained` folder any transformers install loads; `load_compressed`: ours, exactly.

The folder holds `config.json` (with our recipe under `COMPRESSION_KEY`), `model.safetensors` (a
stock BertForSequenceClassification whose Linear weights are the compressed model's effective
ones: on the format's grid, pruned zeros kept), `compression.safetensors` (masks, format
parameters and any raw tensor re-quantizing would change), the tokenizer and a model card.
Plain `AutoModelForSequenceClassification.from_pretrained(folder)` computes with the compressed
weights but in fp32 activations without activation pruning; `load_compressed(folder)` rebuilds
the fake-quantized model, activations included, and gives the same logits as the source model.
"""

import json
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

from trainables.models.checkpoint import save_pretrained_quietly
from trainables.models.classifier import build_model
from trainables.models.export.model_card import CardFacts, model_card
from trainables.models.export.on_grid import on_grid_state
from trainables.models.recipe import ModelRecipe, build_from_recipe

COMPRESSION_KEY = "adls_compression"
EXTRAS_FILE = "compression.safetensors"
CARD_FILE = "README.md"
# Files of a checkpoint folder that are not the tokenizer's.
NOT_TOKENIZER = {"recipe.json", "model.pt", "model.safetensors", "config.json", "adls_result.json"}
# The attention every transformers install knows (the compressed model's config names ours).
STOCK_ATTENTION = "sdpa"


def export_hf(
    model: nn.Module,
    recipe: ModelRecipe,
    folder: str | Path,
    tokenizer_dir: str | Path | None = None,
    facts: CardFacts | None = None,
) -> list[Path]:
    """Write the folder the module docstring describes into `folder` (created); returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plain = build_model(recipe.vocab_size, recipe.num_labels, recipe.arch, None, recipe.seed)
    state = on_grid_state(model, plain)
    plain.load_state_dict(state.plain)
    plain.config._attn_implementation = STOCK_ATTENTION
    setattr(plain.config, COMPRESSION_KEY, {"recipe": recipe.to_dict(), "extras": EXTRAS_FILE})
    before = set(folder.iterdir())
    save_pretrained_quietly(plain, folder)
    save_file(state.extras, folder / EXTRAS_FILE, metadata={"identity": json.dumps(state.identity)})
    if tokenizer_dir is not None:
        for path in sorted(Path(tokenizer_dir).iterdir()):
            if path.is_file() and path.name not in NOT_TOKENIZER:
                shutil.copy2(path, folder / path.name)
    if facts is not None:
        (folder / CARD_FILE).write_text(model_card(facts))
    return sorted(set(folder.iterdir()) - before | {folder / EXTRAS_FILE})


def load_compressed(folder: str | Path) -> tuple[nn.Module, ModelRecipe]:
    """Rebuild the fake-quantized, pruned model of an `export_hf` folder (eval mode) and its recipe.

    Raises FileNotFoundError when the folder holds no such export (a plain `save_pretrained`
    folder lacks our key in config.json).
    """
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    if COMPRESSION_KEY not in config:
        raise FileNotFoundError(f"{folder}/config.json has no {COMPRESSION_KEY!r}: not written by export_hf")
    recipe = ModelRecipe.from_dict(config[COMPRESSION_KEY]["recipe"])
    model = build_from_recipe(recipe)
    state = load_file(folder / "model.safetensors")
    extras_path = folder / config[COMPRESSION_KEY]["extras"]
    state.update(load_file(extras_path))
    wanted = model.state_dict()
    # Identity slots are identity matrices in the stock folder and have no tensors in our model.
    state = {key: value for key, value in state.items() if key in wanted}
    model.load_state_dict(state)
    return model.eval(), recipe
