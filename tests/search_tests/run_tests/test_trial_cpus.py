"""A search that runs fewer trials at once than the CPUs allow gives its trials the idle CPUs."""

from typing import Any

import pytest
from ray import tune

from search.experiments.experiment import SearchVariant
from search.options import RunOptions
from search.run.tuner import run_variant, trial_cpus
from search.schedulers.early_stopping import early_stopping
from search.study.samplers import TuneGridSampler
from trainables.trial_ref import TrialRef

FIFO = early_stopping("fifo", None)


def threads_trial(config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Report the torch threads this trial runs with."""
    import torch

    metrics = {"score": 1.0, "threads": torch.get_num_threads(), "ctx_cpus": ctx.cpus}
    ctx.report(metrics)
    return metrics


def _variant(trials: int, cap: int | None = None) -> SearchVariant:
    points = list(range(trials))
    return SearchVariant(
        name="threads",
        space={"x": tune.choice(points)},
        sampler=TuneGridSampler({"x": points}, seed=0),
        num_samples=trials,
        metric="score",
        mode="max",
        trial_fn=TrialRef("tests.search_tests.run_tests.test_trial_cpus", "threads_trial"),
        max_concurrent=cap,
    )


def test_cpus_go_to_the_trials_that_run_at_once(ray_session, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    options = RunOptions(profile_name="smoke", dataset="synthetic")
    assert trial_cpus(options, 1, None, FIFO) == 2  # a lone trial: both cores
    assert trial_cpus(options, 4, None, FIFO) == 1  # two at a time fill them
    assert trial_cpus(options, 4, 1, FIFO) == 2  # one at a time (the search's cap)
    assert trial_cpus(RunOptions(profile_name="smoke", max_concurrent=1), 4, None, FIFO) == 2
    assert trial_cpus(RunOptions(profile_name="smoke", cpus_per_trial=2), 4, None, FIFO) == 2
    # A GPU trial, a joined (shared) cluster and pausing trials keep --cpus-per-trial.
    assert trial_cpus(RunOptions(profile_name="smoke", gpus_per_trial=0.5), 1, None, FIFO) == 1
    assert trial_cpus(RunOptions(profile_name="smoke", address="127.0.0.1:6379"), 1, None, FIFO) == 1
    assert trial_cpus(options, 1, None, early_stopping("sha", 1.0, num_trials=4)) == 1


@pytest.mark.parametrize(("trials", "threads"), [(1, 2), (2, 1)])
def test_a_lone_trial_runs_on_every_core(ray_session, tmp_path, monkeypatch, trials, threads):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    rows = run_variant("threads", _variant(trials), options, str(tmp_path / "threads"))
    assert [row["threads"] for row in rows] == [threads] * trials
    assert [row["ctx_cpus"] for row in rows] == [threads] * trials
