"""prune_model: exact sparsity, mask persistence through training and copies, activation pruning."""

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from errors import ConfigError
from trainables.compress import (
    attach_pruning_hooks,
    fixed_point_config,
    prune_model,
    quantize_model,
)
from trainables.compress.formats.integer import fixed_point_quantize
from trainables.compress.layers.linear_integer import LinearInteger
from trainables.compress.prune import InputPruning, WeightMaskHook

INTEGER_8 = fixed_point_config(8, 4)


def weight_config(sparsity=0.5, method="l1-norm", scope="local"):
    return {"weight": {"sparsity": sparsity, "method": method, "scope": scope}}


def activation_config(sparsity=0.5, method="l1-norm", scope="local"):
    return {"activation": {"sparsity": sparsity, "method": method, "scope": scope}}


def mlp(seed=0, sizes=(12, 16, 8, 4)):
    torch.manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def linears(model):
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def zeros(tensor):
    return int((tensor == 0).sum())


def train_steps(model, optimizer, steps=3, in_features=12, check=None):
    torch.manual_seed(123)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model(torch.randn(8, in_features)).pow(2).mean()
        loss.backward()
        optimizer.step()
        if check is not None:
            check()


def assert_masked(model):
    for name, module in linears(model).items():
        assert (module.weight[~module.weight_mask] == 0).all(), name


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (weight_config(sparsity=1.0), "weight.sparsity=1.0"),
        (weight_config(sparsity=-0.1), "weight.sparsity=-0.1"),
        (weight_config(sparsity="0.5"), "weight.sparsity='0.5'"),
        (weight_config(sparsity=True), "weight.sparsity=True"),
        (weight_config(sparsity=float("nan")), "weight.sparsity=nan"),
        (weight_config(method="l2"), "weight.method='l2'"),
        (weight_config(method="random_fixed"), "weight.method='random_fixed'"),
        (weight_config(scope="layer"), "weight.scope='layer'"),
        (activation_config(method="magnitude"), "activation.method='magnitude'"),
        (activation_config(scope="global"), "activation.scope='global'"),
        ({"weight": {"sparsity": 0.5}}, "weight.method=None"),
        ({"weight": {"method": "random"}}, "weight.sparsity is missing"),
        (
            {"weight": {"sparsity": 0.5, "method": "random", "granularity": "channel"}},
            "granularity='channel'",
        ),
        ({"weight": {"sparsity": 0.5, "method": "random", "sparse": 1}}, "unknown key(s) ['sparse']"),
        ({"weights": {"sparsity": 0.5, "method": "random"}}, "unknown key(s) ['weights']"),
        ({"weight": 0.5}, "weight must be a dict"),
        ([("weight", 0.5)], "must be a dict"),
    ],
)
def test_bad_config_raises_config_error_naming_key_and_value(config, expected):
    with pytest.raises(ConfigError) as error:
        prune_model(mlp(), config)
    assert expected in str(error.value)


def test_config_error_lists_what_is_allowed():
    with pytest.raises(ConfigError, match=r"\['random', 'l1-norm', 'l1-norm-per-token', 'random_fixed'\]"):
        prune_model(mlp(), activation_config(method="l2"))
    with pytest.raises(ConfigError, match=r"allowed \[0, 1\)"):
        prune_model(mlp(), weight_config(sparsity=1.5))


def test_config_error_leaves_model_untouched():
    model = mlp()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ConfigError):
        prune_model(model, {**weight_config(), **activation_config(method="nope")})
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[key], after[key]) for key in before)
    assert all(not m._forward_pre_hooks for m in linears(model).values())


def test_bad_layers_and_seed_raise_config_error():
    with pytest.raises(ConfigError, match="'9'"):
        prune_model(mlp(), weight_config(), layers=["0", "9"])
    with pytest.raises(ConfigError, match="'1'"):  # a ReLU, not a Linear
        prune_model(mlp(), weight_config(), layers=["1"])
    with pytest.raises(ConfigError, match="not a string"):
        prune_model(mlp(), weight_config(), layers="0")
    with pytest.raises(ConfigError, match="seed"):
        prune_model(mlp(), weight_config(), seed="1")


def test_mase_lab_config_is_accepted_as_is():
    config = {
        "weight": {"sparsity": 0.5, "method": "l1-norm", "scope": "local", "granularity": "elementwise"},
        "activation": {"sparsity": 0.5, "method": "l1-norm", "scope": "local"},
    }
    model = mlp()
    prune_model(model, config)
    for module in linears(model).values():
        # Half of every weight tensor is zero, and every Linear prunes half of its input features.
        assert zeros(module.weight) == round(0.5 * module.weight.numel())
        pruning = [hook for hook in module._forward_pre_hooks.values() if isinstance(hook, InputPruning)]
        assert [(hook.sparsity, hook.method) for hook in pruning] == [(0.5, "l1-norm")]


