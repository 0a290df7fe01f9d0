"""Tokenizers: the offline WordPiece vocabulary round-trips, is deterministic, and saves/loads."""

import hashlib
import json
import subprocess
import sys
import time

import pytest
from transformers import AutoTokenizer

from errors import DataError
from trainables.data import DataSpec, load_text_dataset, load_tokenizer
from trainables.data.tokenizer import SPECIAL_TOKENS, resolve_tokenizer_name, train_wordpiece


@pytest.fixture(scope="module")
def rotten_texts():
    return list(load_text_dataset("rotten_tomatoes")["train"]["text"])


@pytest.fixture(scope="module")
def rotten_tokenizer(rotten_texts):
    return load_tokenizer(DataSpec(tokenizer="wordpiece"), rotten_texts)


def test_auto_is_wordpiece_offline():
    assert resolve_tokenizer_name(DataSpec()) == "wordpiece"
    assert resolve_tokenizer_name(DataSpec(tokenizer="bert-base-uncased")) == "bert-base-uncased"


def test_wordpiece_special_ids_and_size(rotten_tokenizer):
    vocab = rotten_tokenizer.get_vocab()
    assert [vocab[token] for token in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert rotten_tokenizer.pad_token_id == 0
    assert 7000 <= len(rotten_tokenizer) <= 8000


def test_wordpiece_round_trips(rotten_tokenizer, rotten_texts):
    ids = rotten_tokenizer("A three-hour cinema master class.")["input_ids"]
    assert ids[0] == rotten_tokenizer.cls_token_id and ids[-1] == rotten_tokenizer.sep_token_id
    assert rotten_tokenizer.decode(ids, skip_special_tokens=True) == "a three - hour cinema master class."
    unknown = 0
    for text in rotten_texts[:300]:
        ids = rotten_tokenizer(text)["input_ids"]
        unknown += ids.count(rotten_tokenizer.unk_token_id)
        words = rotten_tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(
            rotten_tokenizer.backend_tokenizer.normalizer.normalize_str(text)
        )
        # gluing the ## pieces back gives the normalized words (lower-cased, accents stripped)
        pieces = rotten_tokenizer.convert_ids_to_tokens(ids[1:-1])
        glued = " ".join(pieces).replace(" ##", "").split()
        assert glued == [word for word, _ in words] or rotten_tokenizer.unk_token in pieces
    assert unknown < 10  # characters seen once in training may be unknown; words never are


def test_wordpiece_truncates_to_max_length(rotten_tokenizer):
    ids = rotten_tokenizer("good " * 500, truncation=True, max_length=16)["input_ids"]
    assert len(ids) == 16 and ids[-1] == rotten_tokenizer.sep_token_id


def test_wordpiece_saves_and_loads(rotten_tokenizer, tmp_path):
    rotten_tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = "An unbelievably tedious, overlong mess -- but the cast is charming!"
    assert loaded(text)["input_ids"] == rotten_tokenizer(text)["input_ids"]
    assert loaded.pad_token_id == 0


_HASH_VOCAB = """
import hashlib, json, sys
from trainables.data import load_text_dataset
from trainables.data.tokenizer import train_wordpiece
texts = list(load_text_dataset("rotten_tomatoes")["train"]["text"])[:3000]
vocab = train_wordpiece(texts, vocab_size=2000).get_vocab()
print(hashlib.sha256(json.dumps(sorted(vocab.items())).encode()).hexdigest())
"""


def test_wordpiece_vocabulary_is_identical_in_every_process(rotten_texts):
    # The Rust trainer's ids depended on per-process hash seeds; every node must build the same vocab.
    vocab = train_wordpiece(rotten_texts[:3000], vocab_size=2000).get_vocab()
    here = hashlib.sha256(json.dumps(sorted(vocab.items())).encode()).hexdigest()
    there = subprocess.run(
        [sys.executable, "-c", _HASH_VOCAB], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()[-1]
    assert here == there


def test_synthetic_vocabulary_is_small():
    texts = list(load_text_dataset("synthetic", synthetic_size=128)["train"]["text"])
    tokenizer = load_tokenizer(DataSpec(dataset="synthetic", tokenizer="wordpiece"), texts)
    assert len(tokenizer) < 500
    assert tokenizer.unk_token_id not in tokenizer(texts[0])["input_ids"]


def test_load_tokenizer_trains_on_the_spec_split_when_no_texts_given():
    spec = DataSpec(dataset="synthetic", tokenizer="wordpiece", synthetic_size=64)
    texts = list(load_text_dataset("synthetic", synthetic_size=64)["train"]["text"])
    assert load_tokenizer(spec).get_vocab() == load_tokenizer(spec, texts).get_vocab()


def test_bert_offline_without_cache_is_one_line(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(DataError) as caught:
        load_tokenizer(DataSpec(tokenizer="bert-base-uncased"))
    assert time.monotonic() - start < 3
    message = str(caught.value)
    assert "\n" not in message and "wordpiece" in message and "unreachable" in message
