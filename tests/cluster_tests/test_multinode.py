"""A head and a worker node as separate Ray processes on this machine, driven only through `adls`.

The tests share one cluster and run in file order; the node-loss test kills the worker, so it is last.
"""

import shutil
import socket
import time

import pandas as pd
import pytest

from analysis import load_results

pytestmark = pytest.mark.cluster

HEAD, WORKER = "127.0.0.3", "127.0.0.2"


def _job_id(done) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[0]


def test_submitted_search_runs_on_both_nodes_and_its_progress_is_in_the_logs(local_cluster, tmp_path):
    storage = local_cluster.root / "shared" / "results"
    submitted = local_cluster.adls("submit", "lab1-qat", "--profile", "smoke", "--dataset", "synthetic",
                                   "--storage", str(storage))
    job = _job_id(submitted)
    assert job.startswith("adls-lab1-qat-")
    assert f"adls logs {job} --follow" in submitted.stderr

    followed = local_cluster.adls("logs", job, "--follow", timeout=400)
    assert followed.returncode == 0, followed.stdout[-3000:] + followed.stderr
    # The driver's live progress lines reach the job log as they are printed.
    assert "[base/base] " in followed.stdout and "[lab1-qat/qat] " in followed.stdout
    assert "best qat_accuracy" in followed.stdout
    assert "[lab1-qat] 4 trials in" in followed.stdout

    logs = local_cluster.adls("logs", job)
    assert logs.returncode == 0 and "[lab1-qat] 4 trials in" in logs.stdout

    listed = local_cluster.adls("jobs")
    line = next(line for line in listed.stdout.splitlines() if line.startswith(job))
    assert "SUCCEEDED" in line and "lab1-qat" in line and "smoke" in line

    fetched = local_cluster.adls("fetch", "lab1-qat", "--storage", str(storage), "--to", str(tmp_path / "results"))
    assert fetched.returncode == 0, fetched.stderr
    table = load_results(tmp_path / "results" / "lab1-qat")
    assert sorted(table["width"]) == [4, 8, 16, 32]
    assert (table["status"] == "TERMINATED").all()
    assert set(table["node"]) == {HEAD, WORKER}  # one CPU per node, two trials at once: both nodes work
    assert set(table["device"]) == {"cpu"}
    assert not (tmp_path / "results" / "lab1-qat" / "tune").exists()  # checkpoints stay on the cluster
    assert (tmp_path / "results" / "lab1-qat" / "lab1-qat.png").is_file()  # figures drawn where fetched
    # Each node tokenized the data into its own cache, once.
    for node in local_cluster.nodes:
        built = list(node.cache_dir.glob("synthetic-*/meta.json"))
        assert len(built) == 1, (node.name, built)
        assert not list(node.cache_dir.glob(".tmp-*"))


def test_cluster_errors_are_one_line_and_exit_2(local_cluster):
    no_token = local_cluster.adls("jobs", env=local_cluster.client_env(RAY_AUTH_TOKEN_PATH="", HOME=str(local_cluster.root)))
    assert no_token.returncode == 2
    assert no_token.stderr.count("\n") == 1 and "requires an authentication token" in no_token.stderr
    assert "ray get-auth-token" in no_token.stderr

    wrong = local_cluster.adls("jobs", env=local_cluster.client_env(RAY_AUTH_TOKEN="not-the-token"))
    assert wrong.returncode == 2 and "rejected the token from RAY_AUTH_TOKEN" in wrong.stderr

    unknown = local_cluster.adls("logs", "adls-nope")
    assert unknown.returncode == 2 and "no job 'adls-nope'" in unknown.stderr
    assert unknown.stderr.count("\n") == 1

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    dead = local_cluster.adls("stop", "adls-nope", "--address", nowhere)
    assert dead.returncode == 2 and f"cannot reach the Ray Jobs API at {nowhere}" in dead.stderr


def test_a_folder_only_the_head_sees_is_refused(local_cluster):
    if local_cluster.hidden is None:
        pytest.skip(f"cannot give the worker a private folder: {local_cluster.hidden_reason}")
    storage = local_cluster.hidden / "results"
    submitted = local_cluster.adls("submit", "base", "--profile", "smoke", "--dataset", "synthetic",
                                   "--storage", str(storage))
    followed = local_cluster.adls("logs", _job_id(submitted), "--follow", timeout=300)
    assert followed.returncode == 1
    assert f"adls: error: --storage '{storage}' is a folder on this node only" in followed.stdout
    assert WORKER in followed.stdout and "s3://" in followed.stdout
    assert "FAILED" in followed.stderr
    assert not (storage / "base" / "trials.parquet").exists()


def test_stop_ends_a_running_job(local_cluster):
    submitted = local_cluster.adls("submit", "base", "--profile", "smoke", "--dataset", "synthetic",
                                   "--storage", str(local_cluster.root / "shared" / "stopped"))
    job = _job_id(submitted)
    stopped = local_cluster.adls("stop", job)
    assert stopped.returncode == 0, stopped.stderr
    assert f"{job}: STOPPED" in stopped.stdout


def test_a_lost_worker_node_costs_retries_not_trials(local_cluster):
    storage = local_cluster.root / "shared" / "node-loss"
    # Reuse the base model of the first test so the job is the four lab1-qat trials only.
    shutil.copytree(local_cluster.root / "shared" / "results" / "base", storage / "base")
    worker = next(node for node in local_cluster.nodes if node.name == "worker")
    job = _job_id(local_cluster.adls("submit", "lab1-qat", "--profile", "smoke", "--dataset", "synthetic",
                                     "--storage", str(storage)))

    deadline = time.monotonic() + 240
    while not _runs_a_trial(worker):
        assert time.monotonic() < deadline, local_cluster.adls("logs", job).stdout[-3000:]
        time.sleep(0.2)
    worker.kill()  # SIGKILL to every process of the worker node: raylet, agents, the trial itself

    followed = local_cluster.adls("logs", job, "--follow", timeout=400)
    assert followed.returncode == 0, followed.stdout[-3000:] + followed.stderr
    table = load_results(storage / "lab1-qat")
    assert len(table) == 4 and table["trial_id"].is_unique
    assert sorted(table["width"]) == [4, 8, 16, 32]
    assert (table["status"] == "TERMINATED").all(), table[["width", "status", "error"]]
    assert pd.notna(table["qat_accuracy"]).all()
    assert HEAD in set(table["node"])


def _runs_a_trial(node) -> bool:
    """True while one of the node's processes is a Tune trial (Tune names its actor process `ray::ImplicitFunc`)."""
    for proc in node.processes():
        try:
            title = " ".join(proc.cmdline())
        except Exception:  # noqa: BLE001 - the process may end while we look
            continue
        if title.startswith("ray::ImplicitFunc"):
            return True
    return False
