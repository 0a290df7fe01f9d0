"""Datasets: the embedded rotten_tomatoes corpus, aclImdb folders, offline IMDb, synthetic data, hub probe."""

import socket
import time
from collections import Counter

import numpy as np
import pytest

from errors import ConfigError, DataError
from trainables.data import DataSpec, hub_reachable, load_text_dataset
from trainables.data.datasets import ROTTEN_TOMATOES_ROWS, stratified_indices
from trainables.data.hub import clear_hub_cache


@pytest.fixture(scope="module")
def rotten():
    return load_text_dataset("rotten_tomatoes", seed=0)


def test_rotten_tomatoes_has_every_review_once(rotten):
    train, test = rotten["train"], rotten["test"]
    assert len(train) + len(test) == ROTTEN_TOMATOES_ROWS == 12_808
    assert set(train.column_names) == {"text", "label"}
    assert len(test) == round(0.2 * 12_808)
    labels = Counter(train["label"]) + Counter(test["label"])
    assert labels == {1: 7403, 0: 5405}  # fresh -> 1, rotten -> 0; plot synopses dropped
    assert all(isinstance(text, str) and text.strip() for text in test["text"])


def test_rotten_tomatoes_label_mapping_and_partition(rotten):
    import pandas as pd

    from trainables.data.datasets import rotten_tomatoes_path

    frame = pd.read_csv(rotten_tomatoes_path())
    frame = frame[frame["category"] != "plot"]
    # train + test is exactly the corpus's reviews: nothing lost, nothing in both splits
    assert Counter(rotten["train"]["text"]) + Counter(rotten["test"]["text"]) == Counter(frame["text"])
    expected = dict(zip(frame["text"], frame["category"], strict=True))
    for split in ("train", "test"):
        for text, label in zip(rotten[split]["text"][:200], rotten[split]["label"][:200], strict=True):
            assert expected[text] == ("fresh" if label == 1 else "rotten")


def test_rotten_tomatoes_split_is_deterministic_and_stratified(rotten):
    again = load_text_dataset("rotten_tomatoes", seed=0)
    other = load_text_dataset("rotten_tomatoes", seed=1)
    assert list(again["test"]["text"]) == list(rotten["test"]["text"])
    assert list(other["test"]["text"]) != list(rotten["test"]["text"])
    share = 7403 / 12_808
    for split in ("train", "test"):
        labels = np.asarray(rotten[split]["label"])
        assert abs(labels.sum() - share * len(labels)) <= 1  # stratified: off by rounding at most


def test_stratified_indices_keeps_label_shares():
    labels = np.array([0] * 70 + [1] * 30)
    chosen = stratified_indices(labels, 10, seed=3)
    assert len(chosen) == 10 and len(set(chosen)) == 10
    assert Counter(labels[chosen]) == {0: 7, 1: 3}
    assert list(chosen) == sorted(chosen)
    assert list(stratified_indices(labels, 10, seed=3)) == list(chosen)
    assert len(stratified_indices(labels, 1000, seed=3)) == 100


def _write_imdb(root, rows=3):
    for split in ("train", "test"):
        for folder in ("pos", "neg"):
            path = root / split / folder
            path.mkdir(parents=True)
            for i in range(rows):
                (path / f"{i}_{7 if folder == 'pos' else 2}.txt").write_text(f"{split} {folder} review {i}")


def test_imdb_folder_loads(tmp_path):
    _write_imdb(tmp_path / "aclImdb")
    for given in (tmp_path / "aclImdb", tmp_path):  # the folder itself or the one holding aclImdb/
        data = load_text_dataset("imdb", data_dir=str(given))
        assert len(data["train"]) == len(data["test"]) == 6
        for row in data["test"]:
            assert row["label"] == (1 if " pos " in row["text"] else 0)
            assert row["text"].startswith("test ")


@pytest.mark.parametrize("broken", ["missing", "no_neg", "empty"])
def test_imdb_bad_folder_is_one_line_naming_the_path(tmp_path, broken):
    root = tmp_path / "aclImdb"
    if broken != "missing":
        _write_imdb(root)
        for txt in (root / "test" / "neg").iterdir():
            txt.unlink()
        if broken == "no_neg":
            (root / "test" / "neg").rmdir()
    with pytest.raises(DataError) as caught:
        load_text_dataset("imdb", data_dir=str(root))
    message = str(caught.value)
    assert "\n" not in message and str(root) in message and "--data-dir" in message


def test_offline_imdb_without_folder_is_one_fast_line(monkeypatch, tmp_path):
    import datasets
    import huggingface_hub.constants

    # An empty cache, so a copy of IMDb on the test machine cannot answer instead.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    flags = (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE)
    start = time.monotonic()
    with pytest.raises(DataError) as caught:
        load_text_dataset("imdb")
    assert time.monotonic() - start < 3
    message = str(caught.value)
    assert "\n" not in message
    assert "unreachable" in message and "--data-dir ~/aclImdb" in message and "aclImdb_v1.tar.gz" in message
    assert isinstance(caught.value, ConfigError)  # so the CLI prints one line and exits 2
    # the libraries' offline switches, flipped for the cache attempt, are put back
    assert (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE) == flags


