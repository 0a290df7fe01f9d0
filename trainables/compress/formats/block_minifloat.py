"""MASE's `block_minifloat` (Fox et al., ICLR 2021): an IEEE-style minifloat whose exponent bias is per block.

Each block stores an unsigned `exponent_bias_width`-bit bias chosen from the block max so that
the max falls in the format's top binade: bias = 2^E - 1 - floor(log2 max), clamped to
[0, 2^bias_width - 1]. Elements are then `minifloat_ieee` with that bias (see minifloat.py):
E exponent bits, M = width - E - 1 mantissa bits, subnormals, saturation at the block's largest
value. Blocks follow `blocking.py`.

Where we differ from MASE, deliberately:

- MASE sets the bias to floor(log2 max), which moves the range the wrong way: a block with max
  2^10 saturates near 2^(2^E - 11), and every block with max < 1 gets bias 0 and falls onto the
  coarse subnormal grid (typical weights become all zeros). We align the range with the block
  max, as MASE's own block_log does.
- MASE's backward has the wrong signature (it declares the forward's arguments), so its layer
  cannot be trained; ours passes the gradient straight through.
- The block max is cut to the largest value of its binade instead of rounding up into the next
  binade, which would change the block's bias; this keeps quantization idempotent.
- MASE passes |x| <= 1e-8 through unquantized (via minifloat_ieee); we quantize every element.
"""

import torch

from trainables.compress.arithmetic.blocking import BlockSize, block_layout
from trainables.compress.arithmetic.float_grid import (
    as_float32,
    floor_log2,
    pow2,
    round_to_float_grid,
)
from trainables.compress.ste import straight_through


def block_minifloat_quantize(
    x: torch.Tensor,
    width: int,
    exponent_width: int,
    exponent_bias_width: int,
    block_size: BlockSize = 16,
    skip_first_dim: bool = False,
) -> torch.Tensor:
    """Quantize to block minifloat: per-block bias from the block max, then IEEE minifloat inside.

    Set `skip_first_dim` for activations so that each batch item has its own blocks. The
    gradient passes straight through.
    """
    mantissa_bits = width - exponent_width - 1
    top = 2**exponent_width - 1
    layout = block_layout(x.shape, block_size, skip_first_dim)
    with torch.no_grad():
        blocked = layout.split(as_float32(x))
        # An all-zero block reads as floor(log2) = -127 and gets the largest bias; harmless.
        bias = (top - floor_log2(layout.block_max(blocked))).clamp_(0, 2**exponent_bias_width - 1)
        max_value = pow2(top - bias) * (2 - 2.0**-mantissa_bits)
        q = round_to_float_grid(blocked.abs(), mantissa_bits, 1 - bias, max_value)
        q = layout.merge(q.copysign_(blocked)).to(x.dtype)
    return straight_through(x, q)
