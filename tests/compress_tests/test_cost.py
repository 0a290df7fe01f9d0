"""model_cost on hand-built models whose answers are known."""

import math
from collections.abc import Mapping
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from trainables.compress import fixed_point_config, model_cost, prune_model, quantize_model
from trainables.compress.layers.quantized_linear import QuantizedLinear

INTEGER_8 = fixed_point_config(8, 4)
KEYS = {
    "params",
    "nonzero_params",
    "sparsity",
    "weight_bits",
    "nonzero_weight_bits",
    "size_mb",
    "avg_linear_bits",
    "compression_ratio",
}

# Linear(4, 3) + Linear(3, 2): 12 + 6 weights, 3 + 2 biases.
WEIGHTS, BIASES = 18, 5
PARAMS = WEIGHTS + BIASES


def two_linears():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_fp32_model():
    cost = model_cost(two_linears())
    assert cost == {
        "params": PARAMS,
        "nonzero_params": PARAMS,
        "sparsity": 0.0,
        "weight_bits": 32 * PARAMS,
        "nonzero_weight_bits": 32 * PARAMS,
        "size_mb": 32 * PARAMS / 8 / 1e6,
        "avg_linear_bits": 32.0,
        "compression_ratio": 1.0,
    }


def test_integer_8_bit_weights_and_fp32_biases():
    cost = model_cost(quantize_model(two_linears(), INTEGER_8))
    bits = 8 * WEIGHTS + 32 * BIASES
    assert cost["params"] == PARAMS
    assert cost["weight_bits"] == cost["nonzero_weight_bits"] == bits
    assert cost["avg_linear_bits"] == 8.0
    assert cost["compression_ratio"] == pytest.approx(32 * PARAMS / bits)
    assert cost["size_mb"] == pytest.approx(bits / 8e6)


def test_pruned_fp32_weights_still_cost_dense_storage():
    model = prune_model(two_linears(), {"weight": {"sparsity": 0.5, "method": "l1-norm"}})
    cost = model_cost(model)
    pruned = 6 + 3  # round(0.5 * 12) + round(0.5 * 6)
    assert cost["nonzero_params"] == PARAMS - pruned
    assert cost["sparsity"] == pytest.approx(pruned / PARAMS)
    assert cost["weight_bits"] == 32 * PARAMS
    assert cost["nonzero_weight_bits"] == 32 * (PARAMS - pruned)
    assert cost["compression_ratio"] == 1.0


def test_quantized_then_pruned():
    model = quantize_model(two_linears(), INTEGER_8)
    prune_model(model, {"weight": {"sparsity": 0.5, "method": "random"}})
    cost = model_cost(model)
    assert cost["weight_bits"] == 8 * WEIGHTS + 32 * BIASES
    assert cost["nonzero_weight_bits"] == 8 * (WEIGHTS - 9) + 32 * BIASES
    assert cost["nonzero_params"] == PARAMS - 9


def test_zero_biases_count_as_non_zero_params_only_when_they_are():
    model = two_linears()
    with torch.no_grad():
        model[0].bias.zero_()
    cost = model_cost(model)
    assert cost["nonzero_params"] == PARAMS - 3
    # Not a Linear weight: stored in full even in the "non-zero" estimate.
    assert cost["nonzero_weight_bits"] == 32 * PARAMS


class BlockFormatLinear(QuantizedLinear):
    """A stand-in block format: 4-bit elements plus one 8-bit exponent per block of 16."""

    format_name = "test-block"

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        pass

    def make_quantizer(self, tensor, config):
        return None

    def weight_bits(self) -> float:
        return 4 * self.weight.numel() + 8 * math.ceil(self.weight.numel() / 16)


def test_shared_block_exponents_are_counted():
    model = nn.Sequential(BlockFormatLinear.from_linear(nn.Linear(32, 2, bias=False), {}))
    cost = model_cost(model)
    assert cost["weight_bits"] == 4 * 64 + 8 * 4
    assert cost["avg_linear_bits"] == 4.5
    with torch.no_grad():
        model[0].weight[:, :16] = 0
    assert model_cost(model)["nonzero_weight_bits"] == 32 * 4.5


def test_embeddings_and_layer_norm_are_fp32_and_shared_parameters_count_once():
    embedding = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = embedding.weight  # tied, as in a language-model head
    model = nn.Sequential(embedding, nn.LayerNorm(4), head)
    cost = model_cost(model)
    assert cost["params"] == 40 + 8
    assert cost["weight_bits"] == 32 * 48
    assert cost["avg_linear_bits"] == 32.0


def test_other_dtypes_count_their_own_width():
    model = two_linears().to(torch.bfloat16)
    cost = model_cost(model)
    assert cost["weight_bits"] == 16 * PARAMS
    assert cost["avg_linear_bits"] == 16.0
    assert cost["compression_ratio"] == 2.0


def test_buffers_such_as_masks_do_not_count():
    model = prune_model(two_linears(), {"weight": {"sparsity": 0.5, "method": "random"}})
    assert model_cost(model)["params"] == PARAMS


def test_model_without_parameters_or_linears():
    cost = model_cost(nn.ReLU())
    assert cost["params"] == cost["weight_bits"] == 0
    assert cost["sparsity"] == 0.0
    assert math.isnan(cost["avg_linear_bits"]) and math.isnan(cost["compression_ratio"])
    no_linear = model_cost(nn.LayerNorm(8))
    assert math.isnan(no_linear["avg_linear_bits"])
    assert no_linear["compression_ratio"] == 1.0


@settings(max_examples=20, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=4),
    sparsity=st.floats(0.0, 0.95),
    quantize=st.booleans(),
)
def test_results_are_plain_numbers_and_consistent(sizes, sparsity, quantize):
    model = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=False)))
    if quantize:
        quantize_model(model, INTEGER_8)
    prune_model(model, {"weight": {"sparsity": sparsity, "method": "random"}})
    cost = model_cost(model)
    assert set(cost) == KEYS
    for key in ("params", "nonzero_params", "weight_bits", "nonzero_weight_bits"):
        assert type(cost[key]) is int, key
    for key in ("sparsity", "size_mb", "avg_linear_bits", "compression_ratio"):
        assert type(cost[key]) is float, key
    weights = sum(m.weight.numel() for m in model)
    biases = sum(m.bias.numel() for m in model)
    pruned = sum(round(sparsity * m.weight.numel()) for m in model)
    bits = 8 if quantize else 32
    assert cost["params"] == weights + biases
    assert cost["nonzero_params"] == weights + biases - pruned
    assert cost["weight_bits"] == bits * weights + 32 * biases
    assert cost["nonzero_weight_bits"] == bits * (weights - pruned) + 32 * biases
    assert cost["avg_linear_bits"] == bits
    assert cost["compression_ratio"] == pytest.approx(32 * (weights + biases) / cost["weight_bits"])
