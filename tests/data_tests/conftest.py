"""Fixtures for the data layer: offline hub, a fresh hub probe, shared small prepared caches."""

import pytest

from trainables.data import DataSpec, prepare_data
from trainables.data.hub import clear_hub_cache


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Every data test runs offline unless it removes the variable itself (then the probe is redone)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clear_hub_cache()
    yield
    clear_hub_cache()


@pytest.fixture(scope="session")
def synthetic_prepared(tmp_path_factory):
    """A prepared synthetic cache, built once for the session (WordPiece, max_length 64)."""
    spec = DataSpec(
        dataset="synthetic",
        tokenizer="wordpiece",
        max_length=64,
        cache_dir=str(tmp_path_factory.mktemp("cache")),
    )
    return prepare_data(spec)
