"""MASE's `mxfp` (OCP MXFP8/6/4): blocks of minifloats sharing one 8-bit power-of-two scale.

Each block of `block_size` consecutive elements (see mx_blocks.py) stores an E8M0 scale
X = 2^(floor(log2 amax) - emax), emax being the element type's largest exponent, and elements
in a sign + E exponent + M mantissa minifloat (bias 2^(E-1) - 1, subnormals) as the OCP MX v1.0
spec defines them: E4M3 has no infinities and gives up only the all-ones code to NaN, so it
tops out at 1.75 * 2^8 = 448; E5M2 is IEEE-like (the all-ones exponent is inf/NaN), emax 15,
max 57344; the FP6 (E2M3, E3M2) and FP4 (E2M1) types use every code for numbers (7.5, 28, 6).
MASE's sixth pair, E1M2, is not in the spec and is treated like FP6/FP4 (max 1.75 * 2). Values
beyond the element's largest one are clamped to it; rounding is to the nearest, ties to even.

Where we differ from MASE, deliberately (`mase_exact=True` gives MASE's values):

- Largest element: MASE treats every pair as "finite" with the all-ones exponent an ordinary
  number, so its E4M3 reaches 1.875 * 2^8 = 480 and its E5M2 has emax 16 (the shared scale is
  then one binade lower than the spec's).
- Rounding into the next binade: MASE ORs the rounded mantissa into the exponent field, so a
  mantissa that rounds up to 2^M carries only when the biased exponent is even; with an odd one
  the value drops to the bottom of its own binade (E4M3: a block max of 1.97 * 2^8 * X becomes
  2^8 * X, about half of it).
- Small values: MASE only keeps the binade just below the smallest normal (as subnormals with
  the last mantissa bit truncated) and flushes everything smaller, and 2^-bias itself, to 0; we
  round to the nearest subnormal k * 2^(1 - bias - M). MASE also rounds from a mantissa already
  truncated to 15 bits (a double rounding that can only move exact-tie neighbours).
- Blocks: see mx_blocks.py.
"""

from dataclasses import dataclass

import torch

from trainables.compress.arithmetic.float_grid import as_float32, floor_log2, pow2, round_to_float_grid
from trainables.compress.arithmetic.mx_blocks import MXBlocks
from trainables.compress.formats.mxint import MX_SCALE_BITS
from trainables.compress.ste import straight_through

# The (exponent, mantissa) bit pairs MASE's MXFPMeta accepts.
MXFP_ELEMENT_TYPES = ((4, 3), (5, 2), (2, 3), (3, 2), (2, 1), (1, 2))
_SCALE_BIAS = 2 ** (MX_SCALE_BITS - 1) - 1
_FLOAT32_EXPONENT_BITS = 0x7F800000


@dataclass(frozen=True)
class MXFPElement:
    """One minifloat element type: its exponent/mantissa bits, largest exponent and largest value."""

    exponent_bits: int
    mantissa_bits: int
    emax: int
    max_value: float

    @property
    def bias(self) -> int:
        """Exponent bias 2^(E-1) - 1."""
        return 2 ** (self.exponent_bits - 1) - 1


def mxfp_element(exponent_bits: int, mantissa_bits: int, mase_exact: bool = False) -> MXFPElement:
    """The element type of an (E, M) pair: the OCP spec's, or MASE's "finite" reading of it."""
    bias = 2 ** (exponent_bits - 1) - 1
    all_ones_is_number = mase_exact or (exponent_bits, mantissa_bits) not in ((4, 3), (5, 2))
    if all_ones_is_number:
        emax = 2**exponent_bits - 1 - bias
        return MXFPElement(exponent_bits, mantissa_bits, emax, (2 - 2.0**-mantissa_bits) * 2.0**emax)
    if exponent_bits == 4:
        # E4M3: S.1111.111 is NaN, so the top binade stops one mantissa step short.
        return MXFPElement(4, 3, 8, 1.75 * 2.0**8)
    # E5M2: the all-ones exponent is inf/NaN, as in IEEE 754.
    return MXFPElement(5, 2, 15, 1.75 * 2.0**15)


