"""Bad input: exactly one line on stderr naming the problem and the fix, exit status 2, nothing changed on disk.

Every case runs `adls` in-process against a small world of folders (a results storage with files in
it, a regular file, broken aclImdb folders, damaged run.json files, odd results tables) and checks
that not one file of that world was added, removed or changed. No case starts Ray.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from adls.cli import main
from search.run.results_table import write_table

RUN = ["run", "lab1-qat", "--profile", "smoke"]

CASES = [
    # -- the command line itself (argparse) --------------------------------------------------------
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run"], "the following arguments are required: experiment"),
    ([*RUN, "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ([*RUN, "--profile", "huge"], "invalid choice: 'huge'"),
    ([*RUN, "--dataset", "mnist"], "--dataset 'mnist' could not be loaded"),
    ([*RUN, "--from", "nowhere"], "invalid choice: 'nowhere'"),
    ([*RUN, "--cpus-per-trial", "0"], "must be a whole number >= 1"),
    ([*RUN, "--cpus-per-trial", "-3"], "must be a whole number >= 1"),
    ([*RUN, "--cpus-per-trial", "1.5"], "'1.5' is not a whole number"),
    ([*RUN, "--cpus-per-trial", "abc"], "'abc' is not a whole number"),
    ([*RUN, "--gpus-per-trial", "-1"], "-1 must be a finite number >= 0"),
    ([*RUN, "--gpus-per-trial", "inf"], "inf must be a finite number >= 0"),
    ([*RUN, "--gpus-per-trial=-inf"], "-inf must be a finite number >= 0"),
    ([*RUN, "--gpus-per-trial", "nan"], "nan must be a finite number >= 0"),
    ([*RUN, "--gpus-per-trial", "abc"], "'abc' is not a number"),
    ([*RUN, "--max-concurrent", "0"], "must be a whole number >= 1"),
    ([*RUN, "--max-concurrent", "abc"], "'abc' is not a whole number"),
    ([*RUN, "--repeats", "0"], "must be a whole number >= 1"),
    ([*RUN, "--seed", "-1"], "must be a whole number >= 0"),
    ([*RUN, "--seed", "1e3"], "'1e3' is not a whole number"),
    # -- run options checked before Ray starts -----------------------------------------------------
    (["run", "lab9-nope"], "unknown experiment 'lab9-nope'"),
    (
        [*RUN, "--seed", "8589934592"],
        "--seed=8589934592 is out of range; give a whole number in [0, 4294967295]",
    ),
    ([*RUN, "--gpus-per-trial", "1.5"], "above 1 it must be a whole number"),
    ([*RUN, "--sampler", "bogus"], "--sampler 'bogus' is not allowed"),
    ([*RUN, "--objective", "size"], "must include accuracy"),
    ([*RUN, "--objective", "accuracy,accuracy"], "at most once"),
    ([*RUN, "--objective", "speed"], "at most once"),
    (["run", "lab3-precisions", "--precisions", "nope"], "--precisions: unknown format 'nope'"),
    (["run", "lab3-precisions", "--precisions", "log,log"], "lists a format twice"),
    ([*RUN, "--scheduler", "hyperband"], "--scheduler 'hyperband' is not allowed"),
    (["run", "lab1", "--scheduler", "asha"], "lab1 does not allow"),
    (["run", "lab1", "--budget", "3"], "lab1 does not use it"),
    (["run", "lab3-precisions", "--layers", "some"], "invalid choice: 'some'"),
    (
        ["run", "lab3-precisions", "--keep-classifier-fp32"],
        "--keep-classifier-fp32 only applies with --layers all",
    ),
    ([*RUN, "--max-concurrent", "-1"], "must be a whole number >= 1"),
    # -- --data-dir: checked once on the driver, not in every trial -----------------------------------
    ([*RUN, "--data-dir", "/nonexistent/aclImdb"], "is not a readable folder"),
    ([*RUN, "--data-dir", "{afile}"], "is not a readable folder"),
    ([*RUN, "--data-dir", "{imdb_ok}", "--dataset", "synthetic"], "only read with --dataset imdb"),
    ([*RUN, "--data-dir", "{imdb_ok}", "--dataset", "rotten_tomatoes"], "only read with --dataset imdb"),
    ([*RUN, "--data-dir", "{imdb_empty}"], "has no train/neg folder"),
    ([*RUN, "--data-dir", "{imdb_no_test}"], "has no test/neg folder"),
    ([*RUN, "--data-dir", "{imdb_empty_pos}"], "train/pos' holds no *.txt reviews"),
    ([*RUN, "--data-dir", "{imdb_unsup_only}"], "has no train/neg folder"),
    ([*RUN, "--data-dir", "{imdb_wrong_ext}"], "holds no *.txt reviews"),
    # -- --storage -----------------------------------------------------------------------------------
    ([*RUN, "--storage", "{afile}"], "is a file, not a folder"),
    ([*RUN, "--storage", "{afile}/results"], "lies under the file"),
    ([*RUN, "--storage", ""], "--storage is empty"),
    ([*RUN, "--storage", "   "], "--storage is empty"),
    ([*RUN, "--storage", "/proc/adls-results"], "is not writable"),
    # -- --address: refused in seconds, not retried for minutes -------------------------------------
    ([*RUN, "--address", "127.0.0.1:1"], "nothing answers at --address '127.0.0.1:1'"),
    ([*RUN, "--address", "not a host"], "is not an address of a Ray cluster"),
    ([*RUN, "--address", "http://127.0.0.1:99999"], "is not usable"),
    ([*RUN, "--address", "ray://[::1"], "is not usable"),
    ([*RUN, "--address", "ftp://head:1"], "is not an address of a Ray cluster"),
    # -- damaged results folders --------------------------------------------------------------------
    ([*RUN, "--storage", "{garbage_run}"], "run.json is damaged"),
    ([*RUN, "--storage", "{binary_run}"], "run.json is damaged"),
    ([*RUN, "--storage", "{list_run}"], "run.json is damaged (a JSON list, not an object)"),
    ([*RUN, "--storage", "{damaged_dependency}"], "base/run.json is damaged"),
    # -- adls plot ------------------------------------------------------------------------------------
    (["plot", "/nonexistent/results/lab1-qat"], "does not exist"),
    (["plot", "{storage}/keep"], "holds no trials.parquet"),
    (["plot", "{garbage_table}"], "is not a readable results table"),
    (["plot", "{foreign_table}"], "lacks columns"),
    (["plot", "{no_width_table}"], "lacks columns the lab1-qat figure needs"),
    (["plot", "{empty_table}"], "has no rows"),
    # -- cluster commands ---------------------------------------------------------------------------
    (["submit", "lab1-qat"], "adls submit needs --storage"),
    (["submit", "lab1-qat", "--storage", "results"], "is a relative path"),
    (["submit", "lab9", "--storage", "s3://b/adls"], "unknown experiment 'lab9'"),
    (["jobs", "--address", "ray://head:10001"], "is not a Jobs API address"),
    (["logs", "x", "--address", "ftp://head"], "is not an http(s)://HOST:PORT address"),
    (["jobs", "--address", "http://[::1"], "is not usable"),
    (["jobs", "--address", "http://127.0.0.1:99999"], "is not usable"),
    (["fetch", "base", "--storage", "{storage}", "--to", "{tmp}/fetched"], "no finished results of 'base'"),
    (["fetch", "lab1-qat", "--storage", "{stored}", "--to", "{afile}"], "is a file, not a folder"),
    (["check-cluster"], "is not ready for `ray up`"),
    (["check-cluster", "/nonexistent/cluster.yaml"], "cannot read the cluster config"),
    (["best", "/nonexistent/results/lab1-qat"], "does not exist"),
    (["best", "/nonexistent/results/lab1-qat", "--top", "0"], "must be a whole number >= 1"),
    (["report", "/nonexistent/results"], "does not exist"),
    (["run", "base", "--callbacks", "visdom"], "--callbacks 'visdom' is not known"),
]


def _table(folder: Path, rows: list[dict]) -> Path:
    write_table(rows, str(folder))
    return folder


def _row(**extra) -> dict:
    return {
        "experiment": "lab1-qat",
        "variant": "qat",
        "repeat": 0,
        "trial_index": 0,
        "status": "TERMINATED",
        **extra,
    }


@pytest.fixture
def world(tmp_path: Path, monkeypatch) -> dict[str, str]:
    """Folders for the cases; the current folder is inside it, so a default `results/` lands there too."""
    storage = tmp_path / "storage"
    (storage / "keep").mkdir(parents=True)
    (storage / "keep" / "notes.txt").write_text("mine")
    (tmp_path / "afile").write_text("a file")
    imdb = tmp_path / "imdb"
    layouts = {
        "imdb_ok": ["train/neg/0_1.txt", "train/pos/0_9.txt", "test/neg/0_2.txt", "test/pos/0_8.txt"],
        "imdb_empty": [],
        "imdb_no_test": ["train/neg/0_1.txt", "train/pos/0_9.txt"],
        "imdb_empty_pos": ["train/neg/0_1.txt", "train/pos/", "test/neg/0_2.txt", "test/pos/0_8.txt"],
        "imdb_unsup_only": ["train/unsup/0_0.txt"],
        "imdb_wrong_ext": ["train/neg/0_1.md", "train/pos/0_9.md", "test/neg/0_2.md", "test/pos/0_8.md"],
    }
    paths = {"tmp": str(tmp_path), "storage": str(storage), "afile": str(tmp_path / "afile")}
    for name, files in layouts.items():
        (imdb / name).mkdir(parents=True)
        for file in files:
            target = imdb / name / file
            target.parent.mkdir(parents=True, exist_ok=True)
            if file.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.write_text("a review")
        paths[name] = str(imdb / name)
    for name, content in {
        "garbage_run": b"{not json",
        "binary_run": b"\xff\xfe\x00garbage",
        "list_run": json.dumps([1, 2]).encode(),
    }.items():
        (tmp_path / name / "lab1-qat").mkdir(parents=True)
        (tmp_path / name / "lab1-qat" / "run.json").write_bytes(content)
        paths[name] = str(tmp_path / name)
    (tmp_path / "damaged_dependency" / "base").mkdir(parents=True)
    (tmp_path / "damaged_dependency" / "base" / "run.json").write_bytes(b"[truncated")
    paths["damaged_dependency"] = str(tmp_path / "damaged_dependency")
    tables = tmp_path / "tables"
    (tables / "garbage").mkdir(parents=True)
    (tables / "garbage" / "trials.parquet").write_bytes(b"garbage")
    paths["garbage_table"] = str(tables / "garbage")
    paths["foreign_table"] = str(_table(tables / "foreign", [{"x": 1}]))
    paths["no_width_table"] = str(_table(tables / "no_width", [_row(qat_accuracy=0.5)]))
    empty = tables / "empty"
    empty.mkdir()
    pd.DataFrame({c: pd.Series(dtype="object") for c in _row()}).to_parquet(empty / "trials.parquet")
    paths["empty_table"] = str(empty)
    stored = tmp_path / "stored"
    _table(stored / "lab1-qat", [_row(width=8, qat_accuracy=0.5)])
    (stored / "lab1-qat" / "run.json").write_text("{}")
    paths["stored"] = str(stored)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return paths


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(argv) or "(nothing)" for argv, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(argv, message, world, capsys):
    argv = [word.format(**world) for word in argv]
    root = Path(world["tmp"])
    before = _snapshot(root)
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own errors
        code = exited.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err  # exactly one line
    assert err.startswith("adls"), err
    assert message in err, err
    assert _snapshot(root) == before


def test_at_least_sixty_bad_inputs_are_covered():
    assert len(CASES) >= 60


def test_the_installed_command_prints_no_traceback():
    done = subprocess.run([sys.executable, "-m", "adls", "run", "nope"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "choose one of" in done.stderr and "lab1-qat" in done.stderr


def test_an_argparse_error_is_one_line_from_the_installed_command_too():
    done = subprocess.run(
        [sys.executable, "-m", "adls", "run", "lab1-qat", "--seed", "x"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert (
        done.stderr == "adls run: error: argument --seed: 'x' is not a whole number; see `adls run --help`\n"
    )


def test_list_names_every_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("base", "lab1-qat", "lab1"):
        assert name in out


def test_bare_adls_prints_the_help_and_version_names_the_package(capsys):
    assert main([]) == 0  # not an error: a newcomer typing `adls` gets the commands
    assert "usage: adls" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("adls ")
