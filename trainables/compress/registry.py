"""Every number format by MASE name, collected from the layer modules' `FORMATS` declarations.

A format is declared once, in its layer module (`trainables/compress/layers/linear_<family>.py`
ends with `FORMATS = (NumberFormat(...), ...)`, trainables/compress/number_format.py); this module
imports every `linear_*` module of that package and files each format, in `order`. `register`
adds one at run time (a format defined outside the package, or a test's). The views below are
kept in step with FORMATS by `register`: import them, never copy them.
"""

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from errors import ConfigError
from trainables.compress import layers
from trainables.compress.layers.quantized_linear import QuantizedLinear
from trainables.compress.number_format import NumberFormat, PrecisionSpace

FORMATS: dict[str, NumberFormat] = {}
# Views of FORMATS: the Linear class, the example config and the Lab 3 space (where it has one).
LINEAR_FORMATS: dict[str, type[QuantizedLinear]] = {}
EXAMPLE_CONFIGS: dict[str, Mapping[str, Any]] = {}
PRECISION_SPACES: dict[str, PrecisionSpace] = {}


def register(number_format: NumberFormat) -> NumberFormat:
    """File `number_format` under its MASE name; ValueError for a name taken or an example of another name."""
    name = number_format.name
    if name in FORMATS:
        raise ValueError(f"format {name!r} is registered twice")
    if number_format.example.get("name") != name:
        raise ValueError(f"format {name!r}: its example config names {number_format.example.get('name')!r}")
    ordered = sorted([*FORMATS.values(), number_format], key=lambda each: each.order)
    for view in (FORMATS, LINEAR_FORMATS, EXAMPLE_CONFIGS, PRECISION_SPACES):
        view.clear()
    for each in ordered:
        FORMATS[each.name] = each
        LINEAR_FORMATS[each.name] = each.layer
        EXAMPLE_CONFIGS[each.name] = each.example
        if each.space is not None:
            PRECISION_SPACES[each.name] = each.space
    return number_format


def unregister(name: str) -> None:
    """Drop a format `register` added (a test's throwaway one); KeyError if it is not registered."""
    remaining = [each for key, each in FORMATS.items() if key != name]
    if len(remaining) == len(FORMATS):
        raise KeyError(name)
    for view in (FORMATS, LINEAR_FORMATS, EXAMPLE_CONFIGS, PRECISION_SPACES):
        view.clear()
    for each in remaining:
        register(each)


def _register_the_library() -> None:
    for module in pkgutil.iter_modules(layers.__path__):
        if module.name.startswith("linear_"):
            for number_format in importlib.import_module(f"{layers.__name__}.{module.name}").FORMATS:
                register(number_format)


_register_the_library()


def linear_class(format_name: str, layer_name: str = "linear") -> type[QuantizedLinear]:
    """Return the Linear class of a MASE format name, or raise ConfigError listing the known ones."""
    try:
        return LINEAR_FORMATS[format_name]
    except KeyError:
        raise ConfigError(
            f"layer {layer_name!r}: unknown format name={format_name!r}; "
            f"choose one of {sorted(LINEAR_FORMATS)} or None for fp32"
        ) from None
