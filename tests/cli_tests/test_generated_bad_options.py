"""Generated invalid `adls run` options, drawn from the run parser's own declaration.

For every option of `adls run` the parser declares (its choices, or its type function: whole
numbers >= 1, >= 0, finite numbers >= 0, a count or 'all'), hypothesis draws values it must
refuse; options whose allowed values RunOptions.validate holds (sampler, scheduler, objective,
model source, base method, Optuna storage) get values outside those, and one pair of options that
exclude each other is drawn too. Each case goes through the CLI in-process (`adls.cli.main`): one
line on stderr, exit 2, and nothing under --storage.
"""

import argparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adls import run_options
from adls.cli import build_parser, main

# ~575 cases in-process: about a minute and a half on a loaded 2-core machine, so its own CI step.
pytestmark = pytest.mark.reliability

CASES_PER_OPTION = 25
# Values RunOptions.validate checks (not argparse): any text that is not one of these words.
VALIDATED_WORDS = ("--sampler", "--scheduler", "--objective", "--model-source", "--base-method")


def run_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["run"]


def declared_options() -> dict[str, argparse.Action]:
    """Every option of `adls run` that takes a value, by its flag."""
    return {
        action.option_strings[-1]: action
        for action in run_parser()._actions
        if action.option_strings and action.nargs is None and action.option_strings[-1] != "--help"
    }


words = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12).filter(
    lambda t: not t.startswith("-")
)
not_a_number = words.filter(lambda t: _not_number(t))


def _not_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


def invalid_values(action: argparse.Action) -> st.SearchStrategy[str] | None:
    """Values the declaration refuses, or None when the option takes any text."""
    if action.choices:
        return words.filter(lambda t: t not in action.choices)
    if action.type is run_options.positive_int:
        return st.one_of(st.integers(max_value=0).map(str), not_a_number, st.floats(0.5, 9.5).map(repr))
    if action.type is run_options.non_negative_int:
        return st.one_of(st.integers(max_value=-1).map(str), not_a_number, st.floats(0.5, 9.5).map(repr))
    if action.type is run_options.non_negative_float:
        negative = st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False).map(repr)
        return st.one_of(negative, st.sampled_from(["nan", "inf", "-inf"]), not_a_number)
    if action.type is run_options.count_or_all:
        return st.one_of(st.integers(max_value=0).map(str), not_a_number.filter(lambda t: t != "all"))
    if action.option_strings[-1] in VALIDATED_WORDS:
        return words.map(lambda t: f"bogus{t}")
    if action.option_strings[-1] == "--optuna-storage":
        return words.filter(lambda t: "://" not in t)
    return None


OPTIONS = {
    flag: strategy for flag, action in declared_options().items() if (strategy := invalid_values(action))
}


def test_the_declaration_covers_the_typed_and_chosen_options():
    typed = [f for f, a in declared_options().items() if a.choices or a.type not in (None, str)]
    assert typed and set(typed) <= set(OPTIONS)
    assert len(OPTIONS) * CASES_PER_OPTION >= 500  # at least 500 generated cases a run


def _refused(argv: list[str], storage, capsys) -> None:
    before = sorted(storage.rglob("*"))
    capsys.readouterr()
    try:
        code = main(
            [
                "run",
                "lab1-qat",
                "--profile",
                "smoke",
                "--dataset",
                "synthetic",
                "--storage",
                str(storage),
                *argv,
            ]
        )
    except SystemExit as exit:  # argparse's own refusal (OneLineParser.error)
        code = exit.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (argv, err)
    assert len(lines) == 1 and lines[0].startswith("adls"), (argv, err)
    assert sorted(storage.rglob("*")) == before, f"{argv} wrote under --storage"


@pytest.mark.parametrize("flag", sorted(OPTIONS))
def test_generated_invalid_values_are_one_line_and_exit_2(flag, tmp_path_factory, capsys):
    storage = tmp_path_factory.mktemp("storage")

    @settings(
        max_examples=CASES_PER_OPTION,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
        database=None,
    )
    @given(value=OPTIONS[flag])
    def case(value: str) -> None:
        _refused([f"{flag}={value}"], storage, capsys)

    case()


@given(layers=st.sampled_from([c for c in declared_options()["--layers"].choices if c != "all"]))
@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
def test_options_that_exclude_each_other(layers, tmp_path_factory, capsys):
    _refused(["--keep-classifier-fp32", "--layers", layers], tmp_path_factory.mktemp("storage"), capsys)
