"""CPU trials run in pooled Ray workers that the run's later Tuners reuse (trainables/ray_warm_worker.py)."""

import json
import os
import sys
import time
from pathlib import Path

import pytest
from ray import tune

from search.experiments.experiment import SearchVariant
from search.options import RunOptions
from search.run.tuner import run_variant
from search.study.samplers import TuneGridSampler
from trainables.ray_adapter import WARM_WORKERS_ENV
from trainables.ray_warm_worker import warm_spare_workers
from trainables.trial_keys import RESULT_FILE

pytestmark = pytest.mark.slow


def pid_trial(config, ctx):
    """Reports its process, whether torch was loaded before it ran, with a checkpoint; fails on request."""
    if config["x"] == "fail":
        raise ValueError("the trial failed on purpose")
    loaded = "transformers" in sys.modules
    import transformers  # noqa: F401 - what a real trial's module imports

    ctx.report_progress({"epoch": 0.5, "eval_accuracy": 0.5})
    folder = ctx.new_dir("checkpoint")
    (folder / "model.txt").write_text(str(config["x"]))
    metrics = {"score": 1.0, "process": os.getpid(), "preloaded": loaded}
    ctx.report(metrics, folder)
    return metrics


def search(name, values, at_once=1):
    return SearchVariant(
        name=name,
        space={"x": tune.choice(values)},
        sampler=TuneGridSampler({"x": values}, seed=0),
        num_samples=len(values),
        metric="score",
        mode="max",
        trial_fn=pid_trial,
        max_concurrent=at_once,
    )


def test_a_later_search_runs_its_trials_in_the_first_searchs_process(ray_session, tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    first = run_variant("probe", search("first", [1]), options, str(tmp_path / "first"))
    second = run_variant("probe", search("second", [2]), options, str(tmp_path / "second"))
    assert second[0]["process"] == first[0]["process"] != os.getpid()
    assert second[0]["preloaded"] is True
    for row in first + second:
        checkpoint = Path(row["checkpoint"])
        assert (checkpoint / "model.txt").read_text() == str(row["x"])
        assert json.loads((checkpoint / RESULT_FILE).read_text())["params"] == {"x": row["x"]}


def test_trials_two_at_a_time_keep_their_two_processes_across_searches(ray_session, tmp_path):
    # Ray kills idle workers beyond its soft limit and counts the trials' actors in it: with the
    # private Ray's limit the pooled workers outlive the searches (search/ray_session/start.py).
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    processes = set()
    for index in range(3):
        values = [10 * index + k for k in range(4)]
        rows = run_variant(
            "probe", search(f"s{index}", values, at_once=2), options, str(tmp_path / f"s{index}")
        )
        processes |= {row["process"] for row in rows}
    assert len(processes) <= 2, processes


def test_a_worker_warmed_from_the_driver_runs_the_next_searchs_trial(ray_session, tmp_path, monkeypatch):
    # Tune copies AWS_ACCESS_KEY_ID into its trial actors' environment: a value of this test's own
    # makes a worker pool no other test's workers are in, so the trial can only find the warm-up's
    # worker or start a new one; a warm-up whose environment differs from the trials' lands in
    # another pool and is never used.
    import ray

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", f"warm-test-{os.getpid()}-{tmp_path.name}")
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    (warmed,) = ray.get(warm_spare_workers(1, options.data_settings()))
    time.sleep(0.5)  # the launcher has returned the worker to Ray's pool (it ends after `warm`)
    rows = run_variant("probe", search("warmed", [7]), options, str(tmp_path / "warmed"))
    assert rows[0]["process"] == warmed
    assert rows[0]["preloaded"] is True


def test_a_failing_trial_in_a_warm_worker_is_an_error_row(ray_session, tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    rows = run_variant("probe", search("failing", ["fail", 3]), options, str(tmp_path / "failing"))
    by_value = {row["x"]: row for row in rows}
    assert by_value["fail"]["status"] == "ERROR"
    assert "the trial failed on purpose" in by_value["fail"]["error"]
    assert by_value[3]["status"] == "TERMINATED" and by_value[3]["score"] == 1.0


def test_without_warm_workers_each_search_starts_its_own_process(ray_session, tmp_path, monkeypatch):
    monkeypatch.setenv(WARM_WORKERS_ENV, "0")
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    first = run_variant("probe", search("first", [1]), options, str(tmp_path / "first"))
    second = run_variant("probe", search("second", [2]), options, str(tmp_path / "second"))
    # Only the process is compared: in a shared Ray session the second search's actor may land in an
    # idle worker that an earlier test's task had already made import transformers.
    assert second[0]["process"] != first[0]["process"]
