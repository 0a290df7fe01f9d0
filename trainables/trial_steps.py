"""The small named steps every trial function is written with: open data, train, evaluate, finish."""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from trainables.compress import compute_cost, model_cost
from trainables.data import DataSpec, PreparedData, TokenizedSplit, load_splits, prepare_data
from trainables.models.checkpoint import save_model
from trainables.models.recipe import ModelRecipe
from trainables.train_loop import TrainSettings, evaluate, progress_gap_rows, train
from trainables.train_snapshot import save_snapshot
from trainables.trial_context import TrialContext
from trainables.trial_keys import PAUSE_EPOCHS, PROGRESS_LOSS, PROGRESS_METRIC, PROGRESS_TIME


@dataclass(frozen=True)
class TrialData:
    """The memory-mapped splits of one trial and what the model must know about them."""

    prepared: PreparedData
    train: TokenizedSplit
    test: TokenizedSplit


def open_data(config: dict[str, Any]) -> TrialData:
    """Open (building once per node if needed) the tokenized cache that `config["data"]` names."""
    return _open_data(tuple(sorted(config["data"].items())))


@functools.lru_cache(maxsize=4)
def _open_data(items: tuple[tuple[str, Any], ...]) -> TrialData:
    prepared = prepare_data(DataSpec(**dict(items)))
    train_split, test_split = load_splits(prepared)
    return TrialData(prepared, train_split, test_split)


def train_settings(config: dict[str, Any], **overrides: Any) -> TrainSettings:
    """TrainSettings from `config["train"]`, with per-step overrides (e.g. epochs=0.5)."""
    return TrainSettings(**{**config["train"], **overrides})


def train_model(model: nn.Module, data: TrialData, config: dict[str, Any], ctx: TrialContext, **overrides):
    """Train `model` on the trial's training split, reporting progress on the way; returns the loop's metrics.

    Each progress report holds `epoch` (epochs trained in this trial so far, every training run
    counted), `eval_accuracy` and `eval_loss` (on a fixed, seeded sample of the test split, see
    `progress_rows`) and `train_loss` (mean since the last report). The returned metrics add
    `progress_seconds`: the time those evaluations took, part of the training loop's time.

    The sample's size follows the training between two progress points (`progress_sample_size`),
    so that evaluating costs a bounded share of the training it reports on. It is drawn at the
    trial's first training run that has progress points and kept on `ctx.progress_rows`: every
    report of the trial, later runs' too, scores the same rows, and a paused trial resumed from its
    snapshot draws the same sample again (same settings, same seed).

    In the trial's first training run, the first report at or past each of `config[PAUSE_EPOCHS]`
    also hands over a training snapshot (its checkpoint), and `ctx.resume` (the snapshot a paused
    trial restarts from) continues the run from it. Later runs are neither paused nor resumed: what
    a trial does between two runs is not in a snapshot.
    """
    settings = train_settings(config, **overrides)
    offset = ctx.epochs_trained
    rows = trial_progress_rows(ctx, data, settings)
    batch = int(config["train"].get("eval_batch_size", 128))
    first_run = ctx.training_runs == 0
    ctx.training_runs += 1
    resume, ctx.resume = (ctx.resume if first_run else None), None
    pause_at = sorted(config.get(PAUSE_EPOCHS) or ()) if first_run else []
    evaluating = 0.0
    if resume is not None:
        evaluating = float(resume.extra["progress_seconds"])
        # The trial's clock counts the time before the pause too (the setup repeated now counts again).
        ctx.started -= float(resume.extra["trial_seconds"])
        pause_at = [epoch for epoch in pause_at if epoch > resume.extra["epoch"]]

    def progress(epochs: float, metrics: dict[str, float], snapshot: Callable) -> None:
        nonlocal evaluating
        started = time.perf_counter()
        scores = evaluate(
            model,
            data.test,
            ctx.device,
            batch,
            data.prepared.pad_token_id,
            rows=rows,
            precision=settings.precision,
        )
        evaluating += time.perf_counter() - started
        checkpoint = None
        if pause_at and offset + epochs >= pause_at[0]:
            while pause_at and offset + epochs >= pause_at[0]:
                pause_at.pop(0)
            state = {
                "epoch": offset + epochs,
                "progress_seconds": evaluating,
                "trial_seconds": time.perf_counter() - ctx.started,
            }
            checkpoint = save_snapshot(snapshot(state), ctx.new_dir(f"snapshot-{offset + epochs:.4f}"))
        ctx.report_progress(
            {
                PROGRESS_TIME: offset + epochs,
                PROGRESS_METRIC: scores["accuracy"],
                PROGRESS_LOSS: scores["loss"],
                **metrics,
            },
            checkpoint,
        )

    metrics = train(
        model,
        data.train,
        settings,
        ctx.device,
        data.prepared.pad_token_id,
        on_progress=progress,
        resume=resume,
    )
    ctx.epochs_trained = offset + max(0.0, settings.epochs)
    return {**metrics, "progress_seconds": evaluating}


