"""Fake-quantized Linear in training as one autograd node, for deterministic quantizers.

A QuantizedLinear whose quantizers are all deterministic and straight-through (fixed point) would
otherwise record one straight-through node per quantized tensor plus the Linear's own nodes. Here
the quantized values are computed outside autograd and one Function does the Linear and its
backward, with the same matrix products autograd's addmm backward uses (so the same values):
the gradient reaches input, weight and bias unchanged by the quantizers, clamped values included.
"""

import threading
import weakref
from collections.abc import Callable, Mapping
from functools import partial

import torch
import torch.nn.functional as F

Quantizer = Callable[[torch.Tensor], torch.Tensor]


def pure_key(quantize: Quantizer | None) -> tuple | None:
    """A hashable key of a deterministic, stateless, straight-through quantizer, else None.

    Equal keys give equal values on the same tensor. A quantizer qualifies when it is a
    `functools.partial` of keywords over a function marked `pure_quantizer` (fixed point is;
    stochastic or learned-scale formats are not).
    """
    if (
        isinstance(quantize, partial)
        and not quantize.args
        and getattr(quantize.func, "pure_quantizer", False)
    ):
        return (quantize.func, *quantize.keywords.items())
    return None


def pure_quantizers(quantizers: Mapping[str, Quantizer | None]) -> bool:
    """True when the weight is quantized and every quantizer is pure or None (fp32)."""
    if pure_key(quantizers["weight"]) is None:
        return False
    return all(q is None or pure_key(q) is not None for q in quantizers.values())


class _SharedInput(threading.local):
    """The last input a pure quantizer quantized, and its result (see `quantize_input`)."""

    source: "weakref.ref[torch.Tensor] | None" = None
    key: tuple = ()
    result: torch.Tensor | None = None
    result_version: int = 0


_shared_input = _SharedInput()


def quantize_input(quantize: Quantizer, x: torch.Tensor) -> torch.Tensor:
    """`quantize(x)`, reusing the previous result when a pure quantizer with the same settings
    just quantized this very tensor, both unchanged since (`_version`), in the same grad mode.

    BERT feeds one hidden-state tensor to the query, key and value layers: they quantize it once.
    One result is kept per thread (a reference to one activation tensor).
    """
    key = pure_key(quantize)
    if key is None:
        return quantize(x)
    key = (*key, x._version, torch.is_grad_enabled())
    shared = _shared_input
    result = shared.result
    if shared.source is not None and shared.source() is x and shared.key == key:
        if result is not None and result._version == shared.result_version:
            return result
    result = quantize(x)
    shared.source, shared.key, shared.result = weakref.ref(x), key, result
    shared.result_version = result._version
    return result


class _FakeQuantLinear(torch.autograd.Function):
    """`F.linear` of already-quantized values forward; straight-through gradients backward.

    The products are the ones autograd's addmm backward computes for `F.linear` (grad @ W for
    the input, grad^T @ x for the weight, the row sum for the bias), on the quantized values.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, qx, qweight, qbias):
        ctx.save_for_backward(qx, qweight)
        return F.linear(qx, qweight, qbias)

    @staticmethod
    def backward(ctx, grad):
        qx, qweight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_x = grad_2d.mm(qweight).view(*grad.shape[:-1], qweight.shape[1]) if need_x else None
        grad_weight = grad_2d.t().mm(qx.reshape(-1, qx.shape[-1])) if need_weight else None
        grad_bias = grad_2d.sum(0) if need_bias else None
        return grad_x, grad_weight, grad_bias, None, None, None


def fake_quant_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    quantize_in: Quantizer | None,
    quantize_weight: Quantizer,
    quantize_bias: Quantizer | None,
) -> torch.Tensor:
    """`F.linear(q_in(x), q_weight(weight), q_bias(bias))` with straight-through gradients to
    x, weight and bias, as one autograd node. The quantizers must be pure (`pure_quantizers`)."""
    with torch.no_grad():
        qx = quantize_input(quantize_in, x) if quantize_in is not None else x
        qweight = quantize_weight(weight)
        qbias = quantize_bias(bias) if bias is not None and quantize_bias is not None else bias
    return _FakeQuantLinear.apply(x, weight, bias, qx, qweight, qbias)
