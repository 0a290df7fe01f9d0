"""RunOptions: what the command line says about a run, validated before Ray starts."""

import functools
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from errors import ConfigError
from search.profiles import Profile, get_profile
from search.run.callbacks import check_callbacks
from trainables.trial_keys import BASE_METHODS, PRECISIONS

# Optuna's and NumPy's samplers take seeds below 2**32.
MAX_SEED = 2**32 - 1

# The allowed values of the run options; argparse (adls/run_options.py) takes its choices from here.
DATASETS = ("rotten_tomatoes", "imdb", "synthetic")
SAMPLERS = ("grid", "tpe", "random", "nsga2")
# --scheduler: "asha" and "sha" stop unpromising trials early where the experiment allows it
# (search/schedulers/early_stopping.py).
SCHEDULERS = ("fifo", "asha", "sha")
# --objective names; lab3-mixed maps them to metrics (accuracy: max, size: min).
OBJECTIVES = ("accuracy", "size")
START_CHOICES = ("base", "lab2-nas")
# lab3-precisions --layers: each Linear chooses fp32 or the format, or all take the format.
LAB3_LAYER_MODES = ("choose", "all")

if TYPE_CHECKING:
    from trainables.data.sources import RunSources
# What a trial does: train for real, or the rehearsal surrogate (trainables/trials/surrogate.py).
TRIAL_KINDS = ("real", "surrogate")


