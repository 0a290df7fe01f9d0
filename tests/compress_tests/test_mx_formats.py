"""MXINT and MXFP: hand-computed values from the OCP MX v1.0 definitions, and MASE's own values.

The MASE-exact expectations were computed by hand from MASE's arithmetic
(chop/nn/quantizers/mxint/fake.py, mxfp/fake.py, _minifloat_mx/fake.py) and checked once against
MASE's functions run on the same inputs.
"""

import pytest
import torch

from errors import ConfigError
from trainables.compress import LinearMXFP, LinearMXInt, example_config, model_cost, quantize_model
from trainables.compress.arithmetic.mx_blocks import MXBlocks
from trainables.compress.formats.mxfp import mxfp_element, mxfp_quantize
from trainables.compress.formats.mxint import mxint_quantize


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


# --- MXINT ---------------------------------------------------------------------------------------------


def test_mxint8_hand_cases_follow_the_spec():
    # amax 1.5: X = 2^0, step 2^-6: 1.5 stays, 0.01 -> round(0.64) / 64, -0.3 -> -19/64.
    x = _t(1.5, 0.01, -0.3, 0.0)
    torch.testing.assert_close(mxint_quantize(x, 8, 4), _t(1.5, 1 / 64, -19 / 64, 0.0), rtol=0, atol=0)
    # A power-of-two max is exact; 2^-8 is below half a step (2^-6 / 2) and becomes 0.
    x = _t(1.0, -1.0, 2.0**-8, 0.75)
    torch.testing.assert_close(mxint_quantize(x, 8, 4), _t(1.0, -1.0, 0.0, 0.75), rtol=0, atol=0)


def test_mxint4_grid_and_clamp():
    # width 4: k in [-7, 7], step 2^(floor(log2 amax) - 2). amax 3.9 -> step 0.5: +-3.9 -> +-3.5 (k = +-8
    # clamps to +-7); 0.3 -> 0.5, -0.2 -> -0.
    x = _t(3.9, -3.9, 0.3, -0.2)
    torch.testing.assert_close(mxint_quantize(x, 4, 4), _t(3.5, -3.5, 0.5, 0.0), rtol=0, atol=0)
    # MASE (two's complement, scale ceil(log2 3.9) = 2, grid 4/8): -3.9 -> -8/8 * 4 = -4.0, 3.9 -> 3.5.
    torch.testing.assert_close(
        mxint_quantize(x, 4, 4, mase_exact=True), _t(3.5, -4.0, 0.5, 0.0), rtol=0, atol=0
    )


def test_mxint_mase_exact_saturates_a_power_of_two_max():
    # MASE: scale = ceil(log2 1.0) = 0, mantissa 1.0 * 128 = 128 clamps to 127 -> 127/128; the grid
    # is 2^-7, so 0.3 -> round(38.4) / 128 = 38/128.
    x = _t(1.0, -1.0, 0.3, 0.0)
    torch.testing.assert_close(
        mxint_quantize(x, 8, 4, mase_exact=True), _t(127 / 128, -1.0, 38 / 128, 0.0), rtol=0, atol=0
    )
    # Away from powers of two both agree.
    x = _t(1.5, 0.01, -0.3, 0.2)
    torch.testing.assert_close(mxint_quantize(x, 8, 4, mase_exact=True), mxint_quantize(x, 8, 4))


def test_mxint_is_idempotent_and_blocks_run_along_the_last_dim():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 40) * torch.logspace(-3, 3, 40)
    q = mxint_quantize(x, 6, 16)
    torch.testing.assert_close(mxint_quantize(q, 6, 16), q, rtol=0, atol=0)
    # Scaling one block by a power of two scales only that block's values.
    y = x.clone()
    y[..., :16] *= 8
    q2 = mxint_quantize(y, 6, 16)
    torch.testing.assert_close(q2[..., :16], q[..., :16] * 8, rtol=0, atol=0)
    torch.testing.assert_close(q2[..., 16:], q[..., 16:], rtol=0, atol=0)


def test_mx_blocks_pad_per_row_or_cross_rows_like_mase():
    # Rows of 6 with blocks of 4: ours pads each row (2 blocks per row); MASE's flattening makes
    # the second block [r0[4], r0[5], r1[0], r1[1]].
    x = torch.zeros(2, 6)
    x[0, 5] = 1.0  # 1.0 shares a block with r1[0:2] only in MASE's layout
    x[1, 0] = 0.3
    assert MXBlocks(x.shape, 4).num_blocks == 4 and MXBlocks(x.shape, 4, mase_exact=True).num_blocks == 3
    ours, mase = mxint_quantize(x, 3, 4), mxint_quantize(x, 3, 4, mase_exact=True)
    # width 3: ours, 0.3 alone in its block: step 2^(-2 - 1) -> 0.25. MASE: block max 1.0 -> scale 0,
    # grid 1/4 -> 0.25 as well; with width 2, MASE's grid 1/2 gives 0.5 and ours 2^(-2) -> 0.25.
    assert ours[1, 0] == 0.25 and mase[1, 0] == 0.25
    assert mxint_quantize(x, 2, 4)[1, 0] == 0.25 and mxint_quantize(x, 2, 4, mase_exact=True)[1, 0] == 0.5


