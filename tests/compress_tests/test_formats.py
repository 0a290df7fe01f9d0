"""Number formats: representable sets, nearest rounding, idempotence, saturation, zeros, gradients, MASE.

Representable sets are enumerated from the formats' definitions for small widths, independently of
the implementation, and every output is checked to be a nearest member of its set.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trainables.compress.arithmetic.blocking import block_layout
from trainables.compress.arithmetic.float_grid import ceil_log2, floor_log2, round_log2
from trainables.compress.formats.binary import binary_quantize, clip_to_unit, residual_sign_quantize
from trainables.compress.formats.block_fp import block_fp_quantize
from trainables.compress.formats.block_log import block_log_quantize
from trainables.compress.formats.block_minifloat import block_minifloat_quantize
from trainables.compress.formats.integer import fixed_point_quantize
from trainables.compress.formats.log import log_quantize
from trainables.compress.formats.minifloat import minifloat_denorm_quantize, minifloat_ieee_quantize
from trainables.compress.formats.ternary import ternary_quantize

FAST = settings(max_examples=25, deadline=None)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run on one thread: these tensors are small, and a second thread spins when the box is busy
    (model tests elsewhere ran 15x slower on two threads under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


values_32 = st.floats(min_value=-600, max_value=600, width=32, allow_nan=False)
small_values_32 = st.floats(min_value=-4, max_value=4, width=32, allow_nan=False)


def tensors(elements=values_32, max_size: int = 48):
    return st.lists(elements, min_size=1, max_size=max_size).map(
        lambda xs: torch.tensor(xs, dtype=torch.float32)
    )


# --- Representable sets, straight from the definitions --------------------------------------------


def signed(magnitudes: set[float]) -> np.ndarray:
    return np.array(sorted(magnitudes | {-m for m in magnitudes}), dtype=np.float64)


def denorm_set(width: int, exponent_width: int, bias: int) -> np.ndarray:
    mantissa = width - exponent_width - 1
    low, high = -bias, 2**exponent_width - 1 - bias
    return signed({k * 2.0 ** (e - mantissa) for e in range(low, high + 1) for k in range(2**mantissa)})


def ieee_set(width: int, exponent_width: int, bias: int) -> np.ndarray:
    mantissa = width - exponent_width - 1
    low, high = -bias, 2**exponent_width - 1 - bias
    subnormals = {k * 2.0 ** (low + 1 - mantissa) for k in range(2**mantissa)}
    normals = {
        (2**mantissa + k) * 2.0 ** (e - mantissa)
        for e in range(low + 1, high + 1)
        for k in range(2**mantissa)
    }
    return signed(subnormals | normals)


def log_set(width: int, bias: int) -> np.ndarray:
    low, high = -bias, 2 ** (width - 1) - 1 - bias
    return signed({2.0**e for e in range(low, high + 1)})


def assert_nearest(x: torch.Tensor, q: torch.Tensor, values: np.ndarray) -> None:
    """Every q is in `values` and no member of `values` is closer to x (ties either way)."""
    x64, q64 = x.double().numpy().ravel(), q.detach().double().numpy().ravel()
    assert np.isin(q64, values).all(), f"not representable: {q64[~np.isin(q64, values)]}"
    best = np.abs(x64[:, None] - values[None, :]).min(axis=1)
    assert np.all(np.abs(q64 - x64) <= best * (1 + 1e-12)), "a representable value is closer"


def assert_nearest_log(x: torch.Tensor, q: torch.Tensor, values: np.ndarray) -> None:
    """Like assert_nearest, in the log domain, with x's sign and zero -> smallest positive value."""
    x64, q64 = x.double().numpy().ravel(), q.detach().double().numpy().ravel()
    assert np.isin(q64, values).all()
    smallest = values[values > 0].min()
    assert np.all(q64[x64 == 0] == smallest)
    nonzero = x64 != 0
    assert np.all(np.sign(q64[nonzero]) == np.sign(x64[nonzero]))
    logs = np.log2(values[values > 0])
    target = np.log2(np.abs(x64[nonzero]))
    best = np.abs(target[:, None] - logs[None, :]).min(axis=1)
    assert np.all(np.abs(np.log2(np.abs(q64[nonzero])) - target) <= best + 1e-9)


def assert_straight_through(quantize, x: torch.Tensor) -> None:
    x = x.clone().requires_grad_(True)
    weights = torch.randn_like(x)
    (quantize(x) * weights).sum().backward()
    torch.testing.assert_close(x.grad, weights)


