"""A number format, declared once: its Linear layer, example config, Lab 3 search space and figure style.

Each `trainables/compress/layers/linear_<family>.py` ends with `FORMATS = (NumberFormat(...), ...)`;
trainables/compress/registry.py collects them (and `register(...)` adds one at run time). From that
one declaration come `quantize_model`'s layer for a MASE `name` (the layer's `check_config` says
which MASE keys it takes), `example_config(name)`, Lab 3's per-layer space for the format
(search/experiments/spaces/precisions.py) and how figures draw it: Lab 3's searches record the
`FigureStyle` in every row of their results (search/experiments/spaces/precisions.py
`style_columns`), and analysis/ draws the format from those columns. Pure data and PyTorch; no
Optuna, no Ray.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear


def every_tensor(**keys: Any) -> dict[str, Any]:
    """{data_in_k: v, weight_k: v, bias_k: v} for every k=v."""
    return {f"{tensor}_{key}": value for tensor in TENSORS for key, value in keys.items()}


def blocks(weight: list[int], data_in: list[int], bias: list[int]) -> dict[str, Any]:
    """MASE's block-size keys of the block formats."""
    return {"weight_block_size": weight, "data_in_block_size": data_in, "bias_block_size": bias}


# Blocks of 16 consecutive features: per weight row, per token (batch dim skipped), along the bias.
BLOCKS_16 = blocks(weight=[1, 16], data_in=[1, 16], bias=[16])


@dataclass(frozen=True)
class Knob:
    """One searched choice of a format: its values and the MASE config keys it sets.

    A plain knob sets every key in `keys` to the chosen value. A knob with `expands` sets, for a
    chosen value, the keys and values `expands[value]` lists instead (`E4M3` -> exponent and
    mantissa widths of every tensor).
    """

    choices: tuple[Any, ...]
    keys: tuple[str, ...]
    expands: Mapping[Any, Mapping[str, Any]] | None = None


def per_tensor(key: str, choices: Sequence[Any]) -> Knob:
    """A knob setting `<tensor>_<key>` of data_in, weight and bias to one value."""
    return Knob(tuple(choices), tuple(f"{tensor}_{key}" for tensor in TENSORS))


def one_key(key: str, choices: Sequence[Any]) -> Knob:
    """A knob setting a single MASE config key."""
    return Knob(tuple(choices), (key,))


def mx_element_knob(names: Sequence[str]) -> Knob:
    """A knob choosing the MXFP element type (`E4M3`, ...) of input, weight and bias together."""
    expands = {}
    for name in names:
        exponent, mantissa = (int(part) for part in name.removeprefix("E").split("M"))
        expands[name] = {
            **{f"{tensor}_exponent_width": exponent for tensor in TENSORS},
            **{f"{tensor}_frac_width": mantissa for tensor in TENSORS},
        }
    keys = tuple(key for tensor in TENSORS for key in (f"{tensor}_exponent_width", f"{tensor}_frac_width"))
    return Knob(tuple(names), keys, expands)


@dataclass(frozen=True)
class PrecisionSpace:
    """How one format is searched per layer: its knobs, and the MASE keys fixed for every layer."""

    knobs: Mapping[str, Knob]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""


_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class FigureStyle:
    """How every figure draws a format: colour (`#rrggbb`), matplotlib marker and line style, legend label.

    `label` None: the format's MASE name. A format keeps its style in every figure and run; other
    curves of a figure take colours no format of that figure declares. ValueError for a colour
    that is not `#rrggbb` or an empty marker or line style.
    """

    colour: str
    marker: str
    linestyle: str = "-"
    label: str | None = None

    def __post_init__(self) -> None:
        if not _COLOUR.match(self.colour):
            raise ValueError(f"figure style colour {self.colour!r} is not #rrggbb (e.g. '#1f77b4')")
        if not self.marker or not self.linestyle:
            raise ValueError("a figure style needs a marker and a line style (e.g. 'o' and '-')")


@dataclass(frozen=True)
class NumberFormat:
    """One number format: its quantized Linear, a ready MASE config and how Lab 3 searches it.

    `layer.format_name` is MASE's `name`; `example` is a ready config of it (about 8 bits where
    the format has a width); `space` is its Lab 3 per-layer search (None: lab3-precisions skips
    it); `order` places it among the formats (lab3-precisions searches them in this order, and
    figures list them so); `style` is how figures draw it (None: the figure's next free style).
    """

    layer: type[QuantizedLinear]
    example: Mapping[str, Any]
    space: PrecisionSpace | None = None
    order: int = 1000
    style: FigureStyle | None = None

    @property
    def name(self) -> str:
        return self.layer.format_name
