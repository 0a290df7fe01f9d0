"""Exact float32 exponent arithmetic shared by the floating-point and log formats.

Every float-like format (minifloat, log, block_fp, block_minifloat, block_log) is simulated in
float32. Exponents are read from the IEEE bit pattern rather than from `log2`: that is exact near
powers of two, where `log2` is not, and on CPU several times faster. Integer tricks replace
comparisons too (a carry into the exponent field does the rounding), because boolean tensors and
`torch.where` are the slowest elementwise ops there. Exponents are cut to float32's normal range
[-126, 127]: no float32 input needs a finer or coarser step than that.
"""

import torch

FLOAT32_MIN_EXP = -126
FLOAT32_MAX_EXP = 127
_BIAS = 127
_MANTISSA_BITS = 23
_MANTISSA_MASK = (1 << _MANTISSA_BITS) - 1
# Mantissa field of float32(sqrt 2) = 0x3FB504F3. float32(sqrt 2) < sqrt 2, so significands with a
# larger field are exactly those above sqrt 2, i.e. with log2 fraction > 0.5.
_SQRT2_MANTISSA = 0x3504F3
# Biased exponent fields of float32's normal numbers; 2^e for a field outside would be 0 or inf.
_MIN_FIELD, _MAX_FIELD = 1, 254

Bound = int | torch.Tensor


def default_exponent_bias(exponent_width: int) -> int:
    """MASE's default bias for an exponent field of `exponent_width` bits: 2^(E-1) - 1."""
    return 2 ** (exponent_width - 1) - 1


def as_float32(x: torch.Tensor) -> torch.Tensor:
    """`x` as float32 (a no-op for float32); quantizers compute in float32 and cast back."""
    return x if x.dtype == torch.float32 else x.float()


def floor_log2(magnitude: torch.Tensor) -> torch.Tensor:
    """floor(log2 m) as int32 for non-negative float32 `m`; zero and subnormals give -127."""
    return (magnitude.view(torch.int32) >> _MANTISSA_BITS) - _BIAS


def ceil_log2(magnitude: torch.Tensor) -> torch.Tensor:
    """ceil(log2 m) as int32 for non-negative float32 `m`, exact at powers of two; zero gives -127."""
    # A non-zero mantissa carries into the exponent field.
    return ((magnitude.view(torch.int32) + _MANTISSA_MASK) >> _MANTISSA_BITS) - _BIAS


def round_log2(magnitude: torch.Tensor) -> torch.Tensor:
    """round(log2 m) as int32 for non-negative float32 `m` (never a tie: sqrt 2 is irrational)."""
    return _round_log2_field(magnitude) - _BIAS


def pow2(exponent: torch.Tensor) -> torch.Tensor:
    """2^e as float32 for an int32 tensor `e`, cut to float32's normal range [-126, 127]."""
    return _from_field(exponent + _BIAS)


def round_to_float_grid(
    magnitude: torch.Tensor, mantissa_bits: int, exp_low: Bound, max_value: float | torch.Tensor
) -> torch.Tensor:
    """Round non-negative float32 `m` to the nearest multiple of 2^(e - mantissa_bits), capped at max_value.

    e = max(floor(log2 m), exp_low): a float grid with `mantissa_bits` bits after the leading one;
    below `exp_low` the step stays at that of `exp_low` (subnormals). `max_value` must be a grid
    value whose exponent is the top of the format, so capping first also caps the exponent.
    Rounding is half-to-even. `exp_low` and `max_value` may be tensors broadcasting against `m`
    (per-block ranges). Overwrites and returns `magnitude`.
    """
    if isinstance(max_value, torch.Tensor):
        magnitude = torch.minimum(magnitude, max_value, out=magnitude)
    else:
        magnitude = magnitude.clamp_(max=min(max_value, torch.finfo(torch.float32).max))
    step_field = (magnitude.view(torch.int32) >> _MANTISSA_BITS) - mantissa_bits
    if isinstance(exp_low, torch.Tensor):
        lowest = (exp_low + (_BIAS - mantissa_bits)).clamp_(_MIN_FIELD, _MAX_FIELD - 1)
        step_field = torch.maximum(step_field, lowest, out=step_field).clamp_(max=_MAX_FIELD - 1)
    else:
        lowest = min(max(exp_low + _BIAS - mantissa_bits, _MIN_FIELD), _MAX_FIELD - 1)
        step_field = step_field.clamp_(lowest, _MAX_FIELD - 1)
    step_bits = step_field.bitwise_left_shift_(_MANTISSA_BITS)
    # 1 / step: exponent field 254 - f, i.e. 2^-(f - 127); the clamp above keeps it a normal number.
    inverse = ((_MAX_FIELD << _MANTISSA_BITS) - step_bits).view(torch.float32)
    return magnitude.mul_(inverse).round_().mul_(step_bits.view(torch.float32))


def round_to_log_grid(magnitude: torch.Tensor, exp_low: Bound, exp_high: Bound) -> torch.Tensor:
    """2^clamp(round(log2 m), exp_low, exp_high): nearest power of two in the log domain; 0 -> 2^exp_low."""
    field = _round_log2_field(magnitude)
    if isinstance(exp_low, torch.Tensor) or isinstance(exp_high, torch.Tensor):
        # maximum + minimum: clamp with tensor bounds is several times slower on CPU.
        field = torch.maximum(field, torch.as_tensor(exp_low + _BIAS, device=field.device), out=field)
        field = torch.minimum(field, torch.as_tensor(exp_high + _BIAS, device=field.device), out=field)
    else:
        field = field.clamp_(exp_low + _BIAS, exp_high + _BIAS)
    return _from_field(field)


def _round_log2_field(magnitude: torch.Tensor) -> torch.Tensor:
    # A mantissa above sqrt 2's carries into the exponent field.
    return (magnitude.view(torch.int32) + (_MANTISSA_MASK - _SQRT2_MANTISSA)) >> _MANTISSA_BITS


def _from_field(field: torch.Tensor) -> torch.Tensor:
    """The float32 power of two with biased exponent `field` (int32), cut to the normal range."""
    return (field.clamp(_MIN_FIELD, _MAX_FIELD) << _MANTISSA_BITS).view(torch.float32)
