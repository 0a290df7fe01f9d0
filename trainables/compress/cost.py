"""model_cost (parameters, sparsity, storage bits) and compute_cost (MACs, bit operations,
activation bits) of a (quantized, pruned) model."""

import math

import torch
from torch import nn

from trainables.compress.layers.quantized_linear import FP32_BITS, QuantizedLinear

BITS_PER_MB = 8 * 1_000_000


def model_cost(model: nn.Module) -> dict[str, int | float]:
    """Cost metrics of `model` as plain ints and floats, ready to be one row of a results table.

    Counts parameters only (each shared parameter once); buffers such as pruning masks or
    position ids are bookkeeping, not model size. Keys:

    - `params`, `nonzero_params`, `sparsity` = 1 - nonzero_params / params (all parameters,
      so embeddings, LayerNorm and biases dilute the sparsity of the pruned Linear weights).
    - `weight_bits`: dense storage. A QuantizedLinear's weight takes `weight_bits()` (its
      format, shared block exponents included); every other tensor, biases of quantized
      layers included, takes its dtype's width (32 for fp32). Pruned weights still count:
      a dense format stores the zeros.
    - `nonzero_weight_bits`: as `weight_bits`, but Linear weights count only their non-zero
      entries, each at its format's average bits per element. A lower bound for a sparse
      format: the cost of storing indices is not included.
    - `size_mb`: weight_bits / 8 / 1e6 (decimal megabytes).
    - `avg_linear_bits`: Linear weight bits / Linear weight elements (NaN without Linears).
    - `compression_ratio`: 32 * params / weight_bits, i.e. relative to the same model in fp32.
    """
    bits_per_element = _bits_per_element(model)
    linear_weights = {id(module.weight) for module in model.modules() if isinstance(module, nn.Linear)}
    params = nonzero = weight_bits = 0
    nonzero_bits = linear_bits = 0.0
    linear_elements = 0
    for parameter in model.parameters():
        numel = parameter.numel()
        count = int(torch.count_nonzero(parameter.detach()).item())
        bits = bits_per_element.get(id(parameter), parameter.element_size() * 8)
        params += numel
        nonzero += count
        weight_bits += bits * numel
        if id(parameter) in linear_weights:
            nonzero_bits += bits * count
            linear_bits += bits * numel
            linear_elements += numel
        else:
            nonzero_bits += bits * numel
    weight_bits = round(weight_bits)
    return {
        "params": params,
        "nonzero_params": nonzero,
        "sparsity": 1.0 - nonzero / params if params else 0.0,
        "weight_bits": weight_bits,
        "nonzero_weight_bits": round(nonzero_bits),
        "size_mb": weight_bits / BITS_PER_MB,
        "avg_linear_bits": linear_bits / linear_elements if linear_elements else math.nan,
        "compression_ratio": FP32_BITS * params / weight_bits if weight_bits else math.nan,
    }


def compute_cost(model: nn.Module) -> dict[str, int | float]:
    """Compute and activation cost of one token through every Linear layer of `model`.

    Each nn.Linear (quantized or not) contributes; attention's matrix products, embeddings and
    LayerNorm are not counted. Per layer, with w = weight bits per element and a = input bits
    per element, both including shared exponents or scales (`QuantizedLinear.weight_bits()` /
    weights and `input_bits_per_token()` / in_features; an unquantized side is 32):

    - `macs_per_token` = in x out (a pruned weight still costs a MAC: dense hardware).
    - `bops_per_token` = in x out x w x a.
    - `sparse_bops_per_token` = nonzero weights x w x a.
    - `activation_bits_per_token` = in x a: the layer's input as its format stores it.

    The formula of each format is in docs/formats.md.
    """
    macs = 0
    bops = sparse_bops = activation_bits = 0.0
    for module in model.modules():
        if not isinstance(module, nn.Linear) or not module.weight.numel():
            continue
        layer_macs = module.in_features * module.out_features
        if isinstance(module, QuantizedLinear):
            weight_bits = float(module.weight_bits()) / module.weight.numel()
            input_bits = float(module.input_bits_per_token())
        else:
            weight_bits, input_bits = float(FP32_BITS), float(FP32_BITS * module.in_features)
        per_input = input_bits / module.in_features
        nonzero = int(torch.count_nonzero(module.weight.detach()).item())
        macs += layer_macs
        bops += layer_macs * weight_bits * per_input
        sparse_bops += nonzero * weight_bits * per_input
        activation_bits += input_bits
    return {
        "macs_per_token": macs,
        "bops_per_token": bops,
        "sparse_bops_per_token": sparse_bops,
        "activation_bits_per_token": activation_bits,
    }


def _bits_per_element(model: nn.Module) -> dict[int, float]:
    """{id(weight): average bits per element} for the weights of quantized Linear layers."""
    bits = {}
    for module in model.modules():
        if isinstance(module, QuantizedLinear) and module.weight.numel():
            bits[id(module.weight)] = float(module.weight_bits()) / module.weight.numel()
    return bits
