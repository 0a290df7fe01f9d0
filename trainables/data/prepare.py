"""Tokenize a dataset once per node and cache it as Arrow; every trial then memory-maps that cache.

Cache layout, under DataSpec.resolved_cache_dir():

    <dataset>-<tokenizer>-<key hash>/      one per (dataset, tokenizer, max length, subsets, seed, ...)
        train.arrow, test.arrow            Arrow IPC: input_ids list<int32> (unpadded), label int64,
                                           token_type_ids list<int8> for a pair whose tokenizer has them
        tokenizer/                         loadable with AutoTokenizer.from_pretrained
        meta.json                          what was built and how; its presence marks the folder complete
    <dataset>-<tokenizer>-<key hash>.lock  taken while building

A folder is built in a temporary sibling and renamed into place in one atomic step, with meta.json
written before the rename, so a reader never sees half a cache. A folder without a valid meta.json
(left by a crash or an older version) is removed and rebuilt, never read.
"""

import hashlib
import json
import logging
import os
import shutil
import socket
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from filelock import FileLock
from tokenizers import Tokenizer

from errors import DataError
from trainables.data.datasets import load_text_dataset, stratified_indices
from trainables.data.spec import DataSpec
from trainables.data.tokenized_split import TokenizedSplit, write_split
from trainables.data.tokenizer import load_tokenizer, resolve_tokenizer_name

log = logging.getLogger(__name__)

# Bump when the cache's contents change meaning (tokenization, subset draw, file layout): old folders
# then simply stop matching and are rebuilt under a new key.
CACHE_FORMAT = 1
_TOKENIZE_CHUNK = 4096  # texts per tokenizer call: bounds the Python lists held at once
_CHARS_PER_TOKEN = 8  # generous: English WordPiece averages ~4-5 characters per token


@dataclass(frozen=True)
class PreparedData:
    """A ready tokenized cache: where its files are and what a model needs to know about it."""

    root: str
    train_path: str
    test_path: str
    tokenizer_dir: str
    vocab_size: int
    pad_token_id: int
    num_labels: int
    tokenizer_name: str
    train_rows: int
    test_rows: int


def prepare_data(spec: DataSpec) -> PreparedData:
    """Return the tokenized cache for `spec`, building it first if this node does not have it yet.

    Safe to call from many processes at once: one builds (under a file lock) while the others wait,
    then all read the same folder. A cache hit costs a JSON read and a few stat calls. Raises
    ConfigError for an invalid spec and DataError when the data or tokenizer cannot be had.
    The WordPiece tokenizer is trained on the whole training split, before any subset is drawn, so
    the vocabulary does not shrink with small subsets.
    """
    spec.validate()
    key = cache_key(spec)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    cache_dir = Path(spec.resolved_cache_dir())
    root = cache_dir / f"{_folder_label(spec.dataset)}-{key['tokenizer']}-{digest}"
    meta = _read_meta(root, key)
    if meta is not None:
        log.debug("tokenized cache hit: %s", root)
        return _prepared(root, meta)
    cache_dir.mkdir(parents=True, exist_ok=True)
    log.info("preparing %s (waiting if another process is building it)", root.name)
    with FileLock(str(root) + ".lock"):
        meta = _read_meta(root, key)  # another process may have finished it while we waited
        if meta is not None:
            return _prepared(root, meta)
        _remove_leftovers(root)
        tmp = cache_dir / f".tmp-{root.name}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            meta = _build(replace(spec, tokenizer=key["tokenizer"]), key, tmp)
            try:
                os.rename(tmp, root)
            except OSError:
                # Someone built it without our lock (file locks fail on some network file systems);
                # a complete cache there is as good as ours.
                if _read_meta(root, key) is None:
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("built tokenized cache %s", root)
    return _prepared(root, meta)


def load_splits(prepared: PreparedData) -> tuple[TokenizedSplit, TokenizedSplit]:
    """Memory-map the train and test splits of a prepared cache: (train, test)."""
    return TokenizedSplit(prepared.train_path), TokenizedSplit(prepared.test_path)