# --- weight pruning: exact sparsity, methods --------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    sparsity=st.floats(0.0, 0.99),
    method=st.sampled_from(["random", "l1-norm"]),
    fan_in=st.integers(1, 20),
    fan_out=st.integers(1, 20),
)
def test_local_sparsity_is_exact_per_tensor(sparsity, method, fan_in, fan_out):
    model = mlp(sizes=(fan_in, fan_out, 7))
    prune_model(model, weight_config(sparsity, method))
    for module in linears(model).values():
        assert zeros(module.weight) == round(sparsity * module.weight.numel())


@settings(max_examples=25, deadline=None)
@given(
    sparsity=st.floats(0.01, 0.99), method=st.sampled_from(["random", "l1-norm"]), seed=st.integers(0, 100)
)
def test_global_sparsity_is_exact_over_all_tensors(sparsity, method, seed):
    model = mlp(seed)
    prune_model(model, weight_config(sparsity, method, "global"), seed=seed)
    weights = [m.weight for m in linears(model).values()]
    total = sum(w.numel() for w in weights)
    assert sum(zeros(w) for w in weights) == round(sparsity * total)
    for module in linears(model).values():
        assert zeros(module.weight) == int((~module.weight_mask).sum())


def test_local_l1_keeps_the_largest_weights():
    model = mlp()
    original = {name: m.weight.detach().clone() for name, m in linears(model).items()}
    prune_model(model, weight_config(0.6))
    for name, module in linears(model).items():
        magnitude = original[name].abs()
        assert magnitude[module.weight_mask].min() >= magnitude[~module.weight_mask].max()
        assert torch.equal(module.weight[module.weight_mask], original[name][module.weight_mask])


def test_global_l1_keeps_the_largest_weights_across_layers():
    model = mlp()
    with torch.no_grad():
        model[2].weight.mul_(10)  # one layer of larger weights should keep more of them
    original = {name: m.weight.detach().abs().clone() for name, m in linears(model).items()}
    prune_model(model, weight_config(0.5, scope="global"))
    kept = torch.cat([original[n][m.weight_mask] for n, m in linears(model).items()])
    dropped = torch.cat([original[n][~m.weight_mask] for n, m in linears(model).items()])
    assert kept.min() >= dropped.max()
    sparsities = [zeros(m.weight) / m.weight.numel() for m in linears(model).values()]
    assert sparsities[1] < 0.5 < max(sparsities)


def test_random_is_reproducible_from_seed_and_differs_across_seeds():
    def masks(seed, scope="local"):
        model = mlp()
        prune_model(model, weight_config(0.5, "random", scope), seed=seed)
        return [m.weight_mask.clone() for m in linears(model).values()]

    for scope in ("local", "global"):
        first, again, other = masks(7, scope), masks(7, scope), masks(8, scope)
        assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
        assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_random_weight_masks_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    prune_model(mlp(), weight_config(0.5, "random"))
    prune_model(mlp(), {**weight_config(0.5, "random", "global"), **activation_config(0.5, "random_fixed")})
    assert torch.equal(state, torch.random.get_rng_state())


def test_layer_filter_and_zero_sparsity():
    model = mlp()
    prune_model(model, weight_config(0.5), layers=["2"])
    assert [n for n, m in linears(model).items() if "weight_mask" in m._buffers] == ["2"]
    untouched = mlp()
    prune_model(untouched, {**weight_config(0.0), **activation_config(0.0)})
    assert all(not m._buffers and not m._forward_pre_hooks for m in linears(untouched).values())


def test_local_random_mask_of_a_layer_does_not_depend_on_the_others():
    alone, together = mlp(), mlp()
    prune_model(alone, weight_config(0.5, "random"), seed=3, layers=["2"])
    prune_model(together, weight_config(0.5, "random"), seed=3)
    assert torch.equal(alone[2].weight_mask, together[2].weight_mask)


def test_pruning_twice_replaces_masks_without_stacking_hooks():
    model = mlp()
    prune_model(model, {**weight_config(0.3), **activation_config(0.3)})
    prune_model(model, {**weight_config(0.6), **activation_config(0.5, "random")})
    for module in linears(model).values():
        hooks = list(module._forward_pre_hooks.values())
        assert sum(isinstance(h, WeightMaskHook) for h in hooks) == 1
        assert [h.method for h in hooks if isinstance(h, InputPruning)] == ["random"]
        assert zeros(module.weight) == round(0.6 * module.weight.numel())
        assert len(module.weight._backward_hooks) == 1


