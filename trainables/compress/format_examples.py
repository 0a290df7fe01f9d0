"""One ready-to-use MASE config per Linear format, about 8 bits where the format has a width.

For tests, benchmarks and experiments that need "this format, sensible settings"
(e.g. one curve per precision); copy and change the keys you sweep.
"""

import copy
from typing import Any

from errors import ConfigError
from trainables.compress.layers.quantized_linear import TENSORS


def every_tensor(**keys: Any) -> dict[str, Any]:
    """{data_in_k: v, weight_k: v, bias_k: v} for every k=v."""
    return {f"{tensor}_{key}": value for tensor in TENSORS for key, value in keys.items()}


def _blocks(weight: list[int], data_in: list[int], bias: list[int]) -> dict[str, Any]:
    return {"weight_block_size": weight, "data_in_block_size": data_in, "bias_block_size": bias}


# Blocks of 16 consecutive features: per weight row, per token (batch dim skipped), along the bias.
BLOCKS_16 = _blocks(weight=[1, 16], data_in=[1, 16], bias=[16])
# E4M3 with the default bias 7 (no inf/NaN codes, so it reaches 480).
_MINIFLOAT_8 = every_tensor(width=8, exponent_width=4, exponent_bias=None)

EXAMPLE_CONFIGS: dict[str, dict[str, Any]] = {
    "integer": {"name": "integer", **every_tensor(width=8, frac_width=4)},
    "minifloat_denorm": {
        "name": "minifloat_denorm",
        **every_tensor(width=8, exponent_width=4, exponent_bias=None),
    },
    "minifloat_ieee": {
        "name": "minifloat_ieee",
        **every_tensor(width=8, exponent_width=4, exponent_bias=None),
    },
    "log": {"name": "log", **every_tensor(width=8, exponent_bias=None)},
    "block_fp": {
        "name": "block_fp",
        **every_tensor(width=8, exponent_width=8, exponent_bias=None),
        **BLOCKS_16,
        "data_in_skip_first_dim": True,
    },
    "block_minifloat": {
        "name": "block_minifloat",
        **every_tensor(width=8, exponent_width=4, exponent_bias_width=8),
        **BLOCKS_16,
        "data_in_skip_first_dim": True,
    },
    "block_log": {
        "name": "block_log",
        **every_tensor(width=8, exponent_bias_width=8),
        **BLOCKS_16,
        "data_in_skip_first_dim": True,
    },
    # Not bipolar: {0, mean |w|} per row. Unscaled +-1 weights make every Linear of a BERT ~50x
    # larger than its fp32 weights and training erratic; binary_scaling learns a scale for +-1.
    "binary": {"name": "binary", "weight_stochastic": False, "weight_bipolar": False},
    "binary_scaling": {
        "name": "binary_scaling",
        **every_tensor(stochastic=False),
        "data_in_bipolar": False,
        "weight_bipolar": True,
        "bias_bipolar": False,
        "binary_training": True,
    },
    "binary_residual_sign": {
        "name": "binary_residual_sign",
        "data_in_levels": 2,
        "data_in_residual_sign": True,
        **every_tensor(stochastic=False, bipolar=True),
        "binary_training": True,
    },
    # OCP's MXINT8 and MXFP8 (E4M3): one 8-bit power-of-two scale per 32 consecutive elements.
    "mxint": {"name": "mxint", **every_tensor(width=8, block_size=32)},
    "mxfp": {"name": "mxfp", **every_tensor(exponent_width=4, frac_width=3, block_size=32)},
    "ternary": {"name": "ternary", "weight_scaling_factor": True, "weight_threshold_statistic": "mean"},
}


def example_config(format_name: str) -> dict[str, Any]:
    """A fresh copy of the example config of `format_name`, or ConfigError listing the known names."""
    if format_name not in EXAMPLE_CONFIGS:
        raise ConfigError(
            f"no example config for format {format_name!r}; choose one of {sorted(EXAMPLE_CONFIGS)}"
        )
    return copy.deepcopy(EXAMPLE_CONFIGS[format_name])
