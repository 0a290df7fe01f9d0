"""lab1_prune_trial without Ray: prunes the quantized start model, keeps its masks, reports both accuracies."""

import pytest
import torch
from torch import nn

from trainables.compress import fixed_point_config, quantize_model
from trainables.compress.prune import InputPruning
from trainables.models.checkpoint import load_model, save_model
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import local_context
from trainables.trial_steps import open_data
from trainables.trials.lab1_prune import lab1_prune_trial, prune_config

# Smaller than bert-tiny so activation pruning (a top-k per Linear input) keeps the tests fast.
SMALL_ARCH = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 32, "intermediate_size": 64}


@pytest.fixture(scope="module")
def start_checkpoint(smoke_config, tmp_path_factory):
    """A saved 8-bit QAT-like start model, as lab1-qat would leave it."""
    data = open_data(smoke_config)
    recipe = ModelRecipe(
        vocab_size=data.prepared.vocab_size, num_labels=data.prepared.num_labels, arch=SMALL_ARCH, seed=0
    )
    model = build_from_recipe(recipe)
    recipe.quantization = fixed_point_config(8, 4)
    quantize_model(model, recipe.quantization)
    return save_model(model, recipe, tmp_path_factory.mktemp("qat") / "checkpoint")


def prune_trial(config, start, tmp_path, sparsity, method):
    ctx = local_context(tmp_path)
    params = {"sparsity": sparsity, "method": method}
    settings = {"start_checkpoint": str(start), "start_accuracy": 0.7, "start_width": 8}
    return lab1_prune_trial({**config, **settings, **params}, ctx), ctx


def linear_layers(model):
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def test_prune_config_is_tutorial_4s():
    entry = {"sparsity": 0.3, "method": "l1-norm", "scope": "local"}
    assert prune_config(0.3, "l1-norm") == {"weight": entry, "activation": entry}


def test_l1_trial_prunes_the_quantized_model_and_saves_masks_that_survive_fine_tuning(
    smoke_config, start_checkpoint, tmp_path
):
    metrics, ctx = prune_trial(smoke_config, start_checkpoint, tmp_path, 0.5, "l1-norm")
    assert 0 <= metrics["pruned_accuracy"] <= 1 and 0 <= metrics["finetuned_accuracy"] <= 1
    assert metrics["train_steps"] > 0
    assert metrics["cost_avg_linear_bits"] == 8.0  # the start model's quantization is kept
    assert metrics["cost_sparsity"] > 0.1
    assert metrics["majority_accuracy"] == pytest.approx(0.5, abs=0.1)
    assert metrics["start_width"] == 8 and metrics["start_checkpoint"] == str(start_checkpoint)
    assert ctx.reports == [{**metrics, "node": ctx.node, "device": "cpu"}]

    model, recipe = load_model(tmp_path / "checkpoint")
    assert recipe.pruning == prune_config(0.5, "l1-norm")
    assert recipe.quantization == fixed_point_config(8, 4)
    for name, layer in linear_layers(model).items():
        # Exactly half of every weight tensor is zero after fine-tuning, and the reload keeps it.
        assert int((layer.weight == 0).sum()) >= layer.weight.numel() // 2, name
        assert torch.equal(
            layer.weight[~layer.weight_mask], torch.zeros_like(layer.weight[~layer.weight_mask])
        )
        assert any(isinstance(hook, InputPruning) for hook in layer._forward_pre_hooks.values())


def test_random_trial_does_not_depend_on_the_global_rng_state_before_it(
    smoke_config, start_checkpoint, tmp_path
):
    # Tune may run several trials in one worker process: the result must not depend on the order.
    torch.manual_seed(123)
    first, _ = prune_trial(smoke_config, start_checkpoint, tmp_path / "a", 0.7, "random")
    torch.rand(1000)
    second, _ = prune_trial(smoke_config, start_checkpoint, tmp_path / "b", 0.7, "random")
    keys = ("pruned_accuracy", "finetuned_accuracy", "train_loss", "cost_nonzero_params")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}
