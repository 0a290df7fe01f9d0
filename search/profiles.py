"""Profiles: how big every experiment is (smoke for CI, quick for a CPU, full for the labs' sizes)."""

import functools
import tomllib
from dataclasses import asdict, dataclass, replace
from typing import Any

from errors import ConfigError


@dataclass(frozen=True)
class Profile:
    """Data size, training length and search budget shared by every experiment of a run.

    `epochs` is what a trial trains (QAT, fine-tuning, NAS); `base_epochs` is the base model's.
    `budget` is the number of trials of a sampled (non-grid) search (lab3-mixed's too).
    `prune_epochs` is lab1-prune's fine-tuning after pruning (Tutorial 4: 5 epochs).
    `lab3_epochs` is what each Lab 3 trial trains after swapping its layers (a fraction of an
    epoch on a CPU); `lab3_format_budget` is the trials of each lab3-precisions format search;
    `lab3_max_concurrent` caps a Lab 3 search's concurrent trials (None: fill the cluster).
    `nas_space` names the Lab 2 architecture space (search/experiments/spaces/nas.py); `nas_budget` is the
    trials of each Lab 2 search (per sampler and repeat in lab2-nas, per objective in
    lab2-compress-aware).
    """

    name: str
    dataset: str
    train_subset: int | None
    test_subset: int | None
    max_length: int
    batch_size: int
    lr: float
    base_epochs: float
    epochs: float
    budget: int
    widths: tuple[int, ...]
    frac_ratios: tuple[float, ...] = (0.5,)
    sparsities: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    prune_epochs: float = 5.0
    nas_space: str = "tutorial"
    nas_budget: int = 100
    lab3_epochs: float = 1.0
    lab3_format_budget: int = 20
    lab3_max_concurrent: int | None = None
    # How `base` fine-tunes (trainables/models/base_methods.py); --base-method overrides it.
    base_method: str = "full"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


LAB1_WIDTHS = (4, 6, 8, 10, 12, 16, 20, 24, 28, 32)

PROFILES: dict[str, Profile] = {
    # Seconds: a small slice of the embedded data, short sequences, few grid points.
    "smoke": Profile(
        name="smoke",
        dataset="rotten_tomatoes",
        train_subset=512,
        test_subset=256,
        max_length=64,
        batch_size=32,
        lr=1e-3,
        base_epochs=1,
        epochs=0.25,
        budget=3,
        widths=(4, 8, 16, 32),
        sparsities=(0.3, 0.7),
        prune_epochs=0.25,
        nas_space="small",
        # Two trials per search run side by side on a 2-core CI machine: one round per search.
        nas_budget=2,
        lab3_epochs=0.25,
        lab3_format_budget=2,
        # A smoke trial takes ~2 s, less than starting a second worker (~5 s of imports).
        lab3_max_concurrent=1,
    ),
    # Minutes on a 2-core CPU: all of Rotten Tomatoes, random-init bert-tiny needs a larger lr.
    "quick": Profile(
        name="quick",
        dataset="rotten_tomatoes",
        train_subset=None,
        test_subset=None,
        max_length=64,
        batch_size=32,
        lr=1e-3,
        base_epochs=4,
        epochs=1,
        budget=20,
        widths=LAB1_WIDTHS,
        # Tutorial 4 fine-tunes 5 epochs; quick scales it by 1/5, as its lab1-qat's 1 epoch does
        # the tutorials' QAT, which keeps lab1-prune's 18 trials at about 10 minutes.
        prune_epochs=1,
        nas_space="small",
        # 3 x 20 NAS trials + 2 x 20 compression-aware trials: `adls run lab2` in under 45 minutes.
        nas_budget=20,
        # ~20 s of one core per Lab 3 trial: 130 trials (20 mixed + 11 formats x 10) in under an hour.
        lab3_epochs=0.2,
        lab3_format_budget=10,
    ),
    # The labs' real sizes: IMDb 25k/25k, course settings (batch 8, lr 5e-5), for GPUs.
    "full": Profile(
        name="full",
        dataset="imdb",
        train_subset=None,
        test_subset=None,
        max_length=512,
        batch_size=8,
        lr=5e-5,
        base_epochs=1,
        epochs=1,
        budget=100,
        widths=LAB1_WIDTHS,
        # Tutorial 2: embeddings frozen, fine-tune, then rank-6 LoRA on top, merged.
        base_method="lora",
    ),
}


def get_profile(name: str, dataset: str | None = None) -> Profile:
    """The named profile, optionally on another dataset; ConfigError lists the profiles otherwise."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {list(PROFILES)}")
    profile = PROFILES[name]
    return replace(profile, dataset=dataset) if dataset else profile


TRAIN_TABLE = "train"
# A search file's [train] keys: the Profile fields a run may override, and what each takes.
TRAIN_FIELDS: dict[str, tuple[type, float, str]] = {
    "epochs": (float, 0.0, "a number of epochs above 0 (what a QAT, NAS or fine-tuning trial trains)"),
    "base_epochs": (float, 0.0, "a number of epochs above 0 (the base model's)"),
    "prune_epochs": (float, 0.0, "a number of epochs above 0 (lab1-prune's fine-tuning)"),
    "lab3_epochs": (float, 0.0, "a number of epochs above 0 (each Lab 3 trial's)"),
    "batch_size": (int, 1, "an integer >= 1"),
    "lr": (float, 0.0, "a learning rate above 0"),
    "max_length": (int, 2, "a sequence length (tokens), an integer >= 2"),
}


def check_train(where: str, table: Any) -> dict[str, Any]:
    """The Profile overrides of a search file's [train]; ConfigError (one line) for a bad entry."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [train] must be a table; keys {', '.join(TRAIN_FIELDS)}")
    values = {}
    for key, raw in table.items():
        if key not in TRAIN_FIELDS:
            raise ConfigError(f"{where}: [train] has no key {key!r}; choose from {', '.join(TRAIN_FIELDS)}")
        kind, low, takes = TRAIN_FIELDS[key]
        numeric = isinstance(raw, (int, float)) and not isinstance(raw, bool)
        if not numeric or (kind is int and not isinstance(raw, int)) or raw < low or (low == 0 and raw <= 0):
            raise ConfigError(f"{where}: [train] {key} = {raw!r}; give {takes}")
        values[key] = kind(raw)
    return values


@functools.cache
def _train_overrides(search_file: str) -> dict[str, Any]:
    return check_train("search file", tomllib.loads(search_file).get(TRAIN_TABLE, {}))


def with_train(profile: Profile, search_file: str | None) -> Profile:
    """`profile` with a search file's [train] values over its own (the file was checked when read)."""
    return replace(profile, **_train_overrides(search_file)) if search_file else profile
