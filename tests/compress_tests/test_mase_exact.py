"""`mase_exact`: every difference docs/formats.md lists, on hand-computed values, both ways.

Each case gives an input, the value MASE's quantizer returns (worked out by hand from MASE's
arithmetic, see trainables/compress/formats/mase_exact.py) and ours. The MASE-side functions were
also checked once against MASE's own quantizers on mixed-scale random tensors (bit-identical).
"""

import pytest
import torch

from trainables.compress.formats import mase_exact as mase
from trainables.compress.formats.block_fp import block_fp_quantize
from trainables.compress.formats.block_log import block_log_quantize
from trainables.compress.formats.block_minifloat import block_minifloat_quantize
from trainables.compress.formats.log import log_quantize
from trainables.compress.formats.minifloat import minifloat_denorm_quantize, minifloat_ieee_quantize


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_minifloat_denorm_mantissa_clamp_and_tiny_pass_through():
    # E4M3 (bias 7): MASE takes e = ceil(log2 1.0) = 0 and clamps the mantissa 8/8 to 7/8 -> 0.875.
    # 5e-9 <= 1e-8 passes through MASE unquantized; ours rounds it to 0.
    x = _t(1.0, 0.97, 5e-9, -3.3)
    assert mase.mase_minifloat_denorm_quantize(x, 8, 4).tolist() == pytest.approx([0.875, 0.875, 5e-9, -3.5])
    assert minifloat_denorm_quantize(x, 8, 4).tolist() == [1.0, 1.0, 0.0, -3.5]


def test_minifloat_ieee_binade_and_tiny_pass_through():
    # MASE: e = floor(log2 1.97) = 0, mantissa round(0.97 * 8) = 8 clamps to 7 -> 1.875. Ours: 2.0.
    x = _t(1.97, 0.3, -5e-9, 2.0**-12)
    assert mase.mase_minifloat_ieee_quantize(x, 8, 4).tolist() == pytest.approx([1.875, 0.3125, -5e-9, 0.0])
    assert minifloat_ieee_quantize(x, 8, 4).tolist() == [2.0, 0.3125, 0.0, 0.0]


def test_log_sign_of_tiny_negatives():
    # width 4: bias 3, smallest magnitude 2^-3. MASE adds 0.1 * 2^-3 before taking the sign, so
    # -1e-3 comes out +0.125; ours keeps the sign.
    x = _t(-1e-3, 0.3, -3.3, 0.0)
    assert mase.mase_log_quantize(x, 4).tolist() == [0.125, 0.25, -4.0, 0.125]
    assert log_quantize(x, 4).tolist() == [-0.125, 0.25, -4.0, 0.125]


def test_block_fp_power_of_two_max_saturates_in_mase():
    # width 8 (7 mantissa bits), one block of 4. MASE: e = ceil(log2 1.0) = 0, so 1.0 needs mantissa
    # 128/128, clamped to 127/128; 0.3 -> round(38.4) / 128. Ours: e = floor(log2 1) + 1 = 1, grid
    # 2/128: 1.0 exact, 0.3 -> 19/64.
    x = _t(1.0, 0.3, -0.5, 0.0)
    assert mase.mase_block_fp_quantize(x, 8, 8, None, [4]).tolist() == [127 / 128, 38 / 128, -0.5, 0.0]
    assert block_fp_quantize(x, 8, 8, None, [4]).tolist() == [1.0, 19 / 64, -0.5, 0.0]


def test_block_fp_all_zero_block_borrows_the_smallest_block_max_in_mase():
    # Blocks of 2: [0, 0] would take max 0.3 in MASE; zeros pass through (isclose) either way.
    x = _t(0.0, 0.0, 0.3, 0.1)
    assert (
        mase.mase_block_fp_quantize(x, 4, 8, None, [2]).tolist()
        == block_fp_quantize(x, 4, 8, None, [2]).tolist()
    )


def test_block_minifloat_bias_rule():
    # width 8, E4M3, bias field 8 bits, one block of 4, max 0.3. MASE: bias = clamp(floor(log2 0.3)
    # = -2, 0, 255) = 0, so every |x| < 2 is subnormal with step 2^(1 - 0 - 3) * ... = 0.25:
    # 0.3 -> 0.25, 0.1 -> 0, 0.05 -> 0, 0.2 -> 0.25. Ours: bias = 15 - (-2) = 17, top binade holds 0.3:
    # 0.3 -> 1.25 * 2^-2 = 0.3125, 0.1 -> 1.625 * 2^-4 = 0.1015625, 0.05 -> 1.625 * 2^-5, 0.2 -> 0.203125.
    x = _t(0.3, 0.1, 0.05, 0.2)
    assert mase.mase_block_minifloat_quantize(x, 8, 4, 8, [4]).tolist() == [0.25, 0.0, 0.0, 0.25]
    assert block_minifloat_quantize(x, 8, 4, 8, [4]).tolist() == [0.3125, 0.1015625, 0.05078125, 0.203125]


