"""How a run option is declared, once: flag, help, parser, choices, default and check, on its field.

A run option is a field of `RunOptions` (search/options.py) made with `run_option(...)`; options
that only one experiment reads are declared beside it (search/experiments/options/) and used as
that field's default. Everything else is derived from these declarations: the argument parser
(adls/run_options.py), the command-line words a cluster job is given, the checks of
`RunOptions.validate` and the keys of a search file (`key`: the flag without its dashes).

A parser turns command-line text into the field's value and raises ValueError with a message that
names the text; a check returns the one-line problem with a value (None when it is fine). Neither
imports torch: `adls --help` builds the parser from these declarations.
"""

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

Parse = Callable[[str], Any]
Check = Callable[[str, Any], str | None]


@dataclasses.dataclass(frozen=True)
class Option:
    """One run option as the command line and a search file see it.

    `choices`: the allowed values; `validate` refuses others ("is not allowed; choose one of")
    unless a `check` says otherwise, and so does argparse when `parser_choices` ("invalid choice"). `switch`: a flag
    without a value (`store_true`). `show` turns a value back into the command-line word.
    """

    flag: str
    help: str | None = None
    parse: Parse | None = None
    choices: Sequence[Any] | None = None
    parser_choices: bool = True
    check: Check | None = None
    switch: bool = False
    show: Callable[[Any], str] = str
    # The experiments that read this option (empty: every run); for the docs and `adls show`.
    owners: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The option's key in a search file's [run] table: the flag without its dashes."""
        return self.flag.removeprefix("--")

    def problem(self, value: Any) -> str | None:
        """The one-line problem with `value` (None when it is allowed): the check's, else the choices'."""
        if self.check is not None:
            return self.check(self.flag, value)
        if self.choices is not None and value is not None and value not in self.choices:
            return f"{self.flag} {value!r} is not allowed; choose one of {list(self.choices)}"
        return None

    def words(self, value: Any) -> list[str]:
        """`value` as command-line words (a switch is its flag alone)."""
        return [self.flag] if self.switch else [self.flag, self.show(value)]


def run_option(flag: str, default: Any = None, **declared: Any) -> Any:
    """A dataclass field carrying its `Option` (`declared` are Option's fields besides the flag)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError(f"{flag}: give an immutable default (a tuple), not {default!r}")
    return dataclasses.field(default=default, metadata={"option": Option(flag, **declared)})


def declared_options(cls: type) -> dict[str, Option]:
    """{field name: Option} of a dataclass, in field order (fields without an Option are left out)."""
    return {f.name: f.metadata["option"] for f in dataclasses.fields(cls) if "option" in f.metadata}


def defaults(cls: type) -> dict[str, Any]:
    """{field name: default} of the declared options of a dataclass."""
    return {f.name: f.default for f in dataclasses.fields(cls) if "option" in f.metadata}


# -- parsers: text -> value, ValueError naming the text ----------------------------------------------


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise ValueError(f"{text} must be a whole number >= 1")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise ValueError(f"{text} must be a whole number >= 0")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text} must be a finite number >= 0")
    return value


def count_or_all(text: str) -> int | None:
    """A whole number >= 1, or 'all' (None: no limit)."""
    return None if text == "all" else positive_int(text)


def show_count_or_all(value: int | None) -> str:
    return "all" if value is None else str(value)


def comma_list(text: str) -> tuple[str, ...]:
    """'a, b' -> ('a', 'b'); empty entries are dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def comma_list_or_none(text: str) -> tuple[str, ...] | None:
    """As comma_list, but an empty text is None (the option not given); ',' is the empty tuple."""
    return comma_list(text) if text else None


def show_comma_list(value: Sequence[str]) -> str:
    return ",".join(value)