# --- the mask survives training, copies and checkpoints --------------------------------------------


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.5),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.5, foreach=False),
    ],
    ids=["adam", "adamw", "sgd-momentum", "adamw-for-loop"],
)
@pytest.mark.parametrize("scope", ["local", "global"])
def test_pruned_weights_stay_exactly_zero_after_optimizer_steps(make_optimizer, scope):
    model = mlp()
    prune_model(model, weight_config(0.5, "l1-norm", scope))
    before = {n: m.weight.detach().clone() for n, m in linears(model).items()}
    optimizer = make_optimizer(model.parameters())
    train_steps(model, optimizer, steps=4, check=lambda: assert_masked(model))
    for name, module in linears(model).items():
        assert zeros(module.weight) >= int((~module.weight_mask).sum())
        assert not torch.equal(module.weight[module.weight_mask], before[name][module.weight_mask])


def test_stale_optimizer_state_is_undone_by_the_next_forward():
    model = mlp()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05)
    train_steps(model, optimizer, steps=2)  # momentum built up before pruning
    prune_model(model, weight_config(0.5))
    train_steps(model, optimizer, steps=1)
    model(torch.randn(2, 12))
    assert_masked(model)


def test_two_forwards_before_one_backward_still_work():
    model = mlp()
    prune_model(model, weight_config(0.5))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = model(torch.randn(4, 12)).sum()
    optimizer.step()  # changes the weights between the two forwards
    loss = loss + model(torch.randn(4, 12)).sum()
    loss.backward()
    for module in linears(model).values():
        assert (module.weight.grad[~module.weight_mask] == 0).all()


def test_mask_survives_deepcopy():
    model = mlp()
    prune_model(model, weight_config(0.5, "random"))
    clone = copy.deepcopy(model)
    for name, module in linears(clone).items():
        assert torch.equal(module.weight_mask, linears(model)[name].weight_mask)
    train_steps(
        clone,
        torch.optim.AdamW(clone.parameters(), lr=0.05, weight_decay=0.5),
        check=lambda: assert_masked(clone),
    )
    # The clone's gradient hooks mask with the clone's masks, not the original's.
    for module in linears(clone).values():
        assert all(h.module_ref() is module for h in module.weight._backward_hooks.values())


def test_mask_survives_state_dict_round_trip_into_a_freshly_pruned_model():
    source = mlp(seed=1)
    prune_model(source, weight_config(0.5))
    state = copy.deepcopy(source.state_dict())
    assert "0.weight_mask" in state
    target = mlp(seed=2)  # other weights, so a freshly computed l1 mask would differ
    prune_model(target, weight_config(0.5))
    target.load_state_dict(state)
    for name, module in linears(target).items():
        assert torch.equal(module.weight_mask, state[f"{name}.weight_mask"])
    train_steps(target, torch.optim.Adam(target.parameters(), lr=0.05), check=lambda: assert_masked(target))


def test_attach_pruning_hooks_loads_a_pruned_checkpoint_into_a_plain_model():
    source = mlp(seed=1)
    prune_model(source, {**weight_config(0.5, "random"), **activation_config(0.25, "random_fixed")})
    state = copy.deepcopy(source.state_dict())
    target = mlp(seed=2)
    assert attach_pruning_hooks(target, state) == ["0", "2", "4"]
    target.load_state_dict(state)
    x = torch.randn(3, 12)
    assert torch.equal(target(x), source(x))
    train_steps(target, torch.optim.AdamW(target.parameters(), lr=0.05), check=lambda: assert_masked(target))
    assert attach_pruning_hooks(target) == ["0", "2", "4"]  # idempotent: no hooks stacked
    assert sum(isinstance(h, WeightMaskHook) for h in target[0]._forward_pre_hooks.values()) == 1


def test_pickled_model_keeps_its_mask():
    model = mlp()
    prune_model(model, weight_config(0.5))
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    train_steps(loaded, torch.optim.AdamW(loaded.parameters(), lr=0.05), steps=1)
    loaded(torch.randn(1, 12))  # the first forward re-installs the gradient hooks
    train_steps(loaded, torch.optim.AdamW(loaded.parameters(), lr=0.05), check=lambda: assert_masked(loaded))


# --- quantized layers -------------------------------------------------------------------------------


