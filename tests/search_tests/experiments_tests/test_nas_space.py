"""The Lab 2 NAS spaces: Tutorial 5's exactly on `full`, a scaled-down one of the same structure otherwise."""

import pytest

from errors import ConfigError
from search.experiments.lab2_nas import Lab2NasExperiment
from search.experiments.spaces.nas import (
    ARCH_FIELDS,
    NAS_SPACES,
    PROJECTION_PARAMS,
    NasSpace,
    arch_from_params,
    get_space,
    space_for,
)
from search.options import RunOptions
from search.study.samplers import grid_size


def test_the_tutorial_space_is_tutorial_5s():
    space = get_space("tutorial")
    assert space.grid() == {
        "num_hidden_layers": [2, 4, 8],
        "num_attention_heads": [2, 4, 8, 16],
        "hidden_size": [128, 192, 256, 384, 512],
        "intermediate_size": [512, 768, 1024, 1536, 2048],
        "query_proj": ["linear", "identity"],
        "key_proj": ["linear", "identity"],
        "value_proj": ["linear", "identity"],
        "output_proj": ["linear", "identity"],
        "pooler_proj": ["linear", "identity"],
        "ffn_in_proj": ["linear", "identity"],
        "ffn_out_proj": ["linear", "identity"],
    }
    assert space.size() == 3 * 4 * 5 * 5 * 16 * 8
    # Only hidden 512 with intermediate 512 makes the FFN square: 24 size pairs with one FFN
    # model, one with four; times layers x heads x attention choices x pooler choice.
    assert space.distinct_architectures() == 3 * 4 * 16 * 2 * (24 + 4) == 10_752
    assert get_space("small").distinct_architectures() == get_space("small").size() == 384


def test_ffn_choices_act_only_when_square_and_the_pooler_always():
    from trainables.models.classifier import build_model
    from trainables.models.nas_arch import built_identity_projections
    from trainables.models.recipe import replace_projections_with_identity

    base = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 64}
    choices = {"pooler_proj": "identity", "ffn_in_proj": "identity", "ffn_out_proj": "identity"}
    assert arch_from_params({**base, "intermediate_size": 128, **choices})[1] == ["pooler"]
    arch, identity = arch_from_params({**base, "intermediate_size": 64, **choices})
    assert identity == ["pooler", "ffn_in", "ffn_out"]
    model = build_model(100, 2, arch)
    replace_projections_with_identity(model, identity)
    assert built_identity_projections(model) == identity
    with pytest.raises(ValueError, match="not square"):
        replace_projections_with_identity(build_model(100, 2, {**arch, "intermediate_size": 128}), ["ffn_in"])


@pytest.mark.parametrize(("profile", "name"), [("full", "tutorial"), ("quick", "small"), ("smoke", "small")])
def test_each_profile_names_a_space_larger_than_its_budget(profile, name):
    options = RunOptions(profile_name=profile)
    space = space_for(options)
    assert space.name == name
    assert space.size() >= options.profile.nas_budget  # grid runs `budget` distinct points
    assert list(space.grid())[: len(ARCH_FIELDS) + len(PROJECTION_PARAMS)] == [
        *ARCH_FIELDS,
        *PROJECTION_PARAMS,
    ]
    assert space.distinct_architectures() >= options.profile.nas_budget


@pytest.mark.parametrize("name", list(NAS_SPACES))
def test_every_point_of_every_space_is_a_valid_bert(name):
    grid = get_space(name).grid()
    assert grid_size(grid) == get_space(name).size()
    for heads in grid["num_attention_heads"]:
        for hidden in grid["hidden_size"]:
            arch, identity = arch_from_params(
                {
                    "num_hidden_layers": 1,
                    "num_attention_heads": heads,
                    "hidden_size": hidden,
                    "intermediate_size": 8,
                }
            )
            assert arch["hidden_size"] % arch["num_attention_heads"] == 0 and identity == []


def test_a_space_with_invalid_points_and_an_unknown_name_are_refused():
    with pytest.raises(ConfigError, match="hidden_size 100 is not a multiple of 8 heads"):
        NasSpace("bad", (1,), (8,), (100,), (64,)).check()
    with pytest.raises(ConfigError, match="unknown NAS space 'huge'"):
        get_space("huge")


def test_the_best_nas_start_prefers_fewer_parameters_on_a_tie(tmp_path):
    import pandas as pd

    from tests.saved_model_files import saved_model_folder

    ckpt = {name: saved_model_folder(tmp_path / name) for name in "abd"}

    table = pd.DataFrame(
        {
            "experiment": "lab2-nas",
            "status": ["TERMINATED", "TERMINATED", "ERROR", "TERMINATED"],
            "accuracy": [0.8, 0.8, 0.9, 0.7],
            "cost_params": [2000, 1000, 10, 5],
            "repeat": 0,
            "trial_index": [0, 1, 2, 3],
            "checkpoint": [ckpt["a"], ckpt["b"], None, ckpt["d"]],
        }
    )
    assert Lab2NasExperiment().best_start(table)["checkpoint"] == ckpt["b"]
