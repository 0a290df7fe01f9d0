"""MASE's `mxint` (OCP MXINT): blocks of integers sharing one 8-bit power-of-two scale.

Each block of `block_size` consecutive elements (see mx_blocks.py) stores an E8M0 scale
X = 2^(floor(log2 amax) - emax) with emax = 0 for integer elements, and `width`-bit two's
complement elements with an implicit scale 2^-(width - 2), so an element is
k * 2^(floor(log2 amax) - (width - 2)). For width 8 this is the spec's MXINT8 (1 63/64 * X at
most); other widths extend it the way MASE's `element_bits` does. Rounding is half-to-even and k
is clamped symmetrically to [-(2^(width-1) - 1), 2^(width-1) - 1]: with the code -2^(width-1)
a negative block max could round to the next power of two, and quantizing again would then
pick a coarser scale; symmetric, quantizing twice changes nothing.

Where we differ from MASE, deliberately (`mase_exact=True` gives MASE's values):

- MASE takes the scale exponent as ceil(log2 amax) (computed with float log2) and the elements as
  k / 2^(width-1) of it. Away from powers of two this is the same grid; when amax is a power of
  two (or within float log2's rounding of one) MASE's grid is twice as fine but cannot hold the
  maximum itself, which saturates to (1 - 2^-(width-1)) * amax (1.0 -> 0.9921875 at width 8).
  The spec represents it exactly; so do we, and quantizing twice changes nothing.
- MASE also uses the code -2^(width-1) (so -amax can land on -2^ceil(log2 amax)).
- Blocks: see mx_blocks.py (MASE's rows share blocks when a row is not a whole number of blocks).
"""

import torch

from trainables.compress.arithmetic.float_grid import (
    FLOAT32_MAX_EXP,
    FLOAT32_MIN_EXP,
    as_float32,
    floor_log2,
    pow2,
)
from trainables.compress.arithmetic.mx_blocks import MXBlocks
from trainables.compress.ste import straight_through

# E8M0: the shared scale is one byte, 2^-127 .. 2^127 (0xFF is NaN in the spec).
MX_SCALE_BITS = 8
_SCALE_BIAS = 2 ** (MX_SCALE_BITS - 1) - 1


def mxint_quantize(x: torch.Tensor, width: int, block_size: int, mase_exact: bool = False) -> torch.Tensor:
    """Quantize to MXINT with `width`-bit elements and one 8-bit scale per `block_size` elements.

    Blocks run along the last dimension. The gradient passes straight through (MASE's layer is
    inference-only; this one trains).
    """
    blocks = MXBlocks(x.shape, block_size, mase_exact)
    limit = 2 ** (width - 1)
    with torch.no_grad():
        blocked = blocks.split(as_float32(x))
        amax = blocked.abs().amax(dim=-1, keepdim=True)
        if mase_exact:
            q = _mase_mxint(blocked, amax, width)
        else:
            # An all-zero block reads floor(log2) = -127; its elements are zero whatever the step.
            shared = floor_log2(amax).clamp_(-_SCALE_BIAS, _SCALE_BIAS)
            # The step, kept where both it and its inverse are normal float32 numbers.
            step = (shared - (width - 2)).clamp_(FLOAT32_MIN_EXP, FLOAT32_MAX_EXP - 1)
            q = blocked.mul(pow2(-step)).round_().clamp_(1 - limit, limit - 1).mul_(pow2(step))
        q = blocks.merge(q).to(x.dtype)
    return straight_through(x, q)


def _mase_mxint(blocked: torch.Tensor, amax: torch.Tensor, width: int) -> torch.Tensor:
    """MASE's arithmetic step by step (chop/nn/quantizers/mxint/fake.py, percentile 1.0)."""
    limit = 2 ** (width - 1)
    scale = amax.clamp(min=torch.finfo(torch.float32).tiny).log2().ceil()
    mantissa = (blocked / torch.exp2(scale) * limit).round().clamp(-limit, limit - 1)
    # MASE stores the scale biased in [0, 255] and decodes it back; in float32 the clamp never acts.
    stored = (scale + _SCALE_BIAS).clamp(0, 2**MX_SCALE_BITS - 1)
    return mantissa / limit * torch.exp2(stored - _SCALE_BIAS)
