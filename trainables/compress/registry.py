"""MASE format name -> quantized Linear class. One place to add a format."""

from trainables.compress.errors import ConfigError
from trainables.compress.linear_integer import LinearInteger
from trainables.compress.quantized_linear import QuantizedLinear

LINEAR_FORMATS: dict[str, type[QuantizedLinear]] = {
    LinearInteger.format_name: LinearInteger,
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
