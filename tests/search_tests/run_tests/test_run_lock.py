"""One writer per experiment folder: real processes contend for the lock file beside it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, replace

import pytest

from search.run.lock import ExperimentLock, LockedError, LockRecord, lock_path, stale_reason

HOLD = """
import sys, time
from search.run.lock import ExperimentLock, LockedError
try:
    lock = ExperimentLock(sys.argv[1]); lock.acquire()
except LockedError as error:
    print(error, flush=True); sys.exit(2)
print("held", flush=True)
sys.stdin.readline()  # hold the lock until the test says "release" (or closes stdin)
lock.release()
"""


def _start(folder) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _holder(folder) -> subprocess.Popen:
    process = _start(folder)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_process_is_refused_naming_the_holder_and_takes_over_once_it_is_gone(tmp_path):
    folder = tmp_path / "lab1-qat"
    first = _holder(folder)
    try:
        second = subprocess.run(
            [sys.executable, "-c", HOLD, str(folder)], capture_output=True, text=True, timeout=60, input=""
        )
        assert second.returncode == 2
        message = second.stdout.strip()
        assert message.count("\n") == 0
        assert (
            f"{folder} is being written by another run: pid {first.pid} on {socket.gethostname()} since"
            in message
        )
        with pytest.raises(LockedError, match=f"pid {first.pid}"):
            ExperimentLock(str(folder)).acquire()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # Its process died without releasing: the next run takes the lock over (and says so).
    lock = ExperimentLock(str(folder))
    lock.acquire()
    held = json.loads(open(lock_path(str(folder))).read())
    assert held["pid"] == os.getpid() and held["token"] == lock.record.token
    lock.release()
    assert not os.path.exists(lock_path(str(folder)))
    assert [p.name for p in tmp_path.iterdir() if ".stale-" in p.name]  # the dead lock was moved aside


def test_different_experiments_are_locked_separately(tmp_path):
    first = _holder(tmp_path / "base")
    with ExperimentLock(str(tmp_path / "lab2-nas")):
        assert os.path.exists(tmp_path / "lab2-nas.lock") and os.path.exists(tmp_path / "base.lock")
    first.communicate("release\n", timeout=60)
    assert first.returncode == 0 and not os.path.exists(tmp_path / "base.lock")


def test_of_racing_processes_exactly_one_wins(tmp_path):
    folder = tmp_path / "base"
    racers = [_start(folder) for _ in range(3)]
    # The winner holds the lock until every other racer has answered, so none can win late.
    firsts = [racer.stdout.readline().strip() for racer in racers]
    assert sorted(line == "held" for line in firsts) == [False, False, True], firsts
    for racer in racers:
        racer.communicate("release\n", timeout=60)
    assert sorted(racer.returncode for racer in racers) == [0, 2, 2]


def test_a_lock_of_another_host_is_stale_only_when_its_heartbeat_is_old(tmp_path):
    now = time.time()
    other = LockRecord("elsewhere", 1, 0.0, now - 3600, now - 10, "adls run base", "t" * 32)
    assert stale_reason(other, now) is None
    assert "heartbeat is 600 s old" in stale_reason(replace(other, heartbeat=now - 600), now)
    folder = tmp_path / "base"
    (tmp_path / "base.lock").write_text(json.dumps(asdict(other)))
    with pytest.raises(LockedError, match="pid 1 on elsewhere since"):
        ExperimentLock(str(folder)).acquire()
    (tmp_path / "base.lock").write_text(json.dumps(asdict(replace(other, heartbeat=now - 600))))
    with ExperimentLock(str(folder)) as lock:
        assert json.loads((tmp_path / "base.lock").read_text())["token"] == lock.record.token


def test_a_reused_pid_is_not_the_holder():
    me = LockRecord(socket.gethostname(), os.getpid(), 0.0, 0.0, 0.0, "adls", "t")
    assert "belongs to another process" in stale_reason(me)


def test_a_lock_on_an_object_store_uri(tmp_path):
    # file:// goes through pyarrow like s3:// does: no O_EXCL, written and read back.
    uri = f"file://{tmp_path}/base"
    with ExperimentLock(uri):
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            ExperimentLock(uri).acquire()
    assert not (tmp_path / "base.lock").exists()
