"""ray_cluster.yaml passes Ray's own cluster-config validation and keeps the cluster closed and pinned."""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import ray

from cluster.config import (
    AWS_DIR,
    CLUSTER_CONFIG,
    check_launchable,
    launch_problems,
    load_cluster_config,
    local_variant,
    validate_cluster_config,
)
from errors import ClusterError

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> dict:
    return load_cluster_config()


def test_ray_validates_the_config_as_ray_up_would(config):
    prepared = validate_cluster_config(config)
    assert prepared["provider"]["type"] == "aws"
    assert set(prepared["available_node_types"]) == {"head", "gpu_worker"}


def test_ray_validation_catches_a_misspelt_field(config):
    broken = {**config, "docker": {**config["docker"], "imgae": config["docker"]["image"]}}
    with pytest.raises(jsonschema.ValidationError, match="imgae"):
        validate_cluster_config(broken)


def test_gpu_workers_scale_from_zero_on_spot_and_the_head_has_no_gpu(config):
    head = config["available_node_types"]["head"]["node_config"]["InstanceType"]
    worker = config["available_node_types"]["gpu_worker"]
    assert head.startswith(("m5", "m6", "m7", "c5", "c6", "c7", "r5", "r6"))  # a CPU instance type
    assert worker["node_config"]["InstanceType"].startswith(("g4dn", "g5", "g6", "p3", "p4", "p5"))
    assert worker["min_workers"] == 0 and 1 <= worker["max_workers"] <= config["max_workers"]
    assert worker["node_config"]["InstanceMarketOptions"]["MarketType"] == "spot"
    assert 1 <= config["idle_timeout_minutes"] <= 30


def test_the_image_matches_our_pinned_ray_and_python(config):
    pinned = re.search(r"^ray(?:\[.*\])?==(\S+)$", (PROJECT / "requirements.txt").read_text(), re.M)
    assert pinned and pinned.group(1) == ray.__version__
    assert config["docker"]["image"] == f"rayproject/ray:{ray.__version__}-py311-gpu"


def test_setup_installs_the_pinned_requirements(config):
    assert config["file_mounts"]["~/adls-tune/requirements.txt"] == "./requirements.txt"
    assert any("-r ~/adls-tune/requirements.txt" in command for command in config["setup_commands"])


def test_token_auth_stays_on_and_the_jobs_api_is_local_to_the_head(config):
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    starts = [
        c for c in config["head_start_ray_commands"] + config["worker_start_ray_commands"] if "ray start" in c
    ]
    assert len(starts) == 2 and all("RAY_AUTH_MODE=token" in command for command in starts)
    head = next(c for c in config["head_start_ray_commands"] if "ray start" in c)
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head


def test_no_credential_in_the_config_or_anywhere_in_the_repository():
    skipped_dirs = {
        ".git",
        ".venv",
        "venv",
        "results",
        ".cache",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "build",
    }
    tracked = [
        str(path.relative_to(PROJECT))
        for path in PROJECT.rglob("*")
        if not skipped_dirs.intersection(path.relative_to(PROJECT).parts)
    ]
    secret = re.compile(
        r"AKIA[0-9A-Z]{16}|aws_secret_access_key\s*[=:]|BEGIN [A-Z ]*PRIVATE KEY|RAY_AUTH_TOKEN\s*[=:]\s*['\"]?[0-9a-f]{16}"
    )
    offenders = []
    for name in tracked:
        path = PROJECT / name
        if path.suffix in {".png", ".parquet", ".arrow", ".bz2", ".pt", ".safetensors"} or not path.is_file():
            continue
        if secret.search(path.read_text(errors="ignore")):
            offenders.append(name)
    assert offenders == []
    assert "aws_access_key" not in CLUSTER_CONFIG.read_text().lower()


def test_the_documented_on_premise_variant_is_valid_too(config, tmp_path):
    variant = local_variant(config, "10.0.0.10", ["10.0.0.11"], "me", str(tmp_path / "id_ed25519"))
    prepared = validate_cluster_config(variant)
    assert prepared["provider"] == {"type": "local", "head_ip": "10.0.0.10", "worker_ips": ["10.0.0.11"]}
    assert prepared["head_start_ray_commands"] == config["head_start_ray_commands"]
    assert "docker" not in variant and "available_node_types" not in variant


def test_the_shipped_config_is_refused_until_the_security_group_is_set(config, tmp_path):
    # As shipped, SSH would be open to whoever the placeholder lets in: refused in one line.
    with pytest.raises(ClusterError, match=r"SecurityGroupIds is still the placeholder sg-REPLACE-ME"):
        check_launchable(CLUSTER_CONFIG)
    filled = tmp_path / "cluster.yaml"
    filled.write_text(CLUSTER_CONFIG.read_text().replace("sg-REPLACE-ME", "sg-0123456789abcdef0"))
    ready = check_launchable(filled)
    groups = {n: t["node_config"]["SecurityGroupIds"] for n, t in ready["available_node_types"].items()}
    assert groups == {"head": ["sg-0123456789abcdef0"], "gpu_worker": ["sg-0123456789abcdef0"]}
    validate_cluster_config(ready)  # still what Ray accepts


def test_without_a_security_group_ray_would_open_ssh_to_everyone(config):
    no_group = copy.deepcopy(config)
    del no_group["available_node_types"]["gpu_worker"]["node_config"]["SecurityGroupIds"]
    assert any("0.0.0.0/0" in problem for problem in launch_problems(no_group))
    # The on-premise variant has no AWS security group and is not held to it.
    assert launch_problems(local_variant(config, "10.0.0.10", [], "me", "/k")) == []


def test_workers_get_a_narrow_instance_profile_not_rays_default(config):
    worker = config["available_node_types"]["gpu_worker"]["node_config"]
    assert worker["IamInstanceProfile"] == {"Name": "adls-tune-worker"}
    broad = copy.deepcopy(config)
    broad["available_node_types"]["gpu_worker"]["node_config"]["IamInstanceProfile"] = {
        "Name": "ray-autoscaler-v1"
    }
    assert any("ray-autoscaler-v1" in problem for problem in launch_problems(broad))


def test_the_worker_policy_reaches_only_the_results_prefix():
    worker = json.loads((AWS_DIR / "worker-policy.json").read_text())
    actions = [
        a
        for s in worker["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert actions and all(action.startswith("s3:") for action in actions)  # no ec2:*, no iam:*
    assert all(
        s["Effect"] == "Allow" and "*" not in s["Resource"].split(":::")[-1].split("/")[0]
        for s in worker["Statement"]
    )
    objects = [s for s in worker["Statement"] if "s3:GetObject" in s["Action"]]
    assert [s["Resource"] for s in objects] == ["arn:aws:s3:::BUCKET/PREFIX/*"]
    listing = next(s for s in worker["Statement"] if s["Action"] == ["s3:ListBucket"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["PREFIX", "PREFIX/*"]}}
    head = json.loads((AWS_DIR / "head-policy.json").read_text())
    passes = [s for s in head["Statement"] if "iam:PassRole" in s["Action"]]
    assert [s["Resource"] for s in passes] == ["arn:aws:iam::ACCOUNT_ID:role/adls-tune-worker"]
    trust = json.loads((AWS_DIR / "ec2-trust.json").read_text())
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
