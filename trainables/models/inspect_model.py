"""The per-layer view of a model that Lab 0's MaseGraph metadata gives: format, bits, sparsity, pruning."""

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from trainables.compress import model_cost
from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear
from trainables.compress.prune import InputPruning


@dataclass(frozen=True)
class LayerView:
    """One module with parameters of its own.

    `format` is the number format's MASE name for a quantized Linear, else the weight's dtype;
    `format_params` its config per tensor ("weight width=8 frac_width=4; data_in ..."), empty for a
    plain layer. `bits_per_weight` is the weight's storage bits per element (shared block exponents
    included), `weight_sparsity` its share of zeros, `activation_pruning` "<method> <sparsity>" when
    the layer's input is pruned, else "".
    """

    module: str
    kind: str
    format: str
    format_params: str
    bits_per_weight: float
    weight_sparsity: float
    activation_pruning: str
    params: int

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def inspect_layers(model: nn.Module) -> list[LayerView]:
    """A LayerView for every module holding parameters itself (Linear, Embedding, LayerNorm ...), in order."""
    views = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if not own:
            continue
        weight = getattr(module, "weight", None)
        weight = weight if isinstance(weight, torch.Tensor) else own[0]
        if isinstance(module, QuantizedLinear):
            fmt, params = module.format_name, _format_params(module.config)
            bits = float(module.weight_bits()) / max(module.weight.numel(), 1)
        else:
            fmt, params = str(weight.dtype).removeprefix("torch."), ""
            bits = float(weight.element_size() * 8)
        zeros = weight.numel() - int(torch.count_nonzero(weight.detach()).item())
        pruning = next((h for h in module._forward_pre_hooks.values() if isinstance(h, InputPruning)), None)
        views.append(
            LayerView(
                module=name,
                kind=type(module).__name__,
                format=fmt,
                format_params=params,
                bits_per_weight=bits,
                weight_sparsity=zeros / max(weight.numel(), 1),
                activation_pruning=f"{pruning.method} {pruning.sparsity:g}" if pruning else "",
                params=sum(p.numel() for p in own),
            )
        )
    return views


def inspect_model(model: nn.Module) -> tuple[list[LayerView], dict[str, int | float]]:
    """(per-layer views, totals): the totals are model_cost's (parameters, sparsity, bits, size, ratio)."""
    return inspect_layers(model), model_cost(model)


def _format_params(config: dict[str, Any]) -> str:
    """MASE's flat keys grouped per tensor: {"weight_width": 8, ...} -> "weight width=8 ..."."""
    groups: dict[str, list[str]] = {}
    for key, value in config.items():
        if key == "name":
            continue
        tensor = next((t for t in TENSORS if key.startswith(t + "_")), "")
        field = key[len(tensor) + 1 :] if tensor else key
        groups.setdefault(tensor, []).append(f"{field}={value}")
    return "; ".join(" ".join(([tensor] if tensor else []) + fields) for tensor, fields in groups.items())
