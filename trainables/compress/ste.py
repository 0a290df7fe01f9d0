"""Straight-through estimator: forward uses the quantized value, backward passes the gradient."""

import torch


def straight_through(x: torch.Tensor, quantized: torch.Tensor) -> torch.Tensor:
    """Return `quantized` in the forward pass with the gradient of the identity w.r.t. `x`.

    Every quantizer ends with this so that the gradient passes unchanged, including
    for values that were clamped (MASE's `my_round`/`my_clamp` behave the same way).
    """
    return x + (quantized - x).detach()