# --- Exact exponent helpers ------------------------------------------------------------------------


def test_exponent_helpers_are_exact_at_and_around_powers_of_two():
    m = torch.tensor([1.0, 2.0**20, 2.0**20 * (1 + 2**-23), 0.75, 2.0**-126, 2.0**0.5 * 1.0000001, 1.4142])
    assert floor_log2(m).tolist() == [0, 20, 20, -1, -126, 0, 0]
    assert ceil_log2(m).tolist() == [0, 20, 21, 0, -126, 1, 1]
    assert round_log2(m).tolist() == [0, 20, 20, 0, -126, 1, 0]


# --- Integer (fixed point) -------------------------------------------------------------------------


def test_integer_hand_cases():
    q = fixed_point_quantize(torch.tensor([0.3, 0.375, 0.625, -0.625, 5.0, -5.0]), width=4, frac_width=2)
    # 0.3*4 = 1.2 -> 1; 1.5 -> 2 and 2.5 -> 2 (half to even); clamp to [-8, 7] / 4.
    assert q.tolist() == [0.25, 0.5, 0.5, -0.5, 1.75, -2.0]


@FAST
@given(tensors())
def test_integer_is_idempotent_and_on_grid(x):
    q = fixed_point_quantize(x, width=6, frac_width=3)
    torch.testing.assert_close(fixed_point_quantize(q, width=6, frac_width=3), q)
    assert torch.all(q * 8 == torch.round(q * 8))
    assert q.max() <= 31 / 8 and q.min() >= -4


# --- Minifloat -------------------------------------------------------------------------------------


@st.composite
def minifloat_formats(draw, min_mantissa: int):
    width = draw(st.integers(2 + min_mantissa, 8))
    exponent_width = draw(st.integers(1, width - 1 - min_mantissa))
    bias = draw(st.one_of(st.none(), st.integers(-2, 9)))
    return width, exponent_width, bias


def _bias(exponent_width: int, bias: int | None) -> int:
    return 2 ** (exponent_width - 1) - 1 if bias is None else bias


@FAST
@given(minifloat_formats(min_mantissa=1), tensors())
def test_minifloat_denorm_is_nearest_representable_and_idempotent(fmt, x):
    width, exponent_width, bias = fmt
    q = minifloat_denorm_quantize(x, width, exponent_width, bias)
    assert_nearest(x, q, denorm_set(width, exponent_width, _bias(exponent_width, bias)))
    torch.testing.assert_close(minifloat_denorm_quantize(q, width, exponent_width, bias), q, rtol=0, atol=0)


@FAST
@given(minifloat_formats(min_mantissa=0), tensors())
def test_minifloat_ieee_is_nearest_representable_and_idempotent(fmt, x):
    width, exponent_width, bias = fmt
    q = minifloat_ieee_quantize(x, width, exponent_width, bias)
    assert_nearest(x, q, ieee_set(width, exponent_width, _bias(exponent_width, bias)))
    torch.testing.assert_close(minifloat_ieee_quantize(q, width, exponent_width, bias), q, rtol=0, atol=0)


def test_minifloat_ieee_hand_cases_match_mase():
    # width 8, E4M3, bias 7: normals 2^-6 .. 2^8 * 1.875 = 480, subnormal step 2^-9.
    x = torch.tensor([0.3, -3.3, 0.005, 1000.0, -1e30, 0.0, 2.0**-12])
    q = minifloat_ieee_quantize(x, width=8, exponent_width=4)
    assert q.tolist() == [0.3125, -3.25, 3 / 512, 480.0, -480.0, 0.0, 0.0]


def test_minifloat_denorm_hand_cases_match_mase():
    # width 8, E4, M3, bias 7: 2^e * k/8, e in [-7, 8]; max 7/8 * 256 = 224.
    x = torch.tensor([0.3, -3.3, 0.005, 1000.0, -1e30, 0.0])
    q = minifloat_denorm_quantize(x, width=8, exponent_width=4)
    assert q.tolist() == [0.3125, -3.5, 5 * 2.0**-10, 224.0, -224.0, 0.0]


