"""A run's own data: CSV/TSV/JSONL/Parquet files and folders become train/test splits with a recorded label map."""

import json

import numpy as np
import pandas as pd
import pytest

from errors import DataError
from trainables.data import DataSpec, load_splits, prepare_data
from trainables.data.user_data import UserDataRequest, load_user_dataset


def test_a_three_class_csv_gets_a_stratified_seeded_split_and_its_label_map(data_files):
    request = UserDataRequest(str(data_files["csv"]), text_column="review", label_column="stars", seed=3)
    data, info = load_user_dataset(request)
    frame = pd.read_csv(data_files["csv"])
    assert info.label_map == {"0": 0, "1": 1, "2": 2}
    assert len(data["train"]) + len(data["test"]) == len(frame)
    assert len(data["test"]) == round(len(frame) * 0.2)
    # Stratified: every class keeps its share of the rows in the test split (to one row).
    shares = frame["stars"].value_counts()
    for name, count in info.class_counts["test"].items():
        assert abs(count - shares[int(name)] * 0.2) <= 1
    again, _ = load_user_dataset(request)
    assert again["test"]["text"] == data["test"]["text"]  # the same seed draws the same split
    other, _ = load_user_dataset(UserDataRequest(**{**request.__dict__, "seed": 4}))
    assert other["test"]["text"] != data["test"]["text"]
    assert info.content_hash.startswith("sha256:") and info.as_fields()["num_classes"] == 3


def test_string_labels_are_numbered_in_sorted_order(data_files):
    data, info = load_user_dataset(UserDataRequest(str(data_files["jsonl"]), test_fraction=0.25))
    assert info.label_map == {"negative": 0, "positive": 1}
    rows = pd.read_json(data_files["jsonl"], lines=True)
    by_text = dict(zip(rows["text"], rows["label"], strict=True))
    for text, label in zip(data["train"]["text"][:20], data["train"]["label"][:20], strict=True):
        assert ["negative", "positive"][label] == by_text[text]


def test_a_sentence_pair_parquet_is_tokenized_as_one_pair(data_files):
    spec = DataSpec(
        dataset=str(data_files["parquet"]),
        text_column="sentence1,sentence2",
        tokenizer="wordpiece",
        max_length=64,
    )
    prepared = prepare_data(spec)
    train, _ = load_splits(prepared)
    first = pd.read_parquet(data_files["parquet"]).iloc[0]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(prepared.tokenizer_dir)
    expected = tokenizer(first["sentence1"], first["sentence2"], truncation=True, max_length=64)["input_ids"]
    sep = tokenizer.sep_token_id
    stored = [train[i][0].tolist() for i in range(len(train))]
    assert expected in stored and expected.count(sep) == 2


def test_a_folder_with_train_and_test_files_keeps_its_own_test_split(data_files):
    data, info = load_user_dataset(UserDataRequest(str(data_files["folder"])))
    assert len(data["test"]) == len(pd.read_csv(data_files["folder"] / "test.tsv", sep="\t"))
    assert info.source.startswith("folder ") and set(info.class_counts) == {"train", "test"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: (p / "d.csv").write_text("words,label\nhello,1\n"), "has no column 'text'"),
        (lambda p: (p / "d.csv").write_text("text,label\na,1\nb,1\nc,1\n"), "has 1 class (1)"),
        (lambda p: (p / "d.csv").write_text(""), "is empty"),
        (lambda p: (p / "d.jsonl").write_text(""), "is empty"),
        (lambda p: (p / "d.xlsx").write_bytes(b"PK\x03\x04"), ".xlsx is not a supported file type"),
    ],
    ids=["missing-column", "one-class", "empty-csv", "empty-jsonl", "unsupported-type"],
)
def test_unusable_data_is_one_line(tmp_path, make, message):
    make(tmp_path)
    [path] = list(tmp_path.iterdir())
    with pytest.raises(DataError) as refused:
        load_user_dataset(UserDataRequest(str(path)))
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_the_tokenized_cache_follows_the_file_contents(tmp_path):
    path = tmp_path / "d.csv"
    rows = [("good fun", "pos"), ("awful dull", "neg")] * 10
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    _, before = load_user_dataset(UserDataRequest(str(path)))
    spec = DataSpec(dataset=str(path), tokenizer="wordpiece", data_hash=before.content_hash)
    first = prepare_data(spec)
    pd.DataFrame(rows + [("superb", "pos")], columns=["text", "label"]).to_csv(path, index=False)
    _, after = load_user_dataset(UserDataRequest(str(path)))
    assert after.content_hash != before.content_hash
    second = prepare_data(DataSpec(dataset=str(path), tokenizer="wordpiece", data_hash=after.content_hash))
    assert first.root != second.root and second.train_rows + second.test_rows == 21
    assert (
        json.loads(json.dumps(after.class_counts))["train"]["pos"] + after.class_counts["test"]["pos"] == 11
    )
    assert np.asarray(load_splits(second)[0].labels).max() == 1
