"""lab3_trial without Ray: the layer swap keeps the starting weights, the trial reports and saves."""

import pytest
import torch
from torch import nn

from search.experiments.spaces.precisions import format_config, knob_keys, knob_values, layer_keys
from search.options import RunOptions
from trainables.compress import LinearInteger
from trainables.models.checkpoint import load_model, save_model
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import local_context
from trainables.trial_steps import accuracy, cost_metrics, open_data
from trainables.trials.lab3 import lab3_trial, layer_quantization, quantize_layers, starting_model

GRID = 2.0**-8  # the starting weights lie on this grid, so fixed point with 8 frac bits holds them exactly


@pytest.fixture(scope="module")
def start(tmp_path_factory):
    """A saved starting model whose Linear weights and biases are multiples of 2^-8, and its settings."""
    options = RunOptions(profile_name="smoke", dataset="synthetic")
    config = {"data": options.data_settings(), "train": options.train_settings(), "seed": 0}
    data = open_data(config)
    recipe = ModelRecipe(vocab_size=data.prepared.vocab_size, num_labels=data.prepared.num_labels, seed=0)
    model = build_from_recipe(recipe)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.copy_(torch.round(module.weight / GRID) * GRID)
                module.bias.copy_(torch.round(module.bias / GRID) * GRID)
    path = save_model(model, recipe, tmp_path_factory.mktemp("start"))
    layers = layer_keys(model)
    ctx = local_context(tmp_path_factory.mktemp("eval"))
    settings = {
        **config,
        "start_checkpoint": str(path),
        "fp32_accuracy": accuracy(model, data, config, ctx),
        "layers": layers,
        "format": "integer",
        "format_config": format_config("integer"),
        "knob_keys": knob_keys("integer"),
        "train_epochs": 0.0,
    }
    return settings


def integer_everywhere(settings: dict, width: int, frac_width: int) -> dict:
    config = dict(settings)
    for layer in settings["layers"]:
        config |= {f"{layer}.type": "integer", f"{layer}.width": width, f"{layer}.frac_width": frac_width}
    return config


def test_quantization_config_names_only_the_layers_that_chose_the_format(start):
    layers = list(start["layers"])
    config = dict(start)
    config |= {f"{layer}.type": "fp32" for layer in layers}
    config |= {f"{layers[0]}.type": "integer", f"{layers[0]}.width": 16, f"{layers[0]}.frac_width": 4}
    quantization = layer_quantization(config)
    assert set(quantization) == {"by", "default", start["layers"][layers[0]]}
    layer = quantization[start["layers"][layers[0]]]["config"]
    assert layer["name"] == "integer"
    assert [layer[f"{t}_width"] for t in ("data_in", "weight", "bias")] == [16, 16, 16]
    assert [layer[f"{t}_frac_width"] for t in ("data_in", "weight", "bias")] == [4, 4, 4]


def test_an_expanding_knob_sets_each_key_it_lists(start):
    layers = list(start["layers"])
    config = dict(start) | {f"{layer}.type": "fp32" for layer in layers}
    config |= {"format": "mxfp", "format_config": format_config("mxfp"), "knob_keys": knob_keys("mxfp")}
    config |= {
        "knob_values": knob_values("mxfp"),
        f"{layers[0]}.type": "mxfp",
        f"{layers[0]}.element": "E2M1",
    }
    layer = layer_quantization(config)[start["layers"][layers[0]]]["config"]
    assert [layer[f"{t}_exponent_width"] for t in ("data_in", "weight", "bias")] == [2, 2, 2]
    assert [layer[f"{t}_frac_width"] for t in ("data_in", "weight", "bias")] == [1, 1, 1]
    assert layer["weight_block_size"] == 32


def test_swapped_layers_carry_the_starting_weights_and_equal_fp32_at_32_bits(start):
    model, recipe = starting_model(start["start_checkpoint"])
    reference, _ = starting_model(start["start_checkpoint"])
    assert quantize_layers(model, recipe, integer_everywhere(start, 32, 8)) == len(start["layers"])
    model.eval()
    reference.eval()
    generator = torch.Generator().manual_seed(0)
    for module_name in start["layers"].values():
        swapped, original = model.get_submodule(module_name), reference.get_submodule(module_name)
        assert isinstance(swapped, LinearInteger) and type(original) is nn.Linear
        assert torch.equal(swapped.weight, original.weight) and torch.equal(swapped.bias, original.bias)
        # Inputs on the same grid: 32-bit fixed point with 8 frac bits represents input, weight
        # and bias exactly, so the quantized layer computes bit for bit what the fp32 one does.
        x = torch.randint(-(2**12), 2**12, (4, original.in_features), generator=generator) * GRID
        with torch.no_grad():
            assert torch.equal(swapped(x), original(x))
    # The per-process cached starting model stayed fp32: every trial starts from the same model.
    again, _ = starting_model(start["start_checkpoint"])
    assert not any(isinstance(m, LinearInteger) for m in again.modules())


def test_all_fp32_trial_reproduces_the_starting_model(start, tmp_path):
    config = dict(start) | {f"{layer}.type": "fp32" for layer in start["layers"]}
    ctx = local_context(tmp_path)
    metrics = lab3_trial(config, ctx)
    assert metrics["quantized_layers"] == 0
    assert metrics["accuracy"] == metrics["ptq_accuracy"] == start["fp32_accuracy"]
    assert metrics["cost_size_mb"] == metrics["fp32_size_mb"]
    assert metrics["cost_avg_linear_bits"] == 32.0
    assert ctx.reports[-1]["accuracy"] == metrics["accuracy"]


def test_trial_trains_quantized_layers_and_saves_a_checkpoint_that_rebuilds_them(start, tmp_path):
    layers = list(start["layers"])
    config = integer_everywhere(start, 8, 4) | {f"{layers[-1]}.type": "fp32", "train_epochs": 0.25}
    ctx = local_context(tmp_path)
    metrics = lab3_trial(config, ctx)
    assert metrics["quantized_layers"] == len(layers) - 1
    assert metrics["train_steps"] > 0
    assert 8.0 < metrics["cost_avg_linear_bits"] < 32.0
    assert metrics["cost_size_mb"] < metrics["fp32_size_mb"]
    model, recipe = load_model(tmp_path / "checkpoint")
    assert sum(isinstance(m, LinearInteger) for m in model.modules()) == len(layers) - 1
    assert cost_metrics(model)["cost_size_mb"] == metrics["cost_size_mb"]
    data = open_data(config)
    assert accuracy(model, data, config, ctx) == metrics["accuracy"]
