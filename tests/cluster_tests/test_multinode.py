"""A head and two worker nodes as separate Ray processes on this machine, driven only through `adls`.

The tests share one cluster and run in file order; the node-loss test kills a worker, so it is last.
"""

import re
import shutil
import time

import pandas as pd
import pytest

from analysis import load_results

pytestmark = pytest.mark.cluster

HEAD, WORKER, HIDING_WORKER = "127.0.0.3", "127.0.0.2", "127.0.0.4"


def _job_id(done) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[0]


def test_submitted_search_runs_on_both_nodes_and_its_progress_is_in_the_logs(
    local_cluster, commands, tmp_path
):
    # A URI, as on a real cluster (s3://...): Tune, the stage chaining and fetch all go through pyarrow.
    storage = f"file://{local_cluster.root / 'shared' / 'results'}"
    submitted = local_cluster.run(commands.submit("lab1-qat", storage))
    job = _job_id(submitted)
    assert job.startswith("adls-lab1-qat-")
    assert f"adls logs {job} --follow" in submitted.stderr

    followed = local_cluster.run(commands.logs(job, "--follow"), timeout=400)
    assert followed.returncode == 0, followed.stdout[-3000:] + followed.stderr
    # The driver's live progress lines reach the job log as they are printed.
    assert "[base/base] " in followed.stdout and "[lab1-qat/qat] " in followed.stdout
    assert "best qat_accuracy" in followed.stdout
    assert "[lab1-qat] 4 trials in" in followed.stdout

    logs = local_cluster.run(commands.logs(job))
    assert logs.returncode == 0 and "[lab1-qat] 4 trials in" in logs.stdout

    listed = local_cluster.run(commands.jobs())
    line = next(line for line in listed.stdout.splitlines() if line.startswith(job))
    assert "SUCCEEDED" in line and "lab1-qat" in line and "smoke" in line

    fetched = local_cluster.run(commands.fetch("lab1-qat", storage, str(tmp_path / "results")))
    assert fetched.returncode == 0, fetched.stderr
    table = load_results(tmp_path / "results" / "lab1-qat")
    assert sorted(table["width"]) == [4, 8, 16, 32]
    assert (table["status"] == "TERMINATED").all()
    # The head has no CPU and each worker one, so the first two trials start together, one per worker.
    assert set(table["node"]) == {WORKER, HIDING_WORKER}
    assert set(table["device"]) == {"cpu"}
    # Stored relative to the experiment folder, read back against the folder they were fetched to.
    stored = pd.read_parquet(tmp_path / "results" / "lab1-qat" / "trials.parquet")
    # --keep-checkpoints 1 (the default) keeps the best trial's; the others have none.
    kept = stored["checkpoint"].dropna()
    assert len(kept) >= 1 and kept.str.startswith("tune/qat/").all()
    assert table["checkpoint"].dropna().str.startswith(str(tmp_path / "results" / "lab1-qat" / "tune")).all()
    assert not (tmp_path / "results" / "lab1-qat" / "tune").exists()  # checkpoints stay on the cluster
    assert (tmp_path / "results" / "lab1-qat" / "lab1-qat.png").is_file()  # figures drawn where fetched
    # Each worker tokenized the data into its own cache, once.
    for node in local_cluster.nodes[1:]:
        built = list(node.cache_dir.glob("synthetic-*/meta.json"))
        assert len(built) == 1, (node.name, built)
        assert not list(node.cache_dir.glob(".tmp-*"))


def test_the_real_cluster_refuses_a_missing_token_and_an_unknown_job_in_one_line(local_cluster, commands):
    # HOME elsewhere: not even ~/.ray/auth_token can supply a token.
    no_token = local_cluster.run(
        commands.jobs(), env=local_cluster.client_env(RAY_AUTH_TOKEN_PATH="", HOME=str(local_cluster.root))
    )
    assert no_token.returncode == 2, no_token.stderr
    assert no_token.stderr.count("\n") == 1 and "requires an authentication token" in no_token.stderr
    assert "ray get-auth-token" in no_token.stderr

    unknown = local_cluster.run(commands.logs("adls-nope"))
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert f"no job 'adls-nope' on the cluster at {local_cluster.address}" in unknown.stderr


def test_a_folder_some_nodes_cannot_see_is_refused(local_cluster, commands):
    if local_cluster.hidden is None:
        pytest.skip(f"cannot give a worker a private folder: {local_cluster.hidden_reason}")
    storage = local_cluster.hidden / "results"
    followed = local_cluster.run(commands.submit("base", str(storage), "--follow"), timeout=300)
    assert followed.returncode == 1
    assert f"adls: error: --storage '{storage}' is not shared by every node" in followed.stdout
    assert f"1 of 3 cluster nodes ({HIDING_WORKER})" in followed.stdout and "s3://" in followed.stdout
    assert "FAILED" in followed.stderr
    assert not (storage / "base" / "trials.parquet").exists()


def test_stop_ends_a_running_job(local_cluster, commands):
    job = _job_id(local_cluster.run(commands.submit("base", str(local_cluster.root / "shared" / "stopped"))))
    stopped = local_cluster.run(commands.stop(job))
    assert stopped.returncode == 0, stopped.stderr
    assert f"{job}: STOPPED" in stopped.stdout


def test_a_lost_worker_node_costs_retries_not_trials(local_cluster, commands):
    storage = local_cluster.root / "shared" / "node-loss"
    # Reuse the base model of the first test so the job is the four lab1-qat trials only.
    shutil.copytree(local_cluster.root / "shared" / "results" / "base", storage / "base")
    worker = next(node for node in local_cluster.nodes if node.ip == HIDING_WORKER)
    job = _job_id(local_cluster.run(commands.submit("lab1-qat", str(storage))))

    deadline = time.monotonic() + 240
    while not _holds_a_trial(worker):
        assert time.monotonic() < deadline, local_cluster.run(commands.logs(job)).stdout[-3000:]
        time.sleep(0.2)
    worker.kill()  # SIGKILL to every process of the worker node: raylet, agents, the trial itself

    followed = local_cluster.run(commands.logs(job, "--follow"), timeout=400)
    assert followed.returncode == 0, followed.stdout[-3000:] + followed.stderr
    assert re.search(r"Actor\w*Error", followed.stdout)  # Tune saw the trial die with its node ...
    table = load_results(storage / "lab1-qat")  # ... and retried it: every trial once, all finished
    assert len(table) == 4 and table["trial_id"].is_unique
    assert sorted(table["width"]) == [4, 8, 16, 32]
    assert (table["status"] == "TERMINATED").all(), table[["width", "status", "error"]]
    assert pd.notna(table["qat_accuracy"]).all()
    assert WORKER in set(table["node"])


def _holds_a_trial(node) -> bool:
    """True while a Tune trial runs on the node: its actor's process is titled `ray::ImplicitFunc.train`
    while it trains (an idle actor kept for reuse is just `ray::ImplicitFunc`)."""
    for proc in node.processes():
        try:
            title = " ".join(proc.cmdline())
        except Exception:  # noqa: BLE001 - the process may end while we look
            continue
        if title.startswith("ray::ImplicitFunc.train"):
            return True
    return False
