"""Fixtures for runs on the user's own model and data: tiny models of three families and data files."""

from pathlib import Path

import pandas as pd
import pytest

from tests.own_models_tests.tiny_models import TinyModels, build_tiny_models
from trainables.data.datasets import load_rotten_tomatoes, make_synthetic

CORPUS_ROWS = 1000  # enough for each family's tokenizer to learn a useful vocabulary in seconds


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> TinyModels:
    """Tiny DistilBERT, RoBERTa and ALBERT as save_pretrained folders and in a hub cache (tiny_models.py)."""
    corpus = list(load_rotten_tomatoes()["train"]["text"])[:CORPUS_ROWS]
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"), corpus)


@pytest.fixture(scope="session")
def data_files(tmp_path_factory) -> dict[str, Path]:
    """A 3-class CSV (integer labels), a JSONL with string labels, a sentence-pair Parquet, a train/test folder.

    The texts are the synthetic sentiment sentences (learnable by a bag of words); the third class
    of the CSV is "mixed", a sentence of one label with the other's words appended.
    """
    root = tmp_path_factory.mktemp("own-data")
    data = make_synthetic(240, seed=7)
    texts, labels = list(data["train"]["text"]), [int(v) for v in data["train"]["label"]]
    three = [2 if i % 3 == 0 else label for i, label in enumerate(labels)]
    mixed = [
        f"{t} {'awful dull' if lab else 'superb fun'}" if c == 2 else t
        for t, lab, c in zip(texts, labels, three, strict=True)
    ]
    files = {
        "csv": root / "three-class.csv",
        "jsonl": root / "reviews.jsonl",
        "parquet": root / "pairs.parquet",
        "folder": root / "split-folder",
    }
    pd.DataFrame({"review": mixed, "stars": three}).to_csv(files["csv"], index=False)
    names = ["negative", "positive"]
    pd.DataFrame({"text": texts, "label": [names[v] for v in labels]}).to_json(
        files["jsonl"], orient="records", lines=True
    )
    half = len(texts) // 2
    pd.DataFrame(
        {
            "sentence1": texts[:half],
            "sentence2": texts[half:],
            "label": [int(a == b) for a, b in zip(labels[:half], labels[half:], strict=True)],
        }
    ).to_parquet(files["parquet"])
    files["folder"].mkdir()
    test = make_synthetic(60, seed=8)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(files["folder"] / "train.csv", index=False)
    pd.DataFrame({"text": test["train"]["text"], "label": test["train"]["label"]}).to_csv(
        files["folder"] / "test.tsv", sep="\t", index=False
    )
    return files
