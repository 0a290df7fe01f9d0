"""LinearInteger: MASE's fixed-point Linear (`name: integer`)."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from errors import ConfigError
from trainables.compress.config_checks import require_int
from trainables.compress.formats.integer import fixed_point_quantize
from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear, Quantizer
from trainables.compress.number_format import (
    FigureStyle,
    NumberFormat,
    PrecisionSpace,
    every_tensor,
    per_tensor,
)

MAX_WIDTH = 64


class LinearInteger(QuantizedLinear):
    """Fixed point on input, weight and bias with MASE's `<tensor>_width` / `<tensor>_frac_width`."""

    format_name = "integer"

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        for tensor in TENSORS:
            width = require_int(config, f"{tensor}_width", layer_name, 1, MAX_WIDTH)
            frac = require_int(config, f"{tensor}_frac_width", layer_name)
            if not 0 <= frac <= width:
                raise ConfigError(
                    f"layer {layer_name!r}: {tensor}_frac_width={frac} is out of range, "
                    f"allowed in [0, {tensor}_width={width}]"
                )

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        return partial(
            fixed_point_quantize,
            width=int(config[f"{tensor}_width"]),
            frac_width=int(config[f"{tensor}_frac_width"]),
        )


def fixed_point_config(width: int, frac_width: int) -> dict[str, Any]:
    """MASE's `by: type` config putting every Linear's input, weight and bias at one fixed point."""
    linear = {"name": "integer"}
    for tensor in TENSORS:
        linear[f"{tensor}_width"] = width
        linear[f"{tensor}_frac_width"] = frac_width
    return {"by": "type", "default": {"config": {"name": None}}, "linear": {"config": linear}}


FORMATS = (
    NumberFormat(
        LinearInteger,
        example={"name": "integer", **every_tensor(width=8, frac_width=4)},
        space=PrecisionSpace(
            {"width": per_tensor("width", (8, 16, 32)), "frac_width": per_tensor("frac_width", (2, 4, 8))},
            note="the lab's task 1 space",
        ),
        order=0,
        style=FigureStyle("#1f77b4", "o", "-"),
    ),
)
