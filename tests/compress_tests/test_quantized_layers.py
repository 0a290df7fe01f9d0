"""Quantized Linear layers of every format: forward, training, bits, quantize_model, config errors."""

import copy
import pickle

import pytest
import torch
import transformers
from torch import nn

from errors import ConfigError
from trainables.compress import (
    LINEAR_FORMATS,
    LinearBinaryScaling,
    LinearBlockFP,
    LinearTernary,
    QuantizedLinear,
    example_config,
    quantize_model,
)
from trainables.compress.format_examples import EXAMPLE_CONFIGS

FORMATS = sorted(EXAMPLE_CONFIGS)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run on one thread: these tensors are small, and a second thread spins when the box is busy
    (a bert-tiny step took 10 s instead of 0.6 s with two threads under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_every_registered_format_has_an_example_and_is_exported():
    import trainables.compress as compress

    assert set(LINEAR_FORMATS) == set(EXAMPLE_CONFIGS)
    for cls in LINEAR_FORMATS.values():
        assert getattr(compress, cls.__name__) is cls
        assert issubclass(cls, QuantizedLinear)


def _layer(name: str, in_features: int = 16, out_features: int = 8, **changes) -> QuantizedLinear:
    torch.manual_seed(0)
    config = {**example_config(name), **changes}
    return LINEAR_FORMATS[name].from_linear(nn.Linear(in_features, out_features), config, "layer")


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("shape", [(4, 16), (2, 5, 16)], ids=["2d", "3d"])
def test_forward_and_one_training_step(name, shape):
    layer = _layer(name)
    x = torch.randn(shape)
    target = torch.randn(*shape[:-1], 8)
    before = {key: value.detach().clone() for key, value in layer.named_parameters()}
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    loss = nn.functional.mse_loss(layer(x), target)
    assert torch.isfinite(loss)
    loss.backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.equal(layer.weight, before["weight"])
    out = layer(x)
    assert out.shape == (*shape[:-1], 8) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", FORMATS)
def test_layer_keeps_weights_and_is_close_to_fp32_when_wide(name):
    linear = nn.Linear(16, 8)
    layer = LINEAR_FORMATS[name].from_linear(linear, example_config(name), "layer")
    torch.testing.assert_close(layer.weight, linear.weight)
    assert layer.format_name == name and f"format={name}" in repr(layer)


@pytest.mark.parametrize(
    ("name", "changes", "bits"),
    [
        ("integer", {}, 8 * 128),
        ("minifloat_denorm", {}, 8 * 128),
        ("minifloat_ieee", {"weight_width": 6, "weight_exponent_width": 3}, 6 * 128),
        ("log", {"weight_width": 5}, 5 * 128),
        # (8, 16) weight, blocks of 1 x 16: 8 blocks.
        ("block_fp", {}, 8 * 128 + 8 * 8),
        ("block_fp", {"weight_block_size": [16]}, 8 * 128 + 8 * 1),
        ("block_fp", {"weight_block_size": [3, 5]}, 8 * 128 + 8 * 3 * 4),  # padded: 9 x 20
        ("block_minifloat", {"weight_exponent_bias_width": 4}, 8 * 128 + 4 * 8),
        ("block_log", {"weight_block_size": [2, 4]}, 8 * 128 + 8 * 4 * 4),
        ("binary", {"weight_bipolar": True}, 128),
        ("binary", {}, 128 + 32 * 8),
        ("binary_scaling", {}, 128),
        ("binary_scaling", {"binary_training": False}, 32 * 128),
        ("binary_residual_sign", {"weight_bipolar": False}, 128 + 32 * 8),
        ("ternary", {}, 2 * 128 + 32 * 8),
        ("ternary", {"weight_scaling_factor": False}, 2 * 128),
    ],
)
def test_weight_bits(name, changes, bits):
    assert _layer(name, **changes).weight_bits() == bits


def test_binary_weights_are_binary_in_forward():
    layer = _layer("binary", weight_bipolar=True)
    torch.testing.assert_close(layer.quantized_weight(), torch.where(layer.weight >= 0, 1.0, -1.0))
    assert layer.quantizers["data_in"] is None and layer.quantizers["bias"] is None
    x = torch.randn(3, 16)
    torch.testing.assert_close(layer(x), nn.functional.linear(x, layer.quantized_weight(), layer.bias))


def test_binary_scaling_learns_its_scale_and_starts_at_mean_abs_weight():
    layer = _layer("binary_scaling")
    torch.testing.assert_close(layer.gamma, layer.weight.abs().mean())
    w = layer.quantized_weight()
    torch.testing.assert_close(w.abs(), torch.full_like(w, layer.gamma.item()))
    layer(torch.randn(4, 16)).sum().backward()
    assert layer.gamma.grad is not None
    fp32_clip = _layer("binary_scaling", binary_training=False)
    assert fp32_clip.gamma.item() == 1.0
    assert fp32_clip.quantizers["data_in"] is None and fp32_clip.quantizers["bias"] is None


def test_residual_sign_layer_trains_means_and_survives_copy_and_pickle():
    layer = _layer("binary_residual_sign", data_in_levels=3)
    torch.testing.assert_close(layer.means, torch.tensor([3 / 6, 2 / 6, 1 / 6]))
    layer(torch.randn(2, 5, 16)).sum().backward()
    assert layer.means.grad is not None and layer.gamma.grad is not None
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        with torch.no_grad():
            clone.means.mul_(2)
        x = torch.randn(2, 16)
        # The clone's quantizer reads the clone's means, not the original's.
        assert not torch.allclose(clone(x), layer(x))
    no_sign = _layer("binary_residual_sign", data_in_residual_sign=False)
    assert no_sign.means is None and no_sign.quantizers["data_in"] is None


def test_ternary_threshold_precedence():
    weight = torch.tensor([[0.9, -0.1, -0.8, 0.2]])

    def ternary(**changes):
        layer = LinearTernary(4, 1, config={**example_config("ternary"), **changes}, layer_name="t")
        with torch.no_grad():
            layer.weight.copy_(weight)
        return layer.quantized_weight().tolist()

    assert ternary(weight_scaling_factor=False) == [[1.0, 0.0, -1.0, 0.0]]  # 0.75 * mean |w| = 0.375
    assert ternary(weight_scaling_factor=False, weight_threshold_statistic="max") == [[1.0, -1.0, -1.0, 1.0]]
    assert ternary(weight_scaling_factor=False, weight_mean=0.2) == [[1.0, 0.0, -1.0, 1.0]]  # 0.15
    assert ternary(weight_scaling_factor=False, weight_mean=0.2, weight_threshold=0.85) == [[1.0, 0, 0, 0]]
    assert ternary(weight_scaling_factor=False, weight_mean="NA", weight_max=1.0) == [[1.0, -1.0, -1.0, 1.0]]


def test_eval_caches_the_quantized_weight_until_a_parameter_changes():
    layer = _layer("binary_scaling").eval()
    with torch.no_grad():
        first = layer.quantized_weight()
        assert layer.quantized_weight() is first
        layer.gamma.mul_(2)  # only the learned scale changes
        second = layer.quantized_weight()
    assert second is not first
    torch.testing.assert_close(second, first * 2)


def test_block_layer_blocks_activations_per_batch_item():
    layer = _layer("block_fp", data_in_width=4, data_in_block_size=[16])
    x = torch.randn(2, 3, 16)
    x[1] *= 1000  # a different scale in the second item must not coarsen the first
    quantized = layer.quantizers["data_in"](x)
    torch.testing.assert_close(quantized[0], x[0], rtol=0.25, atol=0.3)
    whole = _layer("block_fp", data_in_width=4, data_in_block_size=[16], data_in_skip_first_dim=False)
    assert (whole.quantizers["data_in"](x)[0] == 0).float().mean() > 0.9


def test_from_linear_keeps_pruning_hooks_and_buffers_for_layers_with_own_init():
    linear = nn.Linear(16, 8)
    mask = torch.rand(8, 16) > 0.5
    linear.register_buffer("weight_mask", mask)
    calls = []
    linear.register_forward_pre_hook(lambda module, args: calls.append(1))
    layer = LinearBinaryScaling.from_linear(linear, example_config("binary_scaling"), "layer")
    layer(torch.randn(2, 16))
    assert calls and torch.equal(layer.weight_mask, mask)


# --- quantize_model on a bert-tiny-shaped model --------------------------------------------------------


def _bert() -> transformers.BertForSequenceClassification:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=512,
        vocab_size=200,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return transformers.BertForSequenceClassification(config)


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, 200, (16, 12), generator=generator)
    labels = (input_ids[:, 0] < 100).long()
    return {"input_ids": input_ids, "labels": labels}


