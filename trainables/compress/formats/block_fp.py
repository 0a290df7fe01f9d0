"""MASE's `block_fp` (Microsoft floating point, MSFP): one exponent shared by each block.

Each element is sign * k * 2^(e - M) with M = width - 1 mantissa bits, k in [0, 2^M - 1], and e
the block's shared exponent: the smallest e with block max < 2^e (i.e. floor(log2 max) + 1),
clamped to the E-bit exponent range [-bias, 2^E - 1 - bias]. Blocks follow `blocking.py`.

Where we differ from MASE, deliberately:

- MASE takes e = ceil(log2 max), which is one less when the block max is an exact power of two;
  that max then needs mantissa 1.0, which does not exist, so MASE saturates it to (1 - 2^-M) * max
  and quantizing twice can change the result. Ours represents such a max exactly and is idempotent.
- MASE passes |x| <= 1e-8 through unquantized; we quantize every element.
- An all-zero block: MASE borrows the smallest non-zero block max; ours simply gives zeros.
"""

import torch

from trainables.compress.arithmetic.blocking import BlockSize, block_layout
from trainables.compress.arithmetic.float_grid import (
    FLOAT32_MAX_EXP,
    FLOAT32_MIN_EXP,
    as_float32,
    floor_log2,
    pow2,
)
from trainables.compress.formats.minifloat import exponent_range
from trainables.compress.ste import straight_through


def block_fp_quantize(
    x: torch.Tensor,
    width: int,
    exponent_width: int,
    exponent_bias: int | None = None,
    block_size: BlockSize = 16,
    skip_first_dim: bool = False,
) -> torch.Tensor:
    """Quantize to block floating point; `width` = 1 sign + (width - 1) mantissa bits per element.

    The shared exponent takes `exponent_width` bits per block (bias None -> 2^(E-1) - 1). Set
    `skip_first_dim` for activations so that each batch item has its own blocks. The gradient
    passes straight through.
    """
    mantissa_bits = width - 1
    low, high = exponent_range(exponent_width, exponent_bias)
    layout = block_layout(x.shape, block_size, skip_first_dim)
    with torch.no_grad():
        blocked = layout.split(as_float32(x))
        # floor(log2 max) + 1: the block max lies in [2^(e-1), 2^e). An all-zero block gets -126,
        # clamped into range; its elements are zero whatever the step. The step is then kept where
        # both it and its inverse are normal float32 numbers.
        shared = (floor_log2(layout.block_max(blocked)) + 1).clamp(low, high) - mantissa_bits
        shared = shared.clamp_(FLOAT32_MIN_EXP, FLOAT32_MAX_EXP - 1)
        steps = blocked.abs().mul_(pow2(-shared)).round_().clamp_(max=2**mantissa_bits - 1)
        q = layout.merge(steps.mul_(pow2(shared)).copysign_(blocked)).to(x.dtype)
    return straight_through(x, q)
