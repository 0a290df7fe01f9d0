"""MASE's `minifloat_denorm` and `minifloat_ieee` formats: 1 sign, E exponent, M = width-E-1 mantissa bits.

Both saturate at their largest value (no inf or NaN codes) and keep exact zeros at zero.

Where we differ from MASE, deliberately:

- We round to the nearest representable value. MASE takes the exponent first and then clamps
  the rounded mantissa, so an input in the top half-step of a binade (and, for the denorm
  format, an exact power of two such as 1.0) goes down to (1 - 2^-M) of the next power of two
  instead of up to it: with width 8 and E 4, MASE's denorm maps 1.0 to 0.875 and its IEEE
  format maps 1.97 to 1.875; ours give 1.0 and 2.0.
- MASE passes |x| <= 1e-8 through unquantized (its `isclose(x, 0)` guard); we quantize every
  value, so tiny inputs become 0 or the nearest subnormal.
"""

import torch

from trainables.compress.arithmetic.float_grid import as_float32, default_exponent_bias, round_to_float_grid
from trainables.compress.ste import straight_through


def exponent_range(exponent_width: int, exponent_bias: int | None) -> tuple[int, int]:
    """(lowest, highest) exponent of an E-bit field: (-bias, 2^E - 1 - bias); bias None -> 2^(E-1) - 1."""
    bias = default_exponent_bias(exponent_width) if exponent_bias is None else exponent_bias
    return -bias, 2**exponent_width - 1 - bias


def minifloat_denorm_quantize(
    x: torch.Tensor, width: int, exponent_width: int, exponent_bias: int | None = None
) -> torch.Tensor:
    """Quantize to MASE's minifloat without a hidden bit: sign * 2^e * k / 2^M, k in [0, 2^M - 1].

    e lies in [-bias, 2^E - 1 - bias]; the largest value is (1 - 2^-M) * 2^(2^E - 1 - bias).
    Needs M = width - exponent_width - 1 >= 1. The gradient passes straight through.
    """
    mantissa_bits = width - exponent_width - 1
    low, high = exponent_range(exponent_width, exponent_bias)
    with torch.no_grad():
        value = as_float32(x)
        # Values in [2^(e-1), 2^e) use the step 2^(e - M): a float grid with M - 1 bits after
        # the leading one, whose exponent floor(log2 |x|) starts at low - 1.
        max_value = (2**mantissa_bits - 1) * 2.0 ** (high - mantissa_bits)
        q = round_to_float_grid(value.abs(), mantissa_bits - 1, low - 1, max_value)
        q = q.copysign_(value).to(x.dtype)
    return straight_through(x, q)


def minifloat_ieee_quantize(
    x: torch.Tensor, width: int, exponent_width: int, exponent_bias: int | None = None
) -> torch.Tensor:
    """Quantize to MASE's IEEE-style minifloat: hidden leading 1 for normals, subnormals, no inf/NaN.

    Normals are sign * 2^e * (1 + k / 2^M) for e in [1 - bias, 2^E - 1 - bias] (the all-ones
    exponent is an ordinary number); the all-zeros exponent holds subnormals k * 2^(1 - bias - M).
    Saturates at (2 - 2^-M) * 2^(2^E - 1 - bias). The gradient passes straight through.
    """
    mantissa_bits = width - exponent_width - 1
    low, high = exponent_range(exponent_width, exponent_bias)
    with torch.no_grad():
        value = as_float32(x)
        max_value = (2 - 2.0**-mantissa_bits) * 2.0**high
        # Subnormals share the step of the smallest normal binade, so clamping the exponent at
        # low + 1 yields both.
        q = round_to_float_grid(value.abs(), mantissa_bits, low + 1, max_value)
        q = q.copysign_(value).to(x.dtype)
    return straight_through(x, q)
