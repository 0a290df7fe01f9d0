"""LinearBinary, LinearBinaryScaling, LinearBinaryResidualSign: MASE's binary Linears.

Binarisation itself is in formats/binary.py. Scales are where MASE puts them:

- `binary`: the weight alone is binarised; input and bias stay fp32.
- `binary_scaling`: input, weight and bias are binarised (each with its own `<tensor>_stochastic`
  and `<tensor>_bipolar`) when `binary_training` is true. A non-bipolar tensor carries its
  mean-based scale {0, mean |x|}; the weight is also multiplied by a learned scale |gamma| (the
  scale MASE declares and leaves commented out). With `binary_training` false the layer runs in
  fp32 on the weight clipped to [-1, 1] (BinaryConnect).
- `binary_residual_sign`: the input goes through residual sign with `data_in_levels` (1-3) learned
  level means; the weight is binarised (or, without `binary_training`, clipped to [-1, 1]) and
  multiplied by a learned |gamma|; the bias stays fp32.

Where we differ from MASE, deliberately: |gamma| starts at the weight's mean |w| when the weight is
bipolar-binarised (XNOR-Net's optimal scale; MASE starts at 1.0, which makes a +-1 weight far
larger than the fp32 weight it replaces), otherwise at 1.0 as in MASE.

With `mase_exact` (see mase_mode.py): gamma starts at 1.0; `binary_scaling` has no learned scale
(gamma stays 1.0, frozen, as MASE declares it only in a comment); without `binary_training` the
stored weight is clamped in place, as MASE does; residual sign with one level on a 3-D input gives
every batch item the first item's value (MASE indexes `out[0, :, :]`). Where MASE crashes
(non-bipolar binarisation of a 2-D weight, one residual level on a 2-D input) ours is kept.

`weight_bits()` counts 1 bit per weight, plus 32 bits per row for a non-bipolar weight's
mean-based scale; a learned gamma is a parameter and is counted as one by `model_cost`. Without
`binary_training` the weight is fp32: 32 bits each.
"""

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from trainables.compress.config_checks import optional_flag, require_flag, require_int
from trainables.compress.formats.binary import binary_quantize, clip_to_unit, residual_sign_quantize
from trainables.compress.formats.mase_exact import mase_clip_in_place
from trainables.compress.layers.quantized_linear import FP32_BITS, TENSORS, QuantizedLinear, Quantizer
from trainables.compress.mase_mode import is_mase_exact
from trainables.compress.number_format import FigureStyle, NumberFormat, PrecisionSpace, every_tensor, one_key

MAX_RESIDUAL_LEVELS = 3


def _binary_weight_bits(weight: torch.Tensor, bipolar: bool) -> float:
    scales = 0 if bipolar else weight.shape[0]
    return float(weight.numel() + FP32_BITS * scales)


class LinearBinary(QuantizedLinear):
    """Binary weights (`name: binary`): `weight_stochastic`, `weight_bipolar`; input and bias in fp32."""

    format_name = "binary"

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        require_flag(config, "weight_stochastic", layer_name)
        require_flag(config, "weight_bipolar", layer_name)

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        if tensor != "weight":
            return None
        return partial(
            binary_quantize, stochastic=config["weight_stochastic"], bipolar=config["weight_bipolar"]
        )

    def weight_bits(self) -> float:
        return _binary_weight_bits(self.weight, self.config["weight_bipolar"])


class _GammaLinear(QuantizedLinear):
    """A binary Linear with a learned weight scale `gamma`, initialised by `reset_scale`."""

    def setup(self) -> None:
        self.gamma = nn.Parameter(torch.ones((), device=self.weight.device, dtype=self.weight.dtype))
        self.mase_exact = is_mase_exact(self.config, self.layer_name)
        self.reset_scale()

    @classmethod
    def from_linear(cls, linear: nn.Linear, config: Mapping[str, Any], layer_name: str = "linear"):
        """Build from a plain Linear, copying its weight and bias, then set gamma from that weight."""
        layer = super().from_linear(linear, config, layer_name)
        layer.reset_scale()
        return layer

    def reset_scale(self) -> None:
        """gamma = mean |w| for a bipolar-binarised weight (XNOR-Net), else (and in MASE-exact mode) 1."""
        with torch.no_grad():
            if self.config["binary_training"] and self.config["weight_bipolar"] and not self.mase_exact:
                self.gamma.copy_(self.weight.abs().mean())
            else:
                self.gamma.fill_(1.0)

    def binarised_weight(self, weight: torch.Tensor) -> torch.Tensor:
        """The weight binarised with `weight_stochastic` / `weight_bipolar`, times |gamma|."""
        stochastic, bipolar = self.config["weight_stochastic"], self.config["weight_bipolar"]
        return binary_quantize(weight, stochastic=stochastic, bipolar=bipolar) * self.gamma.abs()

    def weight_bits(self) -> float:
        if not self.config["binary_training"]:
            return float(FP32_BITS * self.weight.numel())
        return _binary_weight_bits(self.weight, self.config["weight_bipolar"])


