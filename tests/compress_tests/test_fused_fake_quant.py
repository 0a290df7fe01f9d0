"""The one-node fake-quant Linear (pure quantizers) against the per-tensor straight-through path."""

import functools

import torch
from torch import nn

from trainables.compress import QuantizedLinear, fixed_point_config, quantize_model
from trainables.compress.formats.integer import fixed_point_quantize
from trainables.compress.layers.fused_fake_quant import pure_quantizers, quantize_input
from trainables.compress.ste import straight_through


def per_tensor_fixed_point(x: torch.Tensor, width: int, frac_width: int) -> torch.Tensor:
    """The same values through `straight_through` (not marked pure: the layer takes its plain path)."""
    with torch.no_grad():
        q = fixed_point_quantize(x.detach(), width, frac_width)
    return straight_through(x, q)


def three_heads(seed: int = 0) -> nn.Module:
    """Three Linears reading one input (like BERT's query/key/value), then one more."""
    torch.manual_seed(seed)
    model = nn.ModuleDict(
        {"q": nn.Linear(16, 8), "k": nn.Linear(16, 8), "v": nn.Linear(16, 8), "o": nn.Linear(8, 3)}
    )
    return quantize_model(model, fixed_point_config(6, 3))


def run(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    x = x.clone().requires_grad_(True)
    hidden = torch.tanh(x)
    out = model["o"](model["q"](hidden) * model["k"](hidden) + model["v"](hidden))
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}, x.grad


def test_one_node_layer_gives_the_same_values_and_gradients_bit_for_bit():
    fused, plain = three_heads(), three_heads()
    for layer in plain.modules():
        if isinstance(layer, QuantizedLinear):
            assert pure_quantizers(layer.quantizers)
            layer.quantizers = {
                name: functools.partial(per_tensor_fixed_point, **q.keywords)
                for name, q in layer.quantizers.items()
            }
            assert not pure_quantizers(layer.quantizers)
    x = torch.randn(4, 5, 16) * 3  # 3-D input, values past the clamp range included
    out_fused, grads_fused, x_grad_fused = run(fused, x)
    out_plain, grads_plain, x_grad_plain = run(plain, x)
    assert torch.equal(out_fused, out_plain)
    assert torch.equal(x_grad_fused, x_grad_plain)
    for name, grad in grads_plain.items():
        assert torch.equal(grads_fused[name], grad), name


def test_shared_input_is_quantized_once_and_again_after_an_in_place_change():
    quantize = functools.partial(fixed_point_quantize, width=8, frac_width=4)
    x = torch.randn(32, 8)
    first = quantize_input(quantize, x)
    assert quantize_input(functools.partial(fixed_point_quantize, width=8, frac_width=4), x) is first
    assert quantize_input(functools.partial(fixed_point_quantize, width=8, frac_width=3), x) is not first
    x.mul_(2)
    again = quantize_input(quantize, x)
    assert again is not first and torch.equal(again, fixed_point_quantize(x, 8, 4))
    assert quantize_input(quantize, x.clone()) is not again  # another tensor, even with equal values
