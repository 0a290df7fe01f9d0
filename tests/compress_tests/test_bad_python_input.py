"""The Python API refuses what would silently do the wrong thing: one ConfigError naming the key and the fix."""

import pytest
from torch import nn

from errors import ConfigError
from trainables.compress import prune_model, quantize_model
from trainables.compress.format_examples import example_config
from trainables.compress.registry import LINEAR_FORMATS

INTEGER = {
    "name": "integer",
    "data_in_width": 8,
    "data_in_frac_width": 4,
    "weight_width": 8,
    "weight_frac_width": 4,
    "bias_width": 8,
    "bias_frac_width": 4,
}


def _quantize(layer_config):
    return quantize_model(nn.Sequential(nn.Linear(4, 4)), {"by": "type", "linear": {"config": layer_config}})


@pytest.mark.parametrize(
    ("layer_config", "message"),
    [
        ({**INTEGER, "data_in_width": float("nan")}, "data_in_width=nan is not an integer"),
        ({**INTEGER, "weight_width": float("inf")}, "weight_width=inf is not an integer"),
        ({**INTEGER, "weigth_width": 8}, "has no key 'weigth_width'; did you mean 'weight_width'?"),
        ({**INTEGER, "bais_frac_width": 4}, "did you mean 'bias_frac_width'?"),
        ({}, "has no format name; give 'name'"),
        ({"data_in_width": 8}, "has no format name"),
    ],
)
def test_a_bad_layer_config_is_refused(layer_config, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace("(", r"\(")):
        _quantize(layer_config)


def test_no_format_rejects_its_own_example_config():
    for name in LINEAR_FORMATS:
        model = _quantize(example_config(name))
        assert type(model[0]) is LINEAR_FORMATS[name]


def test_name_none_still_keeps_a_layer_in_fp32():
    model = _quantize({"name": None})
    assert type(model[0]) is nn.Linear


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True])
def test_a_bad_pruning_seed_is_refused(seed):
    with pytest.raises(ConfigError, match="pruning seed="):
        prune_model(
            nn.Sequential(nn.Linear(4, 4)), {"weight": {"sparsity": 0.5, "method": "random"}}, seed=seed
        )
