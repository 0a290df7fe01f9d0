"""Train and evaluate a sequence classifier on tokenized splits: one plain PyTorch loop."""

import copy
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from trainables.data.batching import Batch, iterate_batches, num_batches
from trainables.data.tokenized_split import TokenizedSplit
from trainables.train_snapshot import TrainSnapshot
from trainables.trial_keys import PRECISIONS

log = logging.getLogger(__name__)
# How often (in steps) an accelerator's loss is checked for NaN/inf: each check waits for the device.
# On the CPU there is nothing to wait for, so every step is checked.
NONFINITE_CHECK_EVERY = 16

# Called at each progress point with (epochs trained so far in this run, {"train_loss": mean since the
# last point}, snapshot); it may evaluate the model (the loop puts it back in train mode afterwards)
# and call `snapshot(extra)` for the loop's state, to resume from later (trainables/train_snapshot.py).
ProgressCallback = Callable[[float, dict[str, float], Callable[[dict[str, Any]], TrainSnapshot]], None]


class NonFiniteLoss(ArithmeticError):
    """The training loss became NaN or infinite: the model is ruined and must not be used.

    `step` is the 1-based optimizer step whose loss was first non-finite.
    """

    def __init__(self, step: int) -> None:
        super().__init__(f"non-finite loss at step {step}")
        self.step = step


@dataclass(frozen=True)
class TrainSettings:
    """How one training run goes; the defaults are the course's (batch 8, lr 5e-5, 1 epoch)."""

    epochs: float = 1.0
    batch_size: int = 8
    lr: float = 5e-5
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    eval_batch_size: int = 128
    # Intermediate progress points per run (at least one per epoch), for curves and early stopping.
    progress_points: int = 4
    # "bf16": forward and loss under bfloat16 autocast (weights and optimizer stay fp32).
    precision: str = "fp32"
    # Train through torch.compile(model, dynamic=True) (one compilation per run; shapes vary by batch).
    compile: bool = False


# What a run of no steps returns. `train_start_step` is the step a resumed run started from.
NO_TRAINING = {
    "train_loss": float("nan"),
    "train_steps": 0,
    "train_start_step": 0,
    "train_samples_per_s": 0.0,
}


def train(
    model: nn.Module,
    split: TokenizedSplit,
    settings: TrainSettings,
    device: torch.device,
    pad_token_id: int = 0,
    on_progress: ProgressCallback | None = None,
    resume: TrainSnapshot | None = None,
) -> dict[str, float]:
    """Train `model` in place with AdamW and a linear decay; returns loss, steps and samples/s.

    Raises NonFiniteLoss at the first NaN or infinite loss (on an accelerator within
    NONFINITE_CHECK_EVERY steps of it; the step it names is exact either way).

    `epochs` may be fractional (a quick profile trains part of an epoch). Batches are
    length-grouped and dynamically padded. `on_progress` is called at `progress_points(...)`
    steps, never at the last one (the caller evaluates the finished model itself).

    `resume` (a snapshot an earlier run of the same settings took at a progress point) continues
    that run where it stopped: the same weights, optimizer and schedule state, random state and
    batch order, so the result equals an uninterrupted run's. Progress points at or before the
    snapshot's step are not reported again; samples/s counts the steps after `train_start_step`.
    """
    if settings.epochs <= 0:
        return dict(NO_TRAINING)
    per_epoch = num_batches(split, settings.batch_size)
    total_steps = run_steps(split, settings)
    points = progress_steps(total_steps, settings) if on_progress else set()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer, scheduler = _optimizer(params, settings, total_steps)
    model.to(device).train()
    forward = torch.compile(model, dynamic=True) if settings.compile else model
    pin = device.type == "cuda"
    step, samples = 0, 0
    # Losses are summed on the device: reading one back is a host sync, done only at progress points.
    loss_sum, since_point = torch.zeros((), device=device), torch.zeros((), device=device)
    last_point = 0
    if resume is not None:
        # Snapshots are taken at progress points: the mean since the last point starts afresh.
        step, samples, last_point = _restore(resume, model, optimizer, scheduler, loss_sum)
    resumed_samples, start_step = samples, step

    def snapshot(extra: dict[str, Any]) -> TrainSnapshot:
        # Called from on_progress: the state as it is once this point's report is done.
        return _snapshot(step, model, optimizer, scheduler, loss_sum, samples, extra)

    # 0 until a loss is non-finite, then that step's number; kept on the device so checking it
    # costs a sync only every NONFINITE_CHECK_EVERY steps.
    first_bad = torch.zeros((), dtype=torch.long, device=device)
    check_every = 1 if device.type == "cpu" else NONFINITE_CHECK_EVERY
    start = time.perf_counter()
    batches = _batches_from(split, settings, step, per_epoch, pad_token_id, pin) if step < total_steps else ()
    for batch in batches:
        loss = train_step(
            forward, batch.to(device), optimizer, params, settings.grad_clip, settings.precision
        )
        scheduler.step()
        loss_sum += loss
        since_point += loss
        samples += len(batch)
        step += 1
        bad_now = ~torch.isfinite(loss) & (first_bad == 0)
        first_bad = torch.where(bad_now, step, first_bad)
        if step % check_every == 0 or step >= total_steps or step in points:
            _raise_if_nonfinite(first_bad)
        if step in points:
            mean = since_point.item() / (step - last_point)
            on_progress(step / per_epoch, {"train_loss": mean}, snapshot)
            since_point.zero_()
            last_point = step
            model.train()
        if step >= total_steps:
            break
    elapsed = time.perf_counter() - start
    return {
        "train_loss": float(loss_sum.item() / step),
        "train_steps": step,
        "train_start_step": start_step,
        "train_samples_per_s": (samples - resumed_samples) / elapsed if elapsed > 0 else 0.0,
    }


