"""The run's private Ray: workers share the hub answer, keep the driver's niceness, print only with -v."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Runs in its own process: the test session's Ray (tests/conftest.py) is another instance.
PROBE = """
import json, os, sys, time
import ray
from search.ray_session.start import start_local_ray
from trainables.data.hub import RUN_ANSWER_ENV

os.nice(3)
start_local_ray(log_to_driver=sys.argv[1] == "verbose")

@ray.remote(num_cpus=1)
def seen():
    print("WORKER-SAYS-HELLO", flush=True)
    return {"nice": os.nice(0), "hub": os.environ.get(RUN_ANSWER_ENV)}

workers = ray.get([seen.remote() for _ in range(3)])
print(json.dumps({"workers": workers, "driver_nice": os.nice(0), "driver_hub": os.environ.get(RUN_ANSWER_ENV)}))
time.sleep(2)  # worker output reaches the driver asynchronously
"""


def _probe(tmp_path: Path, mode: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("ADLS_HUB_REACHABLE", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_workers_share_the_hub_answer_and_the_drivers_niceness(tmp_path):
    done = _probe(tmp_path, "quiet")
    assert "WORKER-SAYS-HELLO" not in done.stdout + done.stderr  # worker output only with adls -v
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for worker in result["workers"]:
        assert worker["nice"] == result["driver_nice"]  # not Ray's default of 15 steps nicer
        assert worker["hub"] == "0"  # the driver's answer (offline), no probe of its own
    assert result["driver_hub"] is None  # the driver's own environment is put back


def test_verbose_shows_what_workers_print(tmp_path):
    done = _probe(tmp_path, "verbose")
    assert "WORKER-SAYS-HELLO" in done.stdout + done.stderr
