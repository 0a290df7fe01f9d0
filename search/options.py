"""RunOptions: what a run is told, each option declared once on its field, validated before Ray starts.

Every field made with `run_option(...)` is a command-line flag, a search-file key and a check
(search/option_spec.py); options that only one experiment reads are declared beside it
(search/experiments/options/). `address`, `verbose`, `search_file` and `extra` are not run
options: `--address`, `adls -v` and `adls run FILE.toml` set them elsewhere, benches set `extra`.
"""

import functools
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from errors import ConfigError
from search.experiments.options import lab2_nas as lab2_options
from search.experiments.options import lab3 as lab3_options
from search.option_spec import (
    comma_list,
    count_or_all,
    declared_options,
    non_negative_float,
    non_negative_int,
    positive_int,
    run_option,
    show_comma_list,
    show_count_or_all,
)
from search.profiles import PROFILES, Profile, get_profile, with_train
from search.run.callbacks import CALLBACKS, check_callbacks
from search.schedulers.early_stopping import SHA_BATCH
from trainables.trial_keys import BASE_METHODS, PRECISIONS

if TYPE_CHECKING:
    from search.study.constraints import Constraint
    from trainables.data.sources import RunSources

# Optuna's and NumPy's samplers take seeds below 2**32.
MAX_SEED = 2**32 - 1

DATASETS = ("rotten_tomatoes", "imdb", "synthetic")
SAMPLERS = ("grid", "tpe", "random", "nsga2")
# --scheduler: "asha" and "sha" stop unpromising trials early where the experiment allows it
# (search/schedulers/early_stopping.py).
SCHEDULERS = ("fifo", "asha", "sha")


def _at_least(low: int | float, also: str = "") -> "Any":
    def problem(flag: str, value: Any) -> str | None:
        return f"{flag}={value} must be {also or f'>= {low}'}" if value is not None and value < low else None

    return problem


def _gpus_problem(flag: str, value: float) -> str | None:
    if not math.isfinite(value):
        return f"{flag}={value} must be a finite number >= 0"
    if value < 0:
        return f"{flag}={value} must be >= 0 (fractions share a GPU)"
    if value > 1 and value != int(value):
        return f"{flag}={value}: above 1 it must be a whole number"
    return None


def _seed_problem(flag: str, value: int) -> str | None:
    if not 0 <= value <= MAX_SEED:
        return f"{flag}={value} is out of range; give a whole number in [0, {MAX_SEED}]"
    return None


def _rows_problem(flag: str, value: Any) -> str | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
        return f"{flag}={value!r} must be a whole number >= 2 (one row per label at least)"
    return None


def _dataset_problem(flag: str, value: str | None) -> str | None:
    if value is not None and not value.strip():
        return f"{flag} is empty; give one of {list(DATASETS)}, a file, a folder or a hub dataset id"
    return None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise ValueError(f"{text} must be a number between 0 and 1")
    return value


def _fraction_problem(flag: str, value: float) -> str | None:
    if not 0 < value < 1:
        return f"{flag}={value} must be a number between 0 and 1"
    return None


# The own-data options (--dataset file, folder or hub id) and their defaults: refused with a
# built-in dataset, whose columns are fixed.
OWN_DATA_OPTIONS = (
    ("text_column", "--text-column", "text"),
    ("label_column", "--label-column", "label"),
    ("dataset_config", "--dataset-config", None),
    ("train_split", "--train-split", "train"),
    ("test_split", "--test-split", None),
)


def _optuna_storage_problem(flag: str, value: str | None) -> str | None:
    if value is not None and "://" not in value:
        return (
            f"{flag} {value!r} is not a database URL; give an SQLAlchemy URL "
            "such as postgresql://user@host/db or sqlite:////abs/path/optuna.db"
        )
    return None


def _callbacks_problem(flag: str, value: tuple[str, ...]) -> str | None:
    try:
        check_callbacks(value)
    except ConfigError as error:
        return str(error)
    return None


