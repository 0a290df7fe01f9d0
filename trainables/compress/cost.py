"""model_cost: parameter count, sparsity and storage bits of a (quantized, pruned) model."""

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


def _bits_per_element(model: nn.Module) -> dict[int, float]:
    """{id(weight): average bits per element} for the weights of quantized Linear layers."""
    bits = {}
    for module in model.modules():
        if isinstance(module, QuantizedLinear) and module.weight.numel():
            bits[id(module.weight)] = float(module.weight_bits()) / module.weight.numel()
    return bits
