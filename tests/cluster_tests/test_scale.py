"""At scale, on a real loopback cluster with advertised GPUs and a real PostgreSQL holding the studies.

Two drivers write their studies into one PostgreSQL at the same time and one is killed mid-run;
then, with a 300-trial surrogate search on 4 nodes, one node is killed by pid. The tests share
one cluster and run in file order: the node-loss test is last.
"""

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from search.study.database import TUNE_TRIAL_ID
from tests.loopback_cluster import PROJECT, LocalCluster
from tests.loopback_postgres import LocalPostgres

pytestmark = pytest.mark.cluster

NODES, GPUS = 4, 2


@pytest.fixture(scope="module")
def postgres():
    server = LocalPostgres()
    server.start()
    try:
        yield server
    finally:
        if _storage.cache_info().currsize:
            _storage(server.url).engine.dispose()
            _storage.cache_clear()
        server.stop()


@pytest.fixture(scope="module")
def gpu_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A head without CPUs and 4 workers advertising 2 GPUs (and 2 CPUs) each: 8 one-GPU slots."""
    cluster = LocalCluster(tmp_path_factory.mktemp("gpu-cluster"))
    try:
        cluster.start_head(("--object-store-memory=100000000",))
        for k in range(NODES):
            cluster.add_worker(
                f"127.0.0.{20 + k}", cpus=GPUS, gpus=GPUS, extra=("--object-store-memory=100000000",)
            )
        cluster.wait_for_nodes(NODES + 1, timeout=300)
        yield cluster
    finally:
        cluster.shutdown()


def driver(
    cluster: LocalCluster,
    storage: Path,
    url: str,
    prefix: str,
    budget: int,
    concurrent: int,
    log: Path,
    seconds: float = 0.3,
):
    """An `adls run lab2-nas --trial surrogate` driver joined to the cluster, one GPU per trial."""
    options = dict(
        profile_name="smoke",
        dataset="synthetic",
        storage=str(storage),
        address=os.environ.get("RAY_ADDRESS") or "",
        trial="surrogate",
        surrogate_seconds=seconds,
        budget=budget,
        gpus_per_trial=1.0,
        max_concurrent=concurrent,
        optuna_storage=url,
        optuna_study_prefix=prefix,
        extra={"samplers": ["tpe"]},
    )
    code = (
        "import json, os, sys; from search.options import RunOptions; from search.runner import run\n"
        "o = json.loads(sys.argv[1]); o['address'] = os.environ['RAY_ADDRESS']\n"
        "o['extra'] = {'samplers': tuple(o['extra']['samplers'])}\n"
        "run('lab2-nas', RunOptions(**o))\n"
    )
    env = {**cluster.driver_env(cluster.root / "cache-driver"), "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(options)],
        env=env,
        cwd=PROJECT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@functools.cache
def _storage(url: str) -> optuna.storages.RDBStorage:
    # One engine per database for the whole test: a storage made from a URL on every poll keeps
    # its pooled connection until the garbage collector finds it, and the polls below ran the
    # loopback server (max_connections=60) out of connections while bob's driver started.
    return optuna.storages.RDBStorage(url)


def study_trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    storage = _storage(url)
    if name not in optuna.study.get_all_study_names(storage=storage):
        return []
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def assert_study_is_the_table(url: str, table: pd.DataFrame, extra: set[str] = frozenset()) -> None:
    """Every row once, every study trial once, same params and values, nothing else but `extra`."""
    assert table["trial_id"].is_unique
    for name, rows in table.groupby("optuna_study"):
        trials = study_trials(url, name)
        ids = [t.user_attrs[TUNE_TRIAL_ID] for t in trials if t.user_attrs[TUNE_TRIAL_ID] not in extra]
        assert sorted(ids) == sorted(rows["trial_id"]), name
        by_id = {t.user_attrs[TUNE_TRIAL_ID]: t for t in trials}
        for row in rows.to_dict("records"):
            trial = by_id[row["trial_id"]]
            assert all(row[k] == v for k, v in trial.params.items())
            if row["status"] == "ERROR":
                assert trial.state == optuna.trial.TrialState.FAIL
                continue
            assert trial.state == optuna.trial.TrialState.COMPLETE
            assert trial.value == pytest.approx(row["accuracy"])


def finish(process: subprocess.Popen, log: Path, timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, log.read_text()[-4000:]


def test_two_drivers_share_postgres_and_a_killed_one_resumes(gpu_cluster, postgres, tmp_path):
    budget = 24
    logs = {who: tmp_path / f"{who}.log" for who in ("alice", "bob")}
    drivers = {
        # 3 s trials: on a quiet machine 0.3 s ones all finished before the first snapshot reached
        # the database, so there was nothing left to kill mid-run.
        who: driver(gpu_cluster, tmp_path / who, postgres.url, who, budget, 4, logs[who], seconds=3.0)
        for who in ("alice", "bob")
    }
    # Kill bob's driver once the database holds some of his finished trials (written at Tune's snapshots).
    deadline = time.monotonic() + 600
    while len(study_trials(postgres.url, "bob/lab2-nas/tpe")) < 4:
        assert drivers["bob"].poll() is None, logs["bob"].read_text()[-3000:]
        assert time.monotonic() < deadline, "bob's study got no trials in time"
        time.sleep(1)
    os.kill(drivers["bob"].pid, signal.SIGKILL)
    drivers["bob"].wait()
    killed_with = len(study_trials(postgres.url, "bob/lab2-nas/tpe"))
    assert 4 <= killed_with < budget

    finish(drivers["alice"], logs["alice"], timeout=900)
    alice = pd.read_parquet(tmp_path / "alice" / "lab2-nas" / "trials.parquet")
    assert len(alice) == budget
    assert_study_is_the_table(postgres.url, alice)

    # The same command continues bob's search and his study: nothing lost, nothing twice.
    before = {t.user_attrs[TUNE_TRIAL_ID] for t in study_trials(postgres.url, "bob/lab2-nas/tpe")}
    resumed = driver(gpu_cluster, tmp_path / "bob", postgres.url, "bob", budget, 4, logs["bob"], seconds=3.0)
    finish(resumed, logs["bob"], timeout=900)
    assert "resuming the interrupted search" in logs["bob"].read_text()
    bob = pd.read_parquet(tmp_path / "bob" / "lab2-nas" / "trials.parquet")
    assert len(bob) == budget and (bob["status"] == "TERMINATED").all()
    # Every row is in the study once, with its params and value. The study may also keep trials
    # that finished after Tune's last snapshot reached the disk and before the kill (Tune syncs
    # its snapshot in the background): real results the resumed Tune no longer knows, written
    # once, never twice (docs/optuna_study.md).
    trials = study_trials(postgres.url, "bob/lab2-nas/tpe")
    ids = [t.user_attrs[TUNE_TRIAL_ID] for t in trials]
    assert len(ids) == len(set(ids)) and set(bob["trial_id"]) <= set(ids)
    assert set(ids) - set(bob["trial_id"]) <= before
    assert_study_is_the_table(postgres.url, bob, extra=set(ids) - set(bob["trial_id"]))


def test_losing_a_node_in_a_300_trial_search_keeps_every_trial_once(gpu_cluster, postgres, tmp_path):
    trials = 300
    log = tmp_path / "driver.log"
    process = driver(gpu_cluster, tmp_path / "results", postgres.url, "node-loss", trials, NODES * GPUS, log)
    tune_dir = tmp_path / "results" / "lab2-nas" / "tune" / "tpe"
    deadline = time.monotonic() + 900
    while len(list(tune_dir.glob("*/result.json"))) < 60:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "60 trials did not start in time"
        time.sleep(1)
    # The worker running the most trials (Ray packs trials onto few nodes); nodes[0] is the head.
    ran_on = [
        json.loads(line).get("node")
        for p in tune_dir.glob("*/result.json")
        for line in p.read_text().splitlines()[:1]
    ]
    workers = [n for n in gpu_cluster.nodes if n.name.startswith("worker")]
    victim = max(workers, key=lambda n: ran_on.count(n.ip))
    assert victim.processes() and ran_on.count(victim.ip) > 0
    victim.kill()  # SIGKILL to every process of that node, by pid: raylet, agents, its trials

    finish(process, log, timeout=1800)
    table = pd.read_parquet(tmp_path / "results" / "lab2-nas" / "trials.parquet")
    assert len(table) == trials and table["trial_id"].is_unique
    assert sorted(table["trial_index"]) == list(range(trials))
    # Tune retries a trial that loses its node (FailureConfig(max_failures=2)), but it also reuses
    # the lost node's cached actors, and each dead one costs the trial that draws it a retry: a
    # trial may run out of retries (one of 300 did here). It is then one ERROR row naming the
    # dead actor, and FAIL in the study: never a missing or doubled trial.
    failed = table[table["status"] != "TERMINATED"]
    assert len(failed) <= GPUS and (failed["status"] == "ERROR").all(), failed[["trial_id", "error"]]
    assert failed["error"].str.contains("actor|node", case=False).all(), failed["error"].tolist()
    assert victim.ip in set(table["node"]) and len(set(table["node"]) - {victim.ip}) >= 1
    assert_study_is_the_table(postgres.url, table)
