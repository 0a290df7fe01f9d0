"""LinearLog: MASE's base-2 logarithmic Linear (`name: log`)."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from trainables.compress.config_checks import MAX_EXPONENT_WIDTH, optional_exponent_bias, require_int
from trainables.compress.formats.log import log_quantize
from trainables.compress.formats.mase_exact import mase_log_quantize
from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear, Quantizer
from trainables.compress.mase_mode import is_mase_exact
from trainables.compress.number_format import (
    FigureStyle,
    NumberFormat,
    PrecisionSpace,
    every_tensor,
    per_tensor,
)

# 1 sign bit + at most float32's 8 exponent bits.
MAX_LOG_WIDTH = 1 + MAX_EXPONENT_WIDTH


class LinearLog(QuantizedLinear):
    """sign * 2^e on input, weight and bias: `<tensor>_width` (sign included), `<tensor>_exponent_bias`.

    `<tensor>_exponent_bias` may be absent or None for 2^(width-2) - 1. The format has no zero:
    zeros (a zero-initialised bias, say) become the smallest magnitude 2^-bias.
    """

    format_name = "log"

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        for tensor in TENSORS:
            require_int(config, f"{tensor}_width", layer_name, 2, MAX_LOG_WIDTH)
            optional_exponent_bias(config, f"{tensor}_exponent_bias", layer_name)

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        return partial(
            mase_log_quantize if is_mase_exact(config, self.layer_name) else log_quantize,
            width=int(config[f"{tensor}_width"]),
            exponent_bias=optional_exponent_bias(config, f"{tensor}_exponent_bias", self.layer_name),
        )


FORMATS = (
    NumberFormat(
        LinearLog,
        example={"name": "log", **every_tensor(width=8, exponent_bias=None)},
        # A log value is a power of two whatever its width, so width only buys range; 9 is the
        # widest this library allows (1 sign + float32's 8 exponent bits).
        space=PrecisionSpace(
            {"width": per_tensor("width", (4, 6, 8))},
            every_tensor(exponent_bias=None),
            note="default bias 2^(width-2) - 1; no zero",
        ),
        order=3,
        style=FigureStyle("#d62728", "D", ":"),
    ),
)
