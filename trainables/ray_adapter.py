"""The one place a trial touches Ray: turn a trial function into a Tune function trainable."""

import json
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainables.trial_keys import RESULT_FILE, TRIAL_ERROR_KEY

if TYPE_CHECKING:
    from trainables.trial_context import TrialContext

# A trial function or a trainables.trial_ref.TrialRef naming one. This module imports torch only
# inside the trainable, in the worker: the driver that wraps trials never trains.
TrialFunction = Callable[[dict[str, Any], "TrialContext"], dict[str, Any]]
# Ray Train's storage loggers say `Checkpoint successfully created at ...` for every report.
CHECKPOINT_LOGGERS = ("ray.train._internal.storage", "ray.train.v2._internal.execution.storage")


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
    """

    def trainable(params: dict[str, Any]) -> None:
        import ray
        import torch
        from ray import tune

        from trainables.train_loop import NonFiniteLoss
        from trainables.train_snapshot import SNAPSHOT_FILE, load_snapshot
        from trainables.trial_context import TrialContext, pick_device, set_threads

        level = logging.INFO if settings.get("verbose") else logging.WARNING
        for name in CHECKPOINT_LOGGERS:
            logging.getLogger(name).setLevel(level)
        set_threads(cpus)
        config = {**settings, **params}
        node = ray.util.get_node_ip_address()

        def reporter(metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
            checkpoint = None
            if checkpoint_dir:
                # A training snapshot is where to resume, not a result: only a final one says "finished".
                if not (checkpoint_dir / SNAPSHOT_FILE).exists():
                    # The trial's own clock: a resumed trial's counts the time before its pause.
                    seconds = time.perf_counter() - ctx.started
                    record = {"params": params, "metrics": metrics, "seconds": seconds}
                    (checkpoint_dir / RESULT_FILE).write_text(json.dumps(record, default=str))
                checkpoint = tune.Checkpoint.from_directory(str(checkpoint_dir))
            tune.report(metrics, checkpoint=checkpoint)

        with tempfile.TemporaryDirectory(prefix="adls-trial-") as work:
            ctx = TrialContext(pick_device(gpus), cpus, Path(work), reporter, node=node)
            restored = tune.get_checkpoint()
            if restored is not None:
                with restored.as_directory() as folder:
                    ctx.resume = load_snapshot(folder)
            # Dropout, random masks and stochastic formats draw from torch's global generator.
            torch.manual_seed(int(config.get("seed", 0)))
            try:
                trial_fn(config, ctx)
            except NonFiniteLoss as error:
                ctx.report({TRIAL_ERROR_KEY: str(error), **dict.fromkeys(objectives, float("nan"))})

    trainable.__name__ = trial_fn.__name__
    return trainable
