"""Per-layer sensitivity: quantize one Linear of the starting model, evaluate without training.

The config names the layer (`layer`, a short name of `layers`: {short name: module name}) and
the precision (`precision`, a key of `precision_configs`: {precision: MASE layer config}), and
`start_checkpoint`. Every trial is independent of the others, so a sensitivity experiment
spreads over every worker of a cluster.
"""

from typing import Any

from trainables.compress import quantize_model
from trainables.compress.mase_mode import with_mase_exact
from trainables.trial_context import TrialContext
from trainables.trial_steps import cost_metrics, evaluate_split, open_data
from trainables.trials.lab3 import starting_model


def one_layer_quantization(config: dict[str, Any]) -> dict[str, Any]:
    """MASE's `by: name` config putting only the trial's layer in the trial's precision."""
    module_name = config["layers"][config["layer"]]
    layer = dict(config["precision_configs"][config["precision"]])
    return {"by": "name", "default": {"config": {"name": None}}, module_name: {"config": layer}}


def sensitivity_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Evaluate the starting model, quantize the one layer, evaluate again; report the damage.

    Reports `layer_position` (the layer's place in `layers`), `accuracy` (quantized), `fp32_accuracy`, `accuracy_drop` = fp32_accuracy - accuracy,
    `loss`, `fp32_loss`, `loss_increase` = loss - fp32_loss (mean test cross-entropy), and the
    `cost_` metrics of the one-layer-quantized model. No checkpoint: nothing was trained.
    """
    data = open_data(config)
    model, _ = starting_model(config["start_checkpoint"], ctx.device)
    fp32 = evaluate_split(model, data, config, ctx)
    quantize_model(model, with_mase_exact(one_layer_quantization(config), bool(config.get("mase_exact"))))
    quantized = evaluate_split(model, data, config, ctx)
    metrics = {
        "layer_position": list(config["layers"]).index(config["layer"]),
        "accuracy": quantized["accuracy"],
        "fp32_accuracy": fp32["accuracy"],
        "accuracy_drop": fp32["accuracy"] - quantized["accuracy"],
        "loss": quantized["loss"],
        "fp32_loss": fp32["loss"],
        "loss_increase": quantized["loss"] - fp32["loss"],
        **cost_metrics(model),
    }
    ctx.report(metrics)
    return metrics
