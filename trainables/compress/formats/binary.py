"""MASE's binary formats: sign binarisation (bipolar or zero/scaled) and residual sign for inputs.

`binary_quantize` (MASE's `binary_quantizer`):

- bipolar: +1 where x >= 0, else -1.
- not bipolar: alpha where x > 0, else 0, with alpha = mean |x| over each slice along dimension
  0 (a weight row, a batch item; the whole tensor when 1-D), as in MASE's `BinaryZeroScaled`.
- stochastic: the positive level is drawn with probability clamp((x + 1) / 2, 0, 1) (hard sigmoid).

Where we differ from MASE, deliberately:

- MASE's scaled binarisation reduces over dims (1, 2, 3) and so crashes on anything but a 4-D
  tensor (Linear weights are 2-D, activations 2-D or 3-D); ours works on any shape.
- MASE's stochastic, non-bipolar path ignores the random draw (its `BinaryZeroScaled` drops the
  threshold) and scales by the mean of the hard sigmoid; ours draws and scales by mean |x|.
- Residual sign with one level: MASE indexes the result with `out[l, :, :]` and so returns the
  first batch item for every item; ours returns each item's own value.
"""

import torch

from trainables.compress.ste import straight_through


def slice_dims(x: torch.Tensor) -> tuple[int, ...]:
    """Dimensions reduced for per-slice statistics: all but dimension 0, or all of a 1-D tensor."""
    return tuple(range(1, x.ndim)) if x.ndim > 1 else tuple(range(x.ndim))


def binary_quantize(x: torch.Tensor, stochastic: bool = False, bipolar: bool = False) -> torch.Tensor:
    """Binarise `x` to {-1, +1} (bipolar) or {0, alpha} with alpha = per-slice mean |x|.

    Stochastic binarisation draws from torch's global generator. The gradient passes straight
    through (MASE's binarising ops are identity in backward).
    """
    # sign() and copysign() rather than comparisons: boolean tensors are slow on CPU.
    with torch.no_grad():
        if stochastic:
            # Positive with probability p: sign(p - u) > 0 for u uniform in [0, 1).
            probability = torch.clamp((x + 1) / 2, 0, 1)
            decide = probability.sub_(torch.rand_like(probability))
        else:
            # + 0.0 turns -0.0 into +0.0, so zero goes to +1 (bipolar) or 0, as in MASE.
            decide = x + 0.0
        if bipolar:
            q = torch.ones_like(x).copysign_(decide)
        else:
            q = torch.sign(decide).clamp_(min=0).mul_(x.abs().mean(dim=slice_dims(x), keepdim=True))
    return straight_through(x, q)


def residual_sign_quantize(x: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Residual binarisation (ReBNet): sum over levels l of |means[l]| * sign(r_l), r_0 = x.

    Each level binarises what the previous levels left over: r_(l+1) = r_l - |means[l]| * sign(r_l).
    `means` (one per level) is normally a learned parameter and receives a gradient. As in MASE,
    sign uses the hard-tanh straight-through estimator: the gradient passes where |r_l| <= 1 and
    is zero elsewhere; sign(0) = 0.
    """
    residual = x
    out = torch.zeros_like(x)
    for level in range(means.numel()):
        clipped = torch.clamp(residual, -1, 1)
        part = straight_through(clipped, torch.sign(clipped)) * means[level].abs()
        out = out + part
        residual = residual - part
    return out


def clip_to_unit(x: torch.Tensor) -> torch.Tensor:
    """clamp(x, -1, 1) with the gradient passed straight through (BinaryConnect's weight clip).

    MASE clips the stored weight in place inside forward (`weight.data.clamp_`); we clip a copy,
    so forward has no side effect on the parameter.
    """
    with torch.no_grad():
        q = torch.clamp(x, -1, 1)
    return straight_through(x, q)
