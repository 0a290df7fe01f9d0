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
    q = torch.clamp(torch.round(x * scale), -limit, limit - 1) / scale
    return straight_through(x, q)
