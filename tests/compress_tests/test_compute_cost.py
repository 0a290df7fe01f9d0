"""compute_cost against counts done by hand, one per format, on Linear(4, 3) -> Linear(3, 2).

Per layer: bops = weight bits x one token's input bits / in_features (= in x out x w x a with
w, a the bits per element), activation bits = one token's input bits. Layer 1 has 12 weights
in 3 rows, layer 2 has 6 weights in 2 rows; a token's input is 4 then 3 values. The block and
MX formats use blocks of 2 so that the shared fields show: layer 1's weight has 3 x 2 blocks,
layer 2's 2 x 2; a token's input has 2 blocks in both layers.
"""

from typing import Any

import pytest
import torch
from torch import nn

from trainables.compress import compute_cost, quantize_model
from trainables.compress.format_examples import example_config

MACS = 4 * 3 + 3 * 2


def two_linears() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def quantized(config: dict[str, Any]) -> nn.Module:
    return quantize_model(two_linears(), {"by": "type", "linear": {"config": config}})


def bops(weight_bits: tuple[float, float], input_bits: tuple[float, float]) -> float:
    """Sum over the two layers of (weight bits) x (token input bits) / in_features."""
    return weight_bits[0] * input_bits[0] / 4 + weight_bits[1] * input_bits[1] / 3


def tensors(data_in: dict[str, Any], weight: dict[str, Any], bias: dict[str, Any] | None = None):
    keys = {f"data_in_{k}": v for k, v in data_in.items()}
    keys.update({f"weight_{k}": v for k, v in weight.items()})
    keys.update({f"bias_{k}": v for k, v in (bias or weight).items()})
    return keys


# format -> (config, (weight bits of layer 1, of layer 2), (token input bits of layer 1, of layer 2))
HAND_COUNTS: dict[str, tuple[dict[str, Any] | None, tuple[float, float], tuple[float, float]]] = {
    "fp32": (None, (32 * 12, 32 * 6), (32 * 4, 32 * 3)),
    "integer": (
        {"name": "integer", **tensors({"width": 4, "frac_width": 2}, {"width": 6, "frac_width": 3})},
        (6 * 12, 6 * 6),
        (4 * 4, 4 * 3),
    ),
    "minifloat_denorm": (
        {
            "name": "minifloat_denorm",
            **tensors({"width": 6, "exponent_width": 3}, {"width": 8, "exponent_width": 4}),
        },
        (8 * 12, 8 * 6),
        (6 * 4, 6 * 3),
    ),
    "minifloat_ieee": (
        {
            "name": "minifloat_ieee",
            **tensors({"width": 7, "exponent_width": 4}, {"width": 5, "exponent_width": 2}),
        },
        (5 * 12, 5 * 6),
        (7 * 4, 7 * 3),
    ),
    "log": ({"name": "log", **tensors({"width": 6}, {"width": 4})}, (4 * 12, 4 * 6), (6 * 4, 6 * 3)),
    # element bits x elements + shared exponent bits x blocks
    "block_fp": (
        {
            "name": "block_fp",
            **tensors(
                {"width": 6, "exponent_width": 4, "block_size": [2]},
                {"width": 8, "exponent_width": 5, "block_size": [1, 2]},
                {"width": 8, "exponent_width": 5, "block_size": [2]},
            ),
        },
        (8 * 12 + 5 * 6, 8 * 6 + 5 * 4),
        (6 * 4 + 4 * 2, 6 * 3 + 4 * 2),
    ),
    "block_minifloat": (
        {
            "name": "block_minifloat",
            **tensors(
                {"width": 5, "exponent_width": 2, "exponent_bias_width": 3, "block_size": [2]},
                {"width": 6, "exponent_width": 3, "exponent_bias_width": 4, "block_size": [1, 2]},
                {"width": 6, "exponent_width": 3, "exponent_bias_width": 4, "block_size": [2]},
            ),
        },
        (6 * 12 + 4 * 6, 6 * 6 + 4 * 4),
        (5 * 4 + 3 * 2, 5 * 3 + 3 * 2),
    ),
    "block_log": (
        {
            "name": "block_log",
            **tensors(
                {"width": 3, "exponent_bias_width": 2, "block_size": [2]},
                {"width": 4, "exponent_bias_width": 5, "block_size": [1, 2]},
                {"width": 4, "exponent_bias_width": 5, "block_size": [2]},
            ),
        },
        (4 * 12 + 5 * 6, 4 * 6 + 5 * 4),
        (3 * 4 + 2 * 2, 3 * 3 + 2 * 2),
    ),
    # element bits x elements + one 8-bit scale per block
    "mxint": (
        {"name": "mxint", **tensors({"width": 6, "block_size": 2}, {"width": 4, "block_size": 2})},
        (4 * 12 + 8 * 6, 4 * 6 + 8 * 4),
        (6 * 4 + 8 * 2, 6 * 3 + 8 * 2),
    ),
    "mxfp": (
        {
            "name": "mxfp",
            **tensors(
                {"exponent_width": 4, "frac_width": 3, "block_size": 2},  # E4M3: 8 bits
                {"exponent_width": 2, "frac_width": 1, "block_size": 2},  # E2M1: 4 bits
            ),
        },
        (4 * 12 + 8 * 6, 4 * 6 + 8 * 4),
        (8 * 4 + 8 * 2, 8 * 3 + 8 * 2),
    ),
    # 1 bit a weight + a 32-bit scale per row (not bipolar); the input stays fp32
    "binary": (example_config("binary"), (12 + 32 * 3, 6 + 32 * 2), (32 * 4, 32 * 3)),
    # bipolar weight: 1 bit; input not bipolar: 1 bit a value + a 32-bit scale a token
    "binary_scaling": (example_config("binary_scaling"), (12, 6), (4 + 32, 3 + 32)),
    # two residual levels: 2 bits a value
    "binary_residual_sign": (example_config("binary_residual_sign"), (12, 6), (2 * 4, 2 * 3)),
    # 2 bits a weight + a 32-bit scale per row; the input stays fp32
    "ternary": (example_config("ternary"), (2 * 12 + 32 * 3, 2 * 6 + 32 * 2), (32 * 4, 32 * 3)),
}


