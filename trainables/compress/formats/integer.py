"""MASE's `integer` format: signed fixed point with `width` bits, `frac_width` after the point."""

import torch


class _FixedPoint(torch.autograd.Function):
    """Fixed-point values forward, the gradient unchanged backward: one autograd node per tensor.

    The round/clamp/scale ops run inside `forward`, where autograd records nothing: the
    straight-through gradient ignores them, so recording them (and clamp's saved input) would be
    pure cost, and one node is cheaper than a `no_grad` block followed by `straight_through`.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float, limit: int) -> torch.Tensor:
        return _fixed_point_values(x, scale, limit)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return grad, None, None


def _fixed_point_values(x: torch.Tensor, scale: float, limit: int) -> torch.Tensor:
    # One fresh tensor, rounded, clamped and scaled in place: four passes, no temporaries.
    q = torch.mul(x, scale).round_().clamp_(-limit, limit - 1)
    # Multiplying by 1/scale is exact and the same value as dividing (scale is a power of two and
    # 1/scale a normal float32 while |frac_width| <= 126), and cheaper than a division.
    return q.mul_(1.0 / scale) if 2.0**-126 <= scale <= 2.0**126 else q.div_(scale)


def fixed_point_quantize(x: torch.Tensor, width: int, frac_width: int) -> torch.Tensor:
    """Quantize to signed fixed point: clamp(round(x * 2^f), -2^(w-1), 2^(w-1) - 1) / 2^f.

    Rounding is half-to-even (torch.round), like MASE. The gradient passes unchanged,
    clamped values included. `frac_width` may be negative or exceed `width` (MASE allows it);
    configs are validated at the edge, not here. Deterministic and stateless (`pure_quantizer`):
    a layer may reuse its result for the same input tensor (trainables.compress.layers.quantized_linear).
    """
    scale = 2.0**frac_width
    limit = 2 ** (width - 1)
    if x.requires_grad and torch.is_grad_enabled():
        return _FixedPoint.apply(x, scale, limit)
    return _fixed_point_values(x, scale, limit)


fixed_point_quantize.pure_quantizer = True  # type: ignore[attr-defined]
