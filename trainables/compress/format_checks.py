"""Config validators for the float, block and binary formats; each ConfigError names layer, key, range.

They complement `config_checks.py` with the value kinds those formats need: a required flag, an
optional exponent bias (MASE writes "None" for the default), a MASE block size, a number.
"""

from collections.abc import Mapping
from typing import Any

from errors import ConfigError

# MASE configs (TOML) spell "use the default" as a string.
NONE_SPELLINGS = (None, "none", "None")
# Exponent fields wider than float32's 8 bits cannot be simulated in float32.
MAX_EXPONENT_WIDTH = 8
MAX_WIDTH = 32


def require_flag(config: Mapping[str, Any], key: str, layer: str) -> bool:
    """Return config[key], which must be present and true or false, or raise ConfigError."""
    if key not in config:
        raise ConfigError(f"layer {layer!r}: missing key {key!r} (true or false)")
    return optional_flag(config, key, layer, default=False)


def optional_flag(config: Mapping[str, Any], key: str, layer: str, default: bool) -> bool:
    """Return config[key] as a bool (default when absent or None), or raise ConfigError."""
    value = config.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(f"layer {layer!r}: {key}={value!r} must be true or false")
    return value


def optional_exponent_bias(config: Mapping[str, Any], key: str, layer: str) -> int | None:
    """Return config[key] as an int, or None (MASE's default bias) when absent, None or "None"."""
    value = config.get(key)
    if value in NONE_SPELLINGS:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigError(f"layer {layer!r}: {key}={value!r} must be an integer or None (default bias)")
    return int(value)


def optional_number(config: Mapping[str, Any], key: str, layer: str, low: float = 0.0) -> float | None:
    """Return config[key] as a float >= low, or None when absent, None or MASE's "NA"."""
    value = config.get(key)
    if value in (*NONE_SPELLINGS, "NA"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= low:
        raise ConfigError(f"layer {layer!r}: {key}={value!r} must be a number >= {low} or None")
    return float(value)


def require_block_size(config: Mapping[str, Any], key: str, layer: str) -> list[int]:
    """Return config[key] as a list of block sizes: each positive, or -1 for the whole dimension."""
    allowed = "a positive integer or a list of them (-1 = the whole dimension), e.g. [1, 16]"
    if key not in config or config[key] is None:
        raise ConfigError(f"layer {layer!r}: missing key {key!r} ({allowed})")
    value = config[key]
    sizes = [value] if not isinstance(value, list | tuple) else list(value)
    if not sizes or any(
        isinstance(size, bool) or not isinstance(size, int) or not (size > 0 or size == -1) for size in sizes
    ):
        raise ConfigError(f"layer {layer!r}: {key}={value!r} is not allowed; use {allowed}")
    return sizes


def require_exponent_width(
    config: Mapping[str, Any], tensor: str, layer: str, width: int, min_mantissa_bits: int
) -> int:
    """Return `<tensor>_exponent_width`: in [1, 8] and leaving at least `min_mantissa_bits` of `width`."""
    key = f"{tensor}_exponent_width"
    high = min(MAX_EXPONENT_WIDTH, width - 1 - min_mantissa_bits)
    if key not in config or config[key] is None:
        raise ConfigError(f"layer {layer!r}: missing key {key!r} (an integer in [1, {high}])")
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigError(f"layer {layer!r}: {key}={value!r} is not an integer in [1, {high}]")
    if not 1 <= value <= high:
        raise ConfigError(
            f"layer {layer!r}: {key}={value} is out of range, allowed in [1, {high}] "
            f"(at most {MAX_EXPONENT_WIDTH}, and {tensor}_width={width} needs 1 sign bit and "
            f"{min_mantissa_bits}+ mantissa bits)"
        )
    return int(value)
