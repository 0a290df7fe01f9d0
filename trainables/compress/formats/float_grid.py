"""Exact float32 exponent arithmetic shared by the floating-point and log formats.

Every float-like format (minifloat, log, block_fp, block_minifloat, block_log) is simulated in
float32. Exponents are read from the IEEE bit pattern rather than from `log2`, because `log2`
is both slower and, near powers of two, not exact. Exponents outside float32's normal range
[-126, 127] are cut to it: no float32 input needs a finer or coarser step than that.
"""

import torch

FLOAT32_MIN_EXP = -126
FLOAT32_MAX_EXP = 127
_MANTISSA_BITS = 23
_MANTISSA_MASK = (1 << _MANTISSA_BITS) - 1
# Mantissa field of float32(sqrt 2) = 0x3FB504F3; float32(sqrt 2) < sqrt 2, so a mantissa field
# above this is exactly the set of significands >= sqrt 2, i.e. log2 fraction > 0.5.
_SQRT2_MANTISSA = 0x3504F3

_FLOAT32_MAX = torch.finfo(torch.float32).max

Bound = int | torch.Tensor


def default_exponent_bias(exponent_width: int) -> int:
    """MASE's default bias for an exponent field of `exponent_width` bits: 2^(E-1) - 1."""
    return 2 ** (exponent_width - 1) - 1


def as_float32(x: torch.Tensor) -> torch.Tensor:
    """`x` as float32 (a no-op for float32); quantizers compute in float32 and cast back."""
    return x if x.dtype == torch.float32 else x.float()


def floor_log2(magnitude: torch.Tensor) -> torch.Tensor:
    """floor(log2 m) as int32 for non-negative float32 `m`; zero and subnormals give -127."""
    return ((magnitude.view(torch.int32) >> _MANTISSA_BITS) & 0xFF) - 127


def ceil_log2(magnitude: torch.Tensor) -> torch.Tensor:
    """ceil(log2 m) as int32 for positive normal float32 `m`, exact at powers of two."""
    bits = magnitude.view(torch.int32)
    not_power_of_two = (bits & _MANTISSA_MASK) != 0
    return ((bits >> _MANTISSA_BITS) & 0xFF) - 127 + not_power_of_two.to(torch.int32)


def round_log2(magnitude: torch.Tensor) -> torch.Tensor:
    """round(log2 m) as int32 for non-negative float32 `m` (never a tie: sqrt 2 is irrational)."""
    bits = magnitude.view(torch.int32)
    round_up = (bits & _MANTISSA_MASK) > _SQRT2_MANTISSA
    return ((bits >> _MANTISSA_BITS) & 0xFF) - 127 + round_up.to(torch.int32)


def pow2(exponent: torch.Tensor) -> torch.Tensor:
    """2^e as float32 for an int32 tensor `e`, cut to float32's normal range [-126, 127]."""
    exponent = exponent.clamp(FLOAT32_MIN_EXP, FLOAT32_MAX_EXP)
    return ((exponent + 127) << _MANTISSA_BITS).view(torch.float32)


def round_to_float_grid(
    magnitude: torch.Tensor, mantissa_bits: int, exp_low: Bound, exp_high: Bound, max_value: Bound | float
) -> torch.Tensor:
    """Round non-negative float32 `m` to the nearest multiple of 2^(e - mantissa_bits), capped.

    e = floor(log2 m) clamped to [exp_low, exp_high]: inside the range this is a float grid
    with `mantissa_bits` bits after the leading one; below it the step stays at that of
    `exp_low` (subnormals); above it the step stays at that of `exp_high`. The result is at most
    `max_value`. Rounding is half-to-even. Bounds may be tensors broadcasting against `m`
    (per-block ranges).
    """
    exponent = _clamp(floor_log2(magnitude), exp_low, exp_high) - mantissa_bits
    rounded = torch.round(magnitude * pow2(-exponent)) * pow2(exponent)
    if isinstance(max_value, torch.Tensor):
        return torch.minimum(rounded, max_value)
    # A cap beyond float32's range cannot bind (and torch refuses to convert it).
    return rounded.clamp_(max=min(max_value, _FLOAT32_MAX))


def round_to_log_grid(magnitude: torch.Tensor, exp_low: Bound, exp_high: Bound) -> torch.Tensor:
    """2^clamp(round(log2 m), exp_low, exp_high): nearest power of two in the log domain; 0 -> 2^exp_low."""
    return pow2(_clamp(round_log2(magnitude), exp_low, exp_high))


def _clamp(exponent: torch.Tensor, low: Bound, high: Bound) -> torch.Tensor:
    # torch.clamp takes two numbers or two tensors, not one of each.
    if isinstance(low, torch.Tensor) != isinstance(high, torch.Tensor):
        like = {"dtype": exponent.dtype, "device": exponent.device}
        low, high = torch.as_tensor(low, **like), torch.as_tensor(high, **like)
    return exponent.clamp(low, high)
