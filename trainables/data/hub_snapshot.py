"""One commit of a Hugging Face hub repository that this machine can load: downloaded now, else a complete cached copy."""

import contextlib
import importlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from errors import DataError
from trainables.data.hub import hub_reachable, hub_route

log = logging.getLogger(__name__)


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
