"""Lab 3's per-layer search spaces: one small table, one row per Linear number format.

Every Linear layer of a trial chooses fp32 or the searched format; a layer that chose the format
then samples each of the format's knobs. A knob is one Optuna parameter that sets one or more
MASE config keys (`width` sets `data_in_width`, `weight_width` and `bias_width`); everything
else about the format is fixed per format. `lab3-mixed` searches the `integer` row (the lab's
widths [8, 16, 32] and fractional widths [2, 4, 8]); `lab3-precisions` runs one search per row.

Parameter names are `<layer>.type` ("fp32" or the format) and `<layer>.<knob>`, with `<layer>`
a short name such as `l0.query` (see `layer_keys`), so that every choice is its own column of
the results table.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from torch import nn

from errors import ConfigError
from trainables.compress.format_examples import BLOCKS_16 as EXAMPLE_BLOCKS_16
from trainables.compress.format_examples import every_tensor
from trainables.compress.layers.quantized_linear import TENSORS

FP32 = "fp32"
TYPE_KNOB = "type"
# The examples' blocks of 16 features, the batch dimension of the input skipped explicitly.
BLOCKS_16 = {**EXAMPLE_BLOCKS_16, "data_in_skip_first_dim": True}


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


PRECISION_SPACES: dict[str, PrecisionSpace] = {
    "integer": PrecisionSpace(
        {"width": per_tensor("width", (8, 16, 32)), "frac_width": per_tensor("frac_width", (2, 4, 8))},
        note="the lab's task 1 space",
    ),
    "minifloat_denorm": PrecisionSpace(
        {"width": per_tensor("width", (8, 16)), "exponent_width": per_tensor("exponent_width", (3, 4, 5))},
        every_tensor(exponent_bias=None),
        note="default bias 2^(E-1) - 1",
    ),
    "minifloat_ieee": PrecisionSpace(
        {"width": per_tensor("width", (8, 16)), "exponent_width": per_tensor("exponent_width", (3, 4, 5))},
        every_tensor(exponent_bias=None),
        note="default bias 2^(E-1) - 1",
    ),
    # A log value is a power of two whatever its width, so width only buys range; 9 is the
    # widest this library allows (1 sign + float32's 8 exponent bits).
    "log": PrecisionSpace(
        {"width": per_tensor("width", (4, 6, 8))},
        every_tensor(exponent_bias=None),
        note="default bias 2^(width-2) - 1; no zero",
    ),
    "block_fp": PrecisionSpace(
        {"width": per_tensor("width", (4, 6, 8))},
        {**every_tensor(exponent_width=8, exponent_bias=None), **BLOCKS_16},
        note="8-bit shared exponent per block of 16",
    ),
    "block_minifloat": PrecisionSpace(
        {"width": per_tensor("width", (6, 8)), "exponent_width": per_tensor("exponent_width", (2, 3, 4))},
        {**every_tensor(exponent_bias_width=8), **BLOCKS_16},
        note="8-bit shared bias per block of 16",
    ),
    "block_log": PrecisionSpace(
        {"width": per_tensor("width", (3, 4, 5))},
        {**every_tensor(exponent_bias_width=8), **BLOCKS_16},
        note="8-bit shared bias per block of 16; no zero",
    ),
    "binary": PrecisionSpace(
        {"weight_bipolar": one_key("weight_bipolar", (True, False))},
        {"weight_stochastic": False},
        note="weight only: +-1, or {0, mean abs w} per row",
    ),
    "binary_scaling": PrecisionSpace(
        {
            "weight_bipolar": one_key("weight_bipolar", (True, False)),
            "data_in_bipolar": one_key("data_in_bipolar", (True, False)),
        },
        {**every_tensor(stochastic=False), "bias_bipolar": False, "binary_training": True},
        note="input, weight, bias binarised; learned weight scale",
    ),
    "binary_residual_sign": PrecisionSpace(
        {"data_in_levels": one_key("data_in_levels", (1, 2, 3))},
        {
            **every_tensor(stochastic=False, bipolar=True),
            "data_in_residual_sign": True,
            "binary_training": True,
        },
        note="residual-sign input, +-1 weight with learned scale",
    ),
    "mxint": PrecisionSpace(
        {"width": per_tensor("width", (4, 6, 8))},
        every_tensor(block_size=32),
        note="OCP MXINT: 8-bit power-of-two scale per 32 elements of a row",
    ),
    "mxfp": PrecisionSpace(
        {"element": mx_element_knob(("E4M3", "E5M2", "E3M2", "E2M3", "E2M1"))},
        every_tensor(block_size=32),
        note="OCP MXFP8/6/4: 8-bit power-of-two scale per 32 elements of a row",
    ),
    "ternary": PrecisionSpace(
        {
            "weight_threshold_statistic": one_key("weight_threshold_statistic", ("mean", "max", "median")),
            "weight_scaling_factor": one_key("weight_scaling_factor", (True, False)),
        },
        note="weight only, {-a, 0, a} per row",
    ),
}


def precision_space(format_name: str) -> PrecisionSpace:
    """The declared space of `format_name`; ConfigError lists the formats that have one."""
    if format_name not in PRECISION_SPACES:
        raise ConfigError(
            f"no Lab 3 search space for format {format_name!r}; choose one of {list(PRECISION_SPACES)}"
        )
    return PRECISION_SPACES[format_name]


def searchable_formats() -> list[str]:
    """Formats the compression library registers and this table declares, in the table's order."""
    from trainables.compress.registry import LINEAR_FORMATS

    return [name for name in PRECISION_SPACES if name in LINEAR_FORMATS]


