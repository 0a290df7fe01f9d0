"""A search whose driver dies (Ctrl-C or SIGKILL) resumes where it stopped: no finished trial reruns.

Each test starts `adls run lab1-qat` (smoke, synthetic data, one trial at a time) as a real
process, waits for trials to finish on disk, stops the driver, and runs the same command again.
"""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from search.options import RunOptions
from search.runner import run
from tests.killed_driver import finished_trials, sigkill_driver, start_driver, wait_until

pytestmark = pytest.mark.reliability

WIDTHS = [4, 8, 16, 32]


def _start_driver(storage: Path) -> subprocess.Popen:
    return start_driver(
        storage, "lab1-qat", "--profile", "smoke", "--dataset", "synthetic", "--max-concurrent", "1"
    )


def _wait_for_finished(driver: subprocess.Popen, tune_dir: Path, count: int) -> dict[str, float]:
    wait_until(driver, lambda: len(finished_trials(tune_dir)) >= count, f"{count} finished lab1-qat trials")
    return finished_trials(tune_dir)


def _check_resumed(storage: Path, kept: dict[str, float]) -> None:
    """The rerun's table: one row per width, the kept trials not rerun, no trial folder left over."""
    table = run("lab1-qat", RunOptions(profile_name="smoke", dataset="synthetic", storage=str(storage)))[
        "lab1-qat"
    ]
    assert sorted(table["width"]) == WIDTHS
    assert (table["status"] == "TERMINATED").all()
    assert sorted(table["trial_index"]) == [0, 1, 2, 3]
    durations = dict(zip(table["trial_id"], table["duration_s"], strict=True))
    for trial_id, seconds in kept.items():
        assert durations.get(trial_id) == pytest.approx(seconds), f"finished trial {trial_id} was rerun"
    tune_dir = storage / "lab1-qat" / "tune" / "qat"
    folders = {p.name for p in tune_dir.iterdir() if p.is_dir()}
    assert folders == {Path(path).name for path in table["trial_path"]}  # no orphan trial folders


def test_ctrl_c_then_rerun_keeps_every_finished_trial(ray_session, tmp_path):
    driver = _start_driver(tmp_path)
    tune_dir = tmp_path / "lab1-qat" / "tune" / "qat"
    try:
        _wait_for_finished(driver, tune_dir, 1)
        driver.send_signal(signal.SIGINT)
        output, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert driver.returncode == 130, output.decode()[-2000:]
    assert "rerun to continue" in output.decode()
    assert not (tmp_path / "lab1-qat" / "trials.parquet").exists()
    kept = finished_trials(tune_dir)
    assert 1 <= len(kept) < 4
    _check_resumed(tmp_path, kept)


def test_sigkill_of_the_driver_reruns_no_finished_trial_and_leaves_no_ray_process(ray_session, tmp_path):
    driver = _start_driver(tmp_path)
    tune_dir = tmp_path / "lab1-qat" / "tune" / "qat"
    try:
        _wait_for_finished(driver, tune_dir, 2)
    finally:
        left = sigkill_driver(driver)
    assert left == [], f"Ray processes left after the driver died: {[p.pid for p in left]}"
    kept = finished_trials(tune_dir)
    assert 2 <= len(kept) <= 4
    _check_resumed(tmp_path, kept)
