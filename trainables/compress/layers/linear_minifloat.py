"""LinearMinifloatDenorm and LinearMinifloatIEEE: MASE's `minifloat_denorm` and `minifloat_ieee` Linears."""

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar

import torch

from trainables.compress.config_checks import (
    MAX_WIDTH,
    optional_exponent_bias,
    require_exponent_width,
    require_int,
)
from trainables.compress.formats.mase_exact import (
    mase_minifloat_denorm_quantize,
    mase_minifloat_ieee_quantize,
)
from trainables.compress.formats.minifloat import minifloat_denorm_quantize, minifloat_ieee_quantize
from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear, Quantizer
from trainables.compress.mase_mode import is_mase_exact
from trainables.compress.number_format import (
    FigureStyle,
    NumberFormat,
    PrecisionSpace,
    every_tensor,
    per_tensor,
)


class _MinifloatLinear(QuantizedLinear):
    """Minifloat on input, weight and bias: `<tensor>_width`, `_exponent_width`, `_exponent_bias`.

    `<tensor>_exponent_bias` may be absent or None for MASE's default 2^(E-1) - 1.
    """

    min_mantissa_bits: ClassVar[int] = 0
    quantize: ClassVar[Callable[..., torch.Tensor]]
    # MASE's arithmetic, used when the config sets `mase_exact` (see mase_mode.py).
    mase_quantize: ClassVar[Callable[..., torch.Tensor]]

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        for tensor in TENSORS:
            width = require_int(config, f"{tensor}_width", layer_name, 2 + cls.min_mantissa_bits, MAX_WIDTH)
            require_exponent_width(config, tensor, layer_name, width, cls.min_mantissa_bits)
            optional_exponent_bias(config, f"{tensor}_exponent_bias", layer_name)

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        quantize = type(self).mase_quantize if is_mase_exact(config, self.layer_name) else type(self).quantize
        return partial(
            quantize,
            width=int(config[f"{tensor}_width"]),
            exponent_width=int(config[f"{tensor}_exponent_width"]),
            exponent_bias=optional_exponent_bias(config, f"{tensor}_exponent_bias", self.layer_name),
        )


class LinearMinifloatDenorm(_MinifloatLinear):
    """Minifloat without a hidden bit (`name: minifloat_denorm`); needs at least one mantissa bit."""

    format_name = "minifloat_denorm"
    min_mantissa_bits = 1
    quantize = staticmethod(minifloat_denorm_quantize)
    mase_quantize = staticmethod(mase_minifloat_denorm_quantize)


class LinearMinifloatIEEE(_MinifloatLinear):
    """IEEE-style minifloat with hidden bit and subnormals, saturating (`name: minifloat_ieee`)."""

    format_name = "minifloat_ieee"
    min_mantissa_bits = 0
    quantize = staticmethod(minifloat_ieee_quantize)
    mase_quantize = staticmethod(mase_minifloat_ieee_quantize)


def _minifloat_space() -> PrecisionSpace:
    return PrecisionSpace(
        {"width": per_tensor("width", (8, 16)), "exponent_width": per_tensor("exponent_width", (3, 4, 5))},
        every_tensor(exponent_bias=None),
        note="default bias 2^(E-1) - 1",
    )


FORMATS = (
    NumberFormat(
        LinearMinifloatDenorm,
        example={"name": "minifloat_denorm", **every_tensor(width=8, exponent_width=4, exponent_bias=None)},
        space=_minifloat_space(),
        order=1,
        style=FigureStyle("#ff7f0e", "s", "--"),
    ),
    NumberFormat(
        LinearMinifloatIEEE,
        example={"name": "minifloat_ieee", **every_tensor(width=8, exponent_width=4, exponent_bias=None)},
        space=_minifloat_space(),
        order=2,
        style=FigureStyle("#2ca02c", "^", "-."),
    ),
)
