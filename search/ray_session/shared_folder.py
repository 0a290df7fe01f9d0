"""Refuse a results folder that only some nodes of a multi-node cluster can see.

Every trial writes its checkpoint under --storage on the node it runs on, and later stages read
those checkpoints from wherever they run. A plain local folder on a multi-node cluster therefore
scatters results over the nodes' disks; Ray Tune would only notice when a later read fails. This
check proves, before any trial starts, that every node sees the same folder: the driver writes a
marker file there and a zero-CPU task pinned to each node looks for it.
"""

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path

from errors import ConfigError
from search import storage

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 120.0  # a node may first have to unpack the job's working folder


def unshared_storage_message(location: str, seen_by_node: Mapping[str, bool]) -> str | None:
    """The refusal for `location` given which nodes (by IP) saw the marker; None when all did."""
    blind = sorted(node for node, seen in seen_by_node.items() if not seen)
    if not blind:
        return None
    return (
        f"--storage {location!r} is not shared by every node: {len(blind)} of {len(seen_by_node)} cluster "
        f"nodes ({', '.join(blind)}) cannot see it, so their trials' results would be lost; give a URI every "
        "node can write (s3://bucket/adls, gs://...) or a folder shared by all nodes at the same path (NFS)"
    )


def require_shared_storage(location: str) -> None:
    """Raise ConfigError unless every alive node of the connected Ray cluster sees the local folder `location`.

    Call it after joining a cluster (`ray.init(address=...)`), with the absolute folder path;
    URIs and single-node clusters pass without a probe. Nodes that join later (autoscaling) are
    not checked: on such clusters use a URI or a shared mount.
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if storage.is_uri(location):
        return
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    if len(nodes) < 2:
        return
    os.makedirs(location, exist_ok=True)
    marker = Path(location) / f".adls-shared-check-{uuid.uuid4().hex}"
    marker.write_text(socket.gethostname())

    @ray.remote(num_cpus=0, max_retries=0)
    def sees(path: str) -> bool:
        return os.path.exists(path)

    try:
        probes = {}
        for node in nodes:
            pinned = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            probes[_node_name(nodes, node)] = sees.options(scheduling_strategy=pinned).remote(str(marker))
        try:
            seen = dict(zip(probes, ray.get(list(probes.values()), timeout=PROBE_TIMEOUT_S), strict=True))
        except (ray.exceptions.GetTimeoutError, ray.exceptions.RayError) as error:
            # A node that cannot answer (dying, still starting) is not evidence of a private folder.
            log.warning("could not check that every node sees %s: %s", location, error)
            return
    finally:
        marker.unlink(missing_ok=True)
    message = unshared_storage_message(location, seen)
    if message:
        raise ConfigError(message)
    log.info("all %d nodes see %s", len(seen), location)


def _node_name(nodes: list[dict], node: dict) -> str:
    """The node's IP, with its id when several nodes share that IP (several nodes on one machine)."""
    ip = node["NodeManagerAddress"]
    shared = sum(other["NodeManagerAddress"] == ip for other in nodes) > 1
    return f"{ip} ({node['NodeID'][:8]})" if shared else ip