# --- MXFP ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pair", "emax", "max_value"),
    [((4, 3), 8, 448.0), ((5, 2), 15, 57344.0), ((2, 3), 2, 7.5), ((3, 2), 4, 28.0), ((2, 1), 2, 6.0)],
)
def test_element_types_match_the_spec(pair, emax, max_value):
    element = mxfp_element(*pair)
    assert (element.emax, element.max_value) == (emax, max_value)


def test_mase_element_types_use_the_all_ones_exponent():
    assert (mxfp_element(4, 3, mase_exact=True).emax, mxfp_element(4, 3, mase_exact=True).max_value) == (
        8,
        480.0,
    )
    assert mxfp_element(5, 2, mase_exact=True).emax == 16


def test_mxfp8_e4m3_hand_cases():
    # amax 1.0: X = 2^(0 - 8); elements are E4M3 values times X. 1.0 -> 256 X exact; 0.3 -> 76.8 X
    # on the 2^(6-3) = 8 grid of [64, 128) -> 80 X = 0.3125; 2^-15 = 2^-7 X is below the smallest
    # normal 2^-6 X: subnormal grid 2^-9 X, exact.
    x = _t(1.0, 0.3, -(2.0**-15), 0.0)
    torch.testing.assert_close(mxfp_quantize(x, 4, 3, 4), _t(1.0, 0.3125, -(2.0**-15), 0.0), rtol=0, atol=0)
    # amax 1.9: 1.9 * 256 = 486.4 X lies beyond 448 X: clamped to 448 X = 1.75.
    x = _t(1.9, 0.5, 0.0, 0.0)
    torch.testing.assert_close(mxfp_quantize(x, 4, 3, 4), _t(1.75, 0.5, 0.0, 0.0), rtol=0, atol=0)


def test_mxfp4_e2m1_hand_cases():
    # E2M1 values {0, 0.5, 1, 1.5, 2, 3, 4, 6}; amax 5: X = 2^(2 - 2) = 1. 5 -> 4 (tie, to even), 2.6 -> 3,
    # 0.2 -> 0 (below 0.25), 0.3 -> 0.5.
    x = _t(5.0, 2.6, 0.2, -0.3)
    torch.testing.assert_close(mxfp_quantize(x, 2, 1, 4), _t(4.0, 3.0, 0.0, -0.5), rtol=0, atol=0)


def test_mxfp_mase_exact_hand_cases():
    # E4M3, block max 1.97 (X = 2^-8): 1.97 * 256 = 504.3 X has exponent 8, biased 15 (odd): the
    # mantissa rounds to 8 and is OR-ed into the exponent field, leaving 256 X = 1.0. Ours clamps to 448 X.
    x = _t(1.97, 0.0, 0.0, 0.0)
    assert mxfp_quantize(x, 4, 3, 4, mase_exact=True)[0] == 1.0
    assert mxfp_quantize(x, 4, 3, 4)[0] == 1.75
    # Even biased exponent: 0.985 * 256 = 252.2 X, exponent 7 (biased 14), carries correctly to 256 X.
    x = _t(1.2, 0.985, 0.0, 0.0)
    assert mxfp_quantize(x, 4, 3, 4, mase_exact=True)[1] == 1.0
    # MASE's top binade goes on to 480 X: 1.85 -> 1.875 (ours: 1.75).
    x = _t(1.85, 0.0, 0.0, 0.0)
    assert mxfp_quantize(x, 4, 3, 4, mase_exact=True)[0] == 1.875 and mxfp_quantize(x, 4, 3, 4)[0] == 1.75
    # Small values (amax 1.0, X = 2^-8): 2^-15 = 2^-7 X is exactly 2^-bias X, which MASE turns into 0;
    # 2^-16 = 2^-8 X (a subnormal in the spec) underflows in MASE.
    x = _t(1.0, 2.0**-15, 2.0**-16, 0.0)
    torch.testing.assert_close(
        mxfp_quantize(x, 4, 3, 4, mase_exact=True), _t(1.0, 0.0, 0.0, 0.0), rtol=0, atol=0
    )
    torch.testing.assert_close(mxfp_quantize(x, 4, 3, 4), _t(1.0, 2.0**-15, 2.0**-16, 0.0), rtol=0, atol=0)


