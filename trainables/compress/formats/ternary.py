"""MASE's `ternary` format: {-a, 0, +a}, zero where |x| <= threshold.

The threshold is, in order of precedence: an explicit `threshold`; else a statistic of |x| per
slice along dimension 0 (a weight row), with MASE's factors: 0.75 * mean, 0.05 * max or
0.75 * median. With `scaling_factor`, a = mean |x| over the slice's entries above the threshold
(MASE's `TernaryScaled`); without, a = 1.

Where we differ from MASE, deliberately:

- MASE's ternary ops reduce over dims (1, 2, 3) and so crash on anything but a 4-D tensor; ours
  work on any shape.
- MASE computes a threshold from the given statistic or from `threshold` and then ignores it,
  always using 0.75 * mean |x|; ours honours an explicit threshold and the chosen statistic.
"""

import torch

from trainables.compress.formats.binary import slice_dims
from trainables.compress.ste import straight_through

THRESHOLD_FACTORS = {"mean": 0.75, "max": 0.05, "median": 0.75}


def ternary_threshold(x: torch.Tensor, statistic: str = "mean") -> torch.Tensor:
    """Per-slice threshold from |x|: 0.75 * mean, 0.05 * max or 0.75 * median (MASE's factors)."""
    magnitude = x.abs()
    dims = slice_dims(x)
    if statistic == "mean":
        value = magnitude.mean(dim=dims, keepdim=True)
    elif statistic == "max":
        value = magnitude.amax(dim=dims, keepdim=True)
    elif statistic == "median":
        flat = magnitude.flatten(1) if x.ndim > 1 else magnitude.reshape(1, -1)
        value = flat.median(dim=1).values.reshape([-1] + [1] * (x.ndim - 1) if x.ndim > 1 else [])
    else:
        raise ValueError(f"statistic={statistic!r}; choose one of {sorted(THRESHOLD_FACTORS)}")
    return THRESHOLD_FACTORS[statistic] * value


def ternary_quantize(
    x: torch.Tensor, scaling_factor: bool, threshold: float | None = None, statistic: str = "mean"
) -> torch.Tensor:
    """Ternarise `x` to {-a, 0, +a}; see the module docstring for the threshold and a.

    The gradient passes straight through.
    """
    with torch.no_grad():
        magnitude = x.abs()
        cut = ternary_threshold(x, statistic) if threshold is None else threshold
        kept = (magnitude > cut).to(x.dtype)
        q = torch.sign(x) * kept
        if scaling_factor:
            dims = slice_dims(x)
            count = kept.sum(dim=dims, keepdim=True).clamp_(min=1)
            q = q * ((magnitude * kept).sum(dim=dims, keepdim=True) / count)
    return straight_through(x, q)
