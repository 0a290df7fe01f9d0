"""Start this run's private Ray: trials at the driver's niceness, one hub probe per run.

Ray starts its workers 15 steps nicer than the raylet (RayConfig `worker_niceness`, default 15,
so nice 19 under a `nice -n 5` driver). On a machine shared with other work that starves the
trials, which are this run's whole purpose: a smoke run took 116 s instead of 41 s in-process at a
load average of 27 on 2 cores. Here the trials run at the niceness `adls` was started with.

Workers inherit the environment the raylet was started with, which is used to hand them:
- the project's own folder first on PYTHONPATH, so a worker imports the same files the driver
  imported (not another installed copy of the package);
- the driver's answer to "is the hub reachable" (trainables/data/hub.py, RUN_ANSWER_ENV), so a run
  probes the network once, not once per worker process.
The driver's own environment is put back after `ray.init`.

Ray's idle workers, one per CPU started with the raylet, are not started: trials run in Tune's
actors, which get workers of their own. Smoke `adls run lab1-qat` on an idle machine, seven pairs
back to back: 0.57 s faster on average without them (docs/performance.md, section 2).

Not done, measured twice: Ray's `preload_python_modules` (workers import torch, transformers and
the trial code as they start). It made a smoke `adls run lab1-qat` slower both when the driver
still imported torch itself (20.0-20.3 s against 16.6-16.9 s, idle machine) and after it stopped
(33.3-33.7 s against 23.6-25.0 s, three pairs at load 5-7): the prestarted workers import on the
same 2 cores while Ray and the Tuner start; why the trials gain nothing from them was not
found (docs/performance.md, section 2).
"""

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import ray

import trainables
from trainables.data.hub import RUN_ANSWER_ENV, hub_reachable

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
            _system_config={
                "worker_niceness": 0,
                # Tune's trial actors start workers of their own: the idle ones Ray starts by
                # default (one per CPU) only cost CPU-seconds while Ray and the Tuner start.
                "enable_worker_prestart": False,
                "prestart_worker_first_driver": False,
            },
        )


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
    printed its results has none left to wait for.
    """
    if ray.is_initialized():
        ray.shutdown()
