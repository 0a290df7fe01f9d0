"""Lab 3: give every Linear layer its own number format, train briefly, report accuracy and size.

The config names, per layer, whether it stays fp32 or takes the searched format and, if so, that
layer's knob values (`<layer>.type`, `<layer>.<knob>`). Fixed settings say what those mean:
`layers` ({short name: module name}), `format` and `format_config` (the MASE keys every layer of
the format gets), `knob_keys` ({knob: MASE keys it sets}), `knob_values` (optional, {knob: {choice:
{key: value}}} for a knob that sets several keys to different values), `start_checkpoint`,
`fp32_accuracy` (the starting model's accuracy, for reference) and `train_epochs`.
"""

import copy
import functools
from typing import Any

import torch
from torch import nn

from trainables.compress import quantize_model
from trainables.compress.mase_mode import with_mase_exact
from trainables.models.checkpoint import load_model
from trainables.models.recipe import ModelRecipe
from trainables.trial_context import TrialContext
from trainables.trial_steps import accuracy, cost_metrics, finish, majority_accuracy, open_data, train_model


def layer_quantization(config: dict[str, Any]) -> dict[str, Any]:
    """MASE's `by: name` config of a trial: the layers that chose the format, each with its knobs.

    Layers whose `<layer>.type` is anything but the format (i.e. "fp32") are left out and stay
    nn.Linear.
    """
    format_name = config["format"]
    quantization: dict[str, Any] = {"by": "name", "default": {"config": {"name": None}}}
    for short, module_name in config["layers"].items():
        if config.get(f"{short}.type") != format_name:
            continue
        layer = dict(config["format_config"])
        expands = config.get("knob_values", {})
        for knob, keys in config["knob_keys"].items():
            value = config[f"{short}.{knob}"]
            if knob in expands:
                layer.update(expands[knob][str(value)])
                continue
            for key in keys:
                layer[key] = value
        quantization[module_name] = {"config": layer}
    return quantization


@functools.lru_cache(maxsize=2)
def _saved_model(location: str) -> tuple[nn.Module, ModelRecipe]:
    # One load per worker process; Tune reuses workers between trials of a search.
    return load_model(location, "cpu")


def starting_model(location: str, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelRecipe]:
    """A private deep copy of the saved starting model (and its recipe), ready to be changed."""
    model, recipe = _saved_model(str(location))
    return copy.deepcopy(model).to(device), copy.deepcopy(recipe)


def quantize_layers(model: nn.Module, recipe: ModelRecipe, config: dict[str, Any]) -> int:
    """Swap the layers the trial chose, in place, keeping their trained weights; returns how many.

    The recipe records the swap so that the trial's checkpoint rebuilds the same model.
    """
    quantization = with_mase_exact(layer_quantization(config), bool(config.get("mase_exact", False)))
    if recipe.quantization:
        # A starting model is fp32; merging two `by: name` configs would hide which one won.
        raise ValueError(f"the starting model {config['start_checkpoint']} is already quantized")
    quantize_model(model, quantization)
    recipe.quantization = quantization
    return len(quantization) - 2


def lab3_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Copy the starting model, quantize the chosen layers, evaluate, train, evaluate, save, report.

    Reports `accuracy` (after training; the search's objective), `ptq_accuracy` (before),
    `fp32_accuracy` and `fp32_size_mb` of the starting model, `quantized_layers` and the
    `cost_` metrics (`cost_size_mb`, `cost_avg_linear_bits`, ...).
    """
    data = open_data(config)
    model, recipe = starting_model(config["start_checkpoint"], ctx.device)
    fp32_size_mb = cost_metrics(model)["cost_size_mb"]
    quantized = quantize_layers(model, recipe, config)

    ptq_accuracy = accuracy(model, data, config, ctx)
    train_metrics = train_model(model, data, config, ctx, epochs=config["train_epochs"])
    trained_accuracy = accuracy(model, data, config, ctx)

    metrics = {
        "accuracy": trained_accuracy,
        "ptq_accuracy": ptq_accuracy,
        "fp32_accuracy": float(config["fp32_accuracy"]),
        "fp32_size_mb": fp32_size_mb,
        "quantized_layers": quantized,
        "linear_layers": len(config["layers"]),
        "majority_accuracy": majority_accuracy(data),
        **train_metrics,
    }
    return finish(model, recipe, ctx, metrics, data)