def check_precisions(names: Sequence[str]) -> None:
    """Raise ConfigError (before Ray starts) for an unknown or repeated `--precisions` entry."""
    known = searchable_formats()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"--precisions: unknown format {unknown[0]!r}; choose from {','.join(known)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--precisions lists a format twice: {','.join(names)}")
    if not names:
        raise ConfigError(f"--precisions is empty; choose from {','.join(known)}")


def knob_keys(format_name: str) -> dict[str, list[str]]:
    """{knob: MASE keys it sets} of a format: what a trial needs to build each layer's config."""
    return {name: list(knob.keys) for name, knob in precision_space(format_name).knobs.items()}


def knob_values(format_name: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{knob: {choice: {MASE key: value}}} for the knobs of a format that expand (see Knob)."""
    return {
        name: {str(choice): dict(keys) for choice, keys in knob.expands.items()}
        for name, knob in precision_space(format_name).knobs.items()
        if knob.expands is not None
    }


def format_config(format_name: str) -> dict[str, Any]:
    """The MASE config keys a layer of this format gets before its knobs are applied."""
    return {"name": format_name, **dict(precision_space(format_name).fixed)}


# Module-name pieces of a BERT encoder layer -> short names for parameter columns.
_SHORT_NAMES = (
    ("attention.self.", ""),
    ("attention.output.dense", "attn_out"),
    ("intermediate.dense", "ffn_in"),
    ("output.dense", "ffn_out"),
)


def short_layer_name(module_name: str) -> str:
    """`bert.encoder.layer.0.attention.self.query` -> `l0.query`; `bert.pooler.dense` -> `pooler`."""
    name = module_name
    if name.startswith("bert.encoder.layer."):
        name = "l" + name.removeprefix("bert.encoder.layer.")
        for long, short in _SHORT_NAMES:
            name = name.replace(long, short)
    elif name == "bert.pooler.dense":
        name = "pooler"
    # "/" would make Tune nest the sampled config; nothing else in a name matters.
    return name.replace("/", ".")


def layer_keys(model: nn.Module) -> dict[str, str]:
    """{short name: module name} of every nn.Linear of `model`, in module order.

    Identity projections (a NAS model's nn.Identity) are not Linear layers and get no choice.
    """
    keys: dict[str, str] = {}
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            short = short_layer_name(module_name)
            if short in keys:  # never for BERT; keeps a strange model correct rather than pretty
                short = module_name
            keys[short] = module_name
    return keys


LAYER_MODES = ("choose", "all")


@dataclass(frozen=True)
class LayerwiseSpace:
    """Optuna define-by-run space: per layer fp32 or `format_name`, and that layer's knobs if the latter.

    `mode="all"` (lab3-precisions `--layers all`) puts every layer in the format, except those in
    `fp32_layers`, and searches only the format's knobs per layer; the `<layer>.type` values are
    then constants, returned so that they still land in the trial config and the results table.
    A class rather than a closure so that Tune can pickle the searcher to resume a search.
    """

    format_name: str
    layers: tuple[str, ...]
    mode: str = "choose"
    fp32_layers: tuple[str, ...] = ()

    def __call__(self, trial: optuna.Trial) -> dict[str, str] | None:
        knobs = precision_space(self.format_name).knobs
        constants: dict[str, str] = {}
        for layer in self.layers:
            if self.mode == "all":
                choice = FP32 if layer in self.fp32_layers else self.format_name
                constants[f"{layer}.{TYPE_KNOB}"] = choice
            else:
                choice = trial.suggest_categorical(f"{layer}.{TYPE_KNOB}", [FP32, self.format_name])
            if choice == self.format_name:
                for name, knob in knobs.items():
                    trial.suggest_categorical(f"{layer}.{name}", list(knob.choices))
        return constants or None


def space_table_markdown(formats: Sequence[str] | None = None) -> str:
    """The table of spaces as Markdown (for the README): format, per-layer knobs, fixed keys."""
    lines = ["| format | searched per layer (besides fp32 or not) | fixed |", "|---|---|---|"]
    for name in formats or list(PRECISION_SPACES):
        space = PRECISION_SPACES[name]
        knobs = "; ".join(f"`{k}` {{{', '.join(map(str, knob.choices))}}}" for k, knob in space.knobs.items())
        lines.append(f"| `{name}` | {knobs} | {space.note} |")
    return "\n".join(lines)
