"""lab2_nas_trial without Ray: the sampled architecture is the one that is built, trained and saved."""

import pytest
from torch import nn

from errors import ConfigError
from trainables.models.checkpoint import load_model
from trainables.models.classifier import architecture
from trainables.models.nas_arch import arch_from_params, params_from_arch
from trainables.trial_context import local_context
from trainables.trials.lab2_nas import lab2_nas_trial

# Deliberately not bert-tiny's shape (2 layers, 2 heads): Tutorial 5's `num_layers`/`num_heads`
# would have silently built bert-tiny here.
PARAMS = {
    "num_hidden_layers": 3,
    "num_attention_heads": 8,
    "hidden_size": 64,
    "intermediate_size": 96,
    "query_proj": "identity",
    "key_proj": "linear",
    "value_proj": "identity",
    "output_proj": "linear",
}


def test_the_sampled_architecture_is_the_built_one(smoke_config, tmp_path):
    ctx = local_context(tmp_path)
    metrics = lab2_nas_trial({**smoke_config, **PARAMS}, ctx)
    for field in ("num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size"):
        assert metrics[f"built_{field}"] == PARAMS[field]
    assert metrics["built_identity_projections"] == "query,value"
    assert 0 <= metrics["accuracy"] <= 1 and metrics["train_seconds"] > 0 and metrics["cost_params"] > 0

    model, recipe = load_model(tmp_path / "checkpoint")
    assert architecture(model) == arch_from_params(PARAMS)[0]
    assert recipe.identity_projections == ["query", "value"]
    for layer in model.bert.encoder.layer:
        attention = layer.attention.self
        assert attention.num_attention_heads == 8 and attention.attention_head_size == 8
        assert isinstance(attention.query, nn.Identity) and isinstance(attention.value, nn.Identity)
        assert isinstance(attention.key, nn.Linear) and isinstance(layer.attention.output.dense, nn.Linear)
        assert layer.intermediate.dense.out_features == 96


def test_arch_from_params_round_trips_and_names_bad_values():
    arch, identity = arch_from_params(PARAMS)
    assert params_from_arch(arch, identity) == PARAMS
    assert arch_from_params({**PARAMS, "query_proj": "linear", "value_proj": "linear"})[1] == []
    with pytest.raises(ConfigError, match="lack 'hidden_size'"):
        arch_from_params({k: v for k, v in PARAMS.items() if k != "hidden_size"})
    with pytest.raises(ConfigError, match="multiple of the head count"):
        arch_from_params({**PARAMS, "hidden_size": 60})
    with pytest.raises(ConfigError, match="key_proj='conv'"):
        arch_from_params({**PARAMS, "key_proj": "conv"})
    with pytest.raises(ConfigError, match="num_hidden_layers=True"):
        arch_from_params({**PARAMS, "num_hidden_layers": True})