# Progress evaluations use at most this many test rows: ~2 points of accuracy noise, and each about
# 2% of a quick trial's training time (a full-test evaluation ~6%); trials report the time as
# `progress_seconds`.
PROGRESS_EVAL_ROWS = 512
# ... and at least this many (~6 points of noise), however short the training between two points.
PROGRESS_EVAL_MIN_ROWS = 64


def progress_sample_size(gap_rows: int) -> int:
    """Test rows per progress evaluation when `gap_rows` training rows separate two progress points.

    As many as were trained since the last point, within [PROGRESS_EVAL_MIN_ROWS,
    PROGRESS_EVAL_ROWS]. Evaluating a row costs less than training on it (no backward pass, no
    optimizer step), so each evaluation costs less than the training since the last point, or
    about one step of it at the floor (a smoke run's points are one step apart); runs of a quick
    profile (thousands of rows between points) keep the full 512.
    """
    return min(PROGRESS_EVAL_ROWS, max(PROGRESS_EVAL_MIN_ROWS, int(gap_rows)))


def trial_progress_rows(ctx: TrialContext, data: TrialData, settings: TrainSettings) -> np.ndarray | None:
    """The test rows every progress evaluation of the trial scores (None while it has reported none).

    Drawn (`progress_rows`, sized by `progress_sample_size`) at the trial's first training run of
    `settings` that has progress points, then kept on `ctx.progress_rows`.
    """
    if ctx.progress_rows is None:
        gap = progress_gap_rows(data.train, settings)
        if gap:
            ctx.progress_rows = progress_rows(data.test, settings.seed, progress_sample_size(gap))
    return ctx.progress_rows


def progress_rows(test: TokenizedSplit, seed: int, size: int = PROGRESS_EVAL_ROWS) -> np.ndarray:
    """A fixed, seeded sample of `size` test rows (all when the split is no larger) for progress evaluations.

    Drawn at random, not the first rows: a split may be stored sorted by label. The same split,
    seed and size give the same rows.
    """
    if len(test) <= size:
        return np.arange(len(test))
    return np.sort(np.random.default_rng(seed).choice(len(test), size, replace=False))


def majority_accuracy(data: TrialData) -> float:
    """The accuracy of always answering the test split's most frequent label (the chance level)."""
    counts = np.bincount(np.asarray(data.test.labels))
    return float(counts.max() / counts.sum())


def accuracy(model: nn.Module, data: TrialData, config: dict[str, Any], ctx: TrialContext) -> float:
    """Test-split accuracy of `model`; its macro-F1 is kept on `ctx` for `finish` to report."""
    scores = evaluate_split(model, data, config, ctx)
    ctx.last_macro_f1 = scores["macro_f1"]
    return scores["accuracy"]


def evaluate_split(
    model: nn.Module, data: TrialData, config: dict[str, Any], ctx: TrialContext
) -> dict[str, float]:
    """Test-split `accuracy`, mean `loss` (and `macro_f1`) of `model`."""
    batch = int(config["train"].get("eval_batch_size", 128))
    precision = config["train"].get("precision", "fp32")
    return evaluate(model, data.test, ctx.device, batch, data.prepared.pad_token_id, precision=precision)


def finish(
    model: nn.Module,
    recipe: ModelRecipe,
    ctx: TrialContext,
    metrics: dict[str, Any],
    data: TrialData | None = None,
) -> dict[str, Any]:
    """The end of every trial: add the cost metrics and `trial_seconds`, save the model, report once.

    Pass the trial's `data` so its tokenizer is saved beside the model (see save_checkpoint).
    Adds `macro_f1` of the trial's last test evaluation (its final model, the one whose accuracy
    it reports) and, with `data`, `majority_accuracy` (chance) when the trial did not. Returns the
    reported metrics (the trial function's return value).
    """
    extra: dict[str, Any] = {}
    if ctx.last_macro_f1 is not None:
        extra["macro_f1"] = ctx.last_macro_f1
    if data is not None and "majority_accuracy" not in metrics:
        extra["majority_accuracy"] = majority_accuracy(data)
    metrics = {**metrics, **extra, **cost_metrics(model), "trial_seconds": time.perf_counter() - ctx.started}
    ctx.report(metrics, save_checkpoint(model, recipe, ctx, data))
    return metrics


def save_checkpoint(
    model: nn.Module, recipe: ModelRecipe, ctx: TrialContext, data: TrialData | None = None
) -> Path:
    """Save the trial's model (and `data`'s tokenizer) into a fresh folder of its work dir, ready to report.

    With the tokenizer beside it, an uncompressed checkpoint opens with Hugging Face's
    `from_pretrained` alone (see trainables.models.checkpoint).
    """
    tokenizer_dir = data.prepared.tokenizer_dir if data is not None else None
    return save_model(model, recipe, ctx.new_dir("checkpoint"), tokenizer_dir)


def cost_metrics(model: nn.Module) -> dict[str, float]:
    """model_cost and compute_cost with `cost_` prefixed keys, beside accuracies in the results table."""
    costs = {**model_cost(model), **compute_cost(model)}
    return {f"cost_{key}": value for key, value in costs.items()}
