"""Bad input gets one line naming the problem and the allowed values, exit 2, no traceback."""

import subprocess
import sys

import pytest

from adls.cli import main

CASES = [
    (["run", "lab9-nope"], "unknown experiment 'lab9-nope'"),
    (["run", "lab1-qat", "--profile", "huge"], "invalid choice: 'huge'"),
    (["run", "lab1-qat", "--cpus-per-trial", "0"], "must be a whole number >= 1"),
    (["run", "lab1-qat", "--gpus-per-trial", "-1"], "must be >= 0"),
    (["run", "lab1-qat", "--max-concurrent", "abc"], "is not a whole number"),
    (["run", "lab1-qat", "--data-dir", "/nonexistent/aclImdb"], "is not a readable folder"),
    (["plot", "/nonexistent/results/lab1-qat"], "does not exist"),
    (["run", "lab1-qat", "--scheduler", "hyperband"], "--scheduler 'hyperband' is not allowed"),
    (["run", "lab1", "--scheduler", "asha"], "lab1 does not allow"),
    (["run", "lab3-precisions", "--layers", "some"], "invalid choice: 'some'"),
    (
        ["run", "lab3-precisions", "--keep-classifier-fp32"],
        "--keep-classifier-fp32 only applies with --layers all",
    ),
]


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        code = main(argv)
        raise SystemExit(code)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("adls") or "usage:" in err


def test_corrupt_results_folder_keeps_the_files(tmp_path, capsys):
    folder = tmp_path / "lab1-qat"
    folder.mkdir()
    (folder / "trials.parquet").write_bytes(b"garbage")
    assert main(["plot", str(folder)]) == 2
    assert "not a readable results table" in capsys.readouterr().err
    assert (folder / "trials.parquet").read_bytes() == b"garbage"


def test_the_installed_command_prints_no_traceback():
    done = subprocess.run([sys.executable, "-m", "adls", "run", "nope"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "choose one of" in done.stderr and "lab1-qat" in done.stderr


def test_list_names_every_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("base", "lab1-qat", "lab1"):
        assert name in out