def test_block_log_sign_of_tiny_negatives():
    # width 3 (2 exponent bits), one block of 4, max 1.0. MASE: bias = 3 - ceil(log2 1) = 3, so the
    # values are 2^-3 .. 2^0 and -1e-4 + 0.1 * 2^-3 > 0 turns positive; ours keeps the sign.
    x = _t(1.0, -1e-4, 0.3, -0.6)
    assert mase.mase_block_log_quantize(x, 3, 8, [4]).tolist() == [1.0, 0.125, 0.25, -0.5]
    assert block_log_quantize(x, 3, 8, [4]).tolist() == [1.0, -0.125, 0.25, -0.5]


@pytest.mark.parametrize(
    "quantize",
    [
        lambda x: mase.mase_minifloat_denorm_quantize(x, 8, 4),
        lambda x: mase.mase_minifloat_ieee_quantize(x, 8, 4),
        lambda x: mase.mase_log_quantize(x, 5),
        lambda x: mase.mase_block_fp_quantize(x, 6, 8, None, [1, 4]),
        lambda x: mase.mase_block_minifloat_quantize(x, 8, 3, 8, [1, 4]),
        lambda x: mase.mase_block_log_quantize(x, 4, 8, [1, 4]),
    ],
)
def test_mase_quantizers_pass_gradients_straight_through_and_keep_dtype(quantize):
    x = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    q = quantize(x)
    assert q.dtype == torch.float64
    q.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))


# --- Layers and quantize_model -------------------------------------------------------------------


def _quantized(name: str, mase_exact: bool, **changes):
    from trainables.compress import example_config, quantize_model

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.97, -3.3, 0.3]] * 4))
    config = {**example_config(name), **changes}
    return quantize_model(model, {"by": "type", "linear": {"config": config}}, mase_exact=mase_exact)[0]


@pytest.mark.parametrize(
    ("name", "changes", "ours", "theirs"),
    [
        # E4M3 weights [1.0, 0.97, -3.3, 0.3]: see the quantizer cases above.
        ("minifloat_denorm", {}, [1.0, 1.0, -3.5, 0.3125], [0.875, 0.875, -3.5, 0.3125]),
        ("minifloat_ieee", {"weight_width": 6, "weight_exponent_width": 3}, [1.0, 1.0, -3.5, 0.3125], None),
        # block_fp, blocks of 4 per row, max 3.3: ceil vs floor + 1 agree (not a power of two).
        ("block_fp", {}, None, None),
        ("mxint", {"weight_block_size": 4}, None, None),
    ],
)
def test_quantize_model_mase_exact_reaches_the_layer(name, changes, ours, theirs):
    default, exact = _quantized(name, False, **changes), _quantized(name, True, **changes)
    assert exact.config["mase_exact"] is True and "mase_exact" not in default.config
    if ours is not None:
        assert default.quantized_weight()[0].tolist() == ours
    if theirs is not None:
        assert exact.quantized_weight()[0].tolist() == theirs


def test_mase_exact_binary_scaling_has_no_learned_scale_and_clamps_in_place():
    layer = _quantized("binary_scaling", True)
    assert layer.gamma.item() == 1.0 and not layer.gamma.requires_grad
    ours = _quantized("binary_scaling", False)
    assert ours.gamma.requires_grad and ours.gamma.item() == pytest.approx(5.57 / 4)
    clip = _quantized("binary_scaling", True, binary_training=False)
    clip(torch.ones(2, 4))
    assert clip.weight.max().item() == 1.0 and clip.weight.min().item() == -1.0
    keep = _quantized("binary_scaling", False, binary_training=False)
    keep(torch.ones(2, 4))
    assert keep.weight.min().item() == pytest.approx(-3.3)


def test_mase_exact_residual_sign_gamma_and_one_level():
    exact = _quantized("binary_residual_sign", True, data_in_levels=1)
    assert exact.gamma.item() == 1.0
    x = torch.tensor([[[0.5, 0.5, 0.2, 0.1]], [[-0.5, -0.5, -0.2, -0.1]]])
    with torch.no_grad():
        y = exact(x)
        y_ours = _quantized("binary_residual_sign", False, data_in_levels=1)(x)
    # MASE: the first item's input for every item, so both rows are equal; ours differ by sign.
    assert torch.equal(y[0], y[1]) and not torch.equal(y_ours[0], y_ours[1])


def test_mase_exact_must_be_a_bool():
    from errors import ConfigError

    with pytest.raises(ConfigError, match="mase_exact='yes'"):
        _quantized("integer", "yes")
