"""The rehearsal surrogate: deterministic in the architecture, seeded noise, the real parameter count."""

import json
import statistics

import pytest

from trainables.models.nas_arch import arch_from_params
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import local_context
from trainables.trials.surrogate import (
    PROJECTIONS,
    SURROGATE_FILE,
    VOCAB,
    surrogate_accuracy,
    surrogate_nas_trial,
    surrogate_params,
)

SMALL = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 128, "intermediate_size": 512}
LARGE = {"num_hidden_layers": 8, "num_attention_heads": 8, "hidden_size": 512, "intermediate_size": 2048}


def _config(shape, identity=(), seed=0):
    return {**shape, **{p: "identity" if p in identity else "linear" for p in PROJECTIONS}, "seed": seed}


@pytest.mark.parametrize(
    "intermediate, identity",
    [
        (512, ()),
        (512, ("query_proj", "output_proj", "pooler_proj")),
        (512, ("ffn_in_proj",)),  # not square: the FFN stays Linear
        (128, ("ffn_in_proj", "ffn_out_proj", "key_proj")),
    ],
)
def test_surrogate_params_are_the_built_models(intermediate, identity):
    config = _config({**SMALL, "num_hidden_layers": 2, "intermediate_size": intermediate}, identity)
    recipe = ModelRecipe(
        vocab_size=VOCAB,
        arch={k: config[k] for k in SMALL},
        identity_projections=arch_from_params(config)[1],
    )
    model = build_from_recipe(recipe, pretrained=False)
    assert surrogate_params(config) == sum(p.numel() for p in model.parameters())


def test_accuracy_is_deterministic_per_seed_and_favours_larger_shapes():
    assert surrogate_accuracy(_config(SMALL)) == surrogate_accuracy(_config(SMALL))
    assert surrogate_accuracy(_config(SMALL, seed=0)) != surrogate_accuracy(_config(SMALL, seed=1))
    small = [surrogate_accuracy(_config(SMALL, seed=s)) for s in range(20)]
    large = [surrogate_accuracy(_config(LARGE, seed=s)) for s in range(20)]
    assert all(0.5 <= a <= 0.9 for a in small + large)
    assert statistics.mean(large) > statistics.mean(small) + 0.05
    assert statistics.stdev(small) > 0


def test_surrogate_trial_sleeps_and_reports(tmp_path):
    ctx = local_context(tmp_path)
    metrics = surrogate_nas_trial({**_config(SMALL), "surrogate_seconds": 0.2}, ctx)
    assert metrics["trial_seconds"] >= 0.2
    assert ctx.reports[0]["accuracy"] == surrogate_accuracy(_config(SMALL))
    # Like a real trial, one checkpoint: a small file with the shape and the metrics, not a model.
    saved = json.loads((tmp_path / "checkpoint" / SURROGATE_FILE).read_text())
    assert saved["config"]["hidden_size"] == 128 and saved["metrics"]["accuracy"] == metrics["accuracy"]
    assert ctx.reports[0]["cost_params"] == surrogate_params(_config(SMALL))


def test_surrogate_knows_every_projection_choice_of_the_nas_spaces():
    from search.experiments.spaces.nas import NAS_SPACES

    for space in NAS_SPACES.values():
        assert {p for p in space.grid() if p.endswith("_proj")} <= set(PROJECTIONS), space.name
