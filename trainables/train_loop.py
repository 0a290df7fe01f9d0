"""Train and evaluate a sequence classifier on tokenized splits: one plain PyTorch loop."""

import logging
import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from trainables.data.batching import Batch, iterate_batches, num_batches
from trainables.data.tokenized_split import TokenizedSplit

log = logging.getLogger(__name__)
# How often (in steps) an accelerator's loss is checked for NaN/inf: each check waits for the device.
# On the CPU there is nothing to wait for, so every step is checked.
NONFINITE_CHECK_EVERY = 16


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


def train(
    model: nn.Module,
    split: TokenizedSplit,
    settings: TrainSettings,
    device: torch.device,
    pad_token_id: int = 0,
) -> dict[str, float]:
    """Train `model` in place with AdamW and a linear decay; returns loss, steps and samples/s.

    Raises NonFiniteLoss at the first NaN or infinite loss (on an accelerator within
    NONFINITE_CHECK_EVERY steps of it; the step it names is exact either way).

    `epochs` may be fractional (a quick profile trains part of an epoch). Batches are
    length-grouped and dynamically padded, and the loop does nothing per step that it could do
    once, so it is several times faster than HF Trainer on a model this small.
    """
    if settings.epochs <= 0:
        return {"train_loss": float("nan"), "train_steps": 0, "train_samples_per_s": 0.0}
    per_epoch = num_batches(split, settings.batch_size)
    total_steps = max(1, math.ceil(per_epoch * settings.epochs))
    params = [p for p in model.parameters() if p.requires_grad]
    # The fused kernel updates all tensors in one pass: on a model this small the unfused
    # per-tensor optimizer step costs as much as the forward pass.
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay, fused=True)
    warmup = int(total_steps * settings.warmup_ratio)

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    model.to(device).train()
    pin = device.type == "cuda"
    step, samples, loss_sum = 0, 0, torch.zeros((), device=device)
    # 0 until a loss is non-finite, then that step's number; kept on the device so checking it
    # costs a sync only every NONFINITE_CHECK_EVERY steps.
    first_bad = torch.zeros((), dtype=torch.long, device=device)
    check_every = 1 if device.type == "cpu" else NONFINITE_CHECK_EVERY
    start = time.perf_counter()
    epoch = 0
    while step < total_steps:
        batches = iterate_batches(
            split,
            settings.batch_size,
            shuffle=True,
            seed=settings.seed + epoch,
            pad_token_id=pad_token_id,
            pin_memory=pin,
        )
        for batch in batches:
            batch = batch.to(device)
            logits = model(input_ids=batch.input_ids, attention_mask=model_mask(batch)).logits
            loss = nn.functional.cross_entropy(logits, batch.labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
            optimizer.step()
            scheduler.step()
            # Summing on device avoids a host sync every step.
            loss_sum += loss.detach()
            samples += batch.labels.shape[0]
            step += 1
            bad_now = ~torch.isfinite(loss.detach()) & (first_bad == 0)
            first_bad = torch.where(bad_now, step, first_bad)
            if step % check_every == 0 or step >= total_steps:
                _raise_if_nonfinite(first_bad)
            if step >= total_steps:
                break
        epoch += 1
    elapsed = time.perf_counter() - start
    return {
        "train_loss": float(loss_sum.item() / step),
        "train_steps": step,
        "train_samples_per_s": samples / elapsed if elapsed > 0 else 0.0,
    }


def _raise_if_nonfinite(first_bad: torch.Tensor) -> None:
    bad_step = int(first_bad.item())
    if bad_step:
        raise NonFiniteLoss(bad_step)


def model_mask(batch: Batch) -> torch.Tensor | None:
    """The attention mask, or None when no row is padded (BERT then skips building a mask).

    Padding is on the right, so the last column tells; length grouping makes unpadded batches
    common (about a third at batch 8 on Rotten Tomatoes).
    """
    if batch.attention_mask.numel() and bool(batch.attention_mask[:, -1].all()):
        return None
    return batch.attention_mask


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: TokenizedSplit,
    device: torch.device,
    batch_size: int = 128,
    pad_token_id: int = 0,
) -> dict[str, float]:
    """Accuracy and mean loss of `model` on `split`; the model is left in eval mode."""
    model.to(device).eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    loss_sum = torch.zeros((), device=device)
    count = 0
    batches = iterate_batches(
        split, batch_size, shuffle=False, pad_token_id=pad_token_id, pin_memory=device.type == "cuda"
    )
    for batch in batches:
        batch = batch.to(device)
        logits = model(input_ids=batch.input_ids, attention_mask=model_mask(batch)).logits
        loss_sum += nn.functional.cross_entropy(logits, batch.labels, reduction="sum")
        correct += (logits.argmax(-1) == batch.labels).sum()
        count += batch.labels.shape[0]
    if count == 0:
        raise ValueError("cannot evaluate on an empty split")
    return {"accuracy": correct.item() / count, "loss": loss_sum.item() / count}
