"""A search whose driver dies (Ctrl-C or SIGKILL) resumes where it stopped: no finished trial reruns.

Each test starts `adls run lab1-qat` (smoke, synthetic data, one trial at a time) as a real
process, waits for trials to finish on disk, stops the driver, and runs the same command again.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from search.options import RunOptions
from search.runner import run
from trainables.trial_keys import RESULT_FILE

pytestmark = pytest.mark.reliability

WIDTHS = [4, 8, 16, 32]


def _finished(tune_dir: Path) -> dict[str, float]:
    """{trial id: duration} of the trials whose result is on disk (what a resumed run keeps)."""
    done = {}
    for record in tune_dir.glob(f"*/checkpoint_*/{RESULT_FILE}"):
        try:
            seconds = json.loads(record.read_text())["seconds"]
        except (ValueError, KeyError):
            continue  # being written
        done[record.parent.parent.name.split("_")[3]] = seconds  # lab1_qat_trial_<id>_...
    return done


def _start_driver(storage: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "adls", "run", "lab1-qat", "--profile", "smoke"]
    argv += ["--dataset", "synthetic", "--storage", str(storage), "--max-concurrent", "1"]
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "RAY_ADDRESS": ""},
    )


def _wait_for_finished(driver: subprocess.Popen, tune_dir: Path, count: int) -> dict[str, float]:
    deadline = time.monotonic() + 300
    while len(_finished(tune_dir)) < count and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.2)
    done = _finished(tune_dir)
    if len(done) < count and driver.poll() is not None:  # it ended on its own: say what it printed
        output = driver.stdout.read().decode(errors="replace") if driver.stdout else ""
        raise AssertionError(f"the driver exited with {driver.returncode} first:\n{output[-4000:]}")
    assert len(done) >= count, f"only {len(done)} lab1-qat trials finished before the deadline"
    return done


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
    kept = _finished(tune_dir)
    assert 1 <= len(kept) < 4
    _check_resumed(tmp_path, kept)


def test_sigkill_of_the_driver_reruns_no_finished_trial_and_leaves_no_ray_process(ray_session, tmp_path):
    driver = _start_driver(tmp_path)
    tune_dir = tmp_path / "lab1-qat" / "tune" / "qat"
    started: dict[int, float] = {}
    try:
        _wait_for_finished(driver, tune_dir, 2)
        for child in psutil.Process(driver.pid).children(recursive=True):
            started[child.pid] = child.create_time()
        driver.kill()  # SIGKILL by pid: no handler, no ray.shutdown()
        driver.wait()
        assert started, "the driver had started no Ray process"
        # The driver's watchdog (search/ray_session/reaper.py) stops what it left behind within seconds.
        deadline = time.monotonic() + 20
        while _alive(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _alive(started)
    finally:
        for process in _alive(started):  # the test's own cleanup: only the driver's processes, by pid
            process.kill()
    assert left == [], f"Ray processes left after the driver died: {[p.pid for p in left]}"
    kept = _finished(tune_dir)
    assert 2 <= len(kept) <= 4
    _check_resumed(tmp_path, kept)


def _alive(started: dict[int, float]) -> list[psutil.Process]:
    alive = []
    for pid, created in started.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            continue
    return alive
