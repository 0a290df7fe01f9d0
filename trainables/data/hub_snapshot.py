"""One commit of a Hugging Face hub repository that this machine can load: from the hub, else its local cache."""

import logging
from dataclasses import dataclass
from pathlib import Path

from trainables.data.hub import hub_reachable

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


def hub_snapshot(repo_id: str, filename: str = "config.json") -> HubSnapshot | None:
    """The snapshot of `repo_id` that this machine can load, or None when it can have none.

    Online, `filename` is fetched (the rest follows at `from_pretrained`) and the hub's current commit
    is used; offline, or when the hub answers but the download fails, the commit that the local
    cache's `refs/main` names. The commit is read from the snapshot path, as `datasets` does.
    """
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    if hub_reachable():
        try:
            return HubSnapshot(repo_id, Path(hf_hub_download(repo_id, filename)).parent.name, "hub")
        except Exception as error:  # any failure: the cache may still have it, said below
            log.warning("could not fetch %s from the hub (%s); trying the local cache", repo_id, error)
    cached = try_to_load_from_cache(repo_id, filename)
    if not isinstance(cached, str):  # None, or the "known not to exist" marker
        return None
    return HubSnapshot(repo_id, Path(cached).parent.name)


def hub_cache_dir() -> str:
    """The folder the hub libraries read and fill ($HF_HUB_CACHE, else $HF_HOME/hub)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)
