"""Activation l1-norm pruning's faster CPU threshold gives the same masks, outputs and gradients as kthvalue."""

import math

import pytest
import torch

from trainables.compress.prune import InputPruning, _prune_below_quantile


def kthvalue_pruning(x: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The computation before the faster path: torch's kthvalue, then masked_fill."""
    scores = x.detach().abs()
    k = math.floor(sparsity * (scores.numel() - 1)) + 1
    return x.masked_fill(scores <= scores.reshape(-1).kthvalue(k).values, 0)


def bits(x: torch.Tensor) -> torch.Tensor:
    """The raw bit patterns (so +0.0 and -0.0 differ); NaNs made one pattern first."""
    signed = {2: torch.int16, 4: torch.int32, 8: torch.int64}[x.dtype.itemsize]
    return torch.where(torch.isnan(x), torch.full_like(x, float("nan")), x).contiguous().view(signed)


def inputs(kind: str, dtype: torch.dtype, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 9, 33, generator=generator)
    if kind == "ties":  # few distinct magnitudes, both signs, exact zeros of both signs
        x = torch.round(x * 2) / 2
        x[0, 0, :5] = -0.0
    elif kind == "nonfinite":
        x[0, 0, :3] = torch.tensor([float("inf"), -float("inf"), float("nan")])
        x[1, 2, 4] = -float("nan")
    elif kind == "transposed":  # not contiguous, as a permuted activation would be
        x = x.transpose(0, 2)
    return x.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
@pytest.mark.parametrize("kind", ["random", "ties", "nonfinite", "transposed"])
@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.7, 0.9])
def test_same_mask_and_output_bits_as_kthvalue(dtype, kind, sparsity):
    for seed in range(3):
        x = inputs(kind, dtype, seed)
        expected, got = kthvalue_pruning(x, sparsity), _prune_below_quantile(x, sparsity)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        zeroed = (got == 0) & (x != 0)
        assert torch.equal(zeroed, (expected == 0) & (x != 0))
        assert torch.equal(bits(got), bits(expected)), (dtype, kind, sparsity, seed)


@pytest.mark.parametrize("fill", [float("inf"), float("nan"), 0.0])
def test_a_threshold_that_is_not_finite_or_zero_is_kthvalues_too(fill):
    # Most entries equal to `fill`: the k-th smallest magnitude is inf, NaN or 0.
    x = torch.full((6, 10), fill)
    x[0, :4] = torch.tensor([1.0, -2.0, 0.5, -0.0])
    for sparsity in (0.1, 0.5, 0.9):
        assert torch.equal(bits(_prune_below_quantile(x, sparsity)), bits(kthvalue_pruning(x, sparsity)))


@pytest.mark.parametrize("sparsity", [0.1, 0.9])
def test_same_gradient_as_kthvalue(sparsity):
    x = inputs("ties", torch.float32, 0)
    upstream = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    grads = []
    for prune in (kthvalue_pruning, _prune_below_quantile):
        leaf = x.clone().requires_grad_()
        (prune(leaf, sparsity) * upstream).sum().backward()
        grads.append(leaf.grad)
    assert torch.equal(grads[0], grads[1])  # values: a zeroed entry's gradient may be -0.0


def test_the_hook_on_a_linear_gives_the_same_outputs_in_training_and_evaluation():
    torch.manual_seed(0)
    layer = torch.nn.Linear(33, 7)
    x = inputs("ties", torch.float32, 2)
    hook = InputPruning(0.7, "l1-norm")
    (pruned,) = hook(layer, (x,))
    assert torch.equal(layer(pruned), layer(kthvalue_pruning(x, 0.7)))
    with torch.no_grad():
        assert torch.equal(layer(hook(layer, (x,))[0]), layer(kthvalue_pruning(x, 0.7)))