class LinearBinaryScaling(_GammaLinear):
    """Binarised input, weight and bias with mean-based and learned scales (`name: binary_scaling`).

    Keys: `data_in_`/`weight_`/`bias_` + `stochastic`, `bipolar`, and `binary_training`.
    """

    format_name = "binary_scaling"

    def setup(self) -> None:
        super().setup()
        if self.mase_exact:
            # MASE's binary_scaling has no scale: gamma stays 1.
            self.gamma.requires_grad_(False)

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        for tensor in TENSORS:
            require_flag(config, f"{tensor}_stochastic", layer_name)
            require_flag(config, f"{tensor}_bipolar", layer_name)
        require_flag(config, "binary_training", layer_name)

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        if not config["binary_training"]:
            if tensor != "weight":
                return None
            return mase_clip_in_place if is_mase_exact(config, self.layer_name) else clip_to_unit
        if tensor == "weight":
            return self.binarised_weight
        return partial(
            binary_quantize, stochastic=config[f"{tensor}_stochastic"], bipolar=config[f"{tensor}_bipolar"]
        )

    def input_bits_per_token(self) -> float:
        if self.quantizers["data_in"] is None:
            return float(FP32_BITS * self.in_features)
        return float(self.in_features + (0 if self.config["data_in_bipolar"] else FP32_BITS))


class LinearBinaryResidualSign(_GammaLinear):
    """Residual-sign input, binary weight with learned scale, fp32 bias (`name: binary_residual_sign`).

    Keys: `data_in_levels` (1-3, default 2), `data_in_residual_sign` (default true; false leaves
    the input in fp32), `weight_stochastic`, `weight_bipolar`, `binary_training`.
    `data_in_stochastic` and `data_in_bipolar` are accepted for MASE configs but, as in MASE,
    have no effect: residual sign is always the deterministic sign.
    """

    format_name = "binary_residual_sign"

    def setup(self) -> None:
        super().setup()
        self.means: nn.Parameter | None = None
        if optional_flag(self.config, "data_in_residual_sign", self.layer_name, default=True):
            levels = require_int(self.config, "data_in_levels", self.layer_name, default=2)
            # MASE's start: level l gets weight (levels - l) / sum, e.g. [2/3, 1/3] for two levels.
            start = np.arange(levels, 0, -1, dtype=np.float64)
            self.means = nn.Parameter(
                torch.tensor(start / start.sum(), device=self.weight.device, dtype=self.weight.dtype)
            )

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        require_int(config, "data_in_levels", layer_name, 1, MAX_RESIDUAL_LEVELS, default=2)
        optional_flag(config, "data_in_residual_sign", layer_name, default=True)
        optional_flag(config, "data_in_stochastic", layer_name, default=False)
        optional_flag(config, "data_in_bipolar", layer_name, default=True)
        require_flag(config, "weight_stochastic", layer_name)
        require_flag(config, "weight_bipolar", layer_name)
        require_flag(config, "binary_training", layer_name)

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        if tensor == "data_in":
            # A bound method, not a lambda: it reads `self.means` at call time (the base __init__
            # builds quantizers before `means` exists) and survives deepcopy and pickling.
            if not optional_flag(config, "data_in_residual_sign", self.layer_name, default=True):
                return None
            return self.residual_sign_input
        if tensor == "weight":
            return self.binarised_weight if config["binary_training"] else self.clipped_weight
        return None

    def input_bits_per_token(self) -> float:
        if self.means is None:
            return float(FP32_BITS * self.in_features)
        return float(self.means.numel() * self.in_features)

    def residual_sign_input(self, x: torch.Tensor) -> torch.Tensor:
        """The input through residual sign with the learned level means."""
        out = residual_sign_quantize(x, self.means)
        if self.mase_exact and self.means.numel() == 1 and x.ndim == 3:
            # MASE's one-level path returns out[0, :, :]: the first item, broadcast over the batch.
            out = out[:1].expand_as(out)
        return out

    def clipped_weight(self, weight: torch.Tensor) -> torch.Tensor:
        """The fp32 weight clipped to [-1, 1], times |gamma| (MASE's path without binary training)."""
        clip = mase_clip_in_place if self.mase_exact else clip_to_unit
        return clip(weight) * self.gamma.abs()


FORMATS = (
    NumberFormat(
        LinearBinary,
        # Not bipolar: {0, mean |w|} per row. Unscaled +-1 weights make every Linear of a BERT ~50x
        # larger than its fp32 weights and training erratic; binary_scaling learns a scale for +-1.
        example={"name": "binary", "weight_stochastic": False, "weight_bipolar": False},
        space=PrecisionSpace(
            {"weight_bipolar": one_key("weight_bipolar", (True, False))},
            {"weight_stochastic": False},
            note="weight only: +-1, or {0, mean abs w} per row",
        ),
        order=7,
        style=FigureStyle("#7f7f7f", "<", ":"),
    ),
    NumberFormat(
        LinearBinaryScaling,
        example={
            "name": "binary_scaling",
            **every_tensor(stochastic=False),
            "data_in_bipolar": False,
            "weight_bipolar": True,
            "bias_bipolar": False,
            "binary_training": True,
        },
        space=PrecisionSpace(
            {
                "weight_bipolar": one_key("weight_bipolar", (True, False)),
                "data_in_bipolar": one_key("data_in_bipolar", (True, False)),
            },
            {**every_tensor(stochastic=False), "bias_bipolar": False, "binary_training": True},
            note="input, weight, bias binarised; learned weight scale",
        ),
        order=8,
        style=FigureStyle("#bcbd22", ">", "-"),
    ),
    NumberFormat(
        LinearBinaryResidualSign,
        example={
            "name": "binary_residual_sign",
            "data_in_levels": 2,
            "data_in_residual_sign": True,
            **every_tensor(stochastic=False, bipolar=True),
            "binary_training": True,
        },
        space=PrecisionSpace(
            {"data_in_levels": one_key("data_in_levels", (1, 2, 3))},
            {
                **every_tensor(stochastic=False, bipolar=True),
                "data_in_residual_sign": True,
                "binary_training": True,
            },
            note="residual-sign input, +-1 weight with learned scale",
        ),
        order=9,
        style=FigureStyle("#17becf", "*", "--"),
    ),
)
