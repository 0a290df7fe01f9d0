"""Lab 2, task 2: a NAS trial that compresses its model after training, then trains it some more.

Tutorial 5's compression-aware objective: build the sampled architecture, train it, quantize and
prune it (the CompressionPipeline step), evaluate, continue training the compressed model,
evaluate again. Every trial reports all three accuracies; the search chooses which one it
optimizes.
"""

from typing import Any

from torch import nn

from trainables.compress import prune_model, quantize_model
from trainables.compress.mase_mode import with_mase_exact
from trainables.models.recipe import ModelRecipe
from trainables.trial_context import TrialContext
from trainables.trial_steps import accuracy, finish, open_data
from trainables.trials.lab2_nas import architecture_metrics, build_nas_model, timed_training


def compress(model: nn.Module, recipe: ModelRecipe, quantization: dict, pruning: dict, seed: int) -> None:
    """Quantize every selected Linear, then prune (the order of Tutorial 5's pipeline); record both."""
    quantize_model(model, quantization)
    prune_model(model, pruning, seed=seed)
    recipe.quantization = quantization
    recipe.pruning = pruning


def lab2_compress_aware_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Build, train, compress, evaluate, train the compressed model, evaluate, save, report.

    Config: the NAS parameters, `quantization` and `pruning` (MASE configs), `post_train_epochs`,
    plus `data`/`train`/`seed`. Reports `trained_accuracy` (before compression),
    `compressed_accuracy` (right after it), `post_trained_accuracy` (after training on), the
    `built_*` shape, the cost metrics of the compressed model and the timings. The saved
    checkpoint is the final (compressed, post-trained) model.
    """
    seed = int(config["seed"])
    data = open_data(config)
    model, recipe = build_nas_model(config, data)
    train_metrics = timed_training(model, data, config, ctx)
    trained_accuracy = accuracy(model, data, config, ctx)

    quantization = with_mase_exact(config["quantization"], bool(config.get("mase_exact", False)))
    compress(model, recipe, quantization, config["pruning"], seed)
    compressed_accuracy = accuracy(model, data, config, ctx)

    post_metrics = timed_training(model, data, config, ctx, epochs=float(config["post_train_epochs"]))
    post_trained_accuracy = accuracy(model, data, config, ctx)

    metrics = {
        "trained_accuracy": trained_accuracy,
        "compressed_accuracy": compressed_accuracy,
        "post_trained_accuracy": post_trained_accuracy,
        **architecture_metrics(model),
        **train_metrics,
        **{f"post_{key}": value for key, value in post_metrics.items()},
    }
    return finish(model, recipe, ctx, metrics, data)