def mxfp_quantize(
    x: torch.Tensor, exponent_width: int, frac_width: int, block_size: int, mase_exact: bool = False
) -> torch.Tensor:
    """Quantize to MXFP with E`exponent_width`M`frac_width` elements, one 8-bit scale per block.

    Blocks run along the last dimension. The gradient passes straight through (MASE's layer is
    inference-only; this one trains).
    """
    element = mxfp_element(exponent_width, frac_width, mase_exact)
    blocks = MXBlocks(x.shape, block_size, mase_exact)
    with torch.no_grad():
        blocked = blocks.split(as_float32(x))
        if mase_exact:
            q = _mase_mxfp(blocked, element)
        else:
            amax = blocked.abs().amax(dim=-1, keepdim=True)
            # An all-zero block reads floor(log2) = -127 and is clamped; its elements stay zero.
            shared = (floor_log2(amax) - element.emax).clamp_(-_SCALE_BIAS, _SCALE_BIAS)
            scale = pow2(shared)
            q = round_to_float_grid(
                blocked.abs(), element.mantissa_bits, shared + (1 - element.bias), scale * element.max_value
            )
            q = q.copysign_(blocked)
        q = blocks.merge(q).to(x.dtype)
    return straight_through(x, q)


def _mase_mxfp(blocked: torch.Tensor, element: MXFPElement) -> torch.Tensor:
    """MASE's arithmetic (chop/nn/quantizers/mxfp/fake.py and _minifloat_mx/fake.py), vectorised."""
    e_bits, m_bits, bias = element.exponent_bits, element.mantissa_bits, element.bias
    # float32 subnormal inputs are flushed to zero first.
    blocked = blocked.masked_fill((blocked.view(torch.int32) & _FLOAT32_EXPONENT_BITS) == 0, 0.0)
    amax = blocked.abs().amax(dim=-1, keepdim=True)
    # floor(log2 amax) in float, as MASE; an all-zero block's value does not matter.
    log2_amax = torch.where(amax > 0, amax, torch.ones_like(amax)).log2().floor()
    shared = (log2_amax - element.emax).clamp(-_SCALE_BIAS, _SCALE_BIAS + 1)
    scale = torch.exp2(shared)
    value = blocked / scale
    bits = value.abs().view(torch.int32)
    flushed = (bits & _FLOAT32_EXPONENT_BITS) == 0
    exponent = (bits >> 23) - 127
    # The mantissa cut to 15 bits, then rounded to M bits: may give 2^M (no carry yet).
    mantissa = torch.round(((bits & 0x7FFFFF) >> 8).float() / 2 ** (15 - m_bits)).to(torch.int32)
    underflow = exponent < -bias
    overflow = exponent > 2**e_bits - 1 - bias
    field = exponent + bias
    subnormal = (field == 0) & (mantissa != 0)
    mantissa = torch.where(subnormal, (mantissa | (1 << m_bits)) >> 1, mantissa)
    zero = underflow | flushed
    field = torch.where(zero, 0, torch.where(overflow, 2**e_bits - 1, field))
    mantissa = torch.where(zero, 0, torch.where(overflow, 2**m_bits - 1, mantissa))
    # MASE's code word: a mantissa of 2^M is OR-ed into the exponent field's lowest bit.
    code = (field << m_bits) | mantissa
    field, mantissa = (code >> m_bits) & (2**e_bits - 1), code & (2**m_bits - 1)
    is_subnormal = (field == 0) & (mantissa != 0)
    significand = mantissa.float() / 2**m_bits + (~is_subnormal).float()
    magnitude = torch.exp2((field - bias + is_subnormal.int()).float()) * significand
    magnitude = torch.where((field == 0) & (mantissa == 0), 0.0, magnitude)
    return magnitude.copysign(blocked) * scale