def test_quantize_then_prune_masks_the_quantized_weight():
    model = quantize_model(mlp(), INTEGER_8)
    assert all(isinstance(m, LinearInteger) for m in linears(model).values())
    model.eval()
    x = torch.randn(5, 12)
    with torch.no_grad():
        model(x)  # fills LinearInteger's cached quantized weight before pruning
    prune_model(model, weight_config(0.5))
    layer = model[0]
    assert zeros(layer.weight) == round(0.5 * layer.weight.numel())
    with torch.no_grad():
        expected = F.linear(
            fixed_point_quantize(x, 8, 4),
            fixed_point_quantize(layer.weight * layer.weight_mask, 8, 4),
            fixed_point_quantize(layer.bias, 8, 4),
        )
        assert torch.equal(layer(x), expected)
    model.train()
    train_steps(
        model,
        torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.5),
        check=lambda: assert_masked(model),
    )


def test_prune_then_quantize_keeps_the_mask():
    model = mlp()
    prune_model(model, {**weight_config(0.5), **activation_config(0.25, "random_fixed")})
    masks = {n: m.weight_mask.clone() for n, m in linears(model).items()}
    quantize_model(model, INTEGER_8)
    for name, module in linears(model).items():
        assert isinstance(module, LinearInteger)
        assert torch.equal(module.weight_mask, masks[name])
    train_steps(
        model,
        torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.5),
        check=lambda: assert_masked(model),
    )


# --- activation pruning -----------------------------------------------------------------------------


def identity_linear(features):
    layer = nn.Linear(features, features)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(features))
        layer.bias.zero_()
    return layer


@settings(max_examples=20, deadline=None)
@given(
    sparsity=st.floats(0.0, 0.99),
    features=st.integers(1, 24),
    method=st.sampled_from(["l1-norm-per-token", "random"]),
)
def test_activation_pruning_zeroes_an_exact_fraction_of_each_input_vector(sparsity, features, method):
    layer = identity_linear(features)
    prune_model(layer, activation_config(sparsity, method))
    x = torch.rand(3, 5, features) + 0.5  # no zeros of its own
    with torch.no_grad():
        y = layer(x)
    assert ((y == 0).sum(-1) == round(sparsity * features)).all()
    assert torch.equal(y[y != 0], x[y != 0])


def test_activation_l1_per_token_keeps_the_largest_entries_per_vector():
    layer = identity_linear(10)
    prune_model(layer, activation_config(0.4, "l1-norm-per-token"))
    x = torch.randn(6, 10)
    with torch.no_grad():
        y = layer(x)
    for row_x, row_y in zip(x, y, strict=True):
        kept, dropped = row_x.abs()[row_y != 0], row_x.abs()[row_y == 0]
        assert kept.min() >= dropped.max()


def test_activation_l1_is_mase_quantile_of_the_whole_tensor_hand_cases():
    layer = identity_linear(4)
    prune_model(layer, activation_config(0.5))
    # |x| sorted: 0.1 0.2 0.3 0.4 | 1 2 3 4; quantile(0.5) over 8 values interpolates at 3.5 -> 0.7;
    # MASE keeps |x| > 0.7: the whole first row goes, the second stays (one threshold, not per row).
    x = torch.tensor([[0.1, -0.2, 0.3, 0.4], [1.0, 2.0, -3.0, 4.0]])
    with torch.no_grad():
        y = layer(x)
    assert y.tolist() == [[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, -3.0, 4.0]]
    # Ties: quantile(0.5) of [1, 1, 1, 1, 1, 5] is 1, and every 1 is dropped (MASE's `>`).
    layer6 = identity_linear(6)
    prune_model(layer6, activation_config(0.5))
    with torch.no_grad():
        assert layer6(torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 5.0])).tolist() == [0, 0, 0, 0, 0, 5.0]


@settings(max_examples=30, deadline=None)
@given(
    sparsity=st.floats(0.01, 0.99), shape=st.sampled_from([(3, 7), (2, 5, 8), (40,)]), seed=st.integers(0, 99)
)
def test_activation_l1_matches_torch_quantile(sparsity, shape, seed):
    generator = torch.Generator().manual_seed(seed)
    features = shape[-1]
    layer = identity_linear(features)
    prune_model(layer, activation_config(sparsity))
    x = torch.randn(shape, generator=generator)
    with torch.no_grad():
        y = layer(x)
    threshold = torch.quantile(x.abs().flatten().double(), sparsity)
    expected = torch.where(x.abs().double() > threshold, x, torch.zeros_like(x))
    assert torch.equal(y, expected)


def test_activation_random_draws_a_fresh_mask_on_every_call_even_in_eval():
    layer = identity_linear(32).eval()
    prune_model(layer, activation_config(0.5, "random"))
    x = torch.ones(4, 32)
    with torch.no_grad():
        first, second = layer(x), layer(x)
    assert not torch.equal(first == 0, second == 0)


