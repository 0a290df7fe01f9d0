"""The [space] of a search file: the values each experiment searches, declared beside it, torch-free.

`space_fields(experiment, profile)` is {field: default list} (what `adls show` prints); a search
file's [space] replaces any of them. `check_space` refuses, before Ray starts, a field the
experiment does not search, a value of the wrong type or an impossible one (one line naming the
field and what it takes). `space_values(options, experiment)` is what the experiment searches.
The file's text is part of the run's identity (search/run_plan.py), so a changed value is a new search.
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
    },
    # Every point must be a valid BERT: spaces/nas.py's space_for checks hidden % heads before Ray.
    "lab2-nas": _NAS,
    "lab2-compress-aware": _NAS,
}


def space_fields(experiment: str, profile: Profile) -> dict[str, list[Any]]:
    """{field: default values} that `experiment` searches (empty: it takes no [space])."""
    return {name: default(profile) for name, (default, _) in _FIELDS.get(experiment, {}).items()}


def check_space(where: str, experiments: tuple[str, ...], table: Any) -> None:
    """ConfigError (one line) for a [space] the experiments cannot search."""
    fields = {name: check for e in experiments for name, (_, check) in _FIELDS.get(e, {}).items()}
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [space] must be a table of lists")
    for key, values in table.items():
        if key not in fields:
            allowed = ", ".join(sorted(fields)) or "nothing (this experiment takes no [space])"
            raise ConfigError(f"{where}: [space] has no field {key!r}; choose from {allowed}")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: [space] {key} = {values!r} must be a non-empty list")
        for value in values:
            if problem := fields[key](value):
                raise ConfigError(
                    f"{where}: [space] {key} = {values!r}: {value!r} is not allowed; give {problem}"
                )
        if len(set(map(str, values))) != len(values):
            raise ConfigError(f"{where}: [space] {key} = {values!r} lists a value twice")
    widths, fracs = table.get("width"), table.get("frac_width")
    if "lab3-mixed" in experiments and (widths or fracs):
        widths, fracs = widths or list(LAB3_WIDTHS), fracs or list(LAB3_FRAC_WIDTHS)
        if max(fracs) > min(widths):
            raise ConfigError(
                f"{where}: [space] frac_width {max(fracs)} is above width {min(widths)}; "
                "give frac widths no larger than the smallest width"
            )


def space_values(options: Any, experiment: str) -> dict[str, list[Any]]:
    """What `experiment` searches in this run: its defaults, with the search file's [space] over them."""
    values = space_fields(experiment, options.profile)
    if options.search_file:
        given = tomllib.loads(options.search_file).get(SPACE_TABLE, {})
        values.update({key: list(v) for key, v in given.items() if key in values})
    return values