@dataclass(frozen=True)
class RunOptions:
    """Everything a run needs besides the experiment's own definition."""

    profile_name: str = "quick"
    storage: str = "results"
    address: str | None = None
    cpus_per_trial: int = 1
    gpus_per_trial: float = 0.0
    max_concurrent: int | None = None
    seed: int = 0
    data_dir: str | None = None
    dataset: str | None = None
    force: bool = False
    repeats: int = 1
    sampler: str | None = None
    start_from: str | None = None
    precisions: tuple[str, ...] | None = None
    objectives: tuple[str, ...] = ("accuracy",)
    lab3_layers: str = "choose"
    keep_classifier_fp32: bool = False
    # Quantize with MASE's own values where the library deliberately differs (docs/formats.md).
    mase_exact: bool = False
    # SQLAlchemy URL of a shared study database; None: SQLite beside the results (search/study/database.py).
    optuna_storage: str | None = None
    # Put before every study name (a user or run name), so several runs share one database.
    optuna_study_prefix: str | None = None
    scheduler: str = "fifo"
    # Stratified, deterministic caps on the profile's training and test rows (None: the profile's).
    train_rows: int | None = None
    test_rows: int | None = None
    # auto | hub | seeded (trainables/data/sources.py); the base experiment's fine-tuning method
    # (None: the profile's, trainables/models/base_methods.py).
    model_source: str = "auto"
    base_method: str | None = None
    # Trials per Lab 2 search instead of the profile's nas_budget (e.g. a 1,000-trial rehearsal),
    # and per lab3-precisions format instead of lab3_format_budget.
    budget: int | None = None
    trial: str = "real"
    # How long each surrogate trial sleeps (only with trial="surrogate").
    surrogate_seconds: float = 2.0
    # Ray Tune logger callbacks by name (search.run.callbacks); they do not change results.
    callbacks: tuple[str, ...] = ()
    # Ray's and Optuna's INFO chatter (search.run.quiet); does not change results.
    verbose: bool = False
    # Checkpoints kept per search: the best K (None: all), besides those later stages load.
    keep_checkpoints: int | None = 1
    # Earlier results folders (`<name>.previous*`) kept when a run replaces one.
    keep_previous: int = 1
    # Training arithmetic: "bf16" autocast (for GPUs); compile: train through torch.compile.
    precision: str = "fp32"
    compile: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ConfigError naming the first bad option."""
        get_profile(self.profile_name)
        if self.keep_checkpoints is not None and self.keep_checkpoints < 1:
            raise ConfigError(f"--keep-checkpoints={self.keep_checkpoints} must be >= 1 or 'all'")
        if self.keep_previous < 0:
            raise ConfigError(f"--keep-previous={self.keep_previous} must be >= 0")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"--precision {self.precision!r} is not allowed; choose one of {list(PRECISIONS)}"
            )
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(
                f"--scheduler {self.scheduler!r} is not allowed; choose one of {list(SCHEDULERS)}"
            )
        if self.dataset is not None and self.dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {self.dataset!r}; choose one of {list(DATASETS)}")
        if self.cpus_per_trial < 1:
            raise ConfigError(f"--cpus-per-trial={self.cpus_per_trial} must be a whole number >= 1")
        if not math.isfinite(self.gpus_per_trial):
            raise ConfigError(f"--gpus-per-trial={self.gpus_per_trial} must be a finite number >= 0")
        if self.gpus_per_trial < 0:
            raise ConfigError(f"--gpus-per-trial={self.gpus_per_trial} must be >= 0 (fractions share a GPU)")
        if self.gpus_per_trial > 1 and self.gpus_per_trial != int(self.gpus_per_trial):
            raise ConfigError(f"--gpus-per-trial={self.gpus_per_trial}: above 1 it must be a whole number")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise ConfigError(f"--max-concurrent={self.max_concurrent} must be >= 1")
        if self.repeats < 1:
            raise ConfigError(f"--repeats={self.repeats} must be >= 1")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"--seed={self.seed} is out of range; give a whole number in [0, {MAX_SEED}]")
        for flag, rows in (("--train-rows", self.train_rows), ("--test-rows", self.test_rows)):
            if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 2):
                raise ConfigError(f"{flag}={rows!r} must be a whole number >= 2 (one row per label at least)")
        if self.base_method is not None and self.base_method not in BASE_METHODS:
            raise ConfigError(
                f"--base-method {self.base_method!r} is not allowed; choose one of {list(BASE_METHODS)}"
            )
        if self.budget is not None and self.budget < 1:
            raise ConfigError(f"--budget={self.budget} must be a whole number >= 1")
        if self.trial not in TRIAL_KINDS:
            raise ConfigError(f"--trial {self.trial!r} is not allowed; choose one of {list(TRIAL_KINDS)}")
        if self.surrogate_seconds < 0:
            raise ConfigError(f"--surrogate-seconds={self.surrogate_seconds} must be >= 0")
        if self.optuna_storage is not None and "://" not in self.optuna_storage:
            raise ConfigError(
                f"--optuna-storage {self.optuna_storage!r} is not a database URL; give an SQLAlchemy URL "
                "such as postgresql://user@host/db or sqlite:////abs/path/optuna.db"
            )
        self._validate_search_choices()
        check_callbacks(self.callbacks)
        if self.data_dir is not None:
            self._validate_data_dir()
        # Decide the data, model and tokenizer now, before Ray: --model-source hub may refuse here.
        self.sources()

    def _validate_data_dir(self) -> None:
        """--data-dir is an aclImdb folder for IMDb, checked here once instead of failing in every trial."""
        from trainables.data.datasets import check_imdb_folder

        if self.dataset not in (None, "imdb"):
            raise ConfigError(
                f"--data-dir is only read with --dataset imdb (got --dataset {self.dataset}); "
                "drop --data-dir or use --dataset imdb"
            )
        if not self.data_dir or not os.path.isdir(os.path.expanduser(self.data_dir)):
            raise ConfigError(
                f"--data-dir {self.data_dir!r} is not a readable folder; give the aclImdb folder "
                "(the one holding train/ and test/)"
            )
        check_imdb_folder(self.data_dir)

    def check_local_storage(self) -> None:
        """Refuse a local --storage that cannot hold results (URIs are checked when first written).

        Not part of validate(): `adls submit` names a folder on the cluster, not on this machine.
        """
        if self.storage is None or not self.storage.strip():
            raise ConfigError("--storage is empty; give a results folder (default results) or a URI")
        if "://" in self.storage:
            return
        path = os.path.abspath(os.path.expanduser(self.storage))
        if os.path.exists(path) and not os.path.isdir(path):
            raise ConfigError(f"--storage {self.storage!r} is a file, not a folder; give a results folder")
        existing = path
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise ConfigError(f"--storage {self.storage!r} lies under the file {existing!r}; give a folder")
        try:
            # A probe file, not os.access: root passes access() checks on read-only mounts' files.
            handle, probe = tempfile.mkstemp(prefix=".adls-write-probe-", dir=existing)
        except OSError as error:
            raise ConfigError(
                f"--storage {self.storage!r} is not writable ({error.strerror} in {existing}); "
                "give a folder you can write"
            ) from None
        os.close(handle)
        os.unlink(probe)

    def _validate_search_choices(self) -> None:
        """--sampler, --from, --objective and --precisions (whichever experiment uses them)."""
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise ConfigError(f"--sampler {self.sampler!r} is not allowed; choose one of {list(SAMPLERS)}")
        if self.lab3_layers not in LAB3_LAYER_MODES:
            raise ConfigError(
                f"--layers {self.lab3_layers!r} is not allowed; choose one of {list(LAB3_LAYER_MODES)}"
            )
        if self.keep_classifier_fp32 and self.lab3_layers != "all":
            raise ConfigError(
                "--keep-classifier-fp32 only applies with --layers all; add --layers all or drop it"
            )
        if self.start_from is not None and self.start_from not in START_CHOICES:
            raise ConfigError(
                f"--from {self.start_from!r} is not allowed; choose one of {list(START_CHOICES)}"
            )
        objectives = ",".join(self.objectives)
        if any(name not in OBJECTIVES for name in self.objectives) or len(set(self.objectives)) != len(
            self.objectives
        ):
            raise ConfigError(f"--objective {objectives!r}: list each of {list(OBJECTIVES)} at most once")
        if "accuracy" not in self.objectives:
            raise ConfigError(
                f"--objective {objectives!r} must include accuracy, e.g. accuracy or accuracy,size"
            )
        if self.precisions is not None:
            from search.experiments.spaces.precisions import (
                check_precisions,  # the formats' registry imports torch
            )

            check_precisions(list(self.precisions))

    @property
    def profile(self) -> Profile:
        dataset = self.dataset or ("imdb" if self.data_dir else None)
        return get_profile(self.profile_name, dataset)

    def sources(self) -> "RunSources":
        """The run's data, model and tokenizer sources, resolved once per process (ConfigError if refused)."""
        return _sources(self.profile.dataset, self.data_settings_dir(), self.model_source)

    def data_settings_dir(self) -> str | None:
        return os.path.abspath(os.path.expanduser(self.data_dir)) if self.data_dir else None

    @property
    def resolved_base_method(self) -> str:
        """--base-method, else the profile's (the full profile does what Tutorial 2 does)."""
        return self.base_method or self.profile.base_method

    def data_settings(self) -> dict[str, Any]:
        """The DataSpec fields a trial opens its data with."""
        profile = self.profile
        sources = self.sources()
        return {
            "dataset": profile.dataset,
            "data_dir": self.data_settings_dir(),
            "max_length": profile.max_length,
            "train_subset": self.train_rows if self.train_rows is not None else profile.train_subset,
            "test_subset": self.test_rows if self.test_rows is not None else profile.test_subset,
            "seed": self.seed,
            # Resolved once here, on the driver: nodes with different hub access must still
            # tokenize (and size the vocabulary) the same way.
            "tokenizer": sources.tokenizer_name,
            "tokenizer_revision": sources.tokenizer_revision,
        }

    def train_settings(self) -> dict[str, Any]:
        """The TrainSettings fields of a trial (epochs is overridden per step where needed)."""
        profile = self.profile
        return {
            "epochs": profile.epochs,
            "batch_size": profile.batch_size,
            "lr": profile.lr,
            "seed": self.seed,
            "precision": self.precision,
            "compile": self.compile,
        }

    def identity(self, experiment: str) -> dict[str, Any]:
        """What makes two runs of an experiment the same result (for reuse by later stages)."""
        identity = {
            "experiment": experiment,
            "profile": self.profile_name,
            "seed": self.seed,
            "data": self.data_settings(),
            # What every model starts from: later stages are built on the base model.
            "start": {"model": self.sources().model, "base_method": self.resolved_base_method},
        }
        # Only when set, so results stored before these options existed keep their identity.
        # (--budget enters only the identity of experiments that use it: search/run_plan.py.)
        if self.trial != "real":
            identity["trial"] = {"kind": self.trial, "seconds": self.surrogate_seconds}
        if self.precision != "fp32":
            identity["precision"] = self.precision
        if self.compile:
            identity["compile"] = True
        return identity

    def to_dict(self) -> dict[str, Any]:
        """The options as recorded in run.json (a database password is masked)."""
        from search.study.database import shown_url

        values = asdict(self)
        if self.optuna_storage:
            values["optuna_storage"] = shown_url(self.optuna_storage)
        return values


@functools.cache
def _sources(dataset: str, data_dir: str | None, model_source: str) -> "RunSources":
    # Once per process: the hub probe and cache look-ups must give one answer for the whole run.
    from trainables.data.sources import resolve_sources

    return resolve_sources(dataset, data_dir, model_source)
