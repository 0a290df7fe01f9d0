"""Shared fixtures: one in-process Ray for the whole session, a private data cache, offline hub."""

import os
import tempfile

import pytest

# Tests never touch the network or the user's cache; set before Ray starts so workers inherit it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# An empty hub cache: what resolves from the hub is decided by the test-built cache (tests/labs_tests), never
# by whatever the user has downloaded.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="adls-test-hf-")
os.environ.pop("HF_HUB_CACHE", None)
os.environ.setdefault("ADLS_CACHE_DIR", tempfile.mkdtemp(prefix="adls-test-cache-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


@pytest.fixture(scope="session")
def ray_session():
    """Ray started once for every test that runs real Tune searches (ray.init costs ~6 s)."""
    import ray

    if not ray.is_initialized():
        from search.ray_session.start import private_system_config

        # The settings `adls run` starts its own Ray with (search/ray_session/start.py): trials at
        # the test's own niceness (Ray's default of 15 steps nicer starves them on a shared
        # machine), no idle workers, pooled trial workers kept between searches.
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            logging_level="WARNING",
            _system_config=private_system_config(2),
        )
    yield ray
    ray.shutdown()
