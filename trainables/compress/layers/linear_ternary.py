"""LinearTernary: MASE's ternary-weight Linear (`name: ternary`); input and bias stay fp32, as in MASE."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from trainables.compress.config_checks import optional_number, require_choice, require_flag
from trainables.compress.formats.ternary import THRESHOLD_FACTORS, ternary_quantize
from trainables.compress.layers.quantized_linear import FP32_BITS, QuantizedLinear, Quantizer
from trainables.compress.number_format import FigureStyle, NumberFormat, PrecisionSpace, one_key

TERNARY_BITS = 2
# MASE's precomputed statistics, in MASE's order of precedence.
STATISTIC_KEYS = {"weight_mean": "mean", "weight_max": "max", "weight_median": "median"}


class LinearTernary(QuantizedLinear):
    """Ternary weights {-a, 0, +a} (`name: ternary`).

    Keys: `weight_scaling_factor` (true: a = mean |w| of the kept entries of each row; false: a = 1)
    and the threshold, first found of: `weight_threshold` (a number); MASE's precomputed
    `weight_mean` / `weight_max` / `weight_median` (threshold = 0.75 * mean, 0.05 * max,
    0.75 * median); else `weight_threshold_statistic` ("mean" by default, "max" or "median"),
    computed per weight row on every forward. MASE ignores all of these and always uses
    0.75 * mean |w| per row, which is our default.

    `weight_bits()`: 2 bits per weight, plus 32 bits per row for the scale a when
    `weight_scaling_factor` is true.
    """

    format_name = "ternary"

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        require_flag(config, "weight_scaling_factor", layer_name)
        optional_number(config, "weight_threshold", layer_name)
        for key in STATISTIC_KEYS:
            optional_number(config, key, layer_name)
        require_choice(config, "weight_threshold_statistic", layer_name, tuple(THRESHOLD_FACTORS), "mean")

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        if tensor != "weight":
            return None
        threshold = optional_number(config, "weight_threshold", self.layer_name)
        if threshold is None:
            for key, statistic in STATISTIC_KEYS.items():
                value = optional_number(config, key, self.layer_name)
                if value:
                    threshold = THRESHOLD_FACTORS[statistic] * value
                    break
        return partial(
            ternary_quantize,
            scaling_factor=config["weight_scaling_factor"],
            threshold=threshold,
            statistic=config.get("weight_threshold_statistic", "mean"),
        )

    def weight_bits(self) -> float:
        scales = self.weight.shape[0] if self.config["weight_scaling_factor"] else 0
        return float(TERNARY_BITS * self.weight.numel() + FP32_BITS * scales)


FORMATS = (
    NumberFormat(
        LinearTernary,
        example={"name": "ternary", "weight_scaling_factor": True, "weight_threshold_statistic": "mean"},
        space=PrecisionSpace(
            {
                "weight_threshold_statistic": one_key(
                    "weight_threshold_statistic", ("mean", "max", "median")
                ),
                "weight_scaling_factor": one_key("weight_scaling_factor", (True, False)),
            },
            note="weight only, {-a, 0, a} per row",
        ),
        order=12,
        style=FigureStyle("#000000", "h", "-."),
    ),
)
