"""Tutorial 2's step: fine-tune the starting model once and save it for every later experiment."""

import time
from typing import Any

from trainables.model_recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import TrialContext
from trainables.trial_steps import accuracy, cost_metrics, open_data, save_checkpoint, train_model


def base_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Build bert-tiny (pretrained when the hub is reachable), train, evaluate, save, report."""
    start = time.perf_counter()
    data = open_data(config)
    recipe = ModelRecipe(
        vocab_size=data.prepared.vocab_size, num_labels=data.prepared.num_labels, seed=int(config["seed"])
    )
    model = build_from_recipe(recipe, pretrained=True)
    train_metrics = train_model(model, data, config, ctx, epochs=config["base_epochs"])
    metrics = {
        "accuracy": accuracy(model, data, config, ctx),
        **train_metrics,
        **cost_metrics(model),
        "trial_seconds": time.perf_counter() - start,
    }
    ctx.report(metrics, save_checkpoint(model, recipe, ctx))
    return metrics