def _losses(model: nn.Module, steps: int = 8) -> list[float]:
    batch = _batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", FORMATS)
def test_quantize_model_by_type_and_the_model_trains(name):
    model = quantize_model(_bert(), {"by": "type", "linear": {"config": example_config(name)}})
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    assert len(linears) == 2 * 6 + 2  # q, k, v, attention out, intermediate, out per layer; pooler, head
    assert all(isinstance(module, LINEAR_FORMATS[name]) for module in linears)
    losses = _losses(model)
    assert all(map(torch.isfinite, torch.tensor(losses)))
    assert min(losses[-3:]) < losses[0], losses


@pytest.mark.parametrize("name", FORMATS)
def test_quantize_model_by_name(name):
    target = "bert.encoder.layer.1.intermediate.dense"
    config = {"by": "name", "default": {"config": {"name": None}}, target: {"config": example_config(name)}}
    model = quantize_model(_bert(), config)
    quantized = [n for n, module in model.named_modules() if isinstance(module, QuantizedLinear)]
    assert quantized == [target]
    output = model(**_batch())
    assert torch.isfinite(output.loss)


# --- Config errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "changes", "message"),
    [
        ("minifloat_ieee", {"weight_width": None}, "'weight_width'"),
        ("minifloat_ieee", {"data_in_width": 0}, "data_in_width=0"),
        (
            "minifloat_ieee",
            {"bias_exponent_width": 8},
            "bias_exponent_width=8 is out of range, allowed in [1, 7]",
        ),
        ("minifloat_denorm", {"weight_exponent_width": 7}, "allowed in [1, 6]"),
        ("minifloat_denorm", {"weight_exponent_width": 0}, "weight_exponent_width=0"),
        ("minifloat_denorm", {"weight_exponent_bias": 1.5}, "weight_exponent_bias=1.5"),
        ("log", {"weight_width": 1}, "weight_width=1 is out of range, allowed in [2, 9]"),
        ("log", {"bias_width": 12}, "bias_width=12"),
        ("block_fp", {"weight_block_size": [0, 16]}, "weight_block_size=[0, 16] is not allowed"),
        ("block_fp", {"data_in_block_size": -2}, "data_in_block_size=-2"),
        ("block_fp", {"bias_block_size": None}, "missing key 'bias_block_size'"),
        ("block_fp", {"weight_exponent_width": 9}, "weight_exponent_width=9"),
        ("block_fp", {"data_in_skip_first_dim": "yes"}, "data_in_skip_first_dim='yes'"),
        ("block_minifloat", {"weight_exponent_bias_width": 0}, "weight_exponent_bias_width=0"),
        ("block_minifloat", {"weight_exponent_width": 8}, "weight_exponent_width=8"),
        ("block_log", {"data_in_width": 10}, "data_in_width=10"),
        ("binary", {"weight_bipolar": 1}, "weight_bipolar=1 must be true or false"),
        ("binary_scaling", {"bias_stochastic": None}, "missing key 'bias_stochastic'"),
        (
            "binary_residual_sign",
            {"data_in_levels": 4},
            "data_in_levels=4 is out of range, allowed in [1, 3]",
        ),
        ("binary_residual_sign", {"binary_training": "true"}, "binary_training='true'"),
        ("ternary", {"weight_threshold_statistic": "mode"}, "choose one of ['mean', 'max', 'median']"),
        ("ternary", {"weight_threshold": -1}, "weight_threshold=-1"),
    ],
)
def test_config_errors_name_layer_key_and_allowed_values(name, changes, message):
    config = {**example_config(name), **changes}
    config = {key: value for key, value in config.items() if not (value is None and key in changes)}
    with pytest.raises(ConfigError) as error:
        LINEAR_FORMATS[name](16, 8, config=config, layer_name="bert.layer.0")
    assert "'bert.layer.0'" in str(error.value)
    assert message in str(error.value)


def test_missing_required_flag_is_a_config_error():
    config = example_config("binary")
    del config["weight_stochastic"]
    with pytest.raises(ConfigError, match="missing key 'weight_stochastic'"):
        LINEAR_FORMATS["binary"](16, 8, config=config, layer_name="l")


def test_quantize_model_rejects_a_bad_config_before_swapping_anything():
    model = _bert()
    bad = {**example_config("block_fp"), "weight_block_size": [0]}
    with pytest.raises(ConfigError, match="weight_block_size"):
        quantize_model(model, {"by": "type", "linear": {"config": bad}})
    assert not any(isinstance(module, QuantizedLinear) for module in model.modules())


def test_exponent_bias_accepts_mase_none_spellings():
    for spelling in (None, "None", "none"):
        config = {**example_config("block_fp"), "weight_exponent_bias": spelling}
        assert LinearBlockFP(16, 8, config=config).quantizers["weight"] is not None
