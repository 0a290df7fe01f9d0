"""DataSpec: which text data a trial trains on and how it is tokenized, validated at the edge."""

import os
from dataclasses import dataclass

from errors import ConfigError

DATASETS = ("rotten_tomatoes", "imdb", "synthetic")
# "pretrained": a `--model`'s own tokenizer (or `--tokenizer`'s), at `tokenizer_source`.
TOKENIZERS = ("auto", "bert-base-uncased", "wordpiece", "pretrained")
MAX_LENGTH_RANGE = (4, 512)  # [CLS] x [SEP] needs a few tokens; BERT has 512 positions


@dataclass(frozen=True)
class DataSpec:
    """Dataset, tokenizer and subset choice; everything that decides the tokenized cache's contents.

    Call validate() before use: it raises ConfigError naming the field, the value and what is allowed.
    `tokenizer="auto"` means bert-base-uncased when the hub is reachable, else a WordPiece vocabulary
    trained on the training split. Subsets are stratified by label and drawn from `seed`; for
    rotten_tomatoes the seed also draws the 80/20 train/test split.
    """

    dataset: str = "rotten_tomatoes"
    data_dir: str | None = None
    max_length: int = 128
    train_subset: int | None = None
    test_subset: int | None = None
    seed: int = 0
    cache_dir: str | None = None
    tokenizer: str = "auto"
    synthetic_size: int = 512
    # The hub commit of bert-base-uncased to load (None: the cache's refs/main, or the hub's latest).
    tokenizer_revision: str | None = None
    # With tokenizer="pretrained": a local folder or "<repo>@<commit>" that AutoTokenizer loads.
    tokenizer_source: str | None = None
    # A run's own data (any `dataset` that is not a built-in name; trainables/data/user_data.py):
    # its columns, hub config and splits, the held-out share without a test split, and the
    # content hash the driver read (so a changed file makes a new tokenized cache).
    text_column: str = "text"
    label_column: str = "label"
    dataset_config: str | None = None
    train_split: str = "train"
    test_split: str | None = None
    test_fraction: float = 0.2
    data_hash: str | None = None

    @property
    def is_user_data(self) -> bool:
        """True when `dataset` is a file, folder or hub id rather than a built-in name."""
        return self.dataset not in DATASETS

    def user_request(self):
        """The UserDataRequest this spec's own-data fields describe."""
        from trainables.data.user_data import UserDataRequest

        return UserDataRequest.of(self.dataset, self)

    # The hub commit of stanfordnlp/imdb to load (None: the latest, or the datasets cache's copy).
    data_revision: str | None = None

    def validate(self) -> None:
        """Raise ConfigError for the first invalid field; return None when the spec is usable."""
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise ConfigError(
                f"DataSpec.dataset={self.dataset!r} is not allowed; give one of {list(DATASETS)}, "
                "a file, a folder or a hub dataset id"
            )
        _choice("tokenizer", self.tokenizer, TOKENIZERS)
        if (self.tokenizer == "pretrained") != bool(self.tokenizer_source):
            raise ConfigError(
                f"DataSpec.tokenizer_source={self.tokenizer_source!r} goes with tokenizer='pretrained' "
                f"(got tokenizer={self.tokenizer!r}); set both or neither"
            )
        if not (isinstance(self.test_fraction, float | int) and 0 < self.test_fraction < 1):
            raise ConfigError(f"DataSpec.test_fraction={self.test_fraction!r} must be a number in (0, 1)")
        if self.data_dir is not None:
            if not isinstance(self.data_dir, str | os.PathLike) or not str(self.data_dir):
                raise ConfigError(f"DataSpec.data_dir={self.data_dir!r} must be a folder path or None")
            if self.dataset != "imdb":
                raise ConfigError(
                    f"DataSpec.data_dir={str(self.data_dir)!r} is only used with dataset='imdb' "
                    f"(got dataset={self.dataset!r}); remove it or set dataset='imdb'"
                )
        _integer("max_length", self.max_length, *MAX_LENGTH_RANGE)
        _integer("train_subset", self.train_subset, 1, None, optional=True)
        _integer("test_subset", self.test_subset, 1, None, optional=True)
        _integer("seed", self.seed, 0, 2**32 - 1)
        _integer("synthetic_size", self.synthetic_size, 2, 1_000_000)
        if self.tokenizer_revision is not None and (
            not isinstance(self.tokenizer_revision, str) or self.tokenizer in ("wordpiece", "pretrained")
        ):
            raise ConfigError(
                f"DataSpec.tokenizer_revision={self.tokenizer_revision!r} is only used with "
                f"tokenizer='bert-base-uncased' (got tokenizer={self.tokenizer!r}); remove it"
            )
        if self.data_revision is not None and (
            not isinstance(self.data_revision, str) or self.dataset != "imdb" or self.data_dir is not None
        ):
            raise ConfigError(
                f"DataSpec.data_revision={self.data_revision!r} is only used with dataset='imdb' from the "
                f"hub (got dataset={self.dataset!r}, data_dir={self.data_dir!r}); remove it"
            )
        if self.cache_dir is not None and (
            not isinstance(self.cache_dir, str | os.PathLike) or not str(self.cache_dir)
        ):
            raise ConfigError(f"DataSpec.cache_dir={self.cache_dir!r} must be a folder path or None")

    def resolved_cache_dir(self) -> str:
        """The cache folder: cache_dir, else $ADLS_CACHE_DIR, else ~/.cache/adls-tune (absolute)."""
        root = self.cache_dir or os.environ.get("ADLS_CACHE_DIR") or "~/.cache/adls-tune"
        return os.path.abspath(os.path.expanduser(str(root)))


def _choice(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"DataSpec.{field}={value!r} is not allowed; choose one of {list(allowed)}")


def _integer(field: str, value: object, low: int, high: int | None, optional: bool = False) -> None:
    if value is None and optional:
        return
    allowed = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
    if optional:
        allowed += " or None"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"DataSpec.{field}={value!r} is not allowed; expected {allowed}")
    if value < low or (high is not None and value > high):
        raise ConfigError(f"DataSpec.{field}={value} is out of range; expected {allowed}")