def test_minifloat_rounds_up_across_a_binade_where_mase_clamps():
    # MASE: denorm(1.0) = denorm(0.97) = 0.875 and ieee(1.97) = 1.875; the nearest values are 1 and 2.
    assert minifloat_denorm_quantize(torch.tensor([1.0, 0.97]), 8, 4).tolist() == [1.0, 1.0]
    assert minifloat_ieee_quantize(torch.tensor([1.97]), 8, 4).tolist() == [2.0]


@pytest.mark.parametrize("quantize", [minifloat_denorm_quantize, minifloat_ieee_quantize])
def test_minifloat_keeps_zeros_and_dtype(quantize):
    x = torch.tensor([0.0, -0.0, 0.1, -0.7])
    q = quantize(x, 6, 3)
    assert q[0] == 0 and q[1] == 0
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        q_other = quantize(x.to(dtype), 6, 3)
        assert q_other.dtype == dtype
        torch.testing.assert_close(q_other.float(), q)


# --- Log -------------------------------------------------------------------------------------------


@FAST
@given(st.integers(2, 7), st.one_of(st.none(), st.integers(-2, 12)), tensors())
def test_log_is_nearest_power_of_two_in_log_domain(width, bias, x):
    q = log_quantize(x, width, bias)
    resolved = 2 ** (width - 2) - 1 if bias is None else bias
    assert_nearest_log(x, q, log_set(width, resolved))
    torch.testing.assert_close(log_quantize(q, width, bias), q, rtol=0, atol=0)


def test_log_hand_cases_match_mase():
    # width 4: 3 exponent bits, bias 3 -> 2^-3 .. 2^4; no zero.
    x = torch.tensor([0.3, 0.4, -3.3, 100.0, 0.0, -1e-3, 1e-30])
    assert log_quantize(x, width=4).tolist() == [0.25, 0.5, -4.0, 16.0, 0.125, -0.125, 0.125]


# --- Blocking --------------------------------------------------------------------------------------


def test_block_layout_follows_mase_right_alignment():
    assert block_layout((512, 128), [16]).block == (512, 16)  # missing leading dim = whole dim
    assert block_layout((512, 128), [1, 16]).num_blocks == 512 * 8
    assert block_layout((32, 128, 128), [16], skip_first_dim=True).block == (1, 128, 16)
    assert block_layout((32, 128, 128), [1, 16], skip_first_dim=True).block == (1, 1, 16)
    assert block_layout((32, 128), 16, skip_first_dim=True).block == (1, 16)
    assert block_layout((5, 7), [-1, 3]).counts == (1, 3)
    assert block_layout((3, 4), [100]).block == (3, 4)
    assert block_layout((2, 3, 4), [9, 9, 9, 2]).block == (2, 3, 2)  # extra leading sizes dropped
    layout = block_layout((10,), [4])
    assert (layout.padded_shape, layout.num_blocks) == ((12,), 3)
    # A 1-D tensor has no batch dim to skip.
    assert block_layout((10,), [4], skip_first_dim=True).block == (4,)


@FAST
@given(
    st.lists(st.integers(1, 7), min_size=1, max_size=4),
    st.lists(st.sampled_from([-1, 1, 2, 3, 5]), min_size=1, max_size=4),
    st.booleans(),
)
def test_block_split_merge_round_trip_and_block_max(shape, sizes, skip):
    x = torch.randn(shape)
    layout = block_layout(shape, sizes, skip)
    blocked = layout.split(x)
    torch.testing.assert_close(layout.merge(blocked), x, rtol=0, atol=0)
    block_max = layout.block_max(blocked)
    assert block_max.numel() == layout.num_blocks
    # Brute force: each element's block is its index // block along every dim.
    index = torch.cartesian_prod(*[torch.arange(n) for n in shape]).reshape(-1, len(shape))
    block_ids = index // torch.tensor(layout.block)
    for block_id in {tuple(b) for b in block_ids.tolist()}:
        members = (block_ids == torch.tensor(block_id)).all(dim=1)
        expected = x.reshape(-1)[members].abs().max()
        assert block_max.reshape(layout.counts)[block_id] == expected


# --- Block formats: one reference per block, from the definitions ------------------------------------


def _blocks_of(x: torch.Tensor, q: torch.Tensor, block: int):
    """Yield (x_block, q_block) for 1-D tensors split into consecutive blocks of `block`."""
    for start in range(0, x.numel(), block):
        yield x[start : start + block], q[start : start + block]


