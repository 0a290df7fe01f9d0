"""A run's own text-classification data (`--dataset`): a local CSV/TSV/JSONL/Parquet file, a folder
holding `train.*` and `test.*`, or a Hugging Face hub dataset id.

Every source becomes the same DatasetDict as the built-in datasets: `train`/`test` splits with a
`text` column (and `text_pair` for sentence-pair tasks, `--text-column COL1,COL2`) and an integer
`label`. Labels may be strings or integers and any number of classes: they are numbered in sorted
order and that label map is recorded. Without a test split, a stratified split drawn from the
run's seed holds out `test_fraction` of the rows. Every refusal is a DataError of one line.
"""

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errors import DataError

# File suffix -> how pandas reads it.
FILE_TYPES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}
DEFAULT_TEXT_COLUMN = "text"
DEFAULT_LABEL_COLUMN = "label"
DEFAULT_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class UserDataRequest:
    """Where the data is and which columns hold what: the `--dataset` options of a run."""

    dataset: str
    text_column: str = DEFAULT_TEXT_COLUMN
    label_column: str = DEFAULT_LABEL_COLUMN
    dataset_config: str | None = None
    train_split: str = "train"
    test_split: str | None = None
    test_fraction: float = DEFAULT_TEST_FRACTION
    seed: int = 0

    @classmethod
    def of(cls, dataset: str, fields: Any) -> "UserDataRequest":
        """The request for `dataset` that `fields` (RunOptions or DataSpec: same attribute names) describe."""
        names = (
            "text_column",
            "label_column",
            "dataset_config",
            "train_split",
            "test_split",
            "test_fraction",
        )
        return cls(dataset=dataset, seed=fields.seed, **{name: getattr(fields, name) for name in names})

    @property
    def text_columns(self) -> list[str]:
        """One column, or two for a sentence pair (`COL1,COL2`)."""
        return [c.strip() for c in self.text_column.split(",")]


@dataclass(frozen=True)
class DatasetInfo:
    """What a run records about its own data (in every row and in run.json)."""

    source: str
    content_hash: str
    text_columns: tuple[str, ...]
    label_column: str
    label_map: dict[str, int]
    class_counts: dict[str, dict[str, int]]

    def as_fields(self) -> dict[str, Any]:
        """The columns every results row carries (maps as JSON text, so one row is one line)."""
        return {
            "data_hash": self.content_hash,
            "text_columns": ",".join(self.text_columns),
            "label_column": self.label_column,
            "label_map": json.dumps(self.label_map, sort_keys=True),
            "class_counts": json.dumps(self.class_counts, sort_keys=True),
            "num_classes": len(self.label_map),
        }


def load_user_dataset(request: UserDataRequest):
    """(DatasetDict with text[/text_pair]/label, DatasetInfo) of `request`; DataError (one line) if unusable."""
    import datasets

    frames, source, content_hash = _read_frames(request)
    train, test = frames["train"], frames.get("test")
    columns = request.text_columns
    if len(columns) > 2 or not all(columns):
        raise DataError(f"--text-column {request.text_column!r}: give one column or two as COL1,COL2")
    for split, frame in frames.items():
        if frame is None:
            continue
        if len(frame) == 0:
            raise DataError(f"dataset {source}: the {split} split has no rows; give a file with data rows")
        for column in [*columns, request.label_column]:
            if column not in frame.columns:
                flag = "--label-column" if column == request.label_column else "--text-column"
                raise DataError(
                    f"dataset {source} has no column {column!r} (its columns: "
                    f"{', '.join(map(str, frame.columns))}); name the right one with {flag}"
                )
    values = [train[request.label_column]] + ([test[request.label_column]] if test is not None else [])
    label_map = _label_map(values, request.label_column, source)
    if test is None:
        train, test = _stratified_split(train, request, label_map)
    splits, counts = {}, {}
    for split, frame in (("train", train), ("test", test)):
        frame = frame.dropna(subset=[request.label_column])
        labels = np.asarray([label_map[_key(v)] for v in frame[request.label_column]], dtype=np.int64)
        data: dict[str, Any] = {"text": frame[columns[0]].fillna("").astype(str).tolist()}
        features = {"text": datasets.Value("string")}
        if len(columns) == 2:
            data["text_pair"] = frame[columns[1]].fillna("").astype(str).tolist()
            features["text_pair"] = datasets.Value("string")
        data["label"] = labels
        features["label"] = datasets.Value("int64")
        splits[split] = datasets.Dataset.from_dict(data, features=datasets.Features(features))
        names = {index: name for name, index in label_map.items()}
        counts[split] = {
            names[int(k)]: int(c) for k, c in zip(*np.unique(labels, return_counts=True), strict=True)
        }
    info = DatasetInfo(source, content_hash, tuple(columns), request.label_column, label_map, counts)
    return datasets.DatasetDict(splits), info


def _key(value: Any) -> str:
    """A label value as its label-map key: integers (also 3.0 read from a CSV) as digits, else text."""
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer()
    ):
        return str(int(value))
    return str(value)


