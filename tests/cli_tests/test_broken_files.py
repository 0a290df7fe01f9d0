"""Damaged files in a results folder, met by every command that reads it.

Each case damages one file of a copy of one real smoke `adls run lab1` folder (built once for the
module), then runs one command on it. The command either works (it does not read that file),
answers in one line naming the file, exit 2, or recovers (the trial reruns). No case loses a file:
every file's bytes are still somewhere under the storage afterwards.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from adls.cli import main

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
RUN = ["--profile", "smoke", "--dataset", "synthetic"]


def adls_run(storage: Path, experiment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_ADDRESS": "", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "adls", "run", experiment, *RUN, "--storage", str(storage)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """base -> lab1-qat -> lab1-prune, smoke profile, synthetic data: the folder every case copies."""
    storage = tmp_path_factory.mktemp("lab1")
    done = adls_run(storage, "lab1")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return storage


def _contents(folder: Path, trials_only: bool = False) -> Counter:
    """The bytes of every file under `folder` (Tune's own empty storage probe left out).

    `trials_only`: just the files in trial folders (a run that recovers rewrites its study, Tune's
    state and the figures, and must keep every trial's files).
    """
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != ".validate_storage_marker"]
    if trials_only:
        files = [p for p in files if any("_trial_" in part for part in p.relative_to(folder).parts)]
    return Counter(hashlib.sha256(p.read_bytes()).hexdigest() for p in files)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _each(pattern: str, damage: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(storage: Path) -> None:
        found = sorted(storage.glob(pattern))
        assert found, pattern
        for path in found:
            damage(path)

    return apply


def _interrupted(experiment: str) -> Callable[[Path], None]:
    """As if the driver died after its trials finished, before the table (moved out of the storage)."""

    def apply(storage: Path) -> None:
        kept = storage.parent / f"{storage.name}-set-aside"
        kept.mkdir()
        for name in ("run.json", "trials.parquet", "trials.csv"):
            shutil.move(storage / experiment / name, kept / name)

    return apply


def _drop_field(path: Path) -> None:
    record = json.loads(path.read_text())
    del record["identity"]
    path.write_text(json.dumps(record))


QAT_MODELS = "lab1-qat/tune/qat/*/checkpoint_*/model.pt"
BASE_MODELS = "base/tune/base/*/checkpoint_*/model.safetensors"
QAT_RESULTS = "lab1-qat/tune/qat/*/checkpoint_*/adls_result.json"
# case -> (damage, the experiment `adls run` is given to meet it)
CASES = {
    "model.pt truncated": (_each(QAT_MODELS, _truncate), "lab1-prune"),
    "model.safetensors truncated": (_each(BASE_MODELS, _truncate), "lab1-qat"),
    "trials.parquet truncated": (_each("lab1-qat/trials.parquet", _truncate), "lab1-qat"),
    "trials.parquet zero-byte": (_each("lab1-qat/trials.parquet", lambda p: p.write_bytes(b"")), "lab1-qat"),
    "run.json missing a field": (_each("lab1-qat/run.json", _drop_field), "lab1-qat"),
    "optuna.db not a database": (
        _each("lab1-qat/optuna.db", lambda p: p.write_text("not sqlite\n")),
        "lab1-qat",
    ),
    "adls_result.json not JSON": (_each(QAT_RESULTS, lambda p: p.write_text("{half")), "lab1-qat"),
}
# What each command does with each damaged file: "ok" (does not read it), a file name (one line
# naming it, exit 2) or "recovered" (the run reruns what the file described).
EXPECTED = {
    "model.pt truncated": {
        "run": "model.pt",
        "best": "ok",
        "report": "ok",
        "inspect": "model.pt",
        "fetch": "ok",
    },
    "model.safetensors truncated": {
        "run": "model.safetensors",
        "best": "ok",
        "report": "ok",
        "inspect": "model.safetensors",
        "fetch": "ok",
    },
    **{
        case: dict.fromkeys(("run", "best", "report", "inspect", "fetch"), "trials.parquet")
        for case in ("trials.parquet truncated", "trials.parquet zero-byte")
    },
    "run.json missing a field": {
        "run": "run.json",
        "best": "ok",
        "report": "ok",
        "inspect": "ok",
        "fetch": "ok",
    },
    "optuna.db not a database": {
        "run": "optuna.db",
        "best": "ok",
        "report": "ok",
        "inspect": "ok",
        "fetch": "ok",
    },
    "adls_result.json not JSON": {
        "run": "recovered",
        "best": "ok",
        "report": "ok",
        "inspect": "ok",
        "fetch": "ok",
    },
}
# The experiment folder each read-only command is pointed at.
TARGET = {"model.safetensors truncated": "base"}


def _read_only(command: str, storage: Path, experiment: str, out: Path) -> list[str]:
    folder = str(storage / experiment)
    return {
        "best": ["best", folder],
        "report": ["report", str(storage), "-o", str(out / "report.html")],
        "inspect": ["inspect", folder],
        "fetch": [
            "fetch",
            experiment,
            "--storage",
            str(storage),
            "--to",
            str(out / "fetched"),
            "--with-checkpoints",
        ],
    }[command]


@pytest.mark.parametrize("command", ["best", "report", "inspect", "fetch"])
@pytest.mark.parametrize("case", list(CASES))
def test_read_only_commands_meet_a_damaged_file(results, tmp_path, capsys, case, command):
    storage = tmp_path / "results"
    shutil.copytree(results, storage)
    damage, _ = CASES[case]
    damage(storage)
    before = _contents(storage)
    capsys.readouterr()
    code = main(_read_only(command, storage, TARGET.get(case, "lab1-qat"), tmp_path))
    err = capsys.readouterr().err
    _check(EXPECTED[case][command], code, err)
    assert not before - _contents(storage), "a file under the storage was deleted or changed"


def _check(expected: str, code: int, err: str) -> None:
    if expected in ("ok", "recovered"):
        assert code == 0, err[-2000:]
        return
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err[-3000:]
    assert lines[0].startswith("adls: error: ") and expected in lines[0], lines[0]
    assert any(word in lines[0] for word in ("rerun", "run again", "move")), lines[0]  # says what to do


@pytest.mark.parametrize("case", list(CASES))
def test_run_meets_a_damaged_file(results, tmp_path, case):
    storage = tmp_path / "results"
    shutil.copytree(results, storage)
    damage, experiment = CASES[case]
    damage(storage)
    if case in ("optuna.db not a database", "adls_result.json not JSON"):
        _interrupted("lab1-qat")(storage)  # these files are read when a search resumes
    elif case.startswith("model."):
        # The later stage meets its damaged start model when it runs for the first time.
        shutil.move(storage / experiment, tmp_path / f"{experiment}-set-aside")
    expected = EXPECTED[case]["run"]
    before = _contents(storage, trials_only=expected == "recovered")
    done = adls_run(storage, experiment)
    _check(
        expected,
        done.returncode,
        "\n".join(line for line in done.stderr.splitlines() if line.startswith("adls: error")) or done.stderr,
    )
    after = _contents(storage, trials_only=expected == "recovered")
    assert not before - after, "a file under the storage was deleted or changed"
    if expected == "recovered":
        table = pd.read_parquet(storage / "lab1-qat" / "trials.parquet")
        assert sorted(table["width"]) == [4, 8, 16, 32] and (table["status"] == "TERMINATED").all()
