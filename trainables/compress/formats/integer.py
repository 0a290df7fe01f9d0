"""MASE's `integer` format: signed fixed point with `width` bits, `frac_width` after the point."""

import torch

from trainables.compress.ste import straight_through


def fixed_point_quantize(x: torch.Tensor, width: int, frac_width: int) -> torch.Tensor:
    """Quantize to signed fixed point: clamp(round(x * 2^f), -2^(w-1), 2^(w-1) - 1) / 2^f.

    Rounding is half-to-even (torch.round), like MASE. The gradient passes unchanged,
    clamped values included. `frac_width` may be negative or exceed `width` (MASE allows it);
    configs are validated at the edge, not here.
    """
    scale = 2.0**frac_width
    limit = 2 ** (width - 1)
    # One fresh tensor, rounded, clamped and scaled in place, outside autograd: the straight-through
    # gradient ignores these ops, so recording them (and clamp's saved input) would be pure cost.
    with torch.no_grad():
        q = torch.mul(x, scale).round_().clamp_(-limit, limit - 1).div_(scale)
    return straight_through(x, q)
