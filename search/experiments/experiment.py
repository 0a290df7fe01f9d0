"""What an experiment is: the Tune searches (variants) it runs; its name and needs are in registry.py."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import optuna
import pandas as pd
from ray import tune

from errors import ConfigError
from search.options import RunOptions
from search.study.samplers import grid_size, make_sampler
from trainables.ray_adapter import TrialFunction


@dataclass
class SearchVariant:
    """One Ray Tune experiment: a space, an Optuna sampler, a budget, a metric and a trial function.

    `space` is a Tune param space (dict of tune.choice ...) or an Optuna define-by-run function.
    `settings` are fixed values merged under the sampled params of every trial.
    `sampler_settings` are recorded in every row of the results table.
    """

    name: str
    space: dict[str, Any] | Callable[[optuna.Trial], dict[str, Any] | None]
    sampler: optuna.samplers.BaseSampler
    num_samples: int
    metric: str | list[str]
    mode: str | list[str]
    trial_fn: TrialFunction
    settings: dict[str, Any] = field(default_factory=dict)
    sampler_settings: dict[str, Any] = field(default_factory=dict)
    repeat: int = 0
    # Reuse Ray worker processes across trials (saves a process start and ~5 CPU-s of imports per
    # trial). Safe by default: the Ray adapter reseeds torch before every trial.
    reuse_workers: bool = True
    # At most this many trials at once (None: as many as the cluster allows), for searches whose
    # trials are shorter than starting another worker. An explicit --max-concurrent wins.
    max_concurrent: int | None = None
    # The epochs one trial trains in all, when stopping trials early on their progress reports is
    # sound for this search (--scheduler asha); None where every trial's result is wanted (grids).
    early_stopping_epochs: float | None = None
    # Builds the Tune trainable from (trial_fn, settings, objectives); None means
    # trainables.ray_adapter.ray_trainable. The rehearsal surrogate brings its own, torch-free one.
    tune_adapter: Callable[..., Callable[[dict[str, Any]], None]] | None = None


def grid_variant(
    name: str,
    grid: Mapping[str, Sequence[Any]],
    options: RunOptions,
    *,
    metric: str,
    trial_fn: TrialFunction,
    settings: dict[str, Any],
) -> SearchVariant:
    """A search that runs every point of `grid` once (Optuna's grid sampler), maximizing `metric`."""
    sampler, recorded = make_sampler("grid", options.seed, grid)
    return SearchVariant(
        name=name,
        space={key: tune.choice(list(values)) for key, values in grid.items()},
        sampler=sampler,
        num_samples=grid_size(grid),
        metric=metric,
        mode="max",
        trial_fn=trial_fn,
        settings=settings,
        sampler_settings=recorded,
    )


# `stored(name)`: are finished results of experiment `name`, for this run's options, stored?
Stored = Callable[[str], bool]


class Experiment(Protocol):
    """The searches of a named experiment. One class per file in `search/experiments/`; its name,
    lab task and requirements are its entry in `search/experiments/registry.py`.

    Two optional methods let an experiment depend on the run's options (the runner's plan,
    search/run_plan.py, calls them once per run):

    - `inputs_for(options, stored) -> tuple[str, ...]`: the experiments whose results this run
      needs, when that depends on the options (Lab 3 starts from `base` or `lab2-nas`).
      Default: the registry entry's `requires`.
    - `identity_fields(options, stored) -> dict`: options besides profile, data and seed that
      change the results (sampler, formats, starting model ...), so stored results are reused only
      when they match too. Values must survive a JSON round trip (lists, not tuples). It is where
      an experiment checks its own options: it may raise ConfigError, and runs before any
      dependency does.

    - `loaded_checkpoints(table) -> list[str]`: the checkpoints of its results that later stages
      start from (kept whatever --keep-checkpoints says). Default: none.

    Three optional flags: `quantizes = True` when its trials quantize (then --mase-exact is part of
    its identity), `early_stopping = True` when --scheduler asha may stop its trials early,
    `uses_budget = True` when --budget sets its number of trials (then --budget is part of its
    identity; elsewhere it changes nothing and stored results are reused).
    """

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        """The Tune searches to run; `inputs` holds the results tables of its dependencies."""
        ...


def loaded_checkpoints(experiment: Experiment, table: pd.DataFrame) -> list[str]:
    """The checkpoints of `table` that later stages start from (the experiment's `loaded_checkpoints`).

    They are kept whatever `--keep-checkpoints` says (search/run/checkpoints.py).
    """
    method = getattr(experiment, "loaded_checkpoints", None)
    if method is None:
        return []
    try:
        return [path for path in method(table) if path]
    except ConfigError:  # no finished trial: nothing for a later stage to load
        return []


def allows_early_stopping(experiment: Experiment) -> bool:
    """Whether `--scheduler asha` may stop this experiment's trials early (its `early_stopping`).

    True for searches after the best trial; False (the default) for grids whose every point is
    the answer (lab1-qat, lab1-prune) and for single trials (base).
    """
    return bool(getattr(experiment, "early_stopping", False))


def uses_budget(experiment: Experiment) -> bool:
    """Whether `--budget` sets this experiment's number of trials (its `uses_budget`).

    True for the Lab 2 searches and lab3-precisions; the grids (lab1-qat, lab1-prune), `base` and
    lab3-mixed (the profile's budget) ignore it.
    """
    return bool(getattr(experiment, "uses_budget", False))