@FAST
@given(
    st.integers(2, 6),
    st.integers(2, 4),
    st.one_of(st.none(), st.integers(0, 8)),
    st.integers(1, 5),
    tensors(),
)
def test_block_fp_is_nearest_on_the_shared_exponent_grid(width, exponent_width, bias, block, x):
    q = block_fp_quantize(x, width, exponent_width, bias, [block])
    mantissa = width - 1
    resolved = _bias(exponent_width, bias)
    low, high = -resolved, 2**exponent_width - 1 - resolved
    for xb, qb in _blocks_of(x, q, block):
        block_max = float(xb.abs().max())
        exponent = min(max(math.frexp(block_max)[1], low), high)  # block max in [2^(e-1), 2^e)
        grid = signed({k * 2.0 ** (exponent - mantissa) for k in range(2**mantissa)})
        assert_nearest(xb, qb, grid)
    torch.testing.assert_close(block_fp_quantize(q, width, exponent_width, bias, [block]), q, rtol=0, atol=0)


def test_block_fp_hand_case_matches_mase():
    # max 0.6 -> shared exponent 0, 3 mantissa bits: step 1/8.
    x = torch.tensor([0.3, -0.1, 0.05, 0.6])
    assert block_fp_quantize(x, width=4, exponent_width=4, block_size=[4]).tolist() == [
        0.25,
        -0.125,
        0.0,
        0.625,
    ]


def test_block_fp_saturates_at_exponent_range():
    # E=2, bias 1: shared exponent <= 2; 3 mantissa bits -> max 7/8 * 4 = 3.5.
    q = block_fp_quantize(torch.tensor([100.0, -50.0, 1.0]), width=4, exponent_width=2, block_size=[3])
    assert q.tolist() == [3.5, -3.5, 1.0]


@FAST
@given(st.integers(3, 6), st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), tensors(small_values_32))
def test_block_minifloat_is_ieee_with_a_per_block_bias(width, exponent_width, bias_width, block, x):
    exponent_width = min(exponent_width, width - 1)
    q = block_minifloat_quantize(x, width, exponent_width, bias_width, [block])
    top = 2**exponent_width - 1
    for xb, qb in _blocks_of(x, q, block):
        block_max = float(xb.abs().max())
        floor_log = math.frexp(block_max)[1] - 1 if block_max > 0 else -127
        bias = min(max(top - floor_log, 0), 2**bias_width - 1)
        assert_nearest(xb, qb, ieee_set(width, exponent_width, bias))
    again = block_minifloat_quantize(q, width, exponent_width, bias_width, [block])
    torch.testing.assert_close(again, q, rtol=0, atol=0)


def test_block_minifloat_hand_case_aligns_bias_with_block_max():
    # max 3 -> floor log2 = 1 -> bias 7 - 1 = 6: exponents [-6, 1], M=2. MASE (bias = 1) gives
    # [3.0, 0.5, -0.25, 0.0]: its subnormal step 2^-2 flushes 0.01.
    q = block_minifloat_quantize(torch.tensor([3.0, 0.5, -0.2, 0.01]), 6, 3, 4, [4])
    assert q.tolist() == [3.0, 0.5, -0.1875, 2.0**-7]


def test_block_minifloat_and_block_log_saturate_when_the_bias_runs_out():
    # E3, M2, 2 bias bits: a max of 1e6 wants bias 7 - 19 < 0, gets 0 -> top 2^7 * 1.75 = 224.
    q = block_minifloat_quantize(torch.tensor([1e6, -3.0]), 6, 3, 2, [2])
    assert q.tolist() == [224.0, -3.0]
    # 2 exponent bits (top 3), 2 bias bits: a max of 100 gets bias 0 -> largest value 2^3.
    q = block_log_quantize(torch.tensor([100.0, -0.3]), width=3, exponent_bias_width=2, block_size=[2])
    assert q.tolist() == [8.0, -1.0]


def test_block_minifloat_keeps_typical_weights():
    # MASE gives bias 0 to every block with max < 1, which zeroes weights of std 0.02.
    w = torch.randn(64, 64) * 0.02
    q = block_minifloat_quantize(w, 8, 4, 8, [1, 16])
    assert (q != 0).float().mean() > 0.95
    assert (q - w).abs().max() <= w.abs().max() / 16


