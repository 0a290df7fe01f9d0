"""Batches from a TokenizedSplit: dynamic padding, length grouping, all in numpy (no per-token Python)."""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from errors import ConfigError
from trainables.data.tokenized_split import TokenizedSplit

MEGABATCH_BATCHES = 50  # as HF's LengthGroupedSampler: sort within ~50 batches, so order stays random


@dataclass
class Batch:
    """One padded batch: input_ids and attention_mask (int64, [rows, longest row]), labels (int64, [rows]).

    `token_type_ids` (int64, like input_ids, padding 0) only for a sentence pair whose tokenizer
    gives token types (see TokenizedSplit.type_ids); None otherwise.

    `padded` says whether any row is shorter than the batch: known on the host when the batch is
    built, so deciding to skip the attention mask never reads a device tensor (a GPU sync).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    padded: bool = True
    token_type_ids: torch.Tensor | None = None

    def to(self, device: torch.device | str, non_blocking: bool = True) -> "Batch":
        """The same batch on `device`; non_blocking overlaps the copy with compute when memory is pinned."""
        return Batch(
            self.input_ids.to(device, non_blocking=non_blocking),
            self.attention_mask.to(device, non_blocking=non_blocking),
            self.labels.to(device, non_blocking=non_blocking),
            self.padded,
            None
            if self.token_type_ids is None
            else self.token_type_ids.to(device, non_blocking=non_blocking),
        )

    def __len__(self) -> int:
        return len(self.labels)


def num_batches(split: TokenizedSplit, batch_size: int) -> int:
    """Batches per epoch: the last one may be short (nothing is dropped)."""
    return math.ceil(len(split) / batch_size)


def batch_indices(
    lengths: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0, group_by_length: bool = True
) -> list[np.ndarray]:
    """Row indices of each batch, in order; every row appears exactly once.

    shuffle and group_by_length: shuffle the rows, sort each mega-batch of ~50 batches by length, cut it
    into batches, shuffle the batch order, then move the longest batch first so a batch too big for
    memory fails at the first step, not late in the epoch. shuffle alone: a plain random order.
    No shuffle: longest rows first when grouping (least padding, for evaluation), else file order.
    Deterministic from `seed`; pass a different seed each epoch (e.g. seed + epoch).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size={batch_size!r} is not allowed; expected an integer >= 1")
    lengths = np.asarray(lengths)
    n = len(lengths)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable") if group_by_length else np.arange(n)
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    mega = batch_size * MEGABATCH_BATCHES
    for start in range(0, n, mega):
        chunk = order[start : start + mega]
        order[start : start + mega] = chunk[np.argsort(-lengths[chunk], kind="stable")]
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    batches = [batches[i] for i in rng.permutation(len(batches))]
    if batches:
        longest = int(np.argmax([lengths[b].max() for b in batches]))
        batches[0], batches[longest] = batches[longest], batches[0]
    return batches


def iterate_batches(
    split: TokenizedSplit,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    group_by_length: bool = True,
    pad_token_id: int = 0,
    pin_memory: bool = False,
    rows: np.ndarray | None = None,
) -> Iterator[Batch]:
    """Yield padded Batches covering every row of `split` (or only `rows`) once, in batch_indices' order.

    Each batch is padded to its own longest row (dynamic padding). pin_memory allocates the batch in
    page-locked memory when CUDA is available (ignored otherwise), so Batch.to(cuda) is asynchronous.
    Tensors are fresh per batch: keeping a batch while iterating on is safe.
    """
    pin = pin_memory and _cuda_available()
    subset = np.arange(len(split)) if rows is None else np.asarray(rows, dtype=np.int64)
    for batch in batch_indices(split.lengths[subset], batch_size, shuffle, seed, group_by_length):
        yield collate(split, subset[batch], pad_token_id, pin)


def collate(
    split: TokenizedSplit, rows: np.ndarray, pad_token_id: int = 0, pin_memory: bool = False
) -> Batch:
    """Gather `rows` of `split` into one Batch padded to the longest of them (vectorised numpy)."""
    lengths = split.lengths[rows]
    width = int(lengths.max()) if len(rows) else 0
    input_ids = torch.empty((len(rows), width), dtype=torch.int64, pin_memory=pin_memory)
    attention_mask = torch.empty((len(rows), width), dtype=torch.int64, pin_memory=pin_memory)
    labels = torch.empty(len(rows), dtype=torch.int64, pin_memory=pin_memory)
    # Fill the tensors through numpy views of their own memory: one gather, no extra copies.
    ids, mask = input_ids.numpy(), attention_mask.numpy()
    columns = np.arange(width)
    valid = columns < lengths[:, None]
    ids.fill(pad_token_id)
    ids[valid] = split.token_ids[(split.offsets[rows][:, None] + columns)[valid]]
    mask[...] = valid
    labels.numpy()[...] = split.labels[rows]
    token_type_ids = None
    if split.type_ids is not None:
        token_type_ids = torch.zeros((len(rows), width), dtype=torch.int64, pin_memory=pin_memory)
        token_type_ids.numpy()[valid] = split.type_ids[(split.offsets[rows][:, None] + columns)[valid]]
    padded = bool(len(rows)) and bool((lengths < width).any())
    return Batch(input_ids, attention_mask, labels, padded, token_type_ids)


@cache
def _cuda_available() -> bool:
    return torch.cuda.is_available()
