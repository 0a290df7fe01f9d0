"""Optuna samplers by name, with the settings we record in every results row."""

from collections.abc import Mapping, Sequence
from typing import Any

import optuna

from errors import ConfigError
from search.options import SAMPLERS


class TuneGridSampler(optuna.samplers.GridSampler):
    """GridSampler for ask-and-tell use under Ray Tune.

    Optuna's GridSampler calls `study.stop()` when the grid is exhausted, which raises outside
    `study.optimize()`; under Tune the budget (num_samples = grid size) ends the search instead.
    Running trials already count as visited, so concurrent trials never share a grid point.
    """

    def after_trial(self, study, trial, state, values) -> None:  # noqa: ANN001 - Optuna's signature
        return None


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    """The number of distinct points of a grid."""
    size = 1
    for values in grid.values():
        size *= len(values)
    return size


def make_sampler(
    name: str, seed: int, grid: Mapping[str, Sequence[Any]] | None = None
) -> tuple[optuna.samplers.BaseSampler, dict[str, Any]]:
    """Build the named sampler; returns it with the settings to record (Optuna defaults change).

    `grid` is required for `grid`: the same finite space the other samplers search.
    """
    settings: dict[str, Any] = {"sampler": name, "sampler_seed": seed, "optuna_version": optuna.__version__}
    if name == "grid":
        if grid is None:
            raise ConfigError("the grid sampler needs a finite space")
        return TuneGridSampler(dict(grid), seed=seed), settings
    if name == "tpe":
        # Set explicitly: constant_liar's default changed in Optuna 5 and it matters when trials
        # run concurrently (without it, parallel trials propose near-identical points).
        options = {"n_startup_trials": 5, "multivariate": True, "constant_liar": True}
        settings.update({f"tpe_{k}": v for k, v in options.items()})
        return optuna.samplers.TPESampler(seed=seed, **options), settings
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed), settings
    if name == "nsga2":
        settings["nsga2_population_size"] = 10
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=10), settings
    raise ConfigError(f"unknown sampler {name!r}; choose one of {list(SAMPLERS)}")
