"""Small validators shared by every format: each raises ConfigError naming layer, key and range."""

from collections.abc import Mapping
from typing import Any

from errors import ConfigError


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
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigError(f"layer {layer!r}: {key}={value!r} is not an integer{_range(low, high)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"layer {layer!r}: {key}={value} is out of range, allowed{_range(low, high)}")
    return value


def require_bool(config: Mapping[str, Any], key: str, layer: str, default: bool) -> bool:
    """Return config[key] as a bool (default when absent), or raise ConfigError."""
    value = config.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(f"layer {layer!r}: {key}={value!r} must be true or false")
    return value


def require_choice(
    config: Mapping[str, Any], key: str, layer: str, allowed: tuple[Any, ...], default: Any
) -> Any:
    """Return config[key] if it is one of `allowed` (default when absent), else raise ConfigError."""
    value = config.get(key, default)
    if value not in allowed:
        raise ConfigError(f"layer {layer!r}: {key}={value!r} is not allowed; choose one of {list(allowed)}")
    return value


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
