"""The [space] of a search file: the values each experiment searches, declared beside it, torch-free.

`space_fields(experiment, profile)` is {field: default list} (what `adls show` prints); a search
file's [space] replaces any of them. `check_space` refuses, before Ray starts, a field the
experiment does not search, a value of the wrong type or an impossible one (one line naming the
field and what it takes). `space_values(options, experiment)` is what the experiment searches.
The file's text is part of the run's identity (search/run_plan.py), so a changed value is a new search.

Lab 3 (lab3-mixed, lab3-precisions) also takes `layers`: glob patterns (fnmatch) naming the Linear
layers that are searched, matched against the model's own names (short `l0.query` or module
`bert.encoder.layer.0.attention.self.query`); the others stay fp32. The patterns are checked
against the model when the run is planned (search/experiments/spaces/layer_patterns.py).
lab3-precisions takes `formats` (the formats it searches, one curve each) and one table per
format, `[space.<format>]`, of that format's per-layer knobs (its declared space, from the formats'
registry: torch is imported only when lab3-precisions is shown or read).
"""

import tomllib
from collections.abc import Callable
from typing import Any

from errors import ConfigError
from search.profiles import Profile

SPACE_TABLE = "space"
# Lab 1 task 2's two curves; trainables.compress.prune implements both.
PRUNE_METHODS = ("random", "l1-norm")
# The lab's Lab 3 task 1 space (the integer format's declared space, trainables/compress/layers).
LAB3_WIDTHS = (8, 16, 32)
LAB3_FRAC_WIDTHS = (2, 4, 8)
MAX_WIDTH = 64


