"""Compression library: number formats, quantized Linear layers, pruning, cost. Pure PyTorch.

A format is one `NumberFormat` declared in its layer module (`layers/linear_*.py`, see
`number_format`); `registry` collects them. `formats/` holds the quantizers, `arithmetic/` what
several formats share.
"""

from trainables.compress.cost import model_cost
from trainables.compress.format_examples import example_config
from trainables.compress.layers.linear_binary import (
    LinearBinary,
    LinearBinaryResidualSign,
    LinearBinaryScaling,
)
from trainables.compress.layers.linear_block import LinearBlockFP, LinearBlockLog, LinearBlockMinifloat
from trainables.compress.layers.linear_integer import LinearInteger, fixed_point_config
from trainables.compress.layers.linear_log import LinearLog
from trainables.compress.layers.linear_minifloat import LinearMinifloatDenorm, LinearMinifloatIEEE
from trainables.compress.layers.linear_mx import LinearMXFP, LinearMXInt
from trainables.compress.layers.linear_ternary import LinearTernary
from trainables.compress.layers.quantized_linear import QuantizedLinear
from trainables.compress.prune import attach_pruning_hooks, prune_model
from trainables.compress.quantize import quantize_model
from trainables.compress.registry import LINEAR_FORMATS

__all__ = [
    "LINEAR_FORMATS",
    "LinearBinary",
    "LinearBinaryResidualSign",
    "LinearBinaryScaling",
    "LinearBlockFP",
    "LinearBlockLog",
    "LinearBlockMinifloat",
    "LinearInteger",
    "LinearLog",
    "LinearMinifloatDenorm",
    "LinearMinifloatIEEE",
    "LinearMXFP",
    "LinearMXInt",
    "LinearTernary",
    "QuantizedLinear",
    "attach_pruning_hooks",
    "example_config",
    "fixed_point_config",
    "model_cost",
    "prune_model",
    "quantize_model",
]
