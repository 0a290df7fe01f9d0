"""The one place a trial touches Ray: turn a trial function into a Tune function trainable."""

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainables.ray_warm_worker import run_in_warm_worker
from trainables.trial_keys import CARRIED_TRIAL, SEARCH_KEY

if TYPE_CHECKING:
    from trainables.trial_context import TrialContext

# A trial function or a trainables.trial_ref.TrialRef naming one. This module imports torch only
# inside the trainable, in the worker: the driver that wraps trials never trains.
TrialFunction = Callable[[dict[str, Any], "TrialContext"], dict[str, Any]]
# Ray Train's storage loggers say `Checkpoint successfully created at ...` for every report.
CHECKPOINT_LOGGERS = ("ray.train._internal.storage", "ray.train.v2._internal.execution.storage")
# "0" runs every trial inside its Tune actor (the behaviour before pooled workers).
WARM_WORKERS_ENV = "ADLS_WARM_WORKERS"


def ray_trainable(
    trial_fn: TrialFunction,
    settings: dict[str, Any],
    objectives: Sequence[str] = (),
    cpus: int = 1,
    gpus: float = 0.0,
) -> Callable[[dict[str, Any]], None]:
    """Wrap `trial_fn(config, ctx)` as a Tune trainable; `settings` are merged under the sampled params.

    Each trial uses `cpus` torch threads and the GPU when `gpus` > 0 (the share Tune reserves for
    it). torch's global generator is seeded with the config's `seed` before the trial starts, so a
    trial depends on its config alone, not on what ran before it in a reused worker process.
    The trial's node IP and device are added to every report so the results table shows where
    each trial ran. A NonFiniteLoss ends the trial with one report {TRIAL_ERROR_KEY: reason}
    instead of an exception: Tune would retry an exception, and the same seed diverges again.
    That report carries each of `objectives` (the searched metrics, which Tune requires in every
    report) as NaN, which Optuna records as a failed trial.
    Unless `settings["verbose"]`, Ray's per-checkpoint INFO lines are silenced.
    A trial restarted from a training snapshot it reported (paused by a synchronous scheduler, or
    retried after a failure) continues its first training run from there (trial_steps.train_model).
    A trial whose params carry CARRIED_TRIAL continues a dead driver's trial: it reports that trial's
    rung report again with its snapshot, then trains from the snapshot (the key is not a param).
    A CPU trial (`gpus` == 0) runs in a pooled Ray worker that later Tuners of the run reuse
    (trainables.ray_warm_worker; ADLS_WARM_WORKERS=0 keeps it in the actor); a GPU trial runs in
    its actor, which holds the GPU Tune assigned.
    """

    trainable = _trainable(lambda params: (trial_fn, settings), cpus, gpus, objectives)
    trainable.__name__ = trial_fn.__name__
    return trainable


def ray_group_trainable(
    searches: dict[str, tuple[TrialFunction, dict[str, Any]]],
    objectives: Sequence[str] = (),
    cpus: int = 1,
    gpus: float = 0.0,
) -> Callable[[dict[str, Any]], None]:
    """One Tune trainable for several searches that share a Tuner: `searches[key] = (trial_fn, settings)`.

    A trial's params carry SEARCH_KEY, the key of its search; that search's trial function runs
    with its settings merged under the other params, exactly as `ray_trainable` runs it. The key
    stays in the params recorded beside the trial's result (resume splits trials by it).
    """

    def pick(params: dict[str, Any]) -> tuple[TrialFunction, dict[str, Any]]:
        return searches[params[SEARCH_KEY]]

    trainable = _trainable(pick, cpus, gpus, objectives)
    trainable.__name__ = "searches"
    return trainable


def _trainable(
    pick: Callable[[dict[str, Any]], tuple[TrialFunction, dict[str, Any]]],
    cpus: int,
    gpus: float,
    objectives: Sequence[str],
) -> Callable[[dict[str, Any]], None]:
    """The Tune function trainable: `pick(params)` gives the trial function and the settings to run."""
    # Decided where the search is planned (the driver's environment), not in each actor.
    warm = warm_workers()

    def trainable(params: dict[str, Any]) -> None:
        import ray
        from ray import tune

        params = dict(params)
        carried = params.pop(CARRIED_TRIAL, None)
        trial_fn, settings = pick(params)
        config = {**settings, **{k: v for k, v in params.items() if k != SEARCH_KEY}}
        level = logging.INFO if settings.get("verbose") else logging.WARNING
        for name in CHECKPOINT_LOGGERS:
            logging.getLogger(name).setLevel(level)

        def reporter(metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
            checkpoint = None
            if checkpoint_dir:
                checkpoint = tune.Checkpoint.from_directory(str(checkpoint_dir))
            tune.report(metrics, checkpoint=checkpoint)

        restored = tune.get_checkpoint()
        with tempfile.TemporaryDirectory(prefix="adls-trial-") as work:
            if restored is None and carried and carried.get("snapshot"):
                restored = _carry_on(carried, Path(work), reporter)
            resumed = restored.as_directory() if restored is not None else contextlib.nullcontext()
            with resumed as resume_dir:
                if gpus > 0 or not warm:
                    from trainables.trial_runner import run_trial

                    node = ray.util.get_node_ip_address()
                    run_trial(
                        trial_fn,
                        config,
                        params,
                        objectives,
                        cpus,
                        gpus,
                        Path(work),
                        resume_dir,
                        node,
                        reporter,
                    )
                    return
                # CPU trials run in a pooled worker that keeps torch loaded for the run's next Tuner.
                reports = run_in_warm_worker(
                    trial_fn, config, params, objectives, cpus, Path(work), resume_dir
                )
                for metrics, checkpoint_dir in reports:
                    reporter(metrics, Path(checkpoint_dir) if checkpoint_dir else None)

    return trainable


def _carry_on(
    carried: dict[str, Any], work: Path, reporter: Callable[[dict[str, Any], Path | None], None]
) -> Any:
    """Continue a dead driver's trial: its rung report again, with its snapshot as the checkpoint.

    The scheduler pauses, stops or promotes the trial as that trial's batch says; returns the
    snapshot (a local copy, as a Tune checkpoint) to train on from.
    """
    from ray import tune

    local = tune.Checkpoint(carried["snapshot"]).to_directory(str(work / "carried"))
    reporter(dict(carried.get("report") or {}), Path(local))
    return tune.Checkpoint.from_directory(local)


def warm_workers() -> bool:
    """Whether CPU trials run in pooled workers (trainables.ray_warm_worker); env ADLS_WARM_WORKERS=0 says no."""
    return os.environ.get(WARM_WORKERS_ENV, "1") != "0"
