"""The run options on the command line (`adls run`, `adls submit`), both ways, derived from RunOptions.

Each option is declared once, on its RunOptions field (search/options.py, search/option_spec.py).
`add_run_options` puts them on a parser, `options_from` turns parsed arguments into RunOptions,
and `run_arguments` turns parsed arguments back into the command-line words that differ from the
defaults (what a cluster job's `adls run` is given).
"""

import argparse
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from search import option_spec
from search.option_spec import Option, declared_options, defaults
from search.options import RunOptions


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """`parse` with its ValueError turned into argparse's own one-line refusal."""

    def typed(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    typed.__name__ = parse.__name__
    return typed


# For other commands' flags (`adls best --top`): the same parser and message as --repeats.
positive_int = _argparse_type(option_spec.positive_int)


def add_argument(parser: argparse.ArgumentParser, name: str, option: Option, default: Any) -> None:
    """One declared option on `parser` (dest: the RunOptions field)."""
    if option.switch:
        parser.add_argument(option.flag, dest=name, action="store_true", default=default, help=option.help)
        return
    choices = list(option.choices) if option.choices is not None and option.parser_choices else None
    parser.add_argument(
        option.flag,
        dest=name,
        default=default,
        type=_argparse_type(option.parse) if option.parse else None,
        choices=choices,
        metavar=None if choices else option.key.upper().replace("-", "_"),
        help=option.help,
    )


def add_run_options(
    parser: argparse.ArgumentParser,
    differ: dict[str, tuple[Any, str]] | None = None,
    suppress: bool = False,
) -> None:
    """The options every way of running an experiment shares (run, submit).

    `differ`: {field: (default, help)} for the options a command gives another default and help
    (`adls submit --storage` has no default). `suppress`: no defaults at all, so that parsed
    arguments hold only the options given.
    """
    initial = defaults(RunOptions)
    for name, option in declared_options(RunOptions).items():
        default, text = (differ or {}).get(name, (initial[name], option.help))
        add_argument(parser, name, replace(option, help=text), argparse.SUPPRESS if suppress else default)


def options_from(args: argparse.Namespace, verbose: bool = False) -> RunOptions:
    """The RunOptions the parsed run options say (not yet validated); `verbose` is `adls -v`."""
    values = {name: getattr(args, name) for name in declared_options(RunOptions)}
    return RunOptions(**values, address=getattr(args, "address", None), verbose=verbose)


def given_run_options(argv: Sequence[str]) -> dict[str, Any]:
    """{field: value} of the run options `argv` names explicitly (defaults left out)."""
    probe = argparse.ArgumentParser(add_help=False)
    add_run_options(probe, suppress=True)
    known, _ = probe.parse_known_args(list(argv))
    return vars(known)


def search_options(
    path: str, argv: Sequence[str], address: str | None, verbose: bool
) -> tuple[str, RunOptions]:
    """(experiment, RunOptions) of `adls run FILE.toml`: the file's [run], then the flags `argv` gives.

    ConfigError for a file that is not a search file (search/search_file.py).
    """
    from search.search_file import read_search_file

    found = read_search_file(path)
    values = {**found.values, **given_run_options(argv)}
    return found.experiment, RunOptions(**values, address=address, verbose=verbose, search_file=found.text)


def run_arguments(args: argparse.Namespace) -> list[str]:
    """The run options in `args` that differ from their defaults, as command-line words."""
    initial = defaults(RunOptions)
    words: list[str] = []
    for name, option in declared_options(RunOptions).items():
        value = getattr(args, name, initial[name])
        # None is "not given" (`adls submit --storage` has no default) unless the option can say it.
        if value != initial[name] and (value is not None or option.show is not str):
            words += option.words(value)
    return words
