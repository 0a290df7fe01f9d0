"""Run one trial function the way every search runs it: threads, seed, resume, result record, NaN loss."""

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from trainables.train_loop import NonFiniteLoss
from trainables.train_snapshot import SNAPSHOT_FILE, load_snapshot
from trainables.trial_context import TrialContext, pick_device, set_threads
from trainables.trial_keys import RESULT_FILE, TRIAL_ERROR_KEY

Forward = Callable[[dict[str, Any], Path | None], None]


def run_trial(
    trial_fn: Callable[[dict[str, Any], TrialContext], Any],
    config: dict[str, Any],
    params: dict[str, Any],
    objectives: Sequence[str],
    cpus: int,
    gpus: float,
    work: Path,
    resume_dir: str | None,
    node: str,
    forward: Forward,
) -> None:
    """Run `trial_fn(config, ctx)` in this process; each report goes to `forward(metrics, checkpoint_dir)`.

    torch uses `cpus` threads and its global generator is seeded with the config's `seed`, so a
    trial depends on its config alone, not on what ran before it in the same process. A final
    checkpoint (not a training snapshot) gets RESULT_FILE: the sampled `params`, the metrics and
    the trial's own seconds (a resumed trial's count the time before its pause). `resume_dir` is a
    training snapshot to continue from. A NonFiniteLoss ends the trial with one report
    {TRIAL_ERROR_KEY: reason} carrying each of `objectives` as NaN instead of an exception (a
    retry with the same seed diverges again).
    """

    def report(metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        if checkpoint_dir and not (checkpoint_dir / SNAPSHOT_FILE).exists():
            record = {"params": params, "metrics": metrics, "seconds": time.perf_counter() - ctx.started}
            (checkpoint_dir / RESULT_FILE).write_text(json.dumps(record, default=str))
        forward(metrics, checkpoint_dir)

    set_threads(cpus)
    ctx = TrialContext(pick_device(gpus), cpus, work, report, node=node)
    if resume_dir is not None:
        ctx.resume = load_snapshot(Path(resume_dir))
    # Dropout, random masks and stochastic formats draw from torch's global generator.
    torch.manual_seed(int(config.get("seed", 0)))
    try:
        trial_fn(config, ctx)
    except NonFiniteLoss as error:
        ctx.report({TRIAL_ERROR_KEY: str(error), **dict.fromkeys(objectives, float("nan"))})
