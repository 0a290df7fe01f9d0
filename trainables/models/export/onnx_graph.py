"""`export_onnx`: a compressed model as an ONNX graph with the integer format in standard QDQ operators.

Each Linear becomes an `OnnxLinear` before export:
- fixed point (`integer`): the weight (and bias) stored as int8/int16 initializers read by
  DequantizeLinear (scale 2^-frac, zero point 0; the weight's QuantizeLinear is folded away, as
  in ONNX Runtime's own QDQ models), the input through a QuantizeLinear -> DequantizeLinear pair
  (int8 up to 8 bits, int16 up to 16; a wider tensor is kept in fp32 on its grid, and a wider input
  is rounded and clamped with float operators);
- any other format: weight and bias stored in fp32 already on the format's grid; a quantized input
  stays fp32 (those quantizers reinterpret float bits, which standard ONNX operators cannot
  express), so such a model's ONNX logits differ from PyTorch's by what input quantization changes;
- pruning: zeros stay in the stored weight; `l1-norm` activation pruning becomes TopK/Where.
Batch and sequence axes are dynamic. Inputs `input_ids`, `attention_mask` (int64); output `logits`.
"""

import copy
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from errors import ConfigError
from trainables.compress.layers.quantized_linear import QuantizedLinear
from trainables.compress.prune import InputPruning
from trainables.models.export.on_grid import effective_bias, effective_weight
from trainables.models.export.onnx_ops import (
    DQ_MAX_WIDTH,
    QDQ_MAX_WIDTH,
    FixedPointQDQ,
    IntegerDequantize,
    PruneBelowQuantile,
    integer_dtype,
)

log = logging.getLogger(__name__)
OPSET = 21  # QuantizeLinear with int16 output
INPUTS = ("input_ids", "attention_mask")


@dataclass
class OnnxPlan:
    """What the export did per layer: which layers are QDQ integers and which are fp32 on the grid."""

    qdq_layers: list[str] = field(default_factory=list)
    fp32_grid_layers: dict[str, str] = field(default_factory=dict)  # layer -> format
    fp32_input_layers: list[str] = field(default_factory=list)  # quantized inputs left in fp32
    wide_fixed_layers: list[str] = field(default_factory=list)  # fixed point wider than int16
    notes: list[str] = field(default_factory=list)