def test_activation_random_fixed_is_one_feature_mask_per_layer_from_the_seed():
    def pruned(seed):
        layer = identity_linear(20)
        prune_model(layer, activation_config(0.3, "random_fixed"), seed=seed)
        return layer

    layer = pruned(5)
    assert int((~layer.input_mask).sum()) == 6
    x = torch.rand(7, 3, 20) + 0.5
    with torch.no_grad():
        first, second = layer(x), layer(x * 2)
    assert torch.equal(first == 0, second == 0)
    assert torch.equal((first == 0).all(0).all(0), ~layer.input_mask)
    assert torch.equal(pruned(5).input_mask, layer.input_mask)
    assert not torch.equal(pruned(6).input_mask, layer.input_mask)


def test_activation_pruning_lets_gradients_through_the_kept_inputs():
    layer = identity_linear(8)
    prune_model(layer, activation_config(0.5))
    x = torch.randn(2, 8, requires_grad=True)
    layer(x).sum().backward()
    assert torch.equal(x.grad != 0, layer(x).detach() != 0)


# --- a bert-tiny-shaped model -----------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["local", "global"])
def test_bert_tiny_quantized_and_pruned_still_trains_and_keeps_its_mask(scope):
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(
        hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512, vocab_size=200
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    quantize_model(model, INTEGER_8)
    prune_model(model, {**weight_config(0.5, "l1-norm", scope), **activation_config(0.5)})
    pruned = linears(model)
    assert len(pruned) == 14  # 2 x (q, k, v, attention out, intermediate, output) + pooler + classifier
    if scope == "global":
        total = sum(m.weight.numel() for m in pruned.values())
        assert sum(zeros(m.weight) for m in pruned.values()) == round(0.5 * total)
    else:
        assert all(zeros(m.weight) == round(0.5 * m.weight.numel()) for m in pruned.values())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    input_ids = torch.randint(0, 200, (2, 16))
    labels = torch.tensor([0, 1])
    for _ in range(2):
        optimizer.zero_grad()
        loss = model(input_ids=input_ids, labels=labels).loss
        assert torch.isfinite(loss)
        loss.backward()
        optimizer.step()
        assert_masked(model)


def test_activation_random_drops_every_column_equally_often():
    # 4,000 vectors of 10 features at sparsity 0.3: each column is dropped in 30% of them
    # (binomial sd 0.7 points), so a mask biased to low or high columns (ties broken by index,
    # a selection that is not uniform) fails.
    layer = identity_linear(10)
    prune_model(layer, activation_config(0.3, "random"))
    with torch.no_grad():
        dropped = layer(torch.ones(4000, 10)) == 0
    assert (dropped.sum(-1) == 3).all()
    share = dropped.float().mean(0)
    assert ((share - 0.3).abs() < 0.035).all(), share


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_activation_l1_per_token_matches_topk_in_every_dtype(dtype):
    # The CPU selection on bit patterns against torch's topk, in float64 too (which takes topk).
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(7, 9, 48, generator=generator).to(dtype)
    layer = identity_linear(48).to(dtype)
    prune_model(layer, activation_config(0.6, "l1-norm-per-token"))
    with torch.no_grad():
        y = layer(x)
    count = round(0.6 * 48)
    assert ((y == 0).sum(-1) == count).all()
    expected = torch.zeros(x.shape, dtype=torch.bool)
    expected.scatter_(-1, x.abs().float().topk(count, dim=-1, largest=False).indices, True)
    # Equal |x| (bf16 has few values) may be dropped in a different order than topk's; the
    # largest dropped never exceeds the smallest kept.
    kept = x.abs().float().masked_fill(y == 0, float("inf")).amin(-1)
    dropped_max = x.abs().float().masked_fill(y != 0, -1).amax(-1)
    assert (dropped_max <= kept).all()
    assert (expected == (y == 0)).float().mean() > 0.95


@pytest.mark.parametrize("features", [5, 4096, 4097, 9000])
def test_random_drop_mask_is_exact_per_vector_on_both_key_widths(features):
    # Up to 4,096 features the keys are 32-bit, above that 64-bit (prune._drop_per_vector).
    from trainables.compress.prune import _drop_per_vector

    torch.manual_seed(0)
    x = torch.ones(6, features)
    count = round(0.3 * features)
    first = _drop_per_vector(x, count, "random")
    assert (first.sum(-1) == count).all()
    torch.manual_seed(0)
    assert torch.equal(_drop_per_vector(x, count, "random"), first)  # torch's seed fixes the mask
    assert not torch.equal(_drop_per_vector(x, count, "random"), first)
