"""quantize_model: swap every selected nn.Linear for its quantized twin, MASE config style."""

import difflib
from collections.abc import Mapping
from typing import Any

from torch import nn

from errors import ConfigError
from trainables.compress.layers.quantized_linear import QuantizedLinear
from trainables.compress.mase_mode import MASE_EXACT_KEY
from trainables.compress.registry import linear_class

BY_VALUES = ("type", "name")


def layer_configs(model: nn.Module, config: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Resolve a MASE quantization config to {linear module name: format config or None}.

    `by: type` uses the `linear` entry for every Linear; `by: name` uses the entry whose key
    is the module name. Either falls back to `default`. A config whose `name` is None keeps
    the layer in fp32.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"quantization config must be a dict, got {type(config).__name__}")
    by = config.get("by", "type")
    if by not in BY_VALUES:
        raise ConfigError(f"quantization config: by={by!r} is not allowed; choose one of {list(BY_VALUES)}")
    default = _entry(config.get("default", {"config": {"name": None}}), "default")
    linears = {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and not isinstance(module, QuantizedLinear)
    }
    if by == "name":
        unknown = set(config) - {"by", "default"} - set(linears)
        if unknown:
            raise ConfigError(
                f"quantization config names no Linear layer: {sorted(unknown)}; "
                f"Linear layers are {sorted(linears)[:6]}..."
            )
    resolved: dict[str, dict[str, Any] | None] = {}
    for name in linears:
        key = "linear" if by == "type" else name
        entry = _entry(config[key], key) if key in config else default
        resolved[name] = entry if entry.get("name") is not None else None
    return resolved


def quantize_model(model: nn.Module, config: Mapping[str, Any], mase_exact: bool = False) -> nn.Module:
    """Swap the Linear layers chosen by a MASE `{"by": "type"|"name", ...}` config in place.

    The whole config is validated before any layer is swapped, so a ConfigError leaves the
    model untouched. Swapped layers keep their trained weights. Returns the model.
    `mase_exact=True` makes every swapped layer reproduce MASE's own values where this library
    deliberately differs (docs/formats.md); it is stored in each layer's config (`mase_exact`).
    """
    if not isinstance(mase_exact, bool):
        raise ConfigError(f"mase_exact={mase_exact!r} must be true or false")
    plan = {}
    for name, layer_config in layer_configs(model, config).items():
        if layer_config is None:
            continue
        if mase_exact:
            # Equivalent to with_mase_exact(config) (mase_mode.py), which is what a recipe stores.
            layer_config = {**layer_config, MASE_EXACT_KEY: True}
        cls = linear_class(layer_config["name"], name)
        read = _ReadKeys(layer_config)
        cls.check_config(read, name)
        _refuse_unknown_keys(layer_config, read.keys_read, name)
        plan[name] = (cls, layer_config)
    for name, (cls, layer_config) in plan.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, cls.from_linear(getattr(parent, child), layer_config, name))
    return model


def _entry(entry: Any, key: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("config"), Mapping):
        raise ConfigError(f"quantization config entry {key!r} must look like {{'config': {{'name': ...}}}}")
    if "name" not in entry["config"]:
        # Without a name the layer would silently stay fp32; None says so on purpose.
        raise ConfigError(
            f"quantization config entry {key!r} has no format name; give 'name' (e.g. 'integer'), "
            "or 'name': None to keep those layers in fp32"
        )
    return dict(entry["config"])


class _ReadKeys(dict):
    """A config that records which keys a format's check_config looked at."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.keys_read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.keys_read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.keys_read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.keys_read.add(str(key))
        return super().__contains__(key)


# Keys MASE configs carry that no format of ours reads (MASE ignores them too).
IGNORED_KEYS = {"name", MASE_EXACT_KEY, "bypass", "bias_bipolar", "bias_stochastic"}


def _refuse_unknown_keys(config: Mapping[str, Any], known: set[str], layer: str) -> None:
    """ConfigError for a key the format never reads (a typo such as weigth_width), naming the closest."""
    unknown = sorted(set(config) - known - IGNORED_KEYS)
    if unknown:
        closest = difflib.get_close_matches(unknown[0], sorted(known - IGNORED_KEYS), n=1)
        hint = (
            f"; did you mean {closest[0]!r}?" if closest else f"; its keys are {sorted(known - IGNORED_KEYS)}"
        )
        raise ConfigError(f"layer {layer!r}: format {config.get('name')!r} has no key {unknown[0]!r}{hint}")
