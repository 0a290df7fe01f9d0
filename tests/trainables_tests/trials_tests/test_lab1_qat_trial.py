"""lab1_qat_trial without Ray: one fixed-point width, PTQ then QAT accuracy, the quantized model saved."""

import pytest
from torch import nn

from trainables.compress import LinearInteger, fixed_point_config
from trainables.models.checkpoint import load_model, save_model
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import local_context
from trainables.trial_steps import accuracy, open_data
from trainables.trials.lab1_qat import lab1_qat_trial

SMALL_ARCH = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 32, "intermediate_size": 64}


@pytest.fixture(scope="module")
def base_checkpoint(smoke_config, tmp_path_factory):
    """An fp32 start model saved as the base experiment leaves it."""
    data = open_data(smoke_config)
    recipe = ModelRecipe(
        vocab_size=data.prepared.vocab_size, num_labels=data.prepared.num_labels, arch=SMALL_ARCH, seed=0
    )
    return save_model(build_from_recipe(recipe), recipe, tmp_path_factory.mktemp("base") / "checkpoint")


def test_the_trial_quantizes_every_linear_and_saves_the_trained_quantized_model(
    smoke_config, base_checkpoint, tmp_path
):
    ctx = local_context(tmp_path)
    config = {**smoke_config, "base_checkpoint": str(base_checkpoint), "fp32_accuracy": 0.7}
    metrics = lab1_qat_trial({**config, "width": 16, "frac_ratio": 0.25}, ctx)

    assert metrics["frac_width"] == 4  # round(16 * 0.25): the sampled share, as bits
    assert 0 <= metrics["ptq_accuracy"] <= 1 and 0 <= metrics["qat_accuracy"] <= 1
    assert metrics["fp32_accuracy"] == 0.7 and metrics["train_steps"] > 0
    assert metrics["cost_avg_linear_bits"] == 16.0 and metrics["trial_seconds"] > 0
    assert ctx.reports == [{**metrics, "node": ctx.node, "device": "cpu"}]  # one report, at the end

    model, recipe = load_model(tmp_path / "checkpoint")
    assert recipe.quantization == fixed_point_config(16, 4)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears and all(isinstance(m, LinearInteger) for m in linears)
    # The saved model is the one whose accuracy was reported after QAT.
    assert accuracy(model, open_data(smoke_config), smoke_config, ctx) == metrics["qat_accuracy"]
