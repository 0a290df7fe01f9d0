"""MASE's `log` format: sign * 2^e, e an unsigned (width - 1)-bit field minus a bias. No zero.

Rounding is to the nearest power of two in the log domain (round(log2 |x|)), as in MASE, so the
boundary between 2^e and 2^(e+1) is 2^(e + 0.5). Zero maps to +2^(-bias), the smallest magnitude.

Where we differ from MASE, deliberately: MASE adds 0.1 * 2^-bias to x before taking the sign
and the logarithm, so negative inputs smaller than that come out positive; we use x's own sign
(zero counts as positive, as in MASE).
"""

import torch

from trainables.compress.arithmetic.float_grid import as_float32, default_exponent_bias, round_to_log_grid
from trainables.compress.ste import straight_through


def log_exponent_range(width: int, exponent_bias: int | None) -> tuple[int, int]:
    """(lowest, highest) exponent of the log format: (-bias, 2^(width-1) - 1 - bias)."""
    exponent_bits = width - 1
    bias = default_exponent_bias(exponent_bits) if exponent_bias is None else exponent_bias
    return -bias, 2**exponent_bits - 1 - bias


def log_quantize(x: torch.Tensor, width: int, exponent_bias: int | None = None) -> torch.Tensor:
    """Quantize to sign * 2^clamp(round(log2 |x|), -bias, 2^(width-1) - 1 - bias).

    `width` counts the sign bit; bias None means 2^(width-2) - 1. The gradient passes straight
    through (MASE's backward is the identity too).
    """
    low, high = log_exponent_range(width, exponent_bias)
    with torch.no_grad():
        value = as_float32(x)
        q = round_to_log_grid(value.abs(), low, high)
        # + 0.0 turns -0.0 into +0.0, so that zero of either sign maps to +2^-bias.
        q = q.copysign_(value + 0.0).to(x.dtype)
    return straight_through(x, q)
