"""MASE's own arithmetic for the formats where this library deliberately differs (`mase_exact`).

Each function returns the values MASE's quantizer of the same name returns (DeepWok/mase,
`src/chop/nn/quantizers/`), computed the way MASE computes them: float `log2` with its `+1e-9`
guards, `torch.isclose(x, 0)` pass-through, mantissa clamps, MASE's block bias rules. Blocks use
`blocking.py`, which already follows MASE's block membership. They exist so that numbers can be
compared with classmates who run MASE; docs/formats.md says what differs and why ours is the
default. The gradient is straight-through, also where MASE's backward crashes (block_minifloat).
"""

import torch

from trainables.compress.arithmetic.blocking import BlockSize, block_layout
from trainables.compress.arithmetic.float_grid import as_float32, default_exponent_bias
from trainables.compress.ste import straight_through

Bias = int | torch.Tensor | None
# MASE's guards: added before log2/sign, and torch.isclose(x, 0)'s default atol.
_EPS = 1e-9
_CLOSE_TO_ZERO = 1e-8


def _passes_through(x: torch.Tensor) -> torch.Tensor:
    """MASE's `torch.isclose(x, 0)`: |x| <= 1e-8 is returned unquantized."""
    return x.abs() <= _CLOSE_TO_ZERO


def mase_minifloat_denorm_values(
    x: torch.Tensor, width: int, exponent_width: int, exponent_bias: Bias = None
):
    """MASE's `minifloat_denorm`: exponent ceil(log2 |x|), mantissa k / 2^M clamped to 2^M - 1."""
    mantissa_bits = width - exponent_width - 1
    bias = default_exponent_bias(exponent_width) if exponent_bias is None else exponent_bias
    value = x.abs()
    exponent = torch.ceil(torch.log2(value + _EPS))
    exponent = torch.clamp(exponent, -bias, 2**exponent_width - 1 - bias)
    scale = torch.exp2(exponent)
    mantissa = torch.clamp(torch.round(value / scale * 2**mantissa_bits), 0, 2**mantissa_bits - 1)
    q = torch.sign(x + _EPS) * scale * mantissa / 2**mantissa_bits
    return torch.where(_passes_through(x), x, q)


def mase_minifloat_ieee_values(x: torch.Tensor, width: int, exponent_width: int, exponent_bias: Bias = None):
    """MASE's `minifloat_ieee`: exponent floor(log2 |x|) clamped first, so no rounding into the next binade."""
    mantissa_bits = width - exponent_width - 1
    shift = 2**mantissa_bits
    bias = default_exponent_bias(exponent_width) if exponent_bias is None else exponent_bias
    bias_t = torch.as_tensor(bias, dtype=x.dtype, device=x.device)
    value = x.abs()
    exponent = torch.floor(torch.log2(value + _EPS))
    exponent = torch.clamp(exponent, -bias_t, 2**exponent_width - 1 - bias_t)
    mantissa = value / torch.exp2(exponent)
    normal = ~torch.isclose(exponent, -bias_t)
    normal_mantissa = 1.0 + torch.clamp(torch.round(mantissa * shift - shift), 0, shift - 1) / shift
    subnormal_mantissa = torch.clamp(torch.round(mantissa * shift / 2), 0, shift - 1) / shift * 2
    q = torch.sign(x + _EPS) * torch.exp2(exponent) * torch.where(normal, normal_mantissa, subnormal_mantissa)
    return torch.where(_passes_through(x), x, q)


def mase_log_values(x: torch.Tensor, width: int, exponent_bias: Bias = None):
    """MASE's `log`: sign and log2 both taken of x + 0.1 * 2^-bias, so tiny negatives turn positive."""
    exponent_bits = width - 1
    bias = default_exponent_bias(exponent_bits) if exponent_bias is None else exponent_bias
    low = -torch.as_tensor(bias, dtype=x.dtype, device=x.device)
    offset = torch.exp2(low) * 0.1
    exponent = torch.clamp(torch.round(torch.log2(x.abs() + offset)), low, 2**exponent_bits - 1 + low)
    return torch.sign(x + offset) * torch.exp2(exponent)


