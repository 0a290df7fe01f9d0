"""Start this run's private Ray: trials at the driver's niceness, one hub probe per run.

`start_local_ray(log_to_driver)` starts a private Ray in this process (never attaching to a
`ray start` cluster on the machine) with Ray's worker niceness 0, so trials run at the niceness
`adls` was started with, and without Ray's idle workers (trials run in Tune's actors). Workers
inherit the environment the raylet was started with, which hands them the project's own folder
first on PYTHONPATH (they import the driver's files) and the driver's answer to "is the hub
reachable" (trainables/data/hub.py, RUN_ANSWER_ENV: one probe per run); the driver's own
environment is put back after `ray.init`. `stop_ray` stops it. Why these settings, and what was
measured and left out (`preload_python_modules`): docs/performance.md, section 2.
"""

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ray

import trainables
from trainables.data.hub import RUN_ANSWER_ENV, hub_reachable

# A fenced module (docs/FRAMEWORK.md "Private Ray Tune / Optuna internals"): `_kill_monitor` reads
# the processes Ray started for this driver (`ray._private.worker._global_node.all_processes`).
# Checked with this version; tests/search_tests/test_private_internals.py fails where that moved.
CHECKED_WITH = {"ray": "2.60.0"}

PROJECT_ROOT = str(Path(trainables.__file__).resolve().parent.parent)


def start_local_ray(log_to_driver: bool = False) -> None:
    """`ray.init` of a private local instance whose trials run at this process's niceness.

    Worker output reaches this process only with `log_to_driver` (`adls -v`): a quiet run's
    trials print nothing a user needs (errors are in the table), and Ray's workers print a
    SIGTERM traceback when Tune stops a finished search's actors.
    """
    with _worker_environment():
        ray.init(
            address="local",
            include_dashboard=False,
            log_to_driver=log_to_driver,
            logging_level=logging.WARNING,
            _system_config=private_system_config(os.cpu_count() or 1),
        )


def private_system_config(cpus: int) -> dict[str, Any]:
    """Ray's system settings for a run's private instance on a machine of `cpus` CPUs."""
    return {
        "worker_niceness": 0,
        # Tune's trial actors start workers of their own: the idle ones Ray starts by default
        # (one per CPU) only cost CPU-seconds while Ray and the Tuner start.
        "enable_worker_prestart": False,
        "prestart_worker_first_driver": False,
        # Ray kills idle workers beyond one per CPU, counting the trials' actors: with every CPU
        # busy the pooled trial workers (trainables/ray_warm_worker.py) died between searches and
        # the next one imported torch again. Two per CPU keeps them.
        "num_workers_soft_limit": 2 * cpus,
    }


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """Set, while Ray's processes are started, the variables they and their workers inherit."""
    paths = [PROJECT_ROOT, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    wanted = {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
        RUN_ANSWER_ENV: "1" if hub_reachable() else "0",
    }
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def stop_ray() -> None:
    """Stop the Ray this process started or joined, now rather than at exit.

    Ray's own exit hook first sleeps 0.5 s so that late worker messages print; a run that has
    printed its results has none left to wait for. A private Ray's autoscaler monitor is killed
    first (`_kill_monitor`).
    """
    if ray.is_initialized():
        _kill_monitor()
        ray.shutdown()


def _kill_monitor() -> None:
    """SIGKILL the autoscaler monitor of a Ray this process started (nothing to scale on one machine).

    `ray.shutdown()` stops the monitor after the GCS; the monitor's SIGTERM handler then tries to
    report its end to the stopped GCS, and Ray waits a full second before it kills it (1.0 of the
    1.4 s a shutdown took, docs/performance.md 9.2). A Ray this process joined started no
    monitor here, and none is touched.
    """
    from ray._private import ray_constants, worker

    node = getattr(worker, "_global_node", None)
    for info in (getattr(node, "all_processes", None) or {}).get(ray_constants.PROCESS_TYPE_MONITOR, []):
        if info.process.poll() is None:
            info.process.kill()
            info.process.wait(timeout=5)
