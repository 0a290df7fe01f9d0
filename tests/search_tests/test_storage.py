"""Results storage on a cluster: a folder some nodes cannot see is refused; URIs stay URIs in the table."""

import pytest

from errors import ClusterError, ConfigError
from search.options import RunOptions
from search.ray_session.connect import check_resources
from search.ray_session.shared_folder import require_shared_storage, unshared_storage_message
from search.storage import as_uri


def test_the_refusal_names_the_blind_nodes_and_the_alternatives():
    assert unshared_storage_message("/data/results", {"10.0.0.1": True, "10.0.0.2": True}) is None
    message = unshared_storage_message(
        "/data/results", {"10.0.0.1": True, "10.0.0.3": False, "10.0.0.2": False}
    )
    assert message.startswith("--storage '/data/results' is not shared by every node: 2 of 3 cluster nodes")
    assert "(10.0.0.2, 10.0.0.3)" in message and "s3://" in message and "NFS" in message


def test_a_uri_needs_no_probe(tmp_path, monkeypatch):
    # A probe would write a marker file; for a URI nothing is written, not even a folder named like it.
    monkeypatch.chdir(tmp_path)
    assert require_shared_storage(f"file://{tmp_path}/results") is None
    assert require_shared_storage("s3://bucket/adls") is None
    assert list(tmp_path.iterdir()) == []


def test_a_single_node_sees_its_own_folder(ray_session, tmp_path):
    # One node cannot disagree with itself: accepted without a probe (no folder, no marker written).
    assert len([node for node in ray_session.nodes() if node["Alive"]]) == 1
    assert check_resources(RunOptions(storage=str(tmp_path / "results")), joined=True) is None
    assert list(tmp_path.iterdir()) == []


def test_gpu_trials_on_a_machine_without_a_gpu_are_refused(ray_session):
    if ray_session.cluster_resources().get("GPU", 0):
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match=r"--gpus-per-trial=0.5 but Ray sees no GPU on this machine"):
        check_resources(RunOptions(gpus_per_trial=0.5), joined=False)


def test_cluster_errors_are_config_errors():
    assert issubclass(ClusterError, ConfigError)  # the CLI prints them as one line with exit status 2


def test_paths_tune_reports_inside_a_uri_storage_become_uris():
    # Tune reports "bucket/key" without the scheme; a later stage must not look for it on local disk.
    assert as_uri("bucket/adls/base/tune/t/checkpoint_000000", "s3://bucket/adls/base") == (
        "s3://bucket/adls/base/tune/t/checkpoint_000000"
    )
    assert as_uri("bucket/a/ckpt", "gs://bucket/a") == "gs://bucket/a/ckpt"
    assert as_uri("/tmp/a/ckpt", "file:///tmp/a") == "file:///tmp/a/ckpt"
    assert as_uri("/data/a/ckpt", "hdfs://namenode:8020/data/a") == "hdfs://namenode:8020/data/a/ckpt"
    assert as_uri("/tmp/a/ckpt", "/tmp/a") == "/tmp/a/ckpt"
    assert as_uri(None, "s3://bucket/a") is None
    assert as_uri("s3://bucket/a/ckpt", "s3://bucket/a") == "s3://bucket/a/ckpt"
