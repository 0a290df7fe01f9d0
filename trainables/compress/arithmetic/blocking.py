"""MASE's blocking rule for the block formats, for tensors of any rank, without fold/unfold.

`block_size` is right-aligned to the tensor's shape: `[16]` on a (512, 128) weight means blocks
of 512 x 16, `[1, 16]` means one block per 16 consecutive entries of a row. A missing leading
entry, or -1, or an entry larger than the dimension, means the whole dimension. With
`skip_first_dim` (activations: MASE's `data_in_skip_first_dim`, default true) dimension 0 is
the batch and every batch item is blocked on its own. Dimensions are zero-padded to a multiple
of the block, which does not change any block's largest magnitude.

MASE blocks only 1-D, 2-D and 3-D tensors; this works for any rank.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

BlockSize = int | Sequence[int]


@dataclass(frozen=True)
class BlockLayout:
    """How a tensor of `shape` splits into blocks of `block` (one entry per dimension)."""

    shape: tuple[int, ...]
    block: tuple[int, ...]

    @property
    def counts(self) -> tuple[int, ...]:
        """Number of blocks along each dimension."""
        return tuple(math.ceil(size / block) for size, block in zip(self.shape, self.block, strict=True))

    @property
    def padded_shape(self) -> tuple[int, ...]:
        """`shape` rounded up to whole blocks."""
        return tuple(count * block for count, block in zip(self.counts, self.block, strict=True))

    @property
    def num_blocks(self) -> int:
        """Total number of blocks, partly padded ones included (each stores a shared exponent)."""
        return math.prod(self.counts)

    @property
    def block_dims(self) -> tuple[int, ...]:
        """The within-block dimensions of `split`'s result: reduce over these for per-block values."""
        return tuple(range(1, 2 * len(self.shape), 2))

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """Pad `x` and view it as (n0, b0, n1, b1, ...): block counts interleaved with block sizes."""
        # F.pad lists (before, after) pairs from the last dimension backwards.
        padding = []
        for size, full in zip(self.shape[::-1], self.padded_shape[::-1], strict=True):
            padding += [0, full - size]
        if any(padding):
            x = F.pad(x, padding)
        return x.reshape([n for pair in zip(self.counts, self.block, strict=True) for n in pair])

    def merge(self, blocked: torch.Tensor) -> torch.Tensor:
        """Undo `split`: back to `shape`, padding dropped."""
        padded = blocked.reshape(self.padded_shape)
        if padded.shape != self.shape:
            padded = padded[tuple(slice(0, size) for size in self.shape)]
        return padded

    def block_max(self, blocked: torch.Tensor) -> torch.Tensor:
        """Largest magnitude of each block of a `split` tensor, keeping dims so that it broadcasts."""
        return blocked.abs().amax(dim=self.block_dims, keepdim=True)


def block_layout(shape: Sequence[int], block_size: BlockSize, skip_first_dim: bool = False) -> BlockLayout:
    """Infer the per-dimension block of a tensor of `shape`, MASE style (see the module docstring).

    A 1-D tensor has no batch dimension to skip, so `skip_first_dim` leaves it blocked whole.
    """
    shape = tuple(int(size) for size in shape)
    sizes = [block_size] if isinstance(block_size, int) else [int(size) for size in block_size]
    skip = skip_first_dim and len(shape) > 1
    blocked_shape = shape[1:] if skip else shape
    ndim = len(blocked_shape)
    aligned = sizes[-ndim:] if len(sizes) >= ndim else [-1] * (ndim - len(sizes)) + sizes
    if ndim == 0:
        aligned = []
    block = [
        # max(..., 1): an empty dimension still needs a non-zero block to divide by.
        max(1, dim if size == -1 or size > dim else size)
        for size, dim in zip(aligned, blocked_shape, strict=True)
    ]
    return BlockLayout(shape, tuple([1, *block] if skip else block))
