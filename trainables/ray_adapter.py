"""The one place a trial touches Ray: turn a trial function into a Tune function trainable."""

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from trainables.trial_context import TrialContext, pick_device, set_threads

TrialFunction = Callable[[dict[str, Any], TrialContext], dict[str, Any]]


def ray_trainable(trial_fn: TrialFunction, settings: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """Wrap `trial_fn(config, ctx)` as a Tune trainable; `settings` are merged under the sampled params.

    The trial's node IP and device are added to every report so the results table shows where
    each trial ran.
    """

    def trainable(params: dict[str, Any]) -> None:
        import ray
        from ray import tune

        cpus = int(settings.get("cpus_per_trial", 1))
        set_threads(cpus)
        # Workers are reused across trials: reseed so a trial never depends on the one before.
        torch.manual_seed(int(settings.get("seed", 0)))
        node = ray.util.get_node_ip_address()

        def reporter(metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
            checkpoint = tune.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None
            tune.report(metrics, checkpoint=checkpoint)

        with tempfile.TemporaryDirectory(prefix="adls-trial-") as work:
            device = pick_device(float(settings.get("gpus_per_trial", 0)))
            ctx = TrialContext(device, cpus, Path(work), reporter, node=node)
            trial_fn({**settings, **params}, ctx)

    trainable.__name__ = trial_fn.__name__
    return trainable