def _optimizer(
    params: list[nn.Parameter], settings: TrainSettings, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over `params` and its linear-decay schedule for a run of `total_steps`."""
    # The fused kernel updates all tensors in one pass: on a model this small the unfused
    # per-tensor optimizer step costs as much as the forward pass.
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay, fused=True)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(total_steps, settings))


def _batches_from(
    split: TokenizedSplit, settings: TrainSettings, step: int, per_epoch: int, pad_token_id: int, pin: bool
) -> Iterator[Batch]:
    """The training batches from `step` on, epoch after epoch, without end (the caller stops).

    Each epoch's order is seeded by `settings.seed + epoch`; a resumed run skips the batches of its
    current epoch that it had already trained on.
    """
    epoch = step // per_epoch
    skip = step - epoch * per_epoch
    while True:
        batches = iterate_batches(
            split,
            settings.batch_size,
            shuffle=True,
            seed=settings.seed + epoch,
            pad_token_id=pad_token_id,
            pin_memory=pin,
        )
        for batch in batches:
            if skip:
                skip -= 1
                continue
            yield batch
        epoch += 1


def _snapshot(
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    loss_sum: torch.Tensor,
    samples: int,
    extra: dict[str, Any],
) -> TrainSnapshot:
    """The training state after `step` steps, copied: training goes on and changes it in place."""
    return TrainSnapshot(
        step=step,
        model={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        optimizer=copy.deepcopy(optimizer.state_dict()),
        scheduler=scheduler.state_dict(),
        rng=torch.get_rng_state(),
        loss_sum=float(loss_sum.item()),
        samples=samples,
        extra=dict(extra),
    )


def _restore(
    resume: TrainSnapshot,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    loss_sum: torch.Tensor,
) -> tuple[int, int, int]:
    """Put a snapshot's state back into the run; returns (step, samples, last progress step)."""
    model.load_state_dict(resume.model)
    optimizer.load_state_dict(resume.optimizer)
    scheduler.load_state_dict(resume.scheduler)
    torch.set_rng_state(resume.rng)
    loss_sum.fill_(resume.loss_sum)
    return resume.step, resume.samples, resume.step


def _raise_if_nonfinite(first_bad: torch.Tensor) -> None:
    bad_step = int(first_bad.item())
    if bad_step:
        raise NonFiniteLoss(bad_step)


def train_step(
    model: nn.Module,
    batch: Batch,
    optimizer: torch.optim.Optimizer,
    params: list,
    grad_clip: float,
    precision: str = "fp32",
) -> torch.Tensor:
    """One optimizer step on `batch` (already on the model's device); returns the detached loss.

    Nothing here reads a device value back: on a GPU the step is queued without a host sync.
    """
    with autocast(batch.labels.device, precision):
        logits = model(**model_inputs(model, batch)).logits
        loss = nn.functional.cross_entropy(logits.float(), batch.labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        clip_gradients(params, grad_clip)
    optimizer.step()
    return loss.detach()


def clip_gradients(params: list, max_norm: float) -> None:
    """`torch.nn.utils.clip_grad_norm_(params, max_norm)`, without its multiply by exactly 1 on the CPU.

    clip_grad_norm_ always multiplies every gradient by min(max_norm / (norm + 1e-6), 1), to avoid a
    host read of the norm on an accelerator. On the CPU that read is free, and a factor of exactly 1
    changes nothing: skipping it saves a pass over every gradient (the 1M-value embedding one
    included) on the steps that are not clipped, most of them. Same values either way.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or grads[0].device.type != "cpu":
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        return
    total = torch.nn.utils.get_total_norm(grads)
    if torch.clamp(max_norm / (total + 1e-6), max=1.0).item() != 1.0:  # a NaN norm multiplies too
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, total)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bfloat16 autocast on `device` for precision "bf16"; a disabled context for "fp32"."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def linear_schedule(total_steps: int, settings: TrainSettings) -> Callable[[int], float]:
    """The learning-rate factor per step: linear warm-up over `warmup_ratio`, then linear decay to 0."""
    warmup = int(total_steps * settings.warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def run_steps(split: TokenizedSplit, settings: TrainSettings) -> int:
    """The optimizer steps of a run of `settings` on `split` (at least one; `epochs` may be fractional)."""
    return max(1, math.ceil(num_batches(split, settings.batch_size) * settings.epochs))


def progress_gap_rows(split: TokenizedSplit, settings: TrainSettings) -> int:
    """The training rows between two progress points of a run (the shortest gap, the first counted
    from the run's start); 0 when the run has no progress point (`epochs` <= 0 or too few parts)."""
    if settings.epochs <= 0:
        return 0
    points = sorted(progress_steps(run_steps(split, settings), settings))
    if not points:
        return 0
    return settings.batch_size * min(b - a for a, b in itertools.pairwise([0, *points]))


def progress_steps(total_steps: int, settings: TrainSettings) -> set[int]:
    """The steps after which a run reports progress: evenly spaced, at least one per epoch, not the last.

    `progress_points` points split the run into that many equal parts (more when the run has more
    epochs); the last part ends with the run, which the caller evaluates anyway.
    """
    parts = max(settings.progress_points, math.ceil(settings.epochs))
    if parts <= 1:
        return set()
    return {round(total_steps * k / parts) for k in range(1, parts)} - {0, total_steps}


def model_mask(batch: Batch) -> torch.Tensor | None:
    """The attention mask, or None when no row is padded (BERT then skips building a mask).

    Length grouping makes unpadded batches common (about a third at batch 8 on Rotten Tomatoes).
    `batch.padded` was decided on the host when the batch was built: no device read, no sync.
    """
    return batch.attention_mask if batch.padded else None


def model_inputs(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor | None]:
    """The keyword arguments of the model's forward for `batch`: ids, mask, and a pair's token types.

    Token types go only to a model with two or more of them (BERT, ALBERT: `type_vocab_size`);
    DistilBERT has none and RoBERTa one, so theirs stay out.
    """
    inputs = {"input_ids": batch.input_ids, "attention_mask": model_mask(batch)}
    config = getattr(model, "config", None)
    if batch.token_type_ids is not None and getattr(config, "type_vocab_size", 0) >= 2:
        inputs["token_type_ids"] = batch.token_type_ids
    return inputs


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: TokenizedSplit,
    device: torch.device,
    batch_size: int = 128,
    pad_token_id: int = 0,
    rows: np.ndarray | None = None,
    precision: str = "fp32",
) -> dict[str, float]:
    """Accuracy, macro-F1 and mean loss of `model` on `split` (or only its `rows`); the model is left in eval mode.

    Sums stay on the device; the only host reads are the results at the end. Macro-F1 averages
    the per-class F1 over the classes that occur among the labels or the predictions.
    """
    model.to(device).eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    loss_sum = torch.zeros((), device=device)
    count = 0
    confusion: torch.Tensor | None = None  # (true class, predicted class) counts
    batches = iterate_batches(
        split,
        batch_size,
        shuffle=False,
        pad_token_id=pad_token_id,
        pin_memory=device.type == "cuda",
        rows=rows,
    )
    for batch in batches:
        batch = batch.to(device)
        with autocast(device, precision):
            logits = model(**model_inputs(model, batch)).logits.float()
        loss_sum += nn.functional.cross_entropy(logits, batch.labels, reduction="sum")
        predicted = logits.argmax(-1)
        correct += (predicted == batch.labels).sum()
        classes = logits.shape[-1]
        if confusion is None:
            confusion = torch.zeros(classes * classes, dtype=torch.long, device=device)
        confusion += torch.bincount(batch.labels * classes + predicted, minlength=classes * classes)
        count += batch.labels.shape[0]
    if count == 0:
        raise ValueError("cannot evaluate on an empty split")
    return {
        "accuracy": correct.item() / count,
        "loss": loss_sum.item() / count,
        "macro_f1": macro_f1(confusion),
    }


def macro_f1(confusion: torch.Tensor) -> float:
    """Macro-F1 from flattened (true, predicted) counts, over the classes seen in either."""
    classes = int(round(confusion.numel() ** 0.5))
    table = confusion.view(classes, classes).double().cpu()
    true_positive = table.diagonal()
    actual, predicted = table.sum(1), table.sum(0)
    seen = (actual + predicted) > 0
    f1 = 2 * true_positive / (actual + predicted).clamp(min=1)
    return float(f1[seen].mean()) if bool(seen.any()) else 0.0