@FAST
@given(st.integers(2, 5), st.integers(1, 4), st.integers(1, 5), tensors(small_values_32))
def test_block_log_is_log_with_a_per_block_bias(width, bias_width, block, x):
    q = block_log_quantize(x, width, bias_width, [block])
    top = 2 ** (width - 1) - 1
    for xb, qb in _blocks_of(x, q, block):
        block_max = float(xb.abs().max())
        ceil_log = math.ceil(math.log2(block_max)) if block_max > 0 else 0
        bias = min(max(top - ceil_log, 0), 2**bias_width - 1)
        assert_nearest_log(xb, qb, log_set(width, bias))
    torch.testing.assert_close(block_log_quantize(q, width, bias_width, [block]), q, rtol=0, atol=0)


def test_block_log_hand_case_matches_mase():
    # max 0.6 -> ceil log2 = 0 -> bias 7 - 0 = 7: exponents [-7, 0].
    q = block_log_quantize(
        torch.tensor([0.3, -0.1, 0.02, 0.6]), width=4, exponent_bias_width=4, block_size=[4]
    )
    assert q.tolist() == [0.25, -0.125, 2.0**-6, 0.5]


@pytest.mark.parametrize(
    "quantize",
    [
        lambda x: block_fp_quantize(x, 6, 4, None, [1, 4], skip_first_dim=True),
        lambda x: block_minifloat_quantize(x, 6, 3, 4, [1, 4], skip_first_dim=True),
        lambda x: block_log_quantize(x, 5, 4, [1, 4], skip_first_dim=True),
    ],
    ids=["block_fp", "block_minifloat", "block_log"],
)
def test_block_formats_are_finite_on_zero_blocks_and_pass_gradients(quantize):
    x = torch.randn(3, 5, 10)
    x[0] = 0  # a whole batch item of zero blocks
    x[1, :, :4] = 0
    q = quantize(x)
    assert torch.isfinite(q).all()
    assert q.shape == x.shape
    assert_straight_through(quantize, x)
    zeros = quantize(torch.zeros(2, 3, 7))
    assert torch.isfinite(zeros).all()


def test_block_activation_skips_batch_dim():
    # Two batch items with very different scales keep separate exponents.
    x = torch.tensor([[[1000.0, 1.0]], [[0.001, 0.002]]])
    q = block_fp_quantize(x, 8, 8, None, [16], skip_first_dim=True)
    torch.testing.assert_close(q[1], x[1], rtol=0.02, atol=0)


# --- Binary, ternary, residual sign --------------------------------------------------------------------


def test_binary_bipolar_hand_cases_and_any_rank():
    assert binary_quantize(torch.tensor([0.3, -0.2, 0.0]), bipolar=True).tolist() == [1.0, -1.0, 1.0]
    for shape in [(7,), (4, 6), (2, 3, 5), (2, 2, 2, 2, 2)]:  # MASE's scaled variants need 4-D
        x = torch.randn(shape)
        torch.testing.assert_close(binary_quantize(x, bipolar=True), torch.where(x >= 0, 1.0, -1.0))
        assert binary_quantize(x, bipolar=False).shape == x.shape


def test_binary_zero_scaled_uses_per_slice_mean():
    x = torch.tensor([[0.5, -1.5], [2.0, 4.0]])
    assert binary_quantize(x, bipolar=False).tolist() == [[1.0, 0.0], [3.0, 3.0]]


@FAST
@given(tensors(small_values_32))
def test_binary_outputs_lie_in_their_sets(x):
    x = x.reshape(1, -1)
    bipolar = binary_quantize(x, bipolar=True)
    assert set(bipolar.unique().tolist()) <= {-1.0, 1.0}
    torch.testing.assert_close(binary_quantize(bipolar, bipolar=True), bipolar)
    scaled = binary_quantize(x, bipolar=False)
    assert set(scaled.unique().tolist()) <= {0.0, float(x.abs().mean())}
    assert set(binary_quantize(x, stochastic=True, bipolar=True).unique().tolist()) <= {-1.0, 1.0}


def test_binary_stochastic_follows_hard_sigmoid():
    torch.manual_seed(0)
    x = torch.full((20000,), 0.5)  # P(+1) = (0.5 + 1) / 2
    q = binary_quantize(x, stochastic=True, bipolar=True)
    assert abs((q == 1).float().mean().item() - 0.75) < 0.02
    q = binary_quantize(torch.stack([x, -x]), stochastic=True, bipolar=False)
    assert abs((q[0] > 0).float().mean().item() - 0.75) < 0.02
    assert abs((q[1] > 0).float().mean().item() - 0.25) < 0.02
    assert set(q.unique().tolist()) <= {0.0, 0.5}


