"""The steps every trial ends with (finish) and the seeding every trial starts with, without Ray."""

import torch

from trainables.models.checkpoint import load_model
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import local_context
from trainables.trial_steps import finish

SMALL_ARCH = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 16, "intermediate_size": 32}


def test_finish_adds_cost_and_time_saves_the_model_and_reports_once(tmp_path):
    ctx = local_context(tmp_path)
    recipe = ModelRecipe(vocab_size=50, num_labels=2, arch=SMALL_ARCH, seed=0)
    model = build_from_recipe(recipe)
    metrics = finish(model, recipe, ctx, {"accuracy": 0.75})

    assert list(metrics)[0] == "accuracy" and list(metrics)[-1] == "trial_seconds"
    assert metrics["cost_params"] == sum(p.numel() for p in model.parameters())
    assert 0 < metrics["trial_seconds"] < 60
    assert ctx.reports == [{**metrics, "node": ctx.node, "device": "cpu"}]
    saved, saved_recipe = load_model(tmp_path / "checkpoint")
    assert saved_recipe == recipe
    for (name, mine), (_, theirs) in zip(model.state_dict().items(), saved.state_dict().items(), strict=True):
        assert torch.equal(mine, theirs), name


def test_a_local_context_seeds_torch_like_the_ray_adapter_does(tmp_path):
    local_context(tmp_path / "a", seed=3)
    first = torch.rand(4)
    torch.rand(100)  # whatever ran before the next trial
    local_context(tmp_path / "b", seed=3)
    assert torch.equal(torch.rand(4), first)
    local_context(tmp_path / "c", seed=4)
    assert not torch.equal(torch.rand(4), first)
