"""A search interrupted with Ctrl-C resumes where it stopped: finished trials are not rerun."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd

from search.options import RunOptions
from search.runner import run


def _finished_trial_dirs(tune_dir):
    return sorted(p.parent.name for p in tune_dir.glob("*/checkpoint_000000"))


def test_interrupted_lab1_qat_resumes_without_rerunning_finished_trials(ray_session, tmp_path):
    argv = [
        sys.executable,
        "-m",
        "adls",
        "run",
        "lab1-qat",
        "--profile",
        "smoke",
        "--dataset",
        "synthetic",
        "--storage",
        str(tmp_path),
        "--max-concurrent",
        "1",
    ]
    driver = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "RAY_ADDRESS": ""},
    )
    tune_dir = tmp_path / "lab1-qat" / "tune" / "qat"
    try:
        deadline = time.monotonic() + 240
        while not _finished_trial_dirs(tune_dir) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.5)
        assert _finished_trial_dirs(tune_dir), "no lab1-qat trial finished before the deadline"
        driver.send_signal(signal.SIGINT)
        output, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    before = _finished_trial_dirs(tune_dir)
    assert driver.returncode != 0, output.decode()[-2000:]
    assert not (tmp_path / "lab1-qat" / "trials.parquet").exists()
    assert len(before) < 4

    table = run("lab1-qat", RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path)))[
        "lab1-qat"
    ]
    assert sorted(table["width"]) == [4, 8, 16, 32]
    assert (table["status"] == "TERMINATED").all()
    assert sorted(table["trial_index"]) == [0, 1, 2, 3]
    kept = {name.split("_")[3] for name in before}  # lab1_qat_trial_<id>_...
    assert kept <= set(table["trial_id"])
    assert isinstance(pd.read_parquet(tmp_path / "lab1-qat" / "trials.parquet"), pd.DataFrame)
