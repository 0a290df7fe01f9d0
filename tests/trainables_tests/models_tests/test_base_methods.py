"""Tutorial 2's fine-tuning choices: what each trains, LoRA adapters merged into plain Linear weights."""

import pytest
import torch
from torch import nn

from trainables.models.base_methods import (
    LORA_RANK,
    add_lora,
    freeze_embeddings,
    merge_lora,
    trainable_params,
)
from trainables.models.checkpoint import load_model, weights_fingerprint
from trainables.models.classifier import build_model
from trainables.trial_context import local_context
from trainables.trials.base import base_trial


def test_lora_adapters_train_then_merge_into_plain_linears():
    torch.manual_seed(0)
    model = build_model(100, seed=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = torch.randint(5, 100, (4, 12))
    expected = model.eval()(input_ids=inputs).logits

    wrapped = add_lora(model)
    trained = {n for n, p in wrapped.named_parameters() if p.requires_grad}
    assert trained and all("lora_" in n or "classifier" in n for n in trained)
    ranks = {p.shape[0] for n, p in wrapped.named_parameters() if "lora_A" in n}
    assert ranks == {LORA_RANK}
    # Adapters start at zero: the wrapped model computes what the plain one did.
    torch.testing.assert_close(wrapped.eval()(input_ids=inputs).logits, expected)

    wrapped.train()
    optimizer = torch.optim.SGD([p for p in wrapped.parameters() if p.requires_grad], lr=0.5)
    for _ in range(3):
        loss = wrapped(input_ids=inputs, labels=torch.tensor([0, 1, 0, 1])).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    adapted = wrapped.eval()(input_ids=inputs).logits

    merged = merge_lora(wrapped)
    assert type(merged).__name__ == "BertForSequenceClassification"
    linears = [m for m in merged.modules() if isinstance(m, nn.Linear)]
    assert linears and all(type(m) is nn.Linear and m.bias is not None for m in linears)
    assert set(merged.state_dict()) == set(before)
    torch.testing.assert_close(merged.eval()(input_ids=inputs).logits, adapted, atol=1e-5, rtol=1e-4)
    query = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(merged.state_dict()[query], before[query])  # the update is in the weight now
    embeddings = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(merged.state_dict()[embeddings], before[embeddings])


def test_freeze_embeddings_leaves_the_encoder_trainable():
    model = build_model(100)
    total = trainable_params(model)
    freeze_embeddings(model)
    frozen = sum(p.numel() for p in model.bert.embeddings.parameters())
    assert trainable_params(model) == total - frozen
    assert all(p.requires_grad for p in model.bert.encoder.parameters())


@pytest.mark.parametrize("method", ["full", "frozen-embeddings", "lora"])
def test_base_trial_methods(smoke_config, tmp_path, method):
    config = {**smoke_config, "base_epochs": 0.25, "base_method": method, "pretrained": None}
    ctx = local_context(tmp_path)
    metrics = base_trial(config, ctx)
    start = build_model(_vocab(ctx), seed=0)
    assert metrics["start_weights_sha256"] == weights_fingerprint(start)
    assert metrics["base_method"] == method
    model, recipe = load_model(ctx.work_dir / "checkpoint")
    assert all(type(m) is nn.Linear for m in model.modules() if isinstance(m, nn.Linear))
    embeddings = model.bert.embeddings.word_embeddings.weight
    if method == "full":
        assert not torch.equal(embeddings, start.bert.embeddings.word_embeddings.weight)
        assert metrics["trainable_params"] == metrics["cost_params"]
    else:
        assert torch.equal(embeddings, start.bert.embeddings.word_embeddings.weight)
        assert metrics["trainable_params"] < metrics["cost_params"]
    if method == "lora":
        assert metrics["lora_trainable_params"] < metrics["trainable_params"]
        assert 0.0 <= metrics["sft_accuracy"] <= 1.0 and metrics["lora_train_steps"] > 0


def _vocab(ctx):
    import json

    return json.loads((ctx.work_dir / "checkpoint" / "recipe.json").read_text())["vocab_size"]
