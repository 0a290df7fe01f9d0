"""Helpers for tests that kill a real `adls run` driver and resume it (tests/search_tests/run_tests/test_resume*.py)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from trainables.trial_keys import RESULT_FILE


def finished_trials(tune_dir: Path) -> dict[str, float]:
    """{trial id: duration} of the trials whose result is on disk (what a resumed run keeps)."""
    done = {}
    for record in tune_dir.glob(f"*/checkpoint_*/{RESULT_FILE}"):
        try:
            seconds = json.loads(record.read_text())["seconds"]
        except (ValueError, KeyError):
            continue  # being written
        # Tune's folder name: <trainable>_<8 hex id>_<launch counter>_<params>_<date>
        done[re.search(r"_([0-9a-f]{8})_\d+_", record.parent.parent.name).group(1)] = seconds
    return done


def start_driver(storage: Path, *argv: str) -> subprocess.Popen:
    """`adls run ARGV --storage STORAGE` in a session of its own, with its own Ray; output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "adls", "run", *argv, "--storage", str(storage)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "RAY_ADDRESS": ""},
    )


def wait_until(
    driver: subprocess.Popen, condition: Callable[[], bool], what: str, timeout: float = 300
) -> None:
    """Poll `condition` every 0.1 s while the driver runs; AssertionError with its output if it ends first."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.1)
    if condition():
        return
    if driver.poll() is not None:  # it ended on its own: say what it printed
        output = driver.stdout.read().decode(errors="replace") if driver.stdout else ""
        raise AssertionError(f"the driver exited with {driver.returncode} before {what}:\n{output[-4000:]}")
    raise AssertionError(f"no {what} within {timeout:.0f} s")


def sigkill_driver(driver: subprocess.Popen) -> list[psutil.Process]:
    """SIGKILL the driver by pid (no handler, no ray.shutdown()); the Ray processes it left after 20 s.

    The driver's watchdog (search/ray_session/reaper.py) stops what it left behind within seconds;
    whatever is still alive after 20 s is returned, then killed by pid (the test's own cleanup).
    """
    started: dict[int, float] = {}
    if driver.poll() is not None:  # it ended on its own: nothing to kill (the caller says why)
        return []
    try:
        for child in psutil.Process(driver.pid).children(recursive=True):
            started[child.pid] = child.create_time()
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + 20
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = alive(started)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
        for process in alive(started):
            process.kill()
    assert started, "the driver had started no Ray process"
    return left


def alive(started: dict[int, float]) -> list[psutil.Process]:
    """The processes of `started` ({pid: create time}) still running (a reused pid is not ours)."""
    processes = []
    for pid, created in started.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                processes.append(process)
        except psutil.Error:
            continue
    return processes
