"""`adls run FILE.toml` and `adls show`: a search written down once, with the run options' own names."""

import tomllib

import pytest

from adls.cli import main
from adls.run_options import search_options
from search.options import RunOptions
from search.run_plan import RunPlan
from search.search_file import default_search_file, read_search_file


def write(tmp_path, text: str) -> str:
    path = tmp_path / "search.toml"
    path.write_text(text)
    return str(path)


def test_the_default_file_reads_back_as_the_default_options(tmp_path, capsys):
    assert main(["show", "lab3-precisions"]) == 0
    shown = capsys.readouterr().out
    assert shown == default_search_file("lab3-precisions")
    content = tomllib.loads(shown)
    assert content["experiment"] == "lab3-precisions" and "layers" in content["run"]
    assert "# from = ..." in shown and "trial" not in content["run"]  # lab2-nas's own options left out
    found = read_search_file(write(tmp_path, shown))
    assert RunOptions(**found.values) == RunOptions()


def test_flags_on_the_command_line_override_the_file(tmp_path):
    path = write(
        tmp_path,
        'experiment = "lab1-qat"\n[run]\nprofile = "smoke"\nseed = 3\nobjective = ["accuracy", "size"]\n',
    )
    name, options = search_options(path, ["run", path, "--seed", "0", "--force"], None, False)
    assert (
        name == "lab1-qat" and options.profile_name == "smoke" and options.objectives == ("accuracy", "size")
    )
    assert options.seed == 0 and options.force  # given on the command line, even at its default value
    assert options.search_file == open(path).read()


def test_the_file_text_is_part_of_the_identity(tmp_path):
    path = write(tmp_path, 'experiment = "lab1-qat"\n[run]\nprofile = "smoke"\ndataset = "synthetic"\n')
    _, options = search_options(path, [], None, False)
    plain = RunOptions(profile_name="smoke", dataset="synthetic")
    assert RunPlan(options).identity("lab1-qat")["search_file"]
    assert "search_file" not in RunPlan(plain).identity("lab1-qat")


@pytest.mark.parametrize(
    "text, message",
    [
        ('experiment = "lab1-qat"\n[run]\nsede = 3\n', "[run] has no option 'sede'"),
        ('experiment = "lab1-qat"\n[run]\nseed = "three"\n', "seed: 'three' is not a whole number"),
        ('experiment = "lab1-qat"\n[run]\nforce = "yes"\n', "force = 'yes' must be true or false"),
        ('experiment = "lab1-qat"\n[run]\ncpus-per-trial = 1.5\n', "'1.5' is not a whole number"),
        ('experiment = "lab1-qat"\n[train]\nepochs = 1\n', "unknown key 'train'"),
        ("[run]\nseed = 1\n", "give the experiment"),
        ('experiment = "lab9"\n', "unknown experiment 'lab9'"),
        ("experiment = \n", "is not TOML"),
    ],
)
def test_a_bad_search_file_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    assert main(["run", write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_file_whose_only_change_is_the_budget_or_a_comment_keeps_its_identity():
    from search.run_plan import search_file_identity

    first = 'experiment = "lab3-mixed"\n[run]\nbudget = 6\nseed = 1\n'
    grown = '# more trials\nexperiment = "lab3-mixed"\n\n[run]\nseed = 1\nbudget = 10\n'
    other_seed = 'experiment = "lab3-mixed"\n[run]\nbudget = 6\nseed = 2\n'
    assert search_file_identity(first) == search_file_identity(grown)
    assert search_file_identity(first) != search_file_identity(other_seed)