def cache_key(spec: DataSpec) -> dict:
    """Everything that decides the cache's contents, with "auto" resolved to the concrete tokenizer.

    Fields that do not matter for the dataset are left out (data_dir for non-IMDb, synthetic_size for
    real data), so specs that differ only there share one cache.
    """
    key = {
        "format": CACHE_FORMAT,
        "dataset": spec.dataset,
        "tokenizer": resolve_tokenizer_name(spec),
        "max_length": spec.max_length,
        "train_subset": spec.train_subset,
        "test_subset": spec.test_subset,
        "seed": spec.seed,
    }
    if spec.tokenizer_revision is not None:
        key["tokenizer_revision"] = spec.tokenizer_revision
    if spec.data_revision is not None:
        key["data_revision"] = spec.data_revision
    if spec.dataset == "imdb":
        key["data_dir"] = os.path.abspath(os.path.expanduser(spec.data_dir)) if spec.data_dir else None
    if spec.dataset == "synthetic":
        key["synthetic_size"] = spec.synthetic_size
    if spec.tokenizer_source is not None:
        key["tokenizer_source"] = spec.tokenizer_source
    if spec.is_user_data:
        key["dataset"] = (
            os.path.abspath(os.path.expanduser(spec.dataset))
            if os.path.exists(os.path.expanduser(spec.dataset))
            else spec.dataset
        )
        key["user_data"] = {
            "text_column": spec.text_column,
            "label_column": spec.label_column,
            "dataset_config": spec.dataset_config,
            "train_split": spec.train_split,
            "test_split": spec.test_split,
            "test_fraction": spec.test_fraction,
            "data_hash": spec.data_hash,
        }
        if "," in spec.text_column:  # a pair's cache holds its token types (built before they were not)
            key["user_data"]["token_types"] = True
    return key


def _folder_label(dataset: str) -> str:
    """A file-name-safe short name of a dataset (a file's or folder's name, a hub id with -- for /)."""
    name = os.path.basename(os.path.normpath(os.path.expanduser(dataset))) if os.sep in dataset else dataset
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in name.replace("/", "--"))
    return name[:40] or "data"


def load_spec_dataset(spec: DataSpec):
    """The DatasetDict `spec` names: a built-in dataset, or the run's own (trainables/data/user_data.py)."""
    if spec.is_user_data:
        from trainables.data.user_data import load_user_dataset

        return load_user_dataset(spec.user_request())[0]
    return load_text_dataset(spec.dataset, spec.data_dir, spec.seed, spec.synthetic_size, spec.data_revision)