@pytest.mark.parametrize(
    "quantize",
    [
        lambda x: binary_quantize(x, bipolar=True),
        lambda x: binary_quantize(x, stochastic=True, bipolar=False),
        lambda x: ternary_quantize(x, scaling_factor=True),
        lambda x: ternary_quantize(x, scaling_factor=False, statistic="median"),
        clip_to_unit,
        lambda x: minifloat_ieee_quantize(x, 8, 4),
        lambda x: minifloat_denorm_quantize(x, 8, 4),
        lambda x: log_quantize(x, 5),
    ],
)
def test_gradient_passes_straight_through(quantize):
    assert_straight_through(quantize, torch.randn(3, 4, 5) * 3)


def test_ternary_hand_cases():
    x = torch.tensor([[0.9, -0.1, -0.8, 0.2]])
    # mean |x| = 0.5 -> threshold 0.375; scale = mean(0.9, 0.8).
    assert ternary_quantize(x, scaling_factor=False).tolist() == [[1.0, 0.0, -1.0, 0.0]]
    torch.testing.assert_close(
        ternary_quantize(x, scaling_factor=True), torch.tensor([[0.85, 0.0, -0.85, 0.0]])
    )
    # max 0.9 -> threshold 0.045; median (lower middle) 0.2 -> 0.15.
    assert ternary_quantize(x, False, statistic="max").tolist() == [[1.0, -1.0, -1.0, 1.0]]
    assert ternary_quantize(x, False, statistic="median").tolist() == [[1.0, 0.0, -1.0, 1.0]]
    # An explicit threshold is honoured (MASE ignores it).
    assert ternary_quantize(x, False, threshold=0.85).tolist() == [[1.0, 0.0, 0.0, 0.0]]
    assert ternary_quantize(torch.zeros(2, 3), True).tolist() == [[0.0] * 3] * 2


@FAST
@given(tensors(small_values_32), st.sampled_from(["mean", "max", "median"]), st.booleans())
def test_ternary_outputs_lie_in_their_set_and_are_idempotent(x, statistic, scaling):
    x = x.reshape(1, -1)
    q = ternary_quantize(x, scaling, statistic=statistic)
    values = set(q.abs().unique().tolist())
    assert len(values - {0.0}) <= 1
    if not scaling:
        assert values <= {0.0, 1.0}
    torch.testing.assert_close(ternary_quantize(q, scaling, statistic=statistic), q)


def test_ternary_works_on_any_rank():
    for shape in [(9,), (4, 6), (2, 3, 5)]:
        q = ternary_quantize(torch.randn(shape), scaling_factor=True, statistic="median")
        assert q.shape == shape and torch.isfinite(q).all()


def test_residual_sign_hand_cases():
    means = torch.tensor([2 / 3, 1 / 3])
    q = residual_sign_quantize(torch.tensor([0.5, 2.0, -0.2, 0.0]), means)
    torch.testing.assert_close(q, torch.tensor([1 / 3, 1.0, -1 / 3, 0.0]))


def test_residual_sign_one_level_keeps_each_batch_item():
    # MASE's one-level path returns the first batch item for every item.
    x = torch.tensor([[0.5, -0.5], [-0.5, 0.5]])
    torch.testing.assert_close(residual_sign_quantize(x, torch.tensor([1.0])), torch.sign(x))


@FAST
@given(tensors(small_values_32), st.integers(1, 3))
def test_residual_sign_outputs_are_signed_sums_of_means(x, levels):
    means = torch.arange(levels, 0, -1, dtype=torch.float32) / sum(range(1, levels + 1))
    q = residual_sign_quantize(x, means)
    sums = {0.0}
    for mean in means.tolist():
        sums = {s + sign * mean for s in sums for sign in (-1, 0, 1)}
    allowed = np.array(sorted(sums))
    assert np.all(np.min(np.abs(q.numpy()[:, None] - allowed[None, :]), axis=1) < 1e-6)


def test_residual_sign_trains_its_means():
    means = torch.tensor([0.6, 0.3], requires_grad=True)
    x = torch.tensor([0.5, -0.2, 3.0], requires_grad=True)
    residual_sign_quantize(x, means).sum().backward()
    assert means.grad is not None and means.grad.abs().sum() > 0
    assert x.grad[2] == 0  # hard-tanh STE: no gradient where |x| > 1
