"""Tutorial 2's step: fine-tune the starting model once and save it for every later experiment."""

from typing import Any

from trainables.models.base_methods import add_lora, freeze_embeddings, merge_lora, trainable_params
from trainables.models.checkpoint import weights_fingerprint
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import TrialContext
from trainables.trial_steps import accuracy, finish, open_data, train_model


def base_trial(config: dict[str, Any], ctx: TrialContext) -> dict[str, Any]:
    """Build bert-tiny (or the run's --model, `config["model_config"]`), fine-tune it with `config["base_method"]`, evaluate, save, report.

    The start is the hub snapshot `config["pretrained"]` names, or the seeded init when it is None
    (decided on the driver). Methods (trainables/models/base_methods.py): `full` trains everything;
    `frozen-embeddings` freezes the embeddings; `lora` freezes them, fine-tunes, then trains rank-6
    LoRA adapters for as long again and merges them, as Tutorial 2 does (`sft_accuracy` is the
    accuracy between the two phases). `start_weights_sha256` fingerprints the weights before training.
    """
    method = config.get("base_method", "full")
    data = open_data(config)
    recipe = ModelRecipe(
        vocab_size=data.prepared.vocab_size,
        num_labels=data.prepared.num_labels,
        seed=int(config["seed"]),
        pretrained=config.get("pretrained"),
        model_config=config.get("model_config"),
    )
    model = build_from_recipe(recipe, pretrained=True)
    metrics: dict[str, Any] = {"base_method": method, "start_weights_sha256": weights_fingerprint(model)}
    if method in ("frozen-embeddings", "lora"):
        freeze_embeddings(model)
    metrics["trainable_params"] = trainable_params(model)
    metrics.update(train_model(model, data, config, ctx, epochs=config["base_epochs"]))
    if method == "lora":
        metrics["sft_accuracy"] = accuracy(model, data, config, ctx)
        model = add_lora(model)
        metrics["lora_trainable_params"] = trainable_params(model)
        lora = train_model(model, data, config, ctx, epochs=config["base_epochs"])
        metrics.update({f"lora_{key}": value for key, value in lora.items()})
        model = merge_lora(model)
    metrics["accuracy"] = accuracy(model, data, config, ctx)
    return finish(model, recipe, ctx, metrics, data)
