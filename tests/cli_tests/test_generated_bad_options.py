"""Generated invalid run options and search files, drawn from the options' one declaration.

For every option RunOptions declares (search/option_spec.py) hypothesis draws values it must refuse:
outside its choices, or what its parser refuses (whole numbers >= 1 or >= 0, finite numbers >= 0, a
count or 'all'), and, in a search file's [run] table, a switch that is not true/false or a key that
is not declared; one pair of options that exclude each other is drawn too. Each case goes through
the CLI in-process (`adls.cli.main`): one line on stderr, exit 2, nothing under --storage.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adls.cli import main
from search import option_spec
from search.option_spec import Option, declared_options
from search.options import RunOptions

# ~20 options x 2 forms x 12 cases (+ switches, keys) in-process: a minute or two on a loaded 2-core machine.
pytestmark = pytest.mark.reliability

CASES = 12
SETTINGS = settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    database=None,
)
words = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12).filter(
    lambda t: not t.startswith("-")
)


def _not_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


not_a_number = words.filter(_not_number)
fractions = st.floats(0.5, 9.5).filter(lambda x: not x.is_integer()).map(repr)
INVALID_BY_PARSER = {
    option_spec.positive_int: st.one_of(st.integers(max_value=0).map(str), not_a_number, fractions),
    option_spec.non_negative_int: st.one_of(st.integers(max_value=-1).map(str), not_a_number, fractions),
    option_spec.non_negative_float: st.one_of(
        st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(["nan", "inf", "-inf"]),
        not_a_number,
    ),
    option_spec.count_or_all: st.one_of(
        st.integers(max_value=0).map(str), not_a_number.filter(lambda t: t != "all")
    ),
}


def invalid_values(option: Option) -> st.SearchStrategy[str] | None:
    """Text the declaration refuses for `option`, or None when it cannot say (free text, switches)."""
    if option.switch:
        return None
    if option.choices is not None and option.parse is None:
        allowed = {str(choice) for choice in option.choices}
        return words.filter(lambda t: t not in allowed)
    return INVALID_BY_PARSER.get(option.parse)


DECLARED = {option.flag: option for option in declared_options(RunOptions).values()}
OPTIONS = {
    flag: strategy for flag, option in DECLARED.items() if (strategy := invalid_values(option)) is not None
}
SWITCHES = sorted(flag for flag, option in DECLARED.items() if option.switch)


def _refused(argv: list[str], storage, capsys) -> None:
    before = sorted(storage.rglob("*"))
    capsys.readouterr()
    try:
        code = main(["run", *argv])
    except SystemExit as exit:  # argparse's own refusal (OneLineParser.error)
        code = exit.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (argv, err)
    assert len(lines) == 1 and lines[0].startswith("adls"), (argv, err)
    assert sorted(storage.rglob("*")) == before, f"{argv} wrote under --storage"


def _flags(storage) -> list[str]:
    return ["lab1-qat", "--profile", "smoke", "--dataset", "synthetic", "--storage", str(storage)]


def test_the_declaration_gives_at_least_500_cases():
    typed = [flag for flag, option in DECLARED.items() if option.parse in INVALID_BY_PARSER or option.choices]
    assert typed and set(typed) <= set(OPTIONS)
    assert (2 * len(OPTIONS) + len(SWITCHES) + 1) * CASES >= 500


@pytest.mark.parametrize("flag", sorted(OPTIONS))
def test_generated_invalid_option_values(flag, tmp_path_factory, capsys):
    storage = tmp_path_factory.mktemp("storage")

    @SETTINGS
    @given(value=OPTIONS[flag])
    def case(value: str) -> None:
        _refused([*_flags(storage), f"{flag}={value}"], storage, capsys)

    case()


def _search_file(folder, storage, entries: str) -> str:
    path = folder / "search.toml"
    path.write_text(
        f'experiment = "lab1-qat"\n[run]\nprofile = "smoke"\nstorage = {json.dumps(str(storage))}\n{entries}\n'
    )
    return str(path)


@pytest.mark.parametrize("flag", sorted(OPTIONS))
def test_generated_invalid_search_file_values(flag, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("file")
    storage = folder / "storage"
    storage.mkdir()
    key = DECLARED[flag].key

    @SETTINGS
    @given(value=OPTIONS[flag])
    def case(value: str) -> None:
        _refused([_search_file(folder, storage, f"{key} = {json.dumps(value)}")], storage, capsys)

    case()


@pytest.mark.parametrize("flag", SWITCHES)
def test_generated_non_boolean_switches_in_a_search_file(flag, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("file")
    storage = folder / "storage"
    storage.mkdir()
    values = st.one_of(st.integers().map(str), words.map(json.dumps))

    @SETTINGS
    @given(value=values)
    def case(value: str) -> None:
        _refused([_search_file(folder, storage, f"{DECLARED[flag].key} = {value}")], storage, capsys)

    case()


@SETTINGS
@given(key=st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_"), min_size=3, max_size=12))
def test_generated_unknown_search_file_keys(key, tmp_path_factory, capsys):
    if key in {option.key for option in DECLARED.values()}:
        return
    folder = tmp_path_factory.mktemp("file")
    storage = folder / "storage"
    storage.mkdir()
    _refused([_search_file(folder, storage, f'{key} = "1"')], storage, capsys)


@given(layers=st.sampled_from([c for c in DECLARED["--layers"].choices if c != "all"]))
@SETTINGS
def test_options_that_exclude_each_other(layers, tmp_path_factory, capsys):
    storage = tmp_path_factory.mktemp("storage")
    _refused([*_flags(storage), "--keep-classifier-fp32", "--layers", layers], storage, capsys)
