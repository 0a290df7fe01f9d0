"""Two real `adls run` processes on one storage: the same experiment is refused, different ones run side by side."""

import os
import socket
import subprocess
import sys
import time

import pytest

from analysis.results import load_results

pytestmark = pytest.mark.reliability


def _adls(storage, experiment: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "adls", "run", experiment, "--profile", "smoke", "--dataset", "synthetic"]
    return subprocess.Popen(
        [*argv, "--storage", str(storage), "--max-concurrent", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "RAY_ADDRESS": ""},
    )


def _lasting_names(folder) -> set[str]:
    """Names of everything under `folder`, less SQLite's journals: they exist only while the first
    run's own transaction is open (CI caught an `optuna.db-journal` that was gone a second later)."""
    transient = ("-journal", "-wal", "-shm")
    return {p.name for p in folder.rglob("*") if not p.name.endswith(transient)}


def test_a_second_run_of_the_same_experiment_is_refused_while_another_runs_beside_it(tmp_path):
    first = _adls(tmp_path, "base")
    others: list[subprocess.Popen] = []
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "base.lock").exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.2)
        assert (tmp_path / "base.lock").exists(), "the first run never took its lock"
        before = _lasting_names(tmp_path)

        second = _adls(tmp_path, "base")
        others.append(second)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, out + err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"is being written by another run: pid {first.pid} on {socket.gethostname()} since" in err
        # The refused run touched nothing: the folder holds only what the first run wrote since.
        assert before <= _lasting_names(tmp_path)

        # A different experiment on the same storage runs at the same time.
        beside = _adls(tmp_path, "lab2-nas")
        others.append(beside)
        out_beside, err_beside = beside.communicate(timeout=600)
        out_first, err_first = first.communicate(timeout=600)
    finally:
        for process in [first, *others]:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait()
    assert first.returncode == 0, err_first[-2000:]
    assert beside.returncode == 0, err_beside[-2000:]
    assert len(load_results(tmp_path / "base")) == 1
    assert len([p for p in (tmp_path / "base" / "tune" / "base").iterdir() if p.is_dir()]) == 1
    assert len(load_results(tmp_path / "lab2-nas")) > 0
    assert not (tmp_path / "base.lock").exists() and not (tmp_path / "lab2-nas.lock").exists()
