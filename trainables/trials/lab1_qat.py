"""Lab 1, task 1: quantize the base model to one fixed-point width, then PTQ and QAT accuracy."""

from typing import Any

from trainables.compress import fixed_point_config, quantize_model
from trainables.compress.mase_mode import with_mase_exact
from trainables.models.checkpoint import load_model
from trainables.trial_context import TrialContext
from trainables.trial_steps import accuracy, finish, majority_accuracy, open_data, train_model


def lab1_qat_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Load base, quantize every Linear, evaluate (PTQ), train (QAT), evaluate, save, report."""
    data = open_data(config)
    model, recipe = load_model(config["base_checkpoint"], ctx.device)
    width = int(config["width"])
    # The search samples the fractional share; the bits it gives are reported as `frac_width`.
    frac_width = round(width * float(config["frac_ratio"]))
    quantization = with_mase_exact(
        fixed_point_config(width, frac_width), bool(config.get("mase_exact", False))
    )
    quantize_model(model, quantization)
    recipe.quantization = quantization

    ptq_accuracy = accuracy(model, data, config, ctx)
    train_metrics = train_model(model, data, config, ctx)
    qat_accuracy = accuracy(model, data, config, ctx)

    metrics = {
        "frac_width": frac_width,
        "ptq_accuracy": ptq_accuracy,
        "qat_accuracy": qat_accuracy,
        "fp32_accuracy": float(config["fp32_accuracy"]),
        "majority_accuracy": majority_accuracy(data),
        **train_metrics,
    }
    return finish(model, recipe, ctx, metrics, data)
