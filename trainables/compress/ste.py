"""Straight-through estimator: forward uses the quantized value, backward passes the gradient."""

import torch


class _StraightThrough(torch.autograd.Function):
    """Forward returns `quantized` exactly; backward hands the gradient to `x` unchanged."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, quantized: torch.Tensor) -> torch.Tensor:
        return quantized

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


def straight_through(x: torch.Tensor, quantized: torch.Tensor) -> torch.Tensor:
    """Return `quantized` in the forward pass with the gradient of the identity w.r.t. `x`.

    Every quantizer ends with this so that the gradient passes unchanged, including
    for values that were clamped (MASE's `my_round`/`my_clamp` behave the same way).
    The forward value is `quantized` bit for bit: the textbook `x + (quantized - x).detach()`
    is not, because float rounding loses `quantized` when |x| is much larger (a saturated
    1e30 came out as 0). It is also cheaper: no extra elementwise passes.
    """
    if not (torch.is_grad_enabled() and x.requires_grad):
        return quantized
    return _StraightThrough.apply(x, quantized)
