"""Lab 2, task 1: build a randomly initialised BERT of the sampled shape, train it, evaluate it."""

import time
from typing import Any

from torch import nn

from trainables.models.classifier import architecture
from trainables.models.families import BERT, searchable_family
from trainables.models.nas_arch import arch_from_params, built_identity_projections
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import TrialContext
from trainables.trial_steps import TrialData, accuracy, finish, open_data, train_model


def build_nas_model(config: dict[str, Any], data: TrialData) -> tuple[nn.Module, ModelRecipe]:
    """The sampled architecture (search/experiments/spaces/nas.py's parameters) as a seeded, random-init model.

    With a --model (`config["model_config"]`), the model's family with the sampled shape.
    """
    model_config = config.get("model_config")
    family = BERT if model_config is None else searchable_family(model_config["model_type"], "lab2-nas")
    arch, identity = arch_from_params(config, family)
    recipe = ModelRecipe(
        vocab_size=data.prepared.vocab_size,
        num_labels=data.prepared.num_labels,
        arch=arch,
        identity_projections=identity,
        seed=int(config["seed"]),
        model_config=model_config,
    )
    # Random init, as in Tutorial 5: pretrained weights exist for one shape only.
    return build_from_recipe(recipe, pretrained=False), recipe


def architecture_metrics(model: nn.Module) -> dict[str, Any]:
    """The shape read back from the built model (`built_*`), so the table proves what was trained."""
    identity = built_identity_projections(model)
    return {
        **{f"built_{field}": value for field, value in architecture(model).items()},
        "built_identity_projections": ",".join(identity) or "none",
    }


def timed_training(model: nn.Module, data: TrialData, config: dict[str, Any], ctx: TrialContext, **overrides):
    """`train_model` plus `train_seconds` (wall time of the training loop)."""
    started = time.perf_counter()
    metrics = train_model(model, data, config, ctx, **overrides)
    return {**metrics, "train_seconds": time.perf_counter() - started}


def lab2_nas_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Build the sampled BERT, train the profile's epochs, evaluate, save, report.

    Reports `accuracy` (the search's objective), the `built_*` shape, `cost_params` and the
    other cost metrics, `train_seconds` and `trial_seconds`.
    """
    data = open_data(config)
    model, recipe = build_nas_model(config, data)
    train_metrics = timed_training(model, data, config, ctx)
    metrics = {
        "accuracy": accuracy(model, data, config, ctx),
        **architecture_metrics(model),
        **train_metrics,
    }
    return finish(model, recipe, ctx, metrics, data)
