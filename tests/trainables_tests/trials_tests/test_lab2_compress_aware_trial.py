"""lab2_compress_aware_trial without Ray: train, compress, train on; all three accuracies reported."""

from torch import nn

from search.experiments.lab2_compress_aware import TUTORIAL_PRUNING, TUTORIAL_QUANTIZATION
from trainables.compress import QuantizedLinear
from trainables.models.checkpoint import load_model
from trainables.trial_context import local_context
from trainables.trials.lab2_compress_aware import lab2_compress_aware_trial

PARAMS = {
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "hidden_size": 64,
    "intermediate_size": 128,
    "query_proj": "linear",
    "key_proj": "identity",
    "value_proj": "linear",
    "output_proj": "linear",
}
COMPRESSION = {"quantization": TUTORIAL_QUANTIZATION, "pruning": TUTORIAL_PRUNING}


def test_reports_all_three_accuracies_and_saves_the_compressed_model(smoke_config, tmp_path):
    ctx = local_context(tmp_path)
    metrics = lab2_compress_aware_trial(
        {**smoke_config, **PARAMS, **COMPRESSION, "post_train_epochs": 0.25}, ctx
    )
    for key in ("trained_accuracy", "compressed_accuracy", "post_trained_accuracy"):
        assert 0 <= metrics[key] <= 1, key
    assert metrics["train_steps"] > 0 and metrics["post_train_steps"] > 0
    assert metrics["cost_avg_linear_bits"] == 8.0
    assert metrics["built_identity_projections"] == "key"

    model, recipe = load_model(tmp_path / "checkpoint")
    assert recipe.quantization == TUTORIAL_QUANTIZATION and recipe.pruning == TUTORIAL_PRUNING
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears and all(isinstance(m, QuantizedLinear) for m in linears)
    for layer in linears:  # local L1 at 0.5: half of every weight tensor, kept through post-training
        assert int((~layer.weight_mask).sum()) == round(0.5 * layer.weight.numel())
        assert (layer.weight[~layer.weight_mask] == 0).all()


def test_without_post_training_the_last_two_accuracies_agree(smoke_config, tmp_path):
    config = {**smoke_config, **PARAMS, **COMPRESSION, "post_train_epochs": 0}
    metrics = lab2_compress_aware_trial(config, local_context(tmp_path))
    assert metrics["post_train_steps"] == 0
    assert metrics["post_trained_accuracy"] == metrics["compressed_accuracy"]
