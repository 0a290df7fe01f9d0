"""Sentence pairs (`--text-column A,B`): BERT-family models get each pair's token types in training and evaluation.

The pair Parquet file is the tests' own (conftest.py). A forward pre-hook on the model's embeddings
records what reaches them: BERT and ALBERT (two token types) see 0 up to the first separator and
1 after it; DistilBERT (no token types) and RoBERTa (one) get none and still train and evaluate.
"""

import math

import numpy as np
import pytest
import torch

from tests.own_models_tests.tiny_models import FAMILIES
from trainables.data import DataSpec, load_splits, prepare_data
from trainables.models.classifier import build_model
from trainables.train_loop import TrainSettings, evaluate, train

pytestmark = pytest.mark.models
CPU = torch.device("cpu")


def pair_data(data_files, tmp_path, **tokenizer):
    spec = DataSpec(
        dataset=str(data_files["parquet"]),
        text_column="sentence1,sentence2",
        max_length=64,
        cache_dir=str(tmp_path / "cache"),
        **tokenizer,
    )
    prepared = prepare_data(spec)
    return prepared, *load_splits(prepared)


def recorded_embeddings_inputs(model: torch.nn.Module) -> list[dict]:
    """What every call of the model's embeddings is given (input_ids, token_type_ids), appended as it runs."""
    seen: list[dict] = []

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        seen.append({"input_ids": ids, "token_type_ids": kwargs.get("token_type_ids")})

    model.base_model.embeddings.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def expected_types(input_ids: torch.Tensor, sep: int, pad: int) -> torch.Tensor:
    """0 through the first separator, 1 after it up to the row's end (padding 0)."""
    after_first_sep = (input_ids == sep).long().cumsum(-1) - (input_ids == sep).long() >= 1
    return (after_first_sep & (input_ids != pad)).long()


def train_then_evaluate(model, prepared, train_split, test_split, seen) -> tuple[list[dict], list[dict]]:
    settings = TrainSettings(epochs=1, batch_size=16, lr=1e-3)
    result = train(model, train_split, settings, CPU, prepared.pad_token_id)
    trained = list(seen)
    metrics = evaluate(model, test_split, CPU, 32, prepared.pad_token_id)
    assert math.isfinite(result["train_loss"]) and 0.0 <= metrics["accuracy"] <= 1.0
    return trained, seen[len(trained) :]


def test_bert_trains_and_evaluates_with_the_pairs_token_types(data_files, tmp_path):
    from transformers import AutoTokenizer

    prepared, train_split, test_split = pair_data(data_files, tmp_path, tokenizer="wordpiece")
    assert train_split.type_ids is not None and len(train_split.type_ids) == len(train_split.token_ids)
    sep = AutoTokenizer.from_pretrained(prepared.tokenizer_dir).sep_token_id
    model = build_model(prepared.vocab_size, prepared.num_labels)
    seen = recorded_embeddings_inputs(model)
    trained, evaluated = train_then_evaluate(model, prepared, train_split, test_split, seen)
    assert trained and evaluated
    for call in trained + evaluated:
        types = call["token_type_ids"]
        assert types is not None, "a BERT forward got no token_type_ids for a sentence pair"
        assert torch.equal(types, expected_types(call["input_ids"], sep, prepared.pad_token_id))
        assert types.sum() > 0  # every row's second sentence is segment 1


def test_a_single_text_column_keeps_no_token_types(data_files, tmp_path):
    spec = DataSpec(dataset=str(data_files["jsonl"]), tokenizer="wordpiece", cache_dir=str(tmp_path))
    train_split, _ = load_splits(prepare_data(spec))
    assert train_split.type_ids is None


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_trains_on_pairs_with_the_token_types_it_has(family, tiny_models, data_files, tmp_path):
    from transformers import AutoModelForSequenceClassification

    folder = str(tiny_models.folders[family])
    prepared, train_split, test_split = pair_data(
        data_files, tmp_path, tokenizer="pretrained", tokenizer_source=folder
    )
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=prepared.num_labels)
    seen = recorded_embeddings_inputs(model)
    trained, evaluated = train_then_evaluate(model, prepared, train_split, test_split, seen)
    given = [call["token_type_ids"] for call in trained + evaluated]
    if family == "albert":  # two token types, as BERT
        assert all(t is not None and t.max() == 1 for t in given)
    else:  # DistilBERT has no token types, RoBERTa one: nothing is passed
        assert all(t is None for t in given)
    assert np.all(np.isfinite([p.detach().sum().item() for p in model.parameters()]))
