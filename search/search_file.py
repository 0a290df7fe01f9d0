"""A search written down as a TOML file (`adls run FILE.toml`), and the default file of an experiment.

    experiment = "lab1-qat"      # an experiment or a lab (`adls list`)
    [run]                        # run options by flag name without dashes (`adls run --help`)
    profile = "smoke"
    seed = 3
    [train]                      # the profile's training settings for this run (search/profiles.py)
    epochs = 0.5
    [space]                      # the values the experiment searches (search/experiments/options/space.py)
    width = [4, 8]
    layers = ["l0.*"]            # Lab 3: the Linear layers searched, by name pattern
    [space.integer]              # lab3-precisions: one table of knobs per format
    width = [4, 8]

The [run] keys and their checks come from the run options' one declaration (search/option_spec.py):
a switch takes true/false, a list is a comma list, anything else the text its flag takes. An
unknown key or table, or a value of the wrong type, is a ConfigError naming the file, the key and
what is allowed. The file's text becomes part of the run's identity (search/run_plan.py).
Torch-free: `adls show` and `adls run FILE.toml` read it before anything heavy is imported.
"""

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from errors import ConfigError
from search.experiments.options.space import NOTES, SPACE_TABLE, check_space, space_fields
from search.option_spec import Option, declared_options, defaults
from search.options import RunOptions
from search.profiles import TRAIN_FIELDS, TRAIN_TABLE, check_train, get_profile

RUN_TABLE = "run"


@dataclass(frozen=True)
class SearchFile:
    """What a search file says: the experiment, its run options by RunOptions field, and its text."""

    experiment: str
    values: dict[str, Any]
    text: str


def _options_by_key() -> dict[str, tuple[str, Option]]:
    return {option.key: (name, option) for name, option in declared_options(RunOptions).items()}


def _value(where: str, key: str, option: Option, raw: Any) -> Any:
    """The field value of one [run] entry; ConfigError naming the file, key and what it takes."""
    if option.switch:
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: {key} = {raw!r} must be true or false")
        return raw
    if isinstance(raw, (bool, dict)) or (
        isinstance(raw, list) and any(isinstance(x, (list, dict)) for x in raw)
    ):
        raise ConfigError(
            f"{where}: {key} = {raw!r} is not a value {option.flag} takes; see `adls run --help`"
        )
    text = ",".join(str(x) for x in raw) if isinstance(raw, list) else str(raw)
    if option.parse is None:
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: {key} = {raw!r} must be a string (in quotes)")
        return raw
    try:
        return option.parse(text)
    except ValueError as error:
        raise ConfigError(f"{where}: {key}: {error}") from None


def read_search_file(path: str) -> SearchFile:
    """Read and check a search file; ConfigError (one line) for anything it cannot be."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(
            f"search file {path!r} cannot be read ({error.strerror}); give a .toml file"
        ) from None
    try:
        content = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{path} is not TOML ({error}); see `adls show <experiment>` for the form"
        ) from None
    unknown = sorted(set(content) - {"experiment", RUN_TABLE, TRAIN_TABLE, SPACE_TABLE})
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; a search file has `experiment`, [run], [train] and [space]"
        )
    experiment = content.get("experiment")
    if not isinstance(experiment, str) or not experiment:
        raise ConfigError(f'{path}: give the experiment, e.g. experiment = "lab1-qat" (see `adls list`)')
    check_train(path, content.get(TRAIN_TABLE, {}))
    if SPACE_TABLE in content:
        from search.experiments.registry import expand

        check_space(path, tuple(expand(experiment)), content[SPACE_TABLE])
    table = content.get(RUN_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [run] must be a table of run options")
    known = _options_by_key()
    values = {}
    for key, raw in table.items():
        if key not in known:
            raise ConfigError(f"{path}: [run] has no option {key!r}; choose from {', '.join(sorted(known))}")
        name, option = known[key]
        values[name] = _value(f"{path}: [run]", key, option, raw)
    return SearchFile(experiment, values, text)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(str(x)) for x in value) + "]"
    return json.dumps(str(value))


def default_search_file(experiment: str) -> str:
    """The search file of `experiment` with every run option it reads at its default (`adls show`).

    `experiment` may be a lab (its experiments' options). Options without a default (None) are
    left as comments; options only other experiments read are left out. ConfigError for an
    unknown name.
    """
    from search.experiments.registry import expand

    reads = set(expand(experiment))
    initial = defaults(RunOptions)
    lines = [f"# adls run FILE.toml: `adls run {experiment}` with every run option at its default.", ""]
    lines += [f"experiment = {json.dumps(experiment)}", "", f"[{RUN_TABLE}]"]
    for name, option in declared_options(RunOptions).items():
        if option.owners and not reads & set(option.owners):
            continue
        if option.help:
            lines.append(f"# {option.help}")
        value = initial[name]
        lines.append(f"# {option.key} = ..." if value is None else f"{option.key} = {_toml(value)}")
    return "\n".join(lines + _train_and_space(experiment, initial["profile_name"])) + "\n"


def _train_and_space(experiment: str, profile_name: str) -> list[str]:
    """The [train] and [space] tables of `adls show`, at the default profile's values."""
    from search.experiments.registry import expand

    profile = get_profile(profile_name)
    lines = [
        "",
        f"# Training settings of each trial: uncomment to override the profile's (here {profile_name}'s).",
    ]
    lines += [f"[{TRAIN_TABLE}]"] + [f"# {key} = {getattr(profile, key)!r}" for key in TRAIN_FIELDS]
    fields: dict[str, list[Any]] = {}
    for name in expand(experiment):
        fields.update(space_fields(name, profile))
    if fields:
        lines += [
            "",
            f"# The values the experiment searches (profile {profile_name}'s defaults).",
            f"[{SPACE_TABLE}]",
        ]
        for key, values in fields.items():
            if not isinstance(values, dict):
                lines += ([f"# {NOTES[key]}"] if key in NOTES else []) + [f"{key} = {json.dumps(values)}"]
        for key, values in fields.items():
            if isinstance(values, dict):  # a format's knobs: [space.<format>]
                lines += ["", f"[{SPACE_TABLE}.{key}]"]
                lines += [f"{knob} = {json.dumps(choices)}" for knob, choices in values.items()]
    return lines
