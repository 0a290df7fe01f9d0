"""Fixtures of the cluster tests: a real Ray cluster of `ray start` processes on loopback addresses.

The cluster itself (processes, ports, tokens, teardown by pid) is tests/loopback_cluster.py. The
command lines come from `Commands` (tests/documented_commands.py); README.md shows the same
commands and tests/cli_tests/test_docs.py checks that it does.
"""

from collections.abc import Iterator

import pytest

from tests.documented_commands import WORKER_IPS, Commands
from tests.loopback_cluster import LocalCluster, namespaces_usable


@pytest.fixture(scope="session")
def commands() -> type[Commands]:
    return Commands


@pytest.fixture(scope="module")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A head (no CPUs: drivers only) and two one-CPU workers; the second worker cannot see
    `<root>/node-local` when this machine allows mount namespaces."""
    root = tmp_path_factory.mktemp("cluster")
    cluster = LocalCluster(root)
    try:
        cluster.start_head()
        cluster.hidden_reason = namespaces_usable()
        cluster.hidden = None if cluster.hidden_reason else root / "node-local"
        cluster.add_worker(WORKER_IPS[0])
        cluster.add_worker(WORKER_IPS[1], hidden=cluster.hidden)
        cluster.wait_for_nodes(3)
        yield cluster
    finally:
        cluster.shutdown()
