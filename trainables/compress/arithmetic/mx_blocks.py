"""The blocks of the MX formats: `block_size` consecutive elements along the last dimension.

MASE's `mxint`/`mxfp` quantizers block along one dimension (`block_dim`: -1 for activations, 1
for a weight, 0 for a bias, i.e. the last dimension of each) and share one power-of-two scale
per block, as the OCP Microscaling (MX) v1.0 spec does. The last dimension is zero-padded to
whole blocks, which changes no block's largest magnitude.

MASE instead flattens the tensor and cuts it every `block_size` elements, asserting that the
element count is a multiple: a row whose length is not a multiple then shares blocks with the
next row, and a tensor whose size is not a multiple crashes. `mase_exact` reproduces the former
(the padded tail stands in for the crash).
"""

import math

import torch
import torch.nn.functional as F


class MXBlocks:
    """A tensor of `shape` viewed as (..., blocks, block_size); `split` then `merge` round-trips."""

    def __init__(
        self, shape: torch.Size | tuple[int, ...], block_size: int, mase_exact: bool = False
    ) -> None:
        self.shape = tuple(shape)
        self.block_size = block_size
        self.flatten = mase_exact or len(self.shape) == 0
        length = math.prod(self.shape) if self.flatten else self.shape[-1]
        self.blocks_per_row = math.ceil(length / block_size) if length else 0
        self.padding = self.blocks_per_row * block_size - length

    @property
    def num_blocks(self) -> int:
        """Blocks stored for the tensor (each holds one shared scale), padded ones included."""
        if self.flatten:
            return self.blocks_per_row
        return math.prod(self.shape[:-1]) * self.blocks_per_row

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """Pad `x` and view it as (..., blocks, block_size); reduce over dim -1 for per-block values."""
        if self.flatten:
            x = x.reshape(-1)
        if self.padding:
            x = F.pad(x, (0, self.padding))
        return x.reshape(*x.shape[:-1], self.blocks_per_row, self.block_size)

    def merge(self, blocked: torch.Tensor) -> torch.Tensor:
        """Undo `split`: back to `shape`, padding dropped."""
        flat = blocked.reshape(*blocked.shape[:-2], -1)
        if self.padding:
            flat = flat[..., : flat.shape[-1] - self.padding]
        return flat.reshape(self.shape)