def _ints(low: int, high: int) -> Callable[[Any], str | None]:
    def problem(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"integers from {low} to {high}"
        return None

    return problem


def _fractions(low: float, high: float, low_open: bool) -> Callable[[Any], str | None]:
    def problem(value: Any) -> str | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or value > high or value < low or (low_open and value == low):
            return f"numbers in {'(' if low_open else '['}{low}, {high}]"
        return None

    return problem


def _one_of(names: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda value: None if value in names else f"names from {', '.join(names)}"


# Lab 2's four shape fields (BERT's names; another --model family searches the same sizes).
NAS_FIELDS = ("num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size")


def _nas_default(field: str) -> Callable[[Profile], list[Any]]:
    def default(profile: Profile) -> list[Any]:
        from search.experiments.spaces.nas import get_space  # Ray Tune: only when lab2 is shown or run

        return list(getattr(get_space(profile.nas_space), field))

    return default


_NAS = {field: (_nas_default(field), _ints(1, 1 << 16)) for field in NAS_FIELDS}


def _pattern(value: Any) -> str | None:
    ok = isinstance(value, str) and value.strip() == value and value
    return None if ok else 'glob patterns of Linear layer names, e.g. "l0.*" or "*.query"'


# Every Linear layer is searched: the lab's setting.
ALL_LAYERS = ("*",)
_LAYERS = (lambda p: list(ALL_LAYERS), _pattern)


def _searchable_formats() -> list[str]:
    from search.experiments.spaces.precisions import searchable_formats  # the formats' registry: torch

    return searchable_formats()


def _format_name(value: Any) -> str | None:
    names = _searchable_formats()
    return None if value in names else f"formats from {', '.join(names)}"


# experiment -> {field: (default from the profile, problem of one value)}.
_FIELDS: dict[str, dict[str, tuple[Callable[[Profile], list[Any]], Callable[[Any], str | None]]]] = {
    "lab1-qat": {
        "width": (lambda p: list(p.widths), _ints(1, MAX_WIDTH)),
        "frac_ratio": (lambda p: list(p.frac_ratios), _fractions(0.0, 1.0, False)),
    },
    "lab1-prune": {
        "sparsity": (lambda p: [float(s) for s in p.sparsities], _fractions(0.0, 1.0, True)),
        "method": (lambda p: list(PRUNE_METHODS), _one_of(PRUNE_METHODS)),
    },
    "lab3-mixed": {
        "width": (lambda p: list(LAB3_WIDTHS), _ints(1, MAX_WIDTH)),
        "frac_width": (lambda p: list(LAB3_FRAC_WIDTHS), _ints(0, MAX_WIDTH)),
        "layers": _LAYERS,
    },
    "lab3-precisions": {
        "formats": (lambda p: _searchable_formats(), _format_name),
        "layers": _LAYERS,
    },
    # Every point must be a valid BERT: spaces/nas.py's space_for checks hidden % heads before Ray.
    "lab2-nas": _NAS,
    "lab2-compress-aware": _NAS,
}


# What `adls show` says above a field.
NOTES = {
    "layers": "Linear layers searched, by glob pattern on the model's layer names "
    '("l0.*", "*.query", "classifier"; `adls inspect` lists them); the others stay fp32',
    "formats": "the formats searched, one search and curve each (--precisions overrides)",
}
# Experiments with one [space.<format>] table per searched format: that format's per-layer knobs.
_FORMAT_TABLES = ("lab3-precisions",)


def _knob_problem(declared: tuple[Any, ...]) -> Callable[[Any], str | None]:
    """A knob value's check: the declared type; names only from the declared ones."""
    if all(isinstance(c, bool) for c in declared):
        return lambda v: None if isinstance(v, bool) else "true or false"
    if all(isinstance(c, int) and not isinstance(c, bool) for c in declared):
        return _ints(0, MAX_WIDTH)
    return _one_of(tuple(str(c) for c in declared))


def format_tables(experiment: str) -> dict[str, dict[str, tuple[list[Any], Callable[[Any], str | None]]]]:
    """{format: {knob: (declared values, problem of one value)}} of an experiment's [space.<format>] tables."""
    if experiment not in _FORMAT_TABLES:
        return {}
    from trainables.compress.registry import PRECISION_SPACES  # the formats' registry: torch

    return {
        name: {
            knob: (list(k.choices), _knob_problem(k.choices))
            for knob, k in PRECISION_SPACES[name].knobs.items()
        }
        for name in _searchable_formats()
    }


def space_fields(experiment: str, profile: Profile) -> dict[str, Any]:
    """{field: default values} that `experiment` searches (empty: it takes no [space]).

    A format's knobs are a nested {format: {knob: values}} (lab3-precisions' [space.<format>] tables).
    """
    fields: dict[str, Any] = {
        name: default(profile) for name, (default, _) in _FIELDS.get(experiment, {}).items()
    }
    for name, knobs in format_tables(experiment).items():
        fields[name] = {knob: values for knob, (values, _) in knobs.items()}
    return fields


def _check_list(where: str, key: str, values: Any, problem: Callable[[Any], str | None]) -> None:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: [space] {key} = {values!r} must be a non-empty list")
    for value in values:
        if found := problem(value):
            raise ConfigError(f"{where}: [space] {key} = {values!r}: {value!r} is not allowed; give {found}")
    if len(set(map(str, values))) != len(values):
        raise ConfigError(f"{where}: [space] {key} = {values!r} lists a value twice")


def _check_format_table(where: str, name: str, table: Any, knobs: dict) -> None:
    """One [space.<format>] table: that format's own knobs (a format not searched leaves it unused)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [space] {name} must be a table ([space.{name}]) of its knobs")
    for knob, values in table.items():
        if knob not in knobs:
            raise ConfigError(f"{where}: [space.{name}] has no knob {knob!r}; choose from {', '.join(knobs)}")
        _check_list(where, f"{name}.{knob}", values, knobs[knob][1])
    if "width" in knobs and "frac_width" in knobs:  # fixed point: a frac width inside every width
        widths, fracs = (table.get(k, knobs[k][0]) for k in ("width", "frac_width"))
        _check_widths(where, widths, fracs, f"[space.{name}]")


def _check_widths(where: str, widths: Any, fracs: Any, table: str) -> None:
    """Integer formats: no frac width above the smallest width."""
    if widths or fracs:
        widths, fracs = widths or list(LAB3_WIDTHS), fracs or list(LAB3_FRAC_WIDTHS)
        if max(fracs) > min(widths):
            raise ConfigError(
                f"{where}: {table} frac_width {max(fracs)} is above width {min(widths)}; "
                "give frac widths no larger than the smallest width"
            )


def check_space(where: str, experiments: tuple[str, ...], table: Any) -> None:
    """ConfigError (one line) for a [space] the experiments cannot search."""
    fields = {name: check for e in experiments for name, (_, check) in _FIELDS.get(e, {}).items()}
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [space] must be a table of lists")
    tables = {name: knobs for e in experiments for name, knobs in format_tables(e).items()}
    for key, values in table.items():
        if key in tables:
            _check_format_table(where, key, values, tables[key])
            continue
        if key not in fields:
            allowed = ", ".join(sorted(fields)) or "nothing (this experiment takes no [space])"
            raise ConfigError(f"{where}: [space] has no field {key!r}; choose from {allowed}")
        _check_list(where, key, values, fields[key])
    if "lab3-mixed" in experiments:
        _check_widths(where, table.get("width"), table.get("frac_width"), "[space]")


def space_values(options: Any, experiment: str) -> dict[str, Any]:
    """What `experiment` searches in this run: its defaults, with the search file's [space] over them."""
    values = space_fields(experiment, options.profile)
    if options.search_file:
        given = tomllib.loads(options.search_file).get(SPACE_TABLE, {})
        for key, value in given.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key].update({knob: list(v) for knob, v in value.items()})
            elif key in values:
                values[key] = list(value)
    return values