def test_hub_reachable_offline_env_is_immediate(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _fail_if_called)
    for name in ("HF_HUB_OFFLINE", "ADLS_OFFLINE"):
        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setenv(name, "1")
        assert hub_reachable() is False
        monkeypatch.delenv(name)
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _fail_if_called(*args, **kwargs):
    raise AssertionError("the network was probed although offline mode was set")


def test_hub_reachable_answers_fast_without_env(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("ADLS_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    start = time.monotonic()
    first = hub_reachable()
    assert time.monotonic() - start < 3
    start = time.monotonic()
    assert hub_reachable() is first  # cached per process
    assert time.monotonic() - start < 0.01


def test_hub_reachable_bounds_a_hanging_dns(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(30))
    clear_hub_cache()
    start = time.monotonic()
    assert hub_reachable(timeout=0.3) is False
    assert time.monotonic() - start < 1.5


def test_synthetic_is_deterministic_balanced_and_learnable():
    data = load_text_dataset("synthetic", seed=5, synthetic_size=200)
    assert list(load_text_dataset("synthetic", seed=5, synthetic_size=200)["train"]["text"]) == list(
        data["train"]["text"]
    )
    assert list(load_text_dataset("synthetic", seed=6, synthetic_size=200)["train"]["text"]) != list(
        data["train"]["text"]
    )
    assert list(data["train"]["text"]) != list(data["test"]["text"])
    from trainables.data.datasets import _NEGATIVE, _POSITIVE

    for split in ("train", "test"):
        labels = np.asarray(data[split]["label"])
        assert len(labels) == 200 and labels.sum() == 100
        for text, label in zip(data[split]["text"], labels, strict=True):
            words = text.split()
            positive = sum(w in _POSITIVE for w in words)
            negative = sum(w in _NEGATIVE for w in words)
            assert (positive > negative) == (label == 1)
            assert 6 <= len(words) <= 60


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset", " "),  # a hub id or file is allowed, an empty name is not
        ("tokenizer", "gpt2"),
        ("max_length", 2),
        ("max_length", 4096),
        ("max_length", "128"),
        ("train_subset", 0),
        ("test_subset", True),
        ("seed", -1),
        ("synthetic_size", 1),
        ("data_dir", "/tmp/x"),  # only with imdb
    ],
)
def test_spec_validate_names_field_and_value(field, value):
    with pytest.raises(ConfigError) as caught:
        DataSpec(**{field: value}).validate()
    message = str(caught.value)
    assert f"DataSpec.{field}=" in message and str(value) in message and "\n" not in message


def test_spec_defaults_validate():
    assert DataSpec().validate() is None
    assert DataSpec(dataset="imdb", data_dir="~/aclImdb", train_subset=10).validate() is None
    # The same specs with one field wrong are refused, so the two above passed on their merits.
    for bad in (
        DataSpec(dataset="imdb", data_dir="~/aclImdb", train_subset=0),
        DataSpec(dataset="rotten_tomatoes", data_dir="~/aclImdb"),
        DataSpec(max_length=3),
    ):
        with pytest.raises(ConfigError):
            bad.validate()


def _fake_hub_imdb():
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    rows = {"text": ["awful", "great", "fine"], "label": [0, 1, 1]}
    split = datasets.Dataset.from_dict(rows, features=features)
    return datasets.DatasetDict({"train": split, "test": split, "unsupervised": split})


@pytest.mark.parametrize("online", [True, False])
def test_imdb_from_hub_or_its_cache(monkeypatch, online):
    import datasets
    import huggingface_hub.constants

    import trainables.data.datasets as module

    seen = []

    def fake_load_dataset(name, *args, **kwargs):
        # offline, the libraries must be switched to offline mode so a cached copy loads at once
        seen.append((name, datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE))
        return _fake_hub_imdb()

    monkeypatch.setattr(module, "hub_reachable", lambda: online)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    data = load_text_dataset("imdb")
    assert [name for name, *_ in seen] == ["stanfordnlp/imdb"]
    if not online:
        assert seen[0][1:] == (True, True)
    assert set(data) == {"train", "test"}
    assert data["train"].features == module.FEATURES and list(data["train"]["label"]) == [0, 1, 1]


def test_imdb_hub_failure_online_is_one_line(monkeypatch):
    import datasets

    import trainables.data.datasets as module

    def broken(*args, **kwargs):
        raise ConnectionError("502 Bad Gateway\nmore detail")

    monkeypatch.setattr(module, "hub_reachable", lambda: True)
    monkeypatch.setattr(datasets, "load_dataset", broken)
    with pytest.raises(DataError, match="502 Bad Gateway") as caught:
        load_text_dataset("imdb")
    assert "\n" not in str(caught.value) and "--data-dir" in str(caught.value)
