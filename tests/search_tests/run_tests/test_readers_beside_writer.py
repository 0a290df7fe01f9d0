"""Ten readers beside a writing search: `adls best`, `adls report` and the real optuna-dashboard.

A smoke `adls run lab2-nas` writes its folder and its study while four threads read the table the
way `adls best` does, four write the report the way `adls report` does, and two poll a real
optuna-dashboard server (loopback) on the same optuna.db, each over and over until the writer ends.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from analysis.best import best_records
from analysis.report import write_report
from analysis.results import load_results
from errors import ResultsError

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
NOT_YET = ("holds no trials.parquet", "does not exist", "holds no experiment results")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Reader(threading.Thread):
    """Calls `read` until told to stop; keeps what each call gave (a result or an unexpected error)."""

    def __init__(self, read, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.read, self.stop, self.results, self.errors = read, stop, [], []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.results.append(self.read())
            except ResultsError as error:  # before the table exists: the documented one line
                if not any(text in str(error) for text in NOT_YET):
                    self.errors.append(repr(error))
            except Exception as error:  # noqa: BLE001 - any other failure is what the test looks for
                self.errors.append(repr(error))
            time.sleep(0.2)


def test_ten_readers_beside_a_lab2_nas_writer(tmp_path):
    storage = tmp_path / "results"
    folder = storage / "lab2-nas"
    env = {**os.environ, "RAY_ADDRESS": "", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "adls", "run", "lab2-nas", "--profile", "smoke", "--dataset", "synthetic"]
    writer = subprocess.Popen(
        [*argv, "--storage", str(storage)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stop = threading.Event()

    def best():
        table = load_results(folder)
        return len(table), len(best_records(table, 1))

    readers = [Reader(best, stop) for _ in range(4)]
    readers += [
        Reader(lambda i=i: write_report(storage, tmp_path / f"report-{i}.html"), stop) for i in range(4)
    ]
    dashboard = None
    try:
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + 300
        while not (folder / "optuna.db").exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        port = _free_port()
        dashboard_log = open(tmp_path / "dashboard.log", "wb")  # noqa: SIM115 (closed by the OS at exit)
        dashboard = subprocess.Popen(
            [str(Path(sys.executable).with_name("optuna-dashboard")), f"sqlite:///{folder / 'optuna.db'}"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            stdout=dashboard_log,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() < deadline and dashboard.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        assert dashboard.poll() is None, (tmp_path / "dashboard.log").read_text()[-2000:]

        def studies():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=30) as response:
                listed = json.loads(response.read())["study_summaries"]
            for study in listed:
                url = f"http://127.0.0.1:{port}/api/studies/{study['study_id']}?after=0"
                with urllib.request.urlopen(url, timeout=30) as response:
                    trials = json.loads(response.read())["trials"]
                assert all("state" in trial for trial in trials)
            return len(listed)

        pollers = [Reader(studies, stop) for _ in range(2)]
        for poller in pollers:
            poller.start()
        readers += pollers
        output, _ = writer.communicate(timeout=900)
    finally:
        stop.set()
        if writer.poll() is None:
            writer.kill()
        for reader in readers:
            reader.join(timeout=60)
        if dashboard is not None:
            dashboard.terminate()
            dashboard.wait(timeout=10)
    assert writer.returncode == 0, output[-3000:]
    assert "database is locked" not in output
    for reader in readers:
        assert reader.errors == [], reader.errors[:3]
    rows = len(load_results(folder))
    # No half-written table: every read of it saw every row.
    assert {r for reader in readers[:4] for r in reader.results} <= {(rows, 3)}
    assert any(reader.results for reader in readers[-2:]), "the dashboard never answered"