@dataclass(frozen=True)
class RunOptions:
    """Everything a run needs besides the experiment's own definition (one field per run option)."""

    profile_name: str = run_option(
        "--profile",
        "quick",
        choices=tuple(PROFILES),
        help="smoke (CI, seconds), quick (CPU, minutes, default), full (the labs' sizes)",
    )
    storage: str = run_option(
        "--storage", "results", help="results folder or URI (s3://, gs://); default results"
    )
    address: str | None = None
    cpus_per_trial: int = run_option(
        "--cpus-per-trial",
        1,
        parse=positive_int,
        check=_at_least(1, "a whole number >= 1"),
        help="CPUs (torch threads) per trial",
    )
    gpus_per_trial: float = run_option(
        "--gpus-per-trial",
        0.0,
        parse=non_negative_float,
        check=_gpus_problem,
        help="GPU share per trial; fractions let trials share a GPU",
    )
    max_concurrent: int | None = run_option(
        "--max-concurrent",
        None,
        parse=positive_int,
        check=_at_least(1),
        help="trials at once (default: fill the CPUs)",
    )
    seed: int = run_option("--seed", 0, parse=non_negative_int, check=_seed_problem)
    data_dir: str | None = run_option(
        "--data-dir", None, help="aclImdb folder for IMDb (implies --dataset imdb)"
    )
    dataset: str | None = run_option(
        "--dataset",
        None,
        check=_dataset_problem,
        help=f"{', '.join(DATASETS)} (built in), a CSV/TSV/JSONL/Parquet file, a folder holding train.* "
        "and test.*, or a hub dataset id (default: the profile's)",
    )
    # The run's own model and data (docs/experiments.md, "Your own model and data").
    model: str | None = run_option(
        "--model",
        None,
        help="a sequence classifier: hub id or save_pretrained folder (BERT, DistilBERT, RoBERTa, ALBERT; "
        "default: bert-tiny)",
    )
    tokenizer: str | None = run_option(
        "--tokenizer", None, help="hub id or folder of the tokenizer (default: the --model's own)"
    )
    text_column: str = run_option(
        "--text-column", "text", help="the text column, or COL1,COL2 for sentence pairs (--dataset file)"
    )
    label_column: str = run_option("--label-column", "label", help="the label column (strings or integers)")
    dataset_config: str | None = run_option("--dataset-config", None, help="the hub dataset's configuration")
    train_split: str = run_option("--train-split", "train", help="the hub dataset's training split")
    test_split: str | None = run_option(
        "--test-split", None, help="the hub dataset's test split (default: test, else a held-out share)"
    )
    test_fraction: float = run_option(
        "--test-fraction",
        0.2,
        parse=_fraction,
        check=_fraction_problem,
        help="held out, stratified and seeded, when the data has no test split (default 0.2)",
    )
    force: bool = run_option("--force", False, switch=True, help="rerun even if matching results are stored")
    repeats: int = run_option(
        "--repeats", 1, parse=positive_int, check=_at_least(1), help="run each sampler K times (lab2-nas)"
    )
    sampler: str | None = run_option(
        "--sampler",
        None,
        choices=SAMPLERS,
        parser_choices=False,
        help=f"override the sampler ({', '.join(SAMPLERS)})",
    )
    start_from: str | None = lab3_options.START_FROM
    precisions: tuple[str, ...] | None = lab3_options.PRECISIONS_LIST
    objectives: tuple[str, ...] = lab3_options.OBJECTIVE
    # --constraint texts ("bops_per_token<=1e9"), parsed by search/study/constraints.py.
    constraints: tuple[str, ...] = lab3_options.CONSTRAINTS
    seed_from: str | None = lab3_options.SEED_FROM
    lab3_layers: str = lab3_options.LAYERS
    keep_classifier_fp32: bool = lab3_options.KEEP_CLASSIFIER_FP32
    # Quantize with MASE's own values where the library deliberately differs (docs/formats.md).
    mase_exact: bool = run_option(
        "--mase-exact",
        False,
        switch=True,
        help="quantize with MASE's own values where adls deliberately differs (docs/formats.md)",
    )
    # None: SQLite beside the results (search/study/database.py).
    optuna_storage: str | None = run_option(
        "--optuna-storage",
        None,
        check=_optuna_storage_problem,
        help="SQLAlchemy URL of a shared Optuna study database (postgresql://...); "
        "default: <storage>/<experiment>/optuna.db",
    )
    # Put before every study name (a user or run name), so several runs share one database.
    optuna_study_prefix: str | None = run_option(
        "--optuna-study-prefix",
        None,
        help="prefix of the study names (<prefix>/<experiment>/<variant>), e.g. your name in a shared database",
    )
    scheduler: str = run_option(
        "--scheduler",
        "fifo",
        choices=SCHEDULERS,
        parser_choices=False,
        help=f"{' or '.join(SCHEDULERS)}: asha stops unpromising trials early (lab2-*, lab3-*; not grids); "
        f"sha is synchronous successive halving in batches of {SHA_BATCH}: trials pause at 1/4, the best of "
        "each batch finishes",
    )
    # Stratified, deterministic caps on the profile's training and test rows (None: the profile's).
    train_rows: int | None = run_option(
        "--train-rows",
        None,
        parse=positive_int,
        check=_rows_problem,
        help="cap the training rows (stratified, deterministic)",
    )
    test_rows: int | None = run_option(
        "--test-rows", None, parse=positive_int, check=_rows_problem, help="cap the test rows (stratified)"
    )
    # auto | hub | seeded, checked where it is resolved (trainables/data/sources.py, in validate's
    # sources()); importing those choices here would load torch for `adls --help`.
    model_source: str = run_option(
        "--model-source",
        "auto",
        help="auto (the hub or its local cache, else a seeded init, said in the run's first line), "
        "hub (refuse to fall back) or seeded",
    )
    # None: the profile's (trainables/models/base_methods.py).
    base_method: str | None = run_option(
        "--base-method",
        None,
        choices=BASE_METHODS,
        parser_choices=False,
        help="how base fine-tunes: full, frozen-embeddings or lora (default: the profile's; full profile: lora)",
    )
    # Trials per Lab 2 search instead of the profile's nas_budget (e.g. a 1,000-trial rehearsal),
    # and per lab3-precisions format instead of lab3_format_budget.
    budget: int | None = run_option(
        "--budget",
        None,
        parse=positive_int,
        check=_at_least(1, "a whole number >= 1"),
        help="trials per Lab 2 search or per lab3-precisions format (default: the profile's)",
    )
    trial: str = lab2_options.TRIAL
    surrogate_seconds: float = lab2_options.SURROGATE_SECONDS
    # Ray Tune logger callbacks by name (search.run.callbacks); they do not change results.
    callbacks: tuple[str, ...] = run_option(
        "--callbacks",
        (),
        parse=comma_list,
        show=show_comma_list,
        check=_callbacks_problem,
        help=f"Ray Tune logger callbacks, comma list of {','.join(CALLBACKS)} (each needs its package)",
    )
    # Ray's and Optuna's INFO chatter (search.run.quiet); does not change results.
    verbose: bool = False
    # Checkpoints kept per search: the best K (None: all), besides those later stages load.
    keep_checkpoints: int | None = run_option(
        "--keep-checkpoints",
        1,
        parse=count_or_all,
        show=show_count_or_all,
        check=_at_least(1, ">= 1 or 'all'"),
        help="checkpoints kept per search: the best K (default 1) or 'all'; those a later stage loads stay",
    )
    keep_previous: int = run_option(
        "--keep-previous",
        1,
        parse=non_negative_int,
        check=_at_least(0),
        help="earlier results folders (<name>.previous*) kept when a run replaces one (default 1)",
    )
    # Training arithmetic: "bf16" autocast (for GPUs); compile: train through torch.compile.
    precision: str = run_option(
        "--precision", "fp32", choices=PRECISIONS, help="bf16: bfloat16 autocast (GPUs)"
    )
    compile: bool = run_option("--compile", False, switch=True, help="train through torch.compile")
    # The text of the search file the run was given (`adls run FILE.toml`), part of its identity.
    search_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ConfigError naming the first bad option (each option's own check, then pairs)."""
        get_profile(self.profile_name)
        values = asdict(self)
        for name, option in declared_options(RunOptions).items():
            if problem := option.problem(values[name]):
                raise ConfigError(problem)
        if problem := lab3_options.check_together(values):
            raise ConfigError(problem)
        own = self.dataset is not None and self.dataset not in DATASETS
        for name, flag, default in OWN_DATA_OPTIONS:
            if values[name] != default and not own:
                raise ConfigError(
                    f"{flag} is read only with a --dataset file, folder or hub id (the built-in "
                    f"{list(DATASETS)} have fixed columns); drop {flag} or give --dataset"
                )
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
        from search.storage import is_uri  # pyarrow: not for `adls --help`

        if is_uri(self.storage):
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

    @property
    def parsed_constraints(self) -> "tuple[Constraint, ...]":
        """--constraint, parsed (validate() has refused unreadable ones)."""
        from search.study.constraints import parse_constraints

        return parse_constraints(self.constraints)

    @property
    def profile(self) -> Profile:
        dataset = self.dataset or ("imdb" if self.data_dir else None)
        return with_train(get_profile(self.profile_name, dataset), self.search_file)

    def sources(self) -> "RunSources":
        """The run's data, model and tokenizer sources, resolved once per process (ConfigError if refused)."""
        return _sources(
            self.profile.dataset,
            self.data_settings_dir(),
            self.model_source,
            self.model,
            self.tokenizer,
            self.user_data_request(),
        )

    def user_data_request(self):
        """The UserDataRequest of a --dataset that is not a built-in name (None for the built-ins)."""
        dataset = self.profile.dataset
        if dataset in DATASETS:
            return None
        from trainables.data.user_data import UserDataRequest

        return UserDataRequest.of(dataset, self)

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
        settings = {
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
            # Only when the data is a hub commit, so other runs keep their stored identity.
            **({"data_revision": sources.data_revision} if sources.data_revision else {}),
        }
        # Only when used, so the labs' identities (and their stored results) stay as they were.
        if sources.tokenizer_source is not None:
            settings["tokenizer_source"] = sources.tokenizer_source
        request = self.user_data_request()
        if request is not None:
            settings.update(
                text_column=request.text_column,
                label_column=request.label_column,
                dataset_config=request.dataset_config,
                train_split=request.train_split,
                test_split=request.test_split,
                test_fraction=request.test_fraction,
                data_hash=(sources.data_info or {}).get("data_hash"),
            )
        return settings

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

    def to_dict(self) -> dict[str, Any]:
        """The options as recorded in run.json (a database password is masked)."""
        from search.study.database import shown_url

        values = asdict(self)
        if self.optuna_storage:
            values["optuna_storage"] = shown_url(self.optuna_storage)
        return values


@functools.cache
def _sources(
    dataset: str,
    data_dir: str | None,
    model_source: str,
    model: str | None = None,
    tokenizer: str | None = None,
    user_data: Any = None,
) -> "RunSources":
    # Once per process: the hub probe and cache look-ups must give one answer for the whole run.
    from trainables.data.sources import resolve_sources

    return resolve_sources(dataset, data_dir, model_source, model, tokenizer, user_data)
