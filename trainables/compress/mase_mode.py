"""MASE-exact mode: a layer config with `mase_exact: true` reproduces MASE's own values.

`quantize_model(model, config, mase_exact=True)` adds the key to every layer config it applies,
so a saved recipe (which stores the configs) rebuilds the same mode. The key is this library's,
not MASE's. What changes per format is listed in docs/formats.md; formats where MASE crashes or
cannot train keep our behaviour in this mode.
"""

from collections.abc import Mapping
from typing import Any

from trainables.compress.config_checks import optional_flag

MASE_EXACT_KEY = "mase_exact"


def is_mase_exact(config: Mapping[str, Any], layer_name: str) -> bool:
    """True when the layer config asks for MASE's values; ConfigError if the key is not a bool."""
    return optional_flag(config, MASE_EXACT_KEY, layer_name, default=False)


def with_mase_exact(quantization: Mapping[str, Any], enabled: bool = True) -> dict[str, Any]:
    """A copy of a model-level MASE config (`by`, `default`, entries) whose format entries set `mase_exact`.

    With `enabled` false the config is returned as a plain copy. Store the result in a recipe, so
    that a rebuilt checkpoint quantizes the same way.
    """
    result: dict[str, Any] = dict(quantization)
    if not enabled:
        return result
    for key, entry in quantization.items():
        if key == "by" or not isinstance(entry, Mapping) or not isinstance(entry.get("config"), Mapping):
            continue
        if entry["config"].get("name") is not None:
            result[key] = {**entry, "config": {**entry["config"], MASE_EXACT_KEY: True}}
    return result