def test_mxfp_e5m2_scale_differs_from_mase_by_one_binade():
    # Spec: emax 15, X = 2^(0 - 15); 0.3 = 9830.4 X on the 2^(13-2) = 2048 grid -> 10240 X = 0.3125.
    # MASE: emax 16, X = 2^-16; 0.3 = 19660.8 X on the 4096 grid -> 20480 X = 0.3125 as well, but
    # 0.1 (ours 3276.8 X, grid 512 -> 3072 X = 0.09375) is 6553.6 X on MASE's 1024 grid -> 6144 X.
    x = _t(1.0, 0.3, 0.1, 0.0)
    assert mxfp_quantize(x, 5, 2, 4)[2] == 0.09375
    assert mxfp_quantize(x, 5, 2, 4, mase_exact=True)[2] == 0.09375
    # 1.9 = 1.9 * 2^16 X in MASE: biased exponent 31 (odd), the mantissa rounds to 4 and drops to 2^16 X.
    x = _t(1.9, 0.0, 0.0, 0.0)
    assert mxfp_quantize(x, 5, 2, 4)[0] == 1.75
    assert mxfp_quantize(x, 5, 2, 4, mase_exact=True)[0] == 1.0


@pytest.mark.parametrize("pair", [(4, 3), (5, 2), (2, 3), (3, 2), (2, 1), (1, 2)])
def test_mxfp_is_idempotent_nearest_and_passes_gradients(pair):
    torch.manual_seed(0)
    x = (torch.randn(4, 64) * torch.logspace(-2, 2, 64)).requires_grad_()
    q = mxfp_quantize(x, *pair, 32)
    torch.testing.assert_close(mxfp_quantize(q.detach(), *pair, 32), q.detach(), rtol=0, atol=0)
    q.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))


# --- Layers, config, cost ------------------------------------------------------------------------------


def test_mx_layers_quantize_weight_and_count_bits():
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 8)
    mxint = LinearMXInt.from_linear(linear, example_config("mxint"), "l")
    # 8 x 64 weight, blocks of 32 along a row: 16 blocks of one 8-bit scale.
    assert mxint.weight_bits() == 8 * 512 + 8 * 16
    torch.testing.assert_close(mxint.quantized_weight(), mxint_quantize(linear.weight, 8, 32))
    config = {**example_config("mxfp"), "weight_exponent_width": 2, "weight_frac_width": 1}
    mxfp = LinearMXFP.from_linear(linear, config, "l")
    assert mxfp.weight_bits() == 4 * 512 + 8 * 16


def test_mx_optional_tensors_stay_fp32_like_mase():
    config = {"name": "mxint", "weight_width": 4, "weight_block_size": 16}
    layer = LinearMXInt(32, 4, config=config, layer_name="l")
    assert layer.quantizers["data_in"] is None and layer.quantizers["bias"] is None
    assert layer.quantizers["weight"] is not None
    bypass = LinearMXFP(32, 4, config={**example_config("mxfp"), "bypass": True}, layer_name="l")
    assert all(quantizer is None for quantizer in bypass.quantizers.values())
    assert bypass.weight_bits() == 32 * 128


@pytest.mark.parametrize(
    ("name", "changes", "message"),
    [
        ("mxint", {"weight_width": 1}, "weight_width=1 is out of range"),
        ("mxint", {"weight_block_size": 0}, "weight_block_size=0"),
        ("mxint", {"clip_search": True}, "clip_search=true is not supported"),
        ("mxfp", {"weight_frac_width": 2}, "(E4M2) is not an MX element type"),
        ("mxfp", {"gptq": True}, "gptq=true is not supported"),
    ],
)
def test_mx_config_errors(name, changes, message):
    with pytest.raises(ConfigError, match="'l'") as error:
        (LinearMXInt if name == "mxint" else LinearMXFP)(
            16, 8, config={**example_config(name), **changes}, layer_name="l"
        )
    assert message in str(error.value)


def test_mx_model_cost_counts_scales():
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Linear(32, 2))
    quantize_model(model, {"by": "type", "linear": {"config": example_config("mxint")}})
    cost = model_cost(model)
    # 32 x 64: 64 blocks; 2 x 32: 2 blocks. (8 * 2112 + 8 * 66) / 2112 bits per weight.
    assert cost["avg_linear_bits"] == pytest.approx((8 * 2112 + 8 * 66) / 2112)
