"""Lab 1, task 2: prune the best QAT model at one sparsity and method, evaluate, fine-tune, evaluate."""

from typing import Any

from trainables.compress import prune_model
from trainables.models.checkpoint import load_model
from trainables.trial_context import TrialContext
from trainables.trial_steps import accuracy, finish, majority_accuracy, open_data, train_model


def prune_config(sparsity: float, method: str) -> dict[str, Any]:
    """Tutorial 4's config: weights and activations at one sparsity, local scope, one method.

    With `random`, activations get a fresh random mask on every forward (MASE's behaviour), which
    training cannot adapt to; that is why Random collapses to chance at high sparsity.
    """
    entry = {"sparsity": float(sparsity), "method": method, "scope": "local"}
    return {"weight": dict(entry), "activation": dict(entry)}


def lab1_prune_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Load the start model, prune, evaluate, fine-tune, evaluate, save, report.

    Config: `sparsity`, `method` (random | l1-norm), `start_checkpoint` (the best lab1-qat model,
    already quantized; its recipe keeps the quantization), `start_accuracy` and `start_width`
    (echoed into the row), `finetune_epochs` (None: the `train` settings' epochs), plus the usual `data`/`train`/`seed`. The saved recipe carries the
    pruning config, so `load_model` rebuilds the pruned, quantized model with its masks.
    """
    seed = int(config["seed"])
    data = open_data(config)
    model, recipe = load_model(config["start_checkpoint"], ctx.device)
    pruning = prune_config(config["sparsity"], config["method"])
    prune_model(model, pruning, seed=seed)
    recipe.pruning = pruning

    pruned_accuracy = accuracy(model, data, config, ctx)
    epochs = config.get("finetune_epochs")
    train_metrics = train_model(
        model, data, config, ctx, **({} if epochs is None else {"epochs": float(epochs)})
    )
    finetuned_accuracy = accuracy(model, data, config, ctx)

    metrics = {
        "pruned_accuracy": pruned_accuracy,
        "finetuned_accuracy": finetuned_accuracy,
        "start_accuracy": float(config["start_accuracy"]),
        "start_width": int(config["start_width"]),
        "start_checkpoint": str(config["start_checkpoint"]),
        "finetune_epochs": float(config["train"]["epochs"] if epochs is None else epochs),
        "majority_accuracy": majority_accuracy(data),
        **train_metrics,
    }
    return finish(model, recipe, ctx, metrics, data)
