"""The tokenize-once cache: contents, cache hits, one build under concurrency, rebuilding broken folders."""

import json
import multiprocessing
import os
import pickle
import time
from collections import Counter

import numpy as np
import pytest
from transformers import AutoTokenizer

import trainables.data.prepare as prepare_module
from trainables.data import DataSpec, TokenizedSplit, load_splits, load_text_dataset, prepare_data
from trainables.data.prepare import cache_key


def _spec(tmp_path, **overrides):
    fields = {"dataset": "synthetic", "tokenizer": "wordpiece", "synthetic_size": 96, "max_length": 32}
    return DataSpec(cache_dir=str(tmp_path), **{**fields, **overrides})


@pytest.fixture
def count_builds(monkeypatch):
    """Count _build calls (in this process) and return the list they are appended to."""
    calls = []
    build = prepare_module._build

    def counting(*args, **kwargs):
        calls.append(os.getpid())
        return build(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "_build", counting)
    return calls


def test_prepared_rows_match_the_tokenizer(tmp_path):
    spec = _spec(tmp_path, max_length=12)  # most synthetic sentences are longer: truncation is exercised
    prepared = prepare_data(spec)
    data = load_text_dataset("synthetic", seed=0, synthetic_size=96)
    tokenizer = AutoTokenizer.from_pretrained(prepared.tokenizer_dir)
    train, test = load_splits(prepared)
    assert (len(train), len(test)) == (prepared.train_rows, prepared.test_rows) == (96, 96)
    assert prepared.vocab_size == len(tokenizer) and prepared.pad_token_id == 0 and prepared.num_labels == 2
    assert prepared.tokenizer_name == "wordpiece"
    for split, name in ((train, "train"), (test, "test")):
        expected = tokenizer(list(data[name]["text"]), truncation=True, max_length=12)["input_ids"]
        assert [split[i][0].tolist() for i in range(len(split))] == expected
        assert split.labels.tolist() == list(data[name]["label"])
        assert split.lengths.max() == 12 and split.lengths.min() >= 3


def test_long_texts_are_cut_exactly(tmp_path):
    from tokenizers import Tokenizer

    from trainables.data.prepare import _encode_truncated

    texts = list(load_text_dataset("synthetic", synthetic_size=64)["train"]["text"])
    texts += ["x" * 500 + " good", "a " * 3 + "b" * 400, "short", " " * 300 + "late start " * 3]
    tokenizer = prepare_module.load_tokenizer(_spec(tmp_path), texts)
    for max_length in (4, 8, 16, 64):
        encoder = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        encoder.enable_truncation(max_length)
        expected = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        assert _encode_truncated(encoder, texts, max_length) == expected


def test_second_call_is_a_cache_hit(tmp_path, count_builds):
    spec = _spec(tmp_path)
    first = prepare_data(spec)
    meta = os.path.join(first.root, "meta.json")
    written = os.stat(meta).st_mtime_ns
    start = time.perf_counter()
    second = prepare_data(spec)
    assert time.perf_counter() - start < 0.1
    assert second == first
    assert len(count_builds) == 1 and os.stat(meta).st_mtime_ns == written
    assert json.load(open(meta))["key"] == cache_key(spec)


def test_every_key_field_gets_its_own_cache(tmp_path):
    base = _spec(tmp_path)
    roots = {prepare_data(base).root}
    for change in ({"max_length": 16}, {"train_subset": 20}, {"seed": 1}, {"synthetic_size": 64}):
        roots.add(prepare_data(DataSpec(**{**base.__dict__, **change})).root)
    assert len(roots) == 5
    # a field that cannot change the data does not split the cache
    assert cache_key(DataSpec(cache_dir="/a")) == cache_key(DataSpec(cache_dir="/b", synthetic_size=7))


def test_subsets_are_stratified_and_deterministic(tmp_path):
    prepared = prepare_data(_spec(tmp_path, synthetic_size=200, train_subset=50, test_subset=21))
    train, test = load_splits(prepared)
    assert (len(train), len(test)) == (50, 21)
    assert Counter(train.labels.tolist()) == {0: 25, 1: 25}
    assert abs(int(test.labels.sum()) - 10.5) <= 0.5
    again = prepare_data(_spec(tmp_path / "other", synthetic_size=200, train_subset=50, test_subset=21))
    assert np.array_equal(load_splits(again)[0].token_ids, train.token_ids)


def test_splits_are_memory_mapped_and_pickle_by_path(synthetic_prepared):
    train, _ = load_splits(synthetic_prepared)
    assert train.token_ids.dtype == np.int32 and not train.token_ids.flags.writeable  # a view of the map
    assert train.offsets.dtype == np.int64 and train.labels.dtype == np.int64
    assert train.offsets[-1] == len(train.token_ids) and len(train.lengths) == len(train)
    copy = pickle.loads(pickle.dumps(train))
    assert isinstance(copy, TokenizedSplit) and np.array_equal(copy.token_ids, train.token_ids)
    assert len(pickle.dumps(train)) < 1000  # the path, not the data


def test_half_written_cache_is_rebuilt_not_read(tmp_path, count_builds):
    spec = _spec(tmp_path)
    prepared = prepare_data(spec)
    good = open(prepared.train_path, "rb").read()
    for damage in ("no_meta", "truncated"):
        if damage == "no_meta":
            os.remove(os.path.join(prepared.root, "meta.json"))  # as if the build died before the end
        else:
            with open(prepared.train_path, "r+b") as handle:
                handle.truncate(100)
        again = prepare_data(spec)
        assert again == prepared
        assert open(again.train_path, "rb").read() == good
    assert len(count_builds) == 3
    assert not [p for p in os.listdir(tmp_path) if p.startswith((".tmp-", ".stale-"))]


def test_foreign_folder_at_the_cache_path_is_replaced(tmp_path):
    spec = _spec(tmp_path)
    root = prepare_data(spec).root
    os.rename(root, str(tmp_path / "moved"))
    os.makedirs(root)
    with open(os.path.join(root, "meta.json"), "w") as handle:
        handle.write('{"key": {"format": 0}}')  # an older format: not ours to read
    assert len(load_splits(prepare_data(spec))[0]) == 96


def _prepare_in_child(spec, barrier, results):
    barrier.wait()  # both processes ask at the same moment
    results.put(prepare_data(spec).root)


def test_two_processes_build_once(tmp_path, monkeypatch):
    log = tmp_path / "builds.log"
    build = prepare_module._build

    def slow_counting_build(*args, **kwargs):
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # widen the window in which the other process must wait, not build
        return build(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "_build", slow_counting_build)
    spec = _spec(tmp_path / "cache")
    # fork carries the patched module into the children; spawn would re-import it unpatched
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    children = [context.Process(target=_prepare_in_child, args=(spec, barrier, results)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0
    roots = [results.get(timeout=5) for _ in children]
    assert roots[0] == roots[1]
    assert len(log.read_text().split()) == 1
    assert len(load_splits(prepare_data(spec))[0]) == 96