def _block_max_mase(layout, blocked: torch.Tensor) -> torch.Tensor:
    """Per-block max; an all-zero block borrows the smallest non-zero block max (all zero: 1)."""
    block_max = layout.block_max(blocked)
    nonzero = block_max[block_max != 0]
    if nonzero.numel() == 0:
        return torch.ones_like(block_max)
    return torch.where(block_max == 0, nonzero.min(), block_max)


def mase_block_fp_values(
    x: torch.Tensor,
    width: int,
    exponent_width: int,
    exponent_bias: int | None = None,
    block_size: BlockSize = 16,
    skip_first_dim: bool = False,
):
    """MASE's `block_fp`: shared exponent ceil(log2 block max), so a power-of-two max saturates."""
    mantissa_bits = width - 1
    bias = default_exponent_bias(exponent_width) if exponent_bias is None else exponent_bias
    layout = block_layout(x.shape, block_size, skip_first_dim)
    blocked = layout.split(x)
    exponent = torch.ceil(torch.log2(_block_max_mase(layout, blocked)))
    scale = torch.exp2(torch.clamp(exponent, -bias, 2**exponent_width - 1 - bias))
    mantissa = torch.clamp(
        torch.round((blocked.abs() + _EPS) / scale * 2**mantissa_bits), 0, 2**mantissa_bits - 1
    )
    q = layout.merge(torch.sign(blocked + _EPS) * scale * mantissa / 2**mantissa_bits)
    return torch.where(_passes_through(x), x, q)


def mase_block_minifloat_values(
    x: torch.Tensor,
    width: int,
    exponent_width: int,
    exponent_bias_width: int,
    block_size: BlockSize = 16,
    skip_first_dim: bool = False,
):
    """MASE's `block_minifloat`: per-block bias floor(log2 block max) clamped to [0, 2^bias_width - 1]."""
    layout = block_layout(x.shape, block_size, skip_first_dim)
    blocked = layout.split(x)
    bias = torch.clamp(
        torch.floor(torch.log2(_block_max_mase(layout, blocked))), 0, 2**exponent_bias_width - 1
    )
    return layout.merge(mase_minifloat_ieee_values(blocked, width, exponent_width, bias))


def mase_block_log_values(
    x: torch.Tensor,
    width: int,
    exponent_bias_width: int,
    block_size: BlockSize = 16,
    skip_first_dim: bool = False,
):
    """MASE's `block_log`: per-block bias 2^(width-1) - 1 - ceil(log2 block max), then MASE's `log`."""
    layout = block_layout(x.shape, block_size, skip_first_dim)
    blocked = layout.split(x)
    top = torch.ceil(torch.log2(_block_max_mase(layout, blocked)))
    bias = torch.clamp(2 ** (width - 1) - 1 - top, 0, 2**exponent_bias_width - 1)
    return layout.merge(mase_log_values(blocked, width, bias))


def _with_ste(values_fn):
    """Wrap a `*_values` function: compute in float32 without grad, return with a straight-through gradient."""

    def quantize(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        with torch.no_grad():
            q = values_fn(as_float32(x), *args, **kwargs).to(x.dtype)
        return straight_through(x, q)

    quantize.__name__ = values_fn.__name__.removesuffix("_values") + "_quantize"
    quantize.__doc__ = values_fn.__doc__
    return quantize


mase_minifloat_denorm_quantize = _with_ste(mase_minifloat_denorm_values)
mase_minifloat_ieee_quantize = _with_ste(mase_minifloat_ieee_values)
mase_log_quantize = _with_ste(mase_log_values)
mase_block_fp_quantize = _with_ste(mase_block_fp_values)
mase_block_minifloat_quantize = _with_ste(mase_block_minifloat_values)
mase_block_log_quantize = _with_ste(mase_block_log_values)


def mase_clip_in_place(weight: torch.Tensor) -> torch.Tensor:
    """MASE's BinaryConnect path without binary training: clamp the stored weight to [-1, 1] in place.

    MASE writes `weight.data.clamp_(-1, 1)` inside forward, so the parameter itself stays in
    [-1, 1] through training; the weight is then used as is (identity gradient).
    """
    weight.data.clamp_(-1, 1)
    return weight
