"""The weights a compressed model computes with, as a stock BERT state dict (values on the format's grid)."""

from dataclasses import dataclass, field

import torch
from torch import nn

from trainables.compress.layers.quantized_linear import QuantizedLinear

# State-dict entries of a compressed model that a stock BERT has no place for.
MASK_SUFFIXES = ("weight_mask", "input_mask")


@dataclass
class OnGridState:
    """`plain`: what a stock BertForSequenceClassification loads; `extras`: what only our layers read.

    `extras` holds pruning masks, format parameters (a learned scale) and, for a layer whose format
    does not map its own grid onto itself (re-quantizing changes a value), the layer's raw weight
    or bias, so that `load_compressed` rebuilds the model exactly. `identity` names the Linear
    slots that the compressed model replaced with nn.Identity (stored as identity matrices).
    """

    plain: dict[str, torch.Tensor]
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    identity: list[str] = field(default_factory=list)


@torch.no_grad()
def effective_weight(module: nn.Linear) -> torch.Tensor:
    """The weight `module`'s forward multiplies with: masked, then (for our layers) quantized."""
    weight = module.weight.detach()
    mask = getattr(module, "weight_mask", None)
    if mask is not None:
        weight = weight * mask
    if isinstance(module, QuantizedLinear) and module.quantizers["weight"] is not None:
        weight = module.quantizers["weight"](weight)
    return weight.detach().clone()


@torch.no_grad()
def effective_bias(module: nn.Linear) -> torch.Tensor | None:
    """The bias `module`'s forward adds (quantized for our layers), or None."""
    if module.bias is None:
        return None
    bias = module.bias.detach()
    if isinstance(module, QuantizedLinear) and module.quantizers["bias"] is not None:
        bias = module.quantizers["bias"](bias)
    return bias.detach().clone()


@torch.no_grad()
def on_grid_state(model: nn.Module, plain_model: nn.Module) -> OnGridState:
    """Fill every entry of `plain_model`'s state dict from the compressed `model` (same architecture).

    Linear weights and biases are the effective ones (`effective_weight`), Identity slots become
    identity matrices with zero bias, everything else is copied. Raises ValueError when the two
    models' names do not line up.
    """
    model.eval()
    source = model.state_dict()
    modules = dict(model.named_modules())
    state = OnGridState(plain={})
    for key, target in plain_model.state_dict().items():
        owner_name, _, leaf = key.rpartition(".")
        owner = modules.get(owner_name)
        if isinstance(owner, nn.Identity) and leaf in ("weight", "bias"):
            value = torch.eye(target.shape[0]) if leaf == "weight" else torch.zeros(target.shape)
            if owner_name not in state.identity:
                state.identity.append(owner_name)
        elif isinstance(owner, nn.Linear) and leaf in ("weight", "bias"):
            value = effective_weight(owner) if leaf == "weight" else effective_bias(owner)
        elif key in source:
            value = source[key]
        else:
            raise ValueError(f"{key} of the stock model has no counterpart in the compressed model")
        if tuple(value.shape) != tuple(target.shape):
            raise ValueError(f"{key}: shape {tuple(value.shape)} does not fit {tuple(target.shape)}")
        state.plain[key] = value.to(target.dtype).contiguous()
    for name, module in modules.items():
        if isinstance(module, nn.Linear):
            _add_extras(name, module, state)
    return state


def _add_extras(name: str, module: nn.Linear, state: OnGridState) -> None:
    prefix = f"{name}." if name else ""
    for buffer_name, buffer in module.named_buffers(recurse=False):
        state.extras[prefix + buffer_name] = buffer.detach().clone()
    for param_name, param in module.named_parameters(recurse=False):
        if param_name not in ("weight", "bias"):
            state.extras[prefix + param_name] = param.detach().clone()
    if not isinstance(module, QuantizedLinear):
        return
    for leaf in ("weight", "bias"):
        on_grid = state.plain.get(prefix + leaf)
        quantize = module.quantizers[leaf]
        if on_grid is None or quantize is None:
            continue
        if not _maps_to_itself(module, leaf, on_grid):
            state.extras[prefix + leaf] = getattr(module, leaf).detach().clone()


def _maps_to_itself(module: QuantizedLinear, leaf: str, on_grid: torch.Tensor) -> bool:
    """True when loading `on_grid` as the raw tensor reproduces it (quantizing it again is a no-op)."""
    requantized = effective_weight_from(module, leaf, on_grid)
    return torch.equal(requantized, on_grid)


@torch.no_grad()
def effective_weight_from(module: QuantizedLinear, leaf: str, raw: torch.Tensor) -> torch.Tensor:
    """What `module` computes with when its `leaf` ("weight"/"bias") holds `raw` (mask included)."""
    if leaf == "weight":
        mask = getattr(module, "weight_mask", None)
        if mask is not None:
            raw = raw * mask
    return module.quantizers[leaf](raw)
