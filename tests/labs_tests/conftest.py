"""Fixtures for the labs' own setting: a local hub cache, an aclImdb-layout folder, the loopback hub's repositories."""

import pytest

from tests.labs_tests.aclimdb_folder import AclImdb, build_aclimdb
from tests.labs_tests.hub_repos import build_hub_repos
from tests.labs_tests.local_hub import LocalHub, build_local_hub
from tests.loopback_hub import HubRepo
from trainables.data.datasets import load_rotten_tomatoes


@pytest.fixture(scope="session")
def embedded_corpus() -> tuple[list[str], list[int]]:
    """The embedded Rotten Tomatoes reviews (texts, labels), train and test together."""
    data = load_rotten_tomatoes()
    texts = list(data["train"]["text"]) + list(data["test"]["text"])
    labels = list(data["train"]["label"]) + list(data["test"]["label"])
    return texts, labels


@pytest.fixture(scope="session")
def local_hub(tmp_path_factory, embedded_corpus) -> LocalHub:
    """A temporary HF_HOME whose hub cache holds prajjwal1/bert-tiny and bert-base-uncased (see local_hub.py)."""
    return build_local_hub(tmp_path_factory.mktemp("hf_home"), embedded_corpus[0])


@pytest.fixture(scope="session")
def aclimdb(tmp_path_factory, embedded_corpus) -> AclImdb:
    """An aclImdb-layout folder with 320 reviews per split (some past 512 tokens) and 40 unlabelled ones."""
    return build_aclimdb(tmp_path_factory.mktemp("imdb"), *embedded_corpus)


@pytest.fixture(scope="session")
def hub_repos(embedded_corpus, aclimdb) -> list[HubRepo]:
    """The loopback hub's repositories: bert-tiny, bert-base-uncased, stanfordnlp/imdb (see hub_repos.py)."""
    return build_hub_repos(embedded_corpus[0], aclimdb)
