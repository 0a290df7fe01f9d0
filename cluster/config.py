"""Helpers around ray_cluster.yaml: load it, check it the way `ray up` does, turn it into an on-premise config."""

import copy
import json
import os
from pathlib import Path
from typing import Any

import yaml

from errors import ClusterError

CLUSTER_CONFIG = Path(__file__).resolve().parents[1] / "ray_cluster.yaml"
# The IAM policies of the head and worker instance profiles (README: "On AWS with ray up").
AWS_DIR = Path(__file__).resolve().parent / "aws"
SECURITY_GROUP_PLACEHOLDER = "sg-REPLACE-ME"
# Ray's default instance profile: EC2 and S3 full access. Workers must not get it.
RAY_DEFAULT_PROFILE = "ray-autoscaler-v1"
# Node-type settings that only a cloud provider understands; `provider: type: local` refuses them.
CLOUD_ONLY_KEYS = ("available_node_types", "head_node_type", "docker")


# `ray up`'s own config checks live in a private module (ray/autoscaler/_private/util.py), checked with
# this version; tests/search_tests/test_private_internals.py fails where they are gone.
CHECKED_WITH = {"ray": "2.60.0"}


def load_cluster_config(path: str | Path = CLUSTER_CONFIG) -> dict[str, Any]:
    """The YAML file as a dict; ClusterError if it is missing or not YAML."""
    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ClusterError(f"cannot read the cluster config {str(path)!r}: {error}") from None
    if not isinstance(config, dict):
        raise ClusterError(f"the cluster config {str(path)!r} is not a YAML mapping")
    return config


def validate_cluster_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check `config` with Ray's own cluster-config schema, before and after Ray fills in its defaults.

    Returns the config with defaults, as `ray up` would use it. Raises jsonschema.ValidationError
    (or ValueError) exactly where `ray up` would fail; nothing here calls a cloud API.
    """
    import jsonschema
    import ray.autoscaler
    from ray.autoscaler._private.util import prepare_config, validate_config

    schema_path = os.path.join(os.path.dirname(ray.autoscaler.__file__), "ray-schema.json")
    with open(schema_path) as handle:
        jsonschema.validate(config, json.load(handle))
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def local_variant(
    config: dict[str, Any], head_ip: str, worker_ips: list[str], ssh_user: str, ssh_private_key: str
) -> dict[str, Any]:
    """The same cluster on machines you already have (`provider: type: local`), as ray_cluster.yaml's
    comments describe: local provider, your SSH user and key, no cloud node types, no Docker."""
    variant = {key: copy.deepcopy(value) for key, value in config.items() if key not in CLOUD_ONLY_KEYS}
    variant["provider"] = {"type": "local", "head_ip": head_ip, "worker_ips": list(worker_ips)}
    variant["auth"] = {"ssh_user": ssh_user, "ssh_private_key": ssh_private_key}
    variant["max_workers"] = len(worker_ips)  # a fixed set of machines: every one is used
    return variant


def launch_problems(config: dict[str, Any]) -> list[str]:
    """What must change in an AWS cluster config before `ray up` may launch it; [] when nothing.

    Every node type needs a security group of your own (without one Ray creates a group with SSH
    open to 0.0.0.0/0), not the placeholder; workers must not get Ray's default instance profile
    (EC2 and S3 full access). Other providers (`type: local`) have neither and pass.
    """
    if config.get("provider", {}).get("type") != "aws":
        return []
    problems = []
    for name, node_type in (config.get("available_node_types") or {}).items():
        node_config = node_type.get("node_config") or {}
        groups = node_config.get("SecurityGroupIds") or []
        if not groups:
            problems.append(
                f"{name} has no SecurityGroupIds: Ray would create a group with SSH open to 0.0.0.0/0"
            )
        elif SECURITY_GROUP_PLACEHOLDER in groups:
            problems.append(f"{name}.SecurityGroupIds is still the placeholder {SECURITY_GROUP_PLACEHOLDER}")
        profile = (node_config.get("IamInstanceProfile") or {}).get("Name", "")
        if name != config.get("head_node_type") and profile in ("", RAY_DEFAULT_PROFILE):
            problems.append(
                f"{name} has {'no instance profile' if not profile else RAY_DEFAULT_PROFILE} "
                "(trials would get EC2 and S3 full access, or no S3 access); use adls-tune-worker"
            )
    return problems


def check_launchable(path: str | Path = CLUSTER_CONFIG) -> dict[str, Any]:
    """Load `path` and raise ClusterError (one line) unless it is ready for `ray up` (see launch_problems)."""
    config = load_cluster_config(path)
    problems = launch_problems(config)
    if problems:
        raise ClusterError(
            f"{path} is not ready for `ray up`: {'; '.join(problems)}; create the security group and "
            "instance profiles as README.md shows (On AWS with ray up) and put the group's id in the file"
        )
    return config
