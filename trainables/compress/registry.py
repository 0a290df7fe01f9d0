"""MASE format name -> quantized Linear class. One place to add a format."""

from errors import ConfigError
from trainables.compress.layers.linear_binary import (
    LinearBinary,
    LinearBinaryResidualSign,
    LinearBinaryScaling,
)
from trainables.compress.layers.linear_block import LinearBlockFP, LinearBlockLog, LinearBlockMinifloat
from trainables.compress.layers.linear_integer import LinearInteger
from trainables.compress.layers.linear_log import LinearLog
from trainables.compress.layers.linear_minifloat import LinearMinifloatDenorm, LinearMinifloatIEEE
from trainables.compress.layers.linear_mx import LinearMXFP, LinearMXInt
from trainables.compress.layers.linear_ternary import LinearTernary
from trainables.compress.layers.quantized_linear import QuantizedLinear

LINEAR_FORMATS: dict[str, type[QuantizedLinear]] = {
    cls.format_name: cls
    for cls in (
        LinearInteger,
        LinearMinifloatDenorm,
        LinearMinifloatIEEE,
        LinearLog,
        LinearBlockFP,
        LinearBlockMinifloat,
        LinearBlockLog,
        LinearBinary,
        LinearBinaryScaling,
        LinearBinaryResidualSign,
        LinearTernary,
        LinearMXInt,
        LinearMXFP,
    )
}


def linear_class(format_name: str, layer_name: str = "linear") -> type[QuantizedLinear]:
    """Return the Linear class of a MASE format name, or raise ConfigError listing the known ones."""
    try:
        return LINEAR_FORMATS[format_name]
    except KeyError:
        raise ConfigError(
            f"layer {layer_name!r}: unknown format name={format_name!r}; "
            f"choose one of {sorted(LINEAR_FORMATS)} or None for fp32"
        ) from None
