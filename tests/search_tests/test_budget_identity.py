"""--budget is part of the identity only of the experiments whose number of trials it sets."""

import dataclasses

import pytest

from errors import ConfigError
from search import storage
from search.experiments.registry import EXPERIMENTS
from search.options import RunOptions
from search.run_plan import RunPlan
from search.runner import run

# The searches whose trial count --budget sets; every other experiment ignores it.
BUDGETED = {"lab2-nas", "lab2-compress-aware", "lab3-precisions"}


def test_budget_changes_only_the_identity_of_the_searches_it_sizes(tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    with_budget = dataclasses.replace(options, budget=3)
    for name in EXPERIMENTS:
        plain, budgeted = RunPlan(options).identity(name), RunPlan(with_budget).identity(name)
        if name in BUDGETED:
            assert budgeted == {**plain, "budget": 3}, name
        else:
            assert budgeted == plain, name


def test_a_stored_result_that_ignores_the_budget_is_found_with_it(tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    for name in ("base", "lab3-mixed", "lab3-precisions"):
        run_json = {"identity": RunPlan(options).identity(name), "run_id": f"{name}-1", "inputs": {}}
        storage.write_json(f"{tmp_path}/{name}/run.json", run_json)
    plan = RunPlan(dataclasses.replace(options, budget=3))
    assert plan.has_results("base") and plan.has_results("lab3-mixed")
    assert plan.stored_run("lab3-precisions") is None  # another trial count: run again


def test_budget_on_experiments_that_ignore_it_is_refused_in_one_line(tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path), budget=2)
    with pytest.raises(ConfigError, match=r"--budget sets the trials of lab2-nas.*lab1 does not use it"):
        run("lab1", options)
    assert not list(tmp_path.iterdir())  # refused before anything ran
