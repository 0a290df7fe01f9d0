"""Run a trial's body in a pooled Ray task worker that outlives the Tuner, so torch is imported once per run.

Tune's trial actors die with their Tuner, and every variant or stage of a run is a new Tuner: a
fresh actor process imports torch and transformers again (seconds each). Here the actor stays
light (Ray and Tune only) and hands the trial to a Ray *task*, which Ray runs in a worker process
it keeps between tasks of the same job and runtime environment. The next Tuner's trials find those
workers with torch, transformers, the trial code and the opened data already loaded.

Contract with the actor (trainables.ray_adapter): the task runs on the actor's node, asks for no
resources of its own (the actor holds the trial's CPUs), and streams the trial's reports back in
order as `(metrics, checkpoint_dir)`; the actor hands each to `tune.report`. Checkpoint folders
live in a work folder the actor created and deletes, so each stays until Tune has copied it. The
trial's thread waits after each report until the actor asked for the next one, as an in-actor
trial waits on Tune. An exception in the trial is raised again in the actor (Tune's retry rules
apply unchanged). If the actor ends before the trial did (a scheduler stopped or paused it, the
search was interrupted), the task is cancelled with its worker, which is then not reused.
"""

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

# A fenced module (docs/FRAMEWORK.md "Private Ray Tune / Optuna internals"): it passes one private
# Ray option, `_generator_backpressure_num_objects` (documented with Ray's streaming generators), so
# that the trial waits at each report until the actor took it, and reads the variables Tune gives
# its actors (`ray.tune.execution.class_cache`, an internal module) so that a warm-up lands in the
# trials' worker pool. Checked with this version; tests/search_tests/test_private_internals.py
# fails where Ray no longer takes the option or has those names.
CHECKED_WITH = {"ray": "2.60.0"}
BACKPRESSURE_OPTION = "_generator_backpressure_num_objects"
# Workers of this runtime environment run only these tasks: Ray never hands one of them, torch
# loaded, to a Tune actor (which would take it down with the Tuner).
WORKER_ENV = {"env_vars": {"ADLS_WARM_TRIAL_WORKER": "1"}}
_DONE = object()
_remote_body: Any = None


def run_in_warm_worker(
    trial_fn: Callable[..., Any],
    config: dict[str, Any],
    params: dict[str, Any],
    objectives: Sequence[str],
    cpus: int,
    work_dir: Path,
    resume_dir: str | None,
) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Start the trial in a pooled worker on this node; yield its reports `(metrics, checkpoint_dir)`.

    Closing the iterator before the trial ended cancels the task (its worker exits).
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    global _remote_body
    if _remote_body is None:
        _remote_body = ray.remote(num_cpus=0, max_retries=0, runtime_env=WORKER_ENV)(_trial_body)
    here = ray.get_runtime_context().get_node_id()
    stream = _remote_body.options(
        num_returns="streaming",
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
        **{BACKPRESSURE_OPTION: 1},
    ).remote(trial_fn, config, params, list(objectives), cpus, str(work_dir), resume_dir)
    finished = False
    try:
        for ref in stream:
            yield ray.get(ref)
        finished = True
    finally:
        if not finished:
            ray.cancel(stream, force=True)


def warm_spare_workers(count: int, data: dict[str, Any]) -> Any:
    """Start `count` more pooled workers now, each loading torch, transformers, the trial code and `data`.

    For a run whose current stage leaves trial slots idle (lab1's `base`: one trial, two slots)
    and whose next stage fills them: the idle cores load the workers while the stage trains, and
    the next stage's trials find them warm instead of importing torch first. The caller keeps
    `count` at most the idle slots, so no trial ever waits on a warm-up (which would make Ray
    start one more worker). Returns a ref to the warm workers' pids; nobody needs to wait on it:
    a warm-up that fails costs the next trial its start, nothing more.

    Ray pools workers by runtime environment, which a task inherits from its caller and which Ray
    compares as it wrote it: a trial's task is started by its Tune actor, whose environment has
    the variables Tune gives its actors; the same task started by the driver lands in another pool
    (its environment written differently, even with the same variables) that no trial uses. So
    the warm-ups are started by a launcher actor made the way Tune makes its actors, which ends
    itself when they are done.
    """
    import ray

    global _launcher
    launcher_class = ray.remote(num_cpus=0, max_restarts=0, runtime_env=trial_actor_env())(_WarmUpLauncher)
    launcher = launcher_class.remote()
    pids = launcher.warm.remote(count, data)
    launcher.__ray_terminate__.remote()  # runs after `warm`, as Ray runs an actor's calls in order
    _launcher = (launcher, pids)  # the handle lives until the launcher ended itself
    return pids


_launcher: Any = None


class _WarmUpLauncher:
    """Starts the warm-ups as a Tune actor starts a trial's task, and waits for them (it owns their workers' leases)."""

    def warm(self, count: int, data: dict[str, Any]) -> list[int]:
        import ray

        warm = ray.remote(num_cpus=0, max_retries=0, runtime_env=WORKER_ENV)(_warm_up)
        return ray.get([warm.remote(data) for _ in range(count)])


def trial_actor_env() -> dict[str, Any]:
    """The runtime environment Tune gives its trial actors: its defaults and what it copies from our environment."""
    from ray.tune.execution.class_cache import DEFAULT_ENV_VARS, ENV_VARS_TO_PROPAGATE

    copied = {name: os.environ[name] for name in ENV_VARS_TO_PROPAGATE if name in os.environ}
    return {"env_vars": {**DEFAULT_ENV_VARS, **copied}}


# What a trial of any experiment imports, loaded by a warm-up so that no stage's first trial does.
TRIAL_MODULES = (
    "trainables.trial_runner",
    "trainables.trial_steps",
    "trainables.compress",
    "trainables.trials.base",
    "trainables.trials.lab1_qat",
    "trainables.trials.lab1_prune",
    "trainables.trials.lab2_nas",
    "trainables.trials.lab3",
)


def _warm_up(data: dict[str, Any]) -> int:
    import importlib

    for module in TRIAL_MODULES:
        importlib.import_module(module)
    from trainables.trial_steps import open_data

    open_data({"data": data})
    return os.getpid()


def _trial_body(
    trial_fn: Callable[..., Any],
    config: dict[str, Any],
    params: dict[str, Any],
    objectives: list[str],
    cpus: int,
    work_dir: str,
    resume_dir: str | None,
) -> Iterator[tuple[dict[str, Any], str | None]]:
    """The task: the trial in a thread of this worker, its reports handed out one at a time."""
    import ray

    from trainables.trial_runner import run_trial

    reports: queue.Queue = queue.Queue()
    taken = threading.Semaphore(0)

    def forward(metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        reports.put((metrics, str(checkpoint_dir) if checkpoint_dir else None))
        taken.acquire()

    node = ray.util.get_node_ip_address()

    def body() -> None:
        try:
            run_trial(
                trial_fn, config, params, objectives, cpus, 0.0, Path(work_dir), resume_dir, node, forward
            )
        except BaseException as error:  # noqa: BLE001 - raised again in the task's own thread
            reports.put(error)
            return
        reports.put(_DONE)

    thread = threading.Thread(target=body, name="adls-trial", daemon=True)
    thread.start()
    while (item := reports.get()) is not _DONE:
        if isinstance(item, BaseException):
            raise item
        yield item
        taken.release()
    thread.join()