def _label_map(columns: Sequence[Any], name: str, source: str) -> dict[str, int]:
    """{label value: index}: integers in numeric order, strings in sorted order; two classes at least."""
    keys = {_key(v) for column in columns for v in column.dropna()}
    if len(keys) < 2:
        seen = ", ".join(sorted(keys)) or "none"
        raise DataError(
            f"dataset {source}: label column {name!r} has {len(keys)} class ({seen}); a classifier needs "
            "two or more (is --label-column the right column?)"
        )
    numeric = all(k.lstrip("-").isdigit() for k in keys)
    ordered = sorted(keys, key=int) if numeric else sorted(keys)
    return {key: index for index, key in enumerate(ordered)}


def _stratified_split(frame, request: UserDataRequest, label_map: dict[str, int]):
    """(train, test) frames: a seeded, stratified `test_fraction` of the rows held out."""
    from trainables.data.datasets import stratified_indices

    frame = frame.dropna(subset=[request.label_column]).reset_index(drop=True)
    labels = np.asarray([label_map[_key(v)] for v in frame[request.label_column]])
    size = max(1, round(len(frame) * request.test_fraction))
    if size >= len(frame):
        raise DataError(
            f"dataset {request.dataset} has {len(frame)} rows: too few to hold out a test split of "
            f"{request.test_fraction}; give more rows or a test split"
        )
    is_test = np.zeros(len(frame), dtype=bool)
    is_test[stratified_indices(labels, size, [request.seed, 3])] = True
    return frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True)


def _read_frames(request: UserDataRequest) -> tuple[dict[str, Any], str, str]:
    """({"train": frame, "test": frame or None}, source description, content hash)."""
    path = Path(os.path.expanduser(request.dataset))
    if path.is_dir():
        train = _split_file(path, "train")
        test = _split_file(path, "test", required=False)
        files = [train] + ([test] if test else [])
        frames = {"train": _read_file(train), "test": _read_file(test) if test else None}
        return frames, f"folder {path.absolute()}", _hash_files(files)
    if path.is_file():
        return {"train": _read_file(path), "test": None}, f"file {path.absolute()}", _hash_files([path])
    if path.suffix.lower() in FILE_TYPES or request.dataset.startswith(("/", ".", "~")):
        raise DataError(f"--dataset {request.dataset!r}: no such file or folder")
    return _read_hub(request)


def _split_file(folder: Path, split: str, required: bool = True) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.stem == split and p.suffix.lower() in FILE_TYPES)
    if not found and required:
        raise DataError(
            f"folder {folder} has no {split} file; give train.csv/.tsv/.jsonl/.parquet (and test.*) in it"
        )
    if len(found) > 1:
        raise DataError(
            f"folder {folder} has several {split} files ({', '.join(p.name for p in found)}); keep one"
        )
    return found[0] if found else None


def _unsupported(path: Path) -> DataError:
    return DataError(
        f"--dataset {str(path)!r}: {path.suffix or 'a file without a suffix'} is not a supported file type; "
        f"give {', '.join(FILE_TYPES)} (or a folder of them, or a hub dataset id)"
    )


def _read_file(path: Path):
    """A file as a pandas frame, by its suffix; DataError for an empty, unreadable or unsupported file."""
    import pandas as pd

    kind = FILE_TYPES.get(path.suffix.lower())
    if kind is None:
        raise _unsupported(path)
    if path.stat().st_size == 0:
        raise DataError(f"dataset file {path} is empty; give a file with a header and data rows")
    try:
        if kind in ("csv", "tsv"):
            frame = pd.read_csv(path, sep="," if kind == "csv" else "\t")
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_parquet(path)
    except Exception as error:  # any parser failure: one line naming the file
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DataError(f"dataset file {path} could not be read as {kind} ({first})") from None
    if len(frame) == 0:
        raise DataError(f"dataset file {path} has no data rows; give a file with data rows")
    return frame


def _hash_files(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def _read_hub(request: UserDataRequest) -> tuple[dict[str, Any], str, str]:
    """A hub dataset id through `datasets` (offline: its local cache only), as pandas frames."""
    import contextlib

    import datasets

    from trainables.data.datasets import _hf_offline_mode
    from trainables.data.hub import hub_reachable

    online = hub_reachable()
    try:
        with contextlib.nullcontext() if online else _hf_offline_mode():
            loaded = datasets.load_dataset(request.dataset, request.dataset_config)
    except Exception as error:  # any failure: the dataset cannot be had; one line
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        where = "from the hub" if online else "from the local cache (the hub is unreachable)"
        raise DataError(
            f"--dataset {request.dataset!r} could not be loaded {where} ({first}); give a hub dataset id, "
            "or a CSV/TSV/JSONL/Parquet file or folder"
        ) from None
    splits = list(loaded)
    test_split = request.test_split or (
        "test" if "test" in loaded and request.train_split != "test" else None
    )
    for split in (request.train_split, test_split):
        if split is not None and split not in loaded:
            raise DataError(
                f"dataset {request.dataset} has no split {split!r} (its splits: {', '.join(splits)})"
            )
    frames = {
        "train": loaded[request.train_split].to_pandas(),
        "test": loaded[test_split].to_pandas() if test_split else None,
    }
    fingerprint = "+".join(loaded[s]._fingerprint for s in (request.train_split, test_split) if s)
    name = request.dataset + (f" ({request.dataset_config})" if request.dataset_config else "")
    return frames, f"hub {name}", "fingerprint:" + fingerprint
