"""MASE's `block_log`: the `log` format (sign * 2^e, no zero) with an exponent bias per block.

Each block stores an unsigned `exponent_bias_width`-bit bias chosen so that the block max is
within range: bias = 2^(width-1) - 1 - ceil(log2 max), clamped to [0, 2^bias_width - 1]. Elements
are then `log` with that bias (see log.py): round(log2 |x|) clamped to [-bias, 2^(width-1) - 1 - bias].
This follows MASE, except for the sign of tiny negative values noted in log.py, and that an
all-zero block is given bias as if its max were 1 (MASE borrows the smallest non-zero block max).
"""

import torch

from trainables.compress.arithmetic.blocking import BlockSize, block_layout
from trainables.compress.arithmetic.float_grid import as_float32, ceil_log2, round_to_log_grid
from trainables.compress.ste import straight_through


def block_log_quantize(
    x: torch.Tensor,
    width: int,
    exponent_bias_width: int,
    block_size: BlockSize = 16,
    skip_first_dim: bool = False,
) -> torch.Tensor:
    """Quantize to block log; `width` = 1 sign + (width - 1) exponent bits per element.

    Set `skip_first_dim` for activations so that each batch item has its own blocks. The
    gradient passes straight through.
    """
    top = 2 ** (width - 1) - 1
    layout = block_layout(x.shape, block_size, skip_first_dim)
    with torch.no_grad():
        blocked = layout.split(as_float32(x))
        block_max = layout.block_max(blocked)
        # An all-zero block is treated as if its max were 1 (MASE's fallback when all blocks are zero).
        max_exponent = ceil_log2(torch.where(block_max > 0, block_max, 1.0))
        bias = (top - max_exponent).clamp_(0, 2**exponent_bias_width - 1)
        q = round_to_log_grid(blocked.abs(), -bias, top - bias)
        q = layout.merge(q.copysign_(blocked + 0.0)).to(x.dtype)
    return straight_through(x, q)
