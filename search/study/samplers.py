"""Optuna samplers by name, with the settings we record in every results row."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from errors import ConfigError
from search.options import SAMPLERS

# Private GridSampler and Study state TuneGridSampler uses (`_all_grids`, `_search_space`,
# `_param_names`, `_same_search_space`, `study._storage`, `study._study_id`, `trial._trial_id`),
# checked with this version; tests/search_tests/test_private_internals.py fails where they are gone.
CHECKED_WITH = {"optuna": "5.0.0"}


class TuneGridSampler(optuna.samplers.GridSampler):
    """GridSampler for ask-and-tell use under Ray Tune.

    Optuna's GridSampler calls `study.stop()` when the grid is exhausted, which raises outside
    `study.optimize()`; under Tune the budget (num_samples = grid size) ends the search instead.
    Running trials already count as visited, so concurrent trials never share a grid point.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Trial id -> its grid point (None: failed, or another space's) for settled trials. Without
        # it each ask re-checked every trial's search space: O(trials) dict compares per ask, and
        # the free point was searched with a set union per grid point: at 1,000 trials of the
        # tutorial space an ask cost ~480 ms, now 0.4 ms (bench/bench_driver_growth.py).
        self._settled: dict[int, int | None] = {}

    def after_trial(self, study, trial, state, values) -> None:  # noqa: ANN001 - Optuna's signature
        return None

    def before_trial(self, study, trial) -> None:  # noqa: ANN001 - Optuna's signature
        """Give the trial the first grid point no trial has finished or is running.

        Optuna 5's GridSampler gives trial number k grid point k for the first len(grid) trials,
        whatever is visited, and counts failed trials as visited. A resumed search (trials added
        by hand, the dead driver's trials failed) needs the points not yet finished instead: a
        failed point is run again, a finished one never.
        """
        if "grid_id" in trial.system_attrs:
            return
        if "fixed_params" in trial.system_attrs:
            # An enqueued point (a trial carried over from a dead driver): it takes its grid point,
            # so that no other trial is given the same one while it runs.
            fixed = trial.system_attrs["fixed_params"]
            if set(self._param_names) <= set(fixed):
                for key, value in self.visited_attrs(fixed).items():
                    study._storage.set_trial_system_attr(trial._trial_id, key, value)
            return
        finished, running = set(), set()
        for other in study._storage.get_all_trials(study._study_id, deepcopy=False):
            if other._trial_id in self._settled:  # finished or failed trials never change: checked once
                point = self._settled[other._trial_id]
                if point is not None:
                    finished.add(point)
                continue
            attrs = other.system_attrs
            ours = "grid_id" in attrs and self._same_search_space(attrs["search_space"])
            if other.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
                self._settled[other._trial_id] = attrs["grid_id"] if ours else None
                if ours:
                    finished.add(attrs["grid_id"])
            elif other.state == optuna.trial.TrialState.FAIL:
                self._settled[other._trial_id] = None
            elif ours and other.state == optuna.trial.TrialState.RUNNING:
                running.add(attrs["grid_id"])
        points = range(len(self._all_grids))
        taken = finished | running
        grid_id = next((g for g in points if g not in taken), None)
        if grid_id is None:
            grid_id = next((g for g in points if g not in finished), 0)
        study._storage.set_trial_system_attr(trial._trial_id, "search_space", self._search_space)
        study._storage.set_trial_system_attr(trial._trial_id, "grid_id", grid_id)

    def visited_attrs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The system attributes that mark `params` as a visited grid point of this sampler.

        A trial added to the study by hand (a resumed search's finished trial) needs them, or
        GridSampler would hand out its point again; these are the attributes GridSampler itself
        sets in sample_relative (optuna/samplers/_grid.py).
        """
        point = tuple(params[name] for name in self._param_names)
        if point not in self._all_grids:
            return {}
        return {"search_space": self._search_space, "grid_id": self._all_grids.index(point)}


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    """The number of distinct points of a grid."""
    size = 1
    for values in grid.values():
        size *= len(values)
    return size


def _grid(seed: int, grid: Mapping[str, Sequence[Any]] | None, settings: dict[str, Any]) -> TuneGridSampler:
    if grid is None:
        raise ConfigError("the grid sampler needs a finite space")
    return TuneGridSampler(dict(grid), seed=seed)


def _tpe(seed: int, grid: Any, settings: dict[str, Any]) -> optuna.samplers.BaseSampler:
    # Set explicitly: constant_liar's default changed in Optuna 5 and it matters when trials
    # run concurrently (without it, parallel trials propose near-identical points).
    options = {"n_startup_trials": 5, "multivariate": True, "constant_liar": True}
    settings.update({f"tpe_{k}": v for k, v in options.items()})
    return optuna.samplers.TPESampler(seed=seed, **options)


def _random(seed: int, grid: Any, settings: dict[str, Any]) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _nsga2(seed: int, grid: Any, settings: dict[str, Any]) -> optuna.samplers.BaseSampler:
    settings["nsga2_population_size"] = 10
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=10)


# --sampler name -> factory(seed, grid, settings): the sampler; a factory records in `settings` what
# it sets besides Optuna's defaults. The names are search.options.SAMPLERS (a test keeps them equal).
SAMPLER_FACTORIES: dict[str, Callable[[int, Any, dict[str, Any]], optuna.samplers.BaseSampler]] = {
    "grid": _grid,
    "tpe": _tpe,
    "random": _random,
    "nsga2": _nsga2,
}


def make_sampler(
    name: str, seed: int, grid: Mapping[str, Sequence[Any]] | None = None, constrained: bool = False
) -> tuple[optuna.samplers.BaseSampler, dict[str, Any]]:
    """Build the named sampler; returns it with the settings to record (Optuna defaults change).

    `grid` is required for `grid`: the same finite space the other samplers search. An unknown
    name is a ConfigError. `constrained` (a search under --constraint) only records
    `sampler_constrained`: TPE and NSGA-II read the constraint values set on each trial
    (search/study/constraints.py) by themselves; grid and random sampling ignore them (the rows
    are still marked `feasible`).
    """
    factory = SAMPLER_FACTORIES.get(name)
    if factory is None:
        raise ConfigError(f"unknown sampler {name!r}; choose one of {list(SAMPLERS)}")
    settings: dict[str, Any] = {"sampler": name, "sampler_seed": seed, "optuna_version": optuna.__version__}
    if constrained:
        settings["sampler_constrained"] = name in ("tpe", "nsga2")
    return factory(seed, grid, settings), settings
