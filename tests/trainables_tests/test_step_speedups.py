"""The training step's speed-ups compute what they replace: BERT's CPU attention, gradient clipping."""

import copy

import pytest
import torch
from torch import nn

from trainables.models.bert_attention import ATTENTION
from trainables.models.classifier import build_model
from trainables.train_loop import clip_gradients


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def padded_batch(rows: int = 6, length: int = 11, vocab: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1, vocab, (rows, length), generator=generator)
    mask = torch.ones(rows, length, dtype=torch.long)
    for row in range(rows):
        mask[row, length - row :] = 0  # row 0 unpadded, the others padded by `row` tokens
    return ids.masked_fill(mask == 0, 0), mask


def logits_and_grads(model: nn.Module, train: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    ids, mask = padded_batch()
    model.train(train)
    model.zero_grad(set_to_none=True)
    torch.manual_seed(3)  # the same dropout draws for both attention implementations
    logits = model(input_ids=ids, attention_mask=mask).logits
    logits.sum().backward()
    return logits.detach(), {name: p.grad for name, p in model.named_parameters()}


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train-with-dropout"])
def test_our_attention_equals_sdpa_with_padding_and_dropout(train):
    ours = build_model(50, arch={"num_attention_heads": 4, "hidden_size": 64, "intermediate_size": 96})
    assert ours.config._attn_implementation == ATTENTION
    sdpa = copy.deepcopy(ours)
    sdpa.set_attn_implementation("sdpa")
    logits, grads = logits_and_grads(ours, train)
    sdpa_logits, sdpa_grads = logits_and_grads(sdpa, train)
    torch.testing.assert_close(logits, sdpa_logits, rtol=1e-5, atol=1e-6)
    for name, grad in sdpa_grads.items():
        # The key bias has no gradient in exact arithmetic (softmax ignores a per-row shift): noise.
        if not name.endswith("key.bias"):
            torch.testing.assert_close(grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    if train:  # attention dropout is applied: with no other dropout, another draw changes the result
        only_attention = build_model(50, arch={"hidden_dropout_prob": 0.0, "num_attention_heads": 4}).train()
        ids, mask = padded_batch()
        first, second = (only_attention(input_ids=ids, attention_mask=mask).logits for _ in range(2))
        assert not torch.allclose(first, second)
        assert torch.equal(
            only_attention.eval()(input_ids=ids, attention_mask=mask).logits,
            only_attention(input_ids=ids, attention_mask=mask).logits,
        )


@pytest.mark.parametrize("max_norm", [1e3, 1e-3, float("nan")], ids=["not-clipped", "clipped", "nan-norm"])
def test_clip_gradients_equals_clip_grad_norm(max_norm):
    torch.manual_seed(0)
    params = [nn.Parameter(torch.randn(5, 3)), nn.Parameter(torch.randn(7))]
    for p in params:
        p.grad = torch.randn_like(p)
    reference = [nn.Parameter(p.detach().clone()) for p in params]
    for p, r in zip(params, reference, strict=True):
        r.grad = p.grad.clone()
    clip_gradients(params, max_norm)
    torch.nn.utils.clip_grad_norm_(reference, max_norm)
    for p, r in zip(params, reference, strict=True):
        assert torch.equal(p.grad, r.grad) or (p.grad.isnan().all() and r.grad.isnan().all())
