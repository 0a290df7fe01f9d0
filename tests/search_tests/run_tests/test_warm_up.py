"""When a run warms pooled workers for a later stage (search/run/warm_up.py), and when it does not."""

import dataclasses

import pytest
from ray import tune

from search.experiments.experiment import SearchVariant
from search.options import RunOptions
from search.run.warm_up import warm_idle_slots


def one_trial_search(num_samples: int = 1, cap: int | None = None) -> SearchVariant:
    return SearchVariant(
        name="s",
        space={"x": tune.choice(list(range(num_samples)))},
        sampler=None,
        num_samples=num_samples,
        metric="score",
        mode="max",
        trial_fn=lambda config, ctx: None,
        max_concurrent=cap,
    )


@pytest.fixture
def two_slots(tmp_path) -> RunOptions:
    return RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path), max_concurrent=2)


@pytest.mark.parametrize(
    "change",
    [
        {"address": "127.0.0.1:6379"},  # a cluster: the trials' node is not known here
        {"gpus_per_trial": 0.5},  # GPU trials run in their actor, not in pooled workers
        {"trial": "surrogate"},  # no torch to load
    ],
    ids=["cluster", "gpu", "surrogate"],
)
def test_no_warm_up_where_trials_do_not_use_this_machines_pooled_workers(two_slots, change):
    options = dataclasses.replace(two_slots, **change)
    assert warm_idle_slots([one_trial_search()], options, together=False, later=True) == 0


def test_no_warm_up_without_a_later_stage_or_an_idle_slot(two_slots):
    assert warm_idle_slots([one_trial_search()], two_slots, together=False, later=False) == 0
    assert warm_idle_slots([one_trial_search(4)], two_slots, together=False, later=True) == 0
    # Two one-trial searches in one Tuner fill both slots.
    searches = [one_trial_search(), one_trial_search()]
    assert warm_idle_slots(searches, two_slots, together=True, later=True) == 0


def test_a_lone_trial_with_a_later_stage_warms_the_idle_slot(ray_session, two_slots):
    assert warm_idle_slots([one_trial_search()], two_slots, together=False, later=True) == 1
    # Slots from the session's 2 CPUs: a search capped at one trial at a time leaves the other
    # idle however many trials it has (a --max-concurrent given by the user overrides the cap).
    cpus = dataclasses.replace(two_slots, max_concurrent=None)
    assert warm_idle_slots([one_trial_search(4, cap=1)], cpus, together=False, later=True) == 1
    assert warm_idle_slots([one_trial_search(4, cap=1)], two_slots, together=False, later=True) == 0
