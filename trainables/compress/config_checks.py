"""The validators of a quantized layer's config: each returns the value or raises ConfigError naming
layer, key and what is allowed (integers, choices, flags, exponent biases, numbers, block sizes).
"""

import math
from collections.abc import Mapping
from typing import Any

from errors import ConfigError

# MASE configs (TOML) spell "use the default" as a string.
NONE_SPELLINGS = (None, "none", "None")
# Exponent fields wider than float32's 8 bits cannot be simulated in float32.
MAX_EXPONENT_WIDTH = 8
MAX_WIDTH = 32


def require_int(
    config: Mapping[str, Any],
    key: str,
    layer: str,
    low: int | None = None,
    high: int | None = None,
    default: int | None = None,
) -> int:
    """Return config[key] as an int within [low, high], or raise ConfigError."""
    if key not in config or config[key] is None:
        if default is not None:
            return default
        raise ConfigError(f"layer {layer!r}: missing key {key!r} (an integer{_range(low, high)})")
    value = config[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or int(value) != value
    ):
        raise ConfigError(f"layer {layer!r}: {key}={value!r} is not an integer{_range(low, high)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"layer {layer!r}: {key}={value} is out of range, allowed{_range(low, high)}")
    return value


def require_choice(
    config: Mapping[str, Any], key: str, layer: str, allowed: tuple[Any, ...], default: Any
) -> Any:
    """Return config[key] if it is one of `allowed` (default when absent), else raise ConfigError."""
    value = config.get(key, default)
    if value not in allowed:
        raise ConfigError(f"layer {layer!r}: {key}={value!r} is not allowed; choose one of {list(allowed)}")
    return value


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
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or int(value) != value
    ):
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
    # Presence and integer-ness as every integer key; the range gets its own message (the why of high).
    value = require_int(config, key, layer) if key in config and config[key] is not None else None
    if value is None:
        raise ConfigError(f"layer {layer!r}: missing key {key!r} (an integer in [1, {high}])")
    if not 1 <= value <= high:
        raise ConfigError(
            f"layer {layer!r}: {key}={value} is out of range, allowed in [1, {high}] "
            f"(at most {MAX_EXPONENT_WIDTH}, and {tensor}_width={width} needs 1 sign bit and "
            f"{min_mantissa_bits}+ mantissa bits)"
        )
    return int(value)


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
