"""Lab 3's per-layer search spaces: each number format declares its own (`NumberFormat.space`).

Every Linear layer of a trial chooses fp32 or the searched format; a layer that chose the format
then samples each of the format's knobs. A knob is one Optuna parameter that sets one or more
MASE config keys (`width` sets `data_in_width`, `weight_width` and `bias_width`); everything
else about the format is fixed per format. `lab3-mixed` searches the `integer` space (the lab's
widths [8, 16, 32] and fractional widths [2, 4, 8]); `lab3-precisions` runs one search per format.

Parameter names are `<layer>.type` ("fp32" or the format) and `<layer>.<knob>`, with `<layer>`
a short name such as `l0.query` (see `layer_keys`), so that every choice is its own column of
the results table.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from torch import nn

from analysis.format_styles import style_record
from errors import ConfigError
from trainables.compress.number_format import PrecisionSpace
from trainables.compress.registry import FORMATS, PRECISION_SPACES

FP32 = "fp32"
TYPE_KNOB = "type"


def precision_space(format_name: str) -> PrecisionSpace:
    """The declared space of `format_name`; ConfigError lists the formats that have one."""
    if format_name not in PRECISION_SPACES:
        raise ConfigError(
            f"no Lab 3 search space for format {format_name!r}; choose one of {list(PRECISION_SPACES)}"
        )
    return PRECISION_SPACES[format_name]


def searchable_formats() -> list[str]:
    """The registered formats that declare a Lab 3 space, in the formats' order."""
    return [name for name, number_format in FORMATS.items() if number_format.space is not None]


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


def style_columns(format_name: str) -> dict[str, Any]:
    """The format's declared figure style as row columns (analysis.format_styles.STYLE_COLUMNS), so
    figures draw it from the results alone; {} for a format that declares none."""
    number_format = FORMATS[format_name]
    style = number_format.style
    if style is None:
        return {}
    return style_record(
        style.colour, style.marker, style.linestyle, number_format.order, style.label or format_name
    )


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
    """`bert.encoder.layer.0.attention.self.query` -> `l0.query`; `bert.pooler.dense` -> `pooler`.

    Other families keep their own module names, with the numbered layer shortened the same way
    (`distilbert.transformer.layer.1.attention.q_lin` -> `l1.attention.q_lin`,
    `roberta.encoder.layer.0.attention.self.query` -> `l0.query`).
    """
    name = module_name
    numbered = re.match(r"^[A-Za-z_]+\.(?:encoder|transformer)\.layer\.(\d+)\.(.*)$", name)
    if numbered:
        name = f"l{numbered.group(1)}.{numbered.group(2)}"
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
    `fp32_layers`, and searches only the format's knobs per layer. In either mode a layer in
    `fp32_layers` stays fp32 (a search file's [space] layers leaves it out). Such `<layer>.type`
    values are constants, returned so that they still land in the trial config and the results table.
    A class rather than a closure so that Tune can pickle the searcher to resume a search.
    """

    format_name: str
    layers: tuple[str, ...]
    mode: str = "choose"
    fp32_layers: tuple[str, ...] = ()
    # (knob, values) pairs that replace the format's declared choices (a search file's [space]).
    choices: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def knob_choices(self) -> dict[str, list[Any]]:
        """{knob: the values each layer that takes the format chooses from}."""
        knobs = precision_space(self.format_name).knobs
        given = dict(self.choices)
        return {name: list(given.get(name, knob.choices)) for name, knob in knobs.items()}

    def __call__(self, trial: optuna.Trial) -> dict[str, str] | None:
        knobs = self.knob_choices()
        constants: dict[str, str] = {}
        for layer in self.layers:
            if self.mode == "all" or layer in self.fp32_layers:
                choice = FP32 if layer in self.fp32_layers else self.format_name
                constants[f"{layer}.{TYPE_KNOB}"] = choice
            else:
                choice = trial.suggest_categorical(f"{layer}.{TYPE_KNOB}", [FP32, self.format_name])
            if choice == self.format_name:
                for name, choices in knobs.items():
                    trial.suggest_categorical(f"{layer}.{name}", choices)
        return constants or None


def space_table_markdown(formats: Sequence[str] | None = None) -> str:
    """The table of spaces as Markdown (for the README): format, per-layer knobs, fixed keys."""
    lines = ["| format | searched per layer (besides fp32 or not) | fixed |", "|---|---|---|"]
    for name in formats or list(PRECISION_SPACES):
        space = PRECISION_SPACES[name]
        knobs = "; ".join(f"`{k}` {{{', '.join(map(str, knob.choices))}}}" for k, knob in space.knobs.items())
        lines.append(f"| `{name}` | {knobs} | {space.note} |")
    return "\n".join(lines)
