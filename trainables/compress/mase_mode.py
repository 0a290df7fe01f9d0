"""MASE-exact mode: a layer config with `mase_exact: true` reproduces MASE's own values.

`quantize_model(model, config, mase_exact=True)` adds the key to every layer config it applies,
so a saved recipe (which stores the configs) rebuilds the same mode. The key is this library's,
not MASE's. What changes per format is listed in docs/formats.md; formats where MASE crashes or
cannot train keep our behaviour in this mode.
"""

from collections.abc import Mapping
from typing import Any

from trainables.compress.format_checks import optional_flag

MASE_EXACT_KEY = "mase_exact"


def is_mase_exact(config: Mapping[str, Any], layer_name: str) -> bool:
    """True when the layer config asks for MASE's values; ConfigError if the key is not a bool."""
    return optional_flag(config, MASE_EXACT_KEY, layer_name, default=False)