def _build(spec: DataSpec, key: dict, out: Path) -> dict:
    """Load, train/load the tokenizer, tokenize both splits into `out`; write meta.json last."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = load_spec_dataset(spec)
    timings["load_s"] = time.perf_counter() - start
    pairs = "text_pair" in data["train"].column_names

    start = time.perf_counter()
    corpus = list(data["train"]["text"]) + (list(data["train"]["text_pair"]) if pairs else [])
    tokenizer = load_tokenizer(spec, train_texts=corpus)
    tokenizer.save_pretrained(out / "tokenizer")
    timings["tokenizer_s"] = time.perf_counter() - start

    start = time.perf_counter()
    # The Rust tokenizer itself, set up as tokenizer(texts, truncation=True, max_length=...) sets it up,
    # minus the offsets and Python dicts that call builds and we would throw away.
    encoder = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    encoder.enable_truncation(spec.max_length)
    encoder.no_padding()
    # A pair's token types (which segment each token is in), as the tokenizer's post-processor marks
    # them; kept when it marks any (BERT-style templates do). Which models take them: train_loop.model_inputs.
    typed = pairs and any(encoder.encode("a", "b").type_ids)
    files, rows, num_labels = {}, {}, 2
    for split, subset, stream in (("train", spec.train_subset, 1), ("test", spec.test_subset, 2)):
        labels = np.asarray(data[split]["label"], dtype=np.int64)
        keep = (
            np.arange(len(labels))
            if subset is None
            else stratified_indices(labels, subset, [spec.seed, stream])
        )
        chosen = data[split].select(keep)
        texts = chosen["text"]
        seconds = chosen["text_pair"] if pairs else None
        input_ids: list[list[int]] = []
        type_ids: list[list[int]] | None = [] if typed else None
        for begin in range(0, len(texts), _TOKENIZE_CHUNK):
            chunk = list(texts[begin : begin + _TOKENIZE_CHUNK])
            if seconds is not None:  # a sentence pair: [CLS] a [SEP] b [SEP], both cut to fit together
                pair = list(seconds[begin : begin + _TOKENIZE_CHUNK])
                encoded = encoder.encode_batch_fast(list(zip(chunk, pair, strict=True)))
                input_ids.extend(encoding.ids for encoding in encoded)
                if type_ids is not None:
                    type_ids.extend(encoding.type_ids for encoding in encoded)
            else:
                input_ids.extend(_encode_truncated(encoder, chunk, spec.max_length))
        files[split] = write_split(out / f"{split}.arrow", input_ids, labels[keep], type_ids)
        rows[split] = len(keep)
        num_labels = max(num_labels, int(labels.max()) + 1)
    timings["tokenize_s"] = time.perf_counter() - start
    log.info("tokenized %s: %d train / %d test rows, %s", spec.dataset, rows["train"], rows["test"], timings)
    if tokenizer.pad_token_id is None:
        raise DataError(f"tokenizer {key['tokenizer']!r} has no padding token; use tokenizer='wordpiece'")

    meta = {
        "key": key,
        "spec": asdict(spec),
        "vocab_size": len(tokenizer),
        "pad_token_id": int(tokenizer.pad_token_id),
        "num_labels": num_labels,
        "tokenizer_name": key["tokenizer"],
        "rows": rows,
        "file_bytes": files,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "built_by": {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time()},
    }
    _write_json_atomic(out / "meta.json", meta)
    return meta


def _encode_truncated(encoder: Tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each text truncated to max_length, exactly as tokenizing the whole text would give.

    Reviews run to thousands of characters of which only the first max_length tokens are kept, so each
    long text is first cut at a space after max_length * 8 characters. A space is a hard token boundary
    for BERT-style tokenizers, so the prefix's tokens are the whole text's first tokens; a prefix that
    still fills max_length is therefore exact, and the rare one that does not is tokenized in full.
    """
    limit = max_length * _CHARS_PER_TOKEN
    cut = [text.rfind(" ", 0, limit) if len(text) > limit else -1 for text in texts]
    heads = [text if at <= 0 else text[:at] for text, at in zip(texts, cut, strict=True)]
    ids = [encoding.ids for encoding in encoder.encode_batch_fast(heads)]
    short = [i for i, at in enumerate(cut) if at > 0 and len(ids[i]) < max_length]
    if short:
        for i, encoding in zip(short, encoder.encode_batch_fast([texts[i] for i in short]), strict=True):
            ids[i] = encoding.ids
    return ids


def _read_meta(root: Path, key: dict) -> dict | None:
    """meta.json of a complete cache folder matching `key`, else None (never raises on a broken folder)."""
    try:
        meta = json.loads((root / "meta.json").read_text())
        complete = meta["key"] == key and all(
            (root / f"{split}.arrow").stat().st_size == size for split, size in meta["file_bytes"].items()
        )
        complete = complete and (root / "tokenizer").is_dir()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return meta if complete else None


def _remove_leftovers(root: Path) -> None:
    # Called under the lock: any folder at `root` is incomplete or stale, and any temp folder for this
    # key belongs to a build that crashed (only the lock holder builds).
    leftovers = list(root.parent.glob(f".tmp-{root.name}-*"))
    if root.exists():
        log.warning("removing incomplete tokenized cache %s", root)
        stale = root.parent / f".stale-{root.name}-{uuid.uuid4().hex[:8]}"
        os.rename(root, stale)  # out of the way first, so a crash mid-delete leaves nothing at `root`
        leftovers.append(stale)
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)


def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, path)


def _prepared(root: Path, meta: dict) -> PreparedData:
    return PreparedData(
        root=str(root),
        train_path=str(root / "train.arrow"),
        test_path=str(root / "test.arrow"),
        tokenizer_dir=str(root / "tokenizer"),
        vocab_size=int(meta["vocab_size"]),
        pad_token_id=int(meta["pad_token_id"]),
        num_labels=int(meta["num_labels"]),
        tokenizer_name=str(meta["tokenizer_name"]),
        train_rows=int(meta["rows"]["train"]),
        test_rows=int(meta["rows"]["test"]),
    )