class OnnxLinear(nn.Module):
    """A Linear whose forward is written in export-friendly operations (see the module docstring)."""

    def __init__(self, source: nn.Linear, name: str) -> None:
        super().__init__()
        self.name = name
        self.prune_input = _input_pruning(source, name)
        config = source.config if isinstance(source, QuantizedLinear) else {}
        self.integer = config.get("name") == "integer"
        self.input_format: tuple[int, int] | None = None
        weight, bias = effective_weight(source), effective_bias(source)
        self.weight_frac = self.bias_frac = 0
        if self.integer and int(config["weight_width"]) <= DQ_MAX_WIDTH:
            self.weight_frac = int(config["weight_frac_width"])
            weight = _as_integers(weight, self.weight_frac, int(config["weight_width"]))
        self.register_buffer("weight", weight)
        if bias is not None and self.integer and int(config["bias_width"]) <= DQ_MAX_WIDTH:
            self.bias_frac = int(config["bias_frac_width"])
            bias = _as_integers(bias, self.bias_frac, int(config["bias_width"]))
        self.register_buffer("bias", bias)
        if self.integer:
            self.input_format = (int(config["data_in_width"]), int(config["data_in_frac_width"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.prune_input is not None:
            x = self.prune_input(x)
        if self.input_format is not None:
            width, frac = self.input_format
            if width <= QDQ_MAX_WIDTH:
                x = FixedPointQDQ.apply(x, width, frac)
            else:
                limit = 2 ** (width - 1)
                x = torch.round(x * 2.0**frac).clamp(-limit, limit - 1) * 2.0**-frac
        weight = self.weight
        if not weight.is_floating_point():
            weight = IntegerDequantize.apply(weight, self.weight_frac)
        bias = self.bias
        if bias is not None and not bias.is_floating_point():
            bias = IntegerDequantize.apply(bias, self.bias_frac)
        return nn.functional.linear(x, weight, bias)


def _as_integers(values: torch.Tensor, frac_width: int, width: int) -> torch.Tensor:
    """On-grid fixed-point values as the integers they are (ValueError if one is off the grid)."""
    scaled = values.double() * 2.0**frac_width
    integers = torch.round(scaled)
    if not torch.equal(integers, scaled):
        raise ValueError("a fixed-point tensor has values off its grid")
    return integers.to(integer_dtype(width))


def _input_pruning(source: nn.Linear, name: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    hook = next((h for h in source._forward_pre_hooks.values() if isinstance(h, InputPruning)), None)
    if hook is None:
        return None
    if hook.method == "l1-norm":
        sparsity = hook.sparsity
        return lambda x: PruneBelowQuantile.apply(x, sparsity)
    if hook.method == "random_fixed":
        mask = source.input_mask.clone()
        return lambda x: x * mask
    raise ConfigError(
        f"layer {name!r}: activation pruning method {hook.method!r} draws per call or ranks per token, "
        "which this ONNX export does not express; export this trial --to hf instead"
    )


def onnx_ready(model: nn.Module) -> tuple[nn.Module, OnnxPlan]:
    """A copy of `model` with every Linear as an OnnxLinear, and the plan saying what each became.

    Raises ConfigError for what ONNX Runtime cannot reproduce: a stochastic format (it draws
    random values per call) or random activation pruning.
    """
    ready = copy.deepcopy(model).eval()
    plan = OnnxPlan()
    for name, module in list(ready.named_modules()):
        if not isinstance(module, nn.Linear):
            continue
        config = module.config if isinstance(module, QuantizedLinear) else {}
        stochastic = [key for key, value in config.items() if key.endswith("_stochastic") and value]
        if stochastic:
            raise ConfigError(
                f"layer {name!r}: format {config['name']!r} with {stochastic[0]}=true draws random values "
                "per call, which ONNX Runtime cannot reproduce; export this trial --to hf instead"
            )
        replacement = OnnxLinear(module, name)
        if replacement.integer and replacement.weight.is_floating_point():
            plan.wide_fixed_layers.append(name)
        elif replacement.integer:
            plan.qdq_layers.append(name)
        elif isinstance(module, QuantizedLinear):
            plan.fp32_grid_layers[name] = module.format_name
            if module.quantizers["data_in"] is not None:
                plan.fp32_input_layers.append(name)
        parent_name, _, child = name.rpartition(".")
        setattr(ready.get_submodule(parent_name) if parent_name else ready, child, replacement)
    if plan.fp32_grid_layers:
        formats = sorted(set(plan.fp32_grid_layers.values()))
        plan.notes.append(
            f"{len(plan.fp32_grid_layers)} layer(s) in {', '.join(formats)}: ONNX has no such number type, "
            "so their weights are stored in fp32 on the format's grid"
        )
    if plan.fp32_input_layers:
        plan.notes.append(
            f"{len(plan.fp32_input_layers)} of them quantize their input in PyTorch; in ONNX that input "
            "stays fp32 (the quantizer reinterprets float bits, which standard ONNX operators cannot do)"
        )
    if plan.wide_fixed_layers:
        plan.notes.append(
            f"{len(plan.wide_fixed_layers)} fixed-point layer(s) wider than 16 bits: no QDQ integer type "
            "holds them here, so their weights are stored in fp32 on the grid and their inputs are "
            "rounded and clamped with float operators (exact)"
        )
    if plan.qdq_layers:
        plan.notes.append(
            f"{len(plan.qdq_layers)} fixed-point layer(s) as QuantizeLinear/DequantizeLinear "
            "(int8 up to 8 bits, int16 up to 16, scale 2^-frac, zero point 0)"
        )
    return ready, plan


class _Logits(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(model: nn.Module, path: str | Path) -> OnnxPlan:
    """Write `model` (compressed, CPU) to `path` as the module docstring says; returns the plan.

    Uses the TorchScript exporter (`dynamo=False`): it takes the `symbolic` of our QDQ functions
    and needs no onnxscript.
    """
    ready, plan = onnx_ready(model)
    ready.config._attn_implementation = "sdpa"
    wrapper = _Logits(ready).eval()
    vocab = int(ready.config.vocab_size)
    ids = torch.randint(1, vocab, (2, 8), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0  # a padded row, so the traced graph keeps the attention mask
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer warnings
        torch.onnx.export(
            wrapper,
            (ids, mask),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(INPUTS),
            output_names=["logits"],
            dynamic_axes={**axes, "logits": {0: "batch"}},
        )
    wrapper.eval()
    return plan
