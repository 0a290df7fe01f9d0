"""Grid under Tune: concurrent trials get distinct points, a failed point runs again, a finished one never."""

import optuna
from optuna.trial import TrialState

from search.study.samplers import TuneGridSampler

SPACE = {"x": optuna.distributions.CategoricalDistribution([0, 1, 2, 3])}


def test_points_go_to_running_trials_once_failed_ones_again_and_finished_ones_never():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = TuneGridSampler({"x": [0, 1, 2, 3]}, seed=0)
    study = optuna.create_study(sampler=sampler)
    point = [grid[0] for grid in sampler._all_grids]  # grid id -> x (the seed shuffles the order)
    first = [study.ask(SPACE) for _ in range(3)]  # all running at once
    assert [t.params["x"] for t in first] == point[:3]
    study.tell(first[0], 1.0)
    study.tell(first[1], state=TrialState.FAIL)
    assert study.ask(SPACE).params["x"] == point[1]  # the failed point, before the unvisited one
    study.tell(first[2], 0.5)  # finished after an ask saw it running: counted as finished now
    fourth = study.ask(SPACE)
    assert fourth.params["x"] == point[3]
    # Every point finished or running: the first one not finished (the grid is exhausted after it).
    assert study.ask(SPACE).params["x"] == point[1]
    study.tell(fourth, 0.1)
    assert study.ask(SPACE).params["x"] == point[1]


def test_an_enqueued_point_takes_its_grid_point_so_no_other_trial_gets_it():
    # A trial carried over from a dead driver is enqueued with its params (search/study/database.py).
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = TuneGridSampler({"x": [0, 1, 2, 3]}, seed=0)
    study = optuna.create_study(sampler=sampler)
    point = [grid[0] for grid in sampler._all_grids]
    study.enqueue_trial({"x": point[0]})
    carried = study.ask(SPACE)
    assert carried.params["x"] == point[0]
    assert [study.ask(SPACE).params["x"] for _ in range(3)] == point[1:]  # running: never handed out twice
    study.tell(carried, 1.0)
    assert study.ask(SPACE).params["x"] != point[0]  # finished: never again
