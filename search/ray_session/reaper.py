"""Stop the Ray processes a driver started when the driver dies without stopping them.

`adls run` starts Ray in its own process (`ray.init(address="local")`). Killed with SIGKILL (or
by the OOM killer) it cannot run `ray.shutdown()`, and its Ray workers, mid-trial, keep running
for a while on their own, holding CPUs and writing into the results folder. The driver therefore
starts this watchdog in a session of its own: it notes the driver's descendants (by pid and start
time) every POLL_S seconds and, once the driver is gone, kills those that still run. Only
processes the driver started are touched, each checked by its start time (a reused pid is left
alone), never anything found by name.
"""

import os
import subprocess
import sys
import time

import psutil

POLL_S = 1.0


def start_reaper() -> subprocess.Popen:
    """Start the watchdog for this process; it exits by itself once this process has ended."""
    return subprocess.Popen(
        [sys.executable, "-m", "search.ray_session.reaper", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C or kill of the driver's process group spares it
    )


def watch(parent_pid: int, poll_s: float = POLL_S) -> list[int]:
    """Wait for `parent_pid` to end, then kill its last-seen descendants; returns the pids killed."""
    me = os.getpid()
    try:
        parent = psutil.Process(parent_pid)
    except psutil.NoSuchProcess:
        return []
    seen: dict[int, float] = {}
    while True:
        try:
            if not parent.is_running() or parent.status() == psutil.STATUS_ZOMBIE:
                break
            for child in parent.children(recursive=True):
                if child.pid != me:
                    seen.setdefault(child.pid, child.create_time())
        except psutil.NoSuchProcess:
            break
        except psutil.Error:
            pass  # a child vanished while being listed: look again next round
        time.sleep(poll_s)
    killed = []
    for pid, created in seen.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created:
                process.kill()
                killed.append(pid)
        except psutil.Error:
            continue
    return killed


if __name__ == "__main__":
    watch(int(sys.argv[1]))
