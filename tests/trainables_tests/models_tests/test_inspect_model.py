"""inspect_model: the per-layer view of every kind of checkpoint the experiments save."""

import pytest
from torch import nn

from trainables.compress import example_config, fixed_point_config, model_cost
from trainables.models.checkpoint import load_model, save_model
from trainables.models.inspect_model import inspect_model
from trainables.models.recipe import ModelRecipe, build_from_recipe

LAYER = "bert.encoder.layer.0.attention.self.query"
PRUNE = {
    "weight": {"sparsity": 0.5, "method": "l1-norm", "scope": "local"},
    "activation": {"sparsity": 0.3, "method": "l1-norm", "scope": "local"},
}
NAS = {"num_hidden_layers": 1, "num_attention_heads": 4, "hidden_size": 64, "intermediate_size": 128}
BLOCK = {"by": "name", "default": {"config": {"name": None}}, LAYER: {"config": example_config("block_fp")}}

# One recipe per kind of checkpoint: base, lab1-qat, lab1-prune, lab2-nas, lab2-compress-aware, lab3.
RECIPES = {
    "base": ModelRecipe(vocab_size=60),
    "lab1-qat": ModelRecipe(vocab_size=60, quantization=fixed_point_config(8, 4)),
    "lab1-prune": ModelRecipe(vocab_size=60, quantization=fixed_point_config(8, 4), pruning=PRUNE),
    "lab2-nas": ModelRecipe(vocab_size=60, arch=NAS, identity_projections=["key"]),
    "lab2-compress-aware": ModelRecipe(
        vocab_size=60, arch=NAS, quantization=fixed_point_config(8, 4), pruning=PRUNE
    ),
    "lab3": ModelRecipe(vocab_size=60, quantization=BLOCK),
}


@pytest.mark.parametrize("kind", list(RECIPES))
def test_inspect_every_kind_of_checkpoint(kind, tmp_path):
    recipe = RECIPES[kind]
    model, _ = load_model(save_model(build_from_recipe(recipe), recipe, tmp_path / kind))
    layers, totals = inspect_model(model)
    assert totals == model_cost(model)
    assert sum(layer.params for layer in layers) == totals["params"]
    by_name = {layer.module: layer for layer in layers}
    assert by_name["bert.embeddings.word_embeddings"].format == "float32"
    linears = [layer for layer in layers if layer.kind.startswith("Linear")]
    assert len(linears) == sum(isinstance(m, nn.Linear) for m in model.modules())
    if kind == "lab2-nas":
        assert "bert.encoder.layer.0.attention.self.key" not in by_name  # an Identity holds nothing
    query = by_name[LAYER]
    if recipe.quantization and kind != "lab3":
        assert (query.kind, query.format, query.bits_per_weight) == ("LinearInteger", "integer", 8.0)
        assert "weight width=8 frac_width=4" in query.format_params
    if kind == "lab3":
        # Each element's width plus its share of the exponent of its block.
        config = BLOCK[LAYER]["config"]
        block = config["weight_block_size"][-1]
        shared = config["weight_exponent_width"] / block
        assert query.format == "block_fp" and query.bits_per_weight == config["weight_width"] + shared
        assert by_name["bert.encoder.layer.0.attention.self.key"].format == "float32"
    if recipe.pruning:
        assert query.weight_sparsity == pytest.approx(0.5, abs=0.01)
        assert query.activation_pruning == "l1-norm 0.3"
    else:
        assert query.weight_sparsity == 0.0 and query.activation_pruning == ""
