"""Start this run's private Ray so that no worker pays again for what the driver already did.

A trial's worker process imports torch, transformers and the trial code (5-8 CPU-seconds here)
and used to do so when its first trial began, on the critical path of every search. Ray's raylet
starts one idle Python worker per CPU when it comes up and starts every later worker itself; the
RayConfig entry `preload_python_modules` (passed as `ray.init(_system_config=...)`, read by
ray/_private/workers/default_worker.py, `--worker-preload-modules`) makes each of them import the
given modules as it starts, before any trial is assigned to it. The idle workers therefore import
while the driver is still preparing the search, and a trial's worker finds the modules loaded.

Ray also starts its workers 15 steps nicer than the raylet (RayConfig `worker_niceness`, default
15, so nice 19 under a `nice -n 5` driver). On a machine shared with other work that starves the
trials, which are this run's whole purpose: a smoke run took 116 s instead of 41 s in-process at a
load average of 27 on 2 cores. Here the trials run at the niceness `adls` was started with.

Workers inherit the environment the raylet was started with, which is used to hand them:
- the project's own folder first on PYTHONPATH, so a worker preloads the same files the driver
  imported (not another installed copy of the package);
- the driver's answer to "is the hub reachable" (trainables/data/hub.py, RUN_ANSWER_ENV), so a run
  probes the network once, not once per worker process.
The driver's own environment is put back after `ray.init`.
"""

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import ray

import trainables
from trainables.data.hub import RUN_ANSWER_ENV, hub_reachable

# What every Tune trial worker imports besides the trial's own module: Tune's function trainable.
TUNE_MODULES = ("ray.tune",)
PROJECT_ROOT = str(Path(trainables.__file__).resolve().parent.parent)


def start_local_ray(preload: Sequence[str] = (), log_to_driver: bool = False) -> None:
    """`ray.init` of a private local instance whose workers import `preload` as they start.

    Worker output reaches this process only with `log_to_driver` (`adls -v`): a quiet run's
    trials print nothing a user needs (errors are in the table), and Ray's workers print a
    SIGTERM traceback when Tune stops a finished search's actors.
    """
    modules = list(dict.fromkeys([*TUNE_MODULES, *preload]))
    with _worker_environment():
        ray.init(
            address="local",
            include_dashboard=False,
            log_to_driver=log_to_driver,
            logging_level=logging.WARNING,
            _system_config={"preload_python_modules": modules, "worker_niceness": 0},
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