@pytest.mark.parametrize("format_name", list(HAND_COUNTS))
def test_cost_matches_the_hand_count(format_name: str) -> None:
    config, weight_bits, input_bits = HAND_COUNTS[format_name]
    model = two_linears() if config is None else quantized(config)
    cost = compute_cost(model)
    assert cost["macs_per_token"] == MACS
    assert cost["bops_per_token"] == pytest.approx(bops(weight_bits, input_bits))
    # No weight is zero: the sparse count is the dense one.
    assert cost["sparse_bops_per_token"] == pytest.approx(cost["bops_per_token"])
    assert cost["activation_bits_per_token"] == pytest.approx(sum(input_bits))


def test_every_format_has_a_hand_count() -> None:
    from trainables.compress import LINEAR_FORMATS

    assert set(LINEAR_FORMATS) <= set(HAND_COUNTS)


def test_an_mx_input_without_its_keys_stays_fp32() -> None:
    model = quantized({"name": "mxint", "weight_width": 4, "weight_block_size": 2})
    cost = compute_cost(model)
    assert cost["activation_bits_per_token"] == 32 * (4 + 3)
    assert cost["bops_per_token"] == pytest.approx(bops((4 * 12 + 8 * 6, 4 * 6 + 8 * 4), (32 * 4, 32 * 3)))


def test_sparse_bops_count_only_nonzero_weights() -> None:
    config, weight_bits, input_bits = HAND_COUNTS["integer"]
    model = quantized(config)
    with torch.no_grad():
        model[0].weight[:, :2] = 0  # 6 of layer 1's 12 weights
    cost = compute_cost(model)
    assert cost["macs_per_token"] == MACS  # dense hardware still does every MAC
    assert cost["bops_per_token"] == pytest.approx(bops(weight_bits, input_bits))
    assert cost["sparse_bops_per_token"] == pytest.approx(6 * 6 * 4 + 6 * 6 * 4)
