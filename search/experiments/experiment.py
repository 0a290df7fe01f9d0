"""What an experiment is: the Tune searches (variants) it runs; its name and needs are in registry.py."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
import pandas as pd
from ray import tune

from errors import ConfigError
from search.experiments.starts.stage_inputs import best_checkpoint
from search.options import RunOptions
from search.study.constraints import Constraint
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
    # Cost budgets (--constraint): the searcher sets each trial's constraint values on its Optuna
    # trial (search/study/constraints.py) and the rows are marked `feasible`.
    constraints: tuple[Constraint, ...] = ()
    # Points (sampled-parameter dicts) the study runs first (Optuna's enqueue_trial), e.g. the
    # sensitivity seeds of `lab3-mixed --seed-from sensitivity`; not re-enqueued when resuming.
    enqueued: tuple[dict[str, Any], ...] = ()


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


class Experiment:
    """The searches of a named experiment, with the defaults every experiment starts from.

    One subclass per file in `search/experiments/`; its name, lab task and requirements are its
    entry in `search/experiments/registry.py`. A subclass defines `variants` and overrides what
    differs from these defaults. The runner's plan (search/run_plan.py) calls `inputs_for` and
    `identity_fields` once per run, before any dependency runs.
    """

    # Its trials quantize: --mase-exact is part of its identity.
    quantizes: bool = False
    # --scheduler asha|sha may stop its trials early (searches after the best trial; not grids
    # whose every point is the answer, nor single trials).
    early_stopping: bool = False
    # --budget sets its number of trials (then --budget is part of its identity; elsewhere it
    # changes nothing and stored results are reused).
    uses_budget: bool = False
    # Its searches take --constraint cost budgets (they enter its identity_fields).
    uses_constraints: bool = False
    # --trial surrogate rehearses it without training (bench/bench_scale.py).
    has_surrogate: bool = False
    # The metric by which a later stage picks the trial it starts from (None: none starts from it).
    start_metric: str | None = None

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        """The Tune searches to run; `inputs` holds the results tables of its dependencies."""
        raise NotImplementedError

    def inputs_for(self, options: RunOptions, stored: Stored) -> tuple[str, ...] | None:
        """The experiments whose results this run needs, when the options decide (None: `requires`).

        Lab 3 starts from `base` or `lab2-nas`.
        """
        return None

    def identity_fields(self, options: RunOptions, stored: Stored) -> dict[str, Any] | None:
        """Options besides profile, data and seed that change the results (None: none).

        Stored results are reused only when these match too. Values must survive a JSON round trip
        (lists, not tuples). It is where an experiment checks its own options: it may raise
        ConfigError, and runs before any dependency does.
        """
        return None

    def best_start(self, table: pd.DataFrame) -> dict[str, Any]:
        """The trial of its results `table` that a later stage starts from, as a dict with `checkpoint`.

        The best finished trial by `start_metric`, ties broken by analysis.best's rule (fewer
        weight bits, fewer parameters, launch order): the trial `adls best` shows first. Raises
        ConfigError when no trial finished with a checkpoint.
        """
        if self.start_metric is None:
            raise ConfigError(f"{type(self).__name__} is no later stage's start")
        return best_checkpoint(table, self.start_metric)

    def loaded_checkpoints(self, table: pd.DataFrame) -> list[str]:
        """The checkpoints of its results that later stages start from (kept whatever
        --keep-checkpoints says): the `best_start`, where it has a `start_metric`."""
        return [self.best_start(table)["checkpoint"]] if self.start_metric else []


def loaded_checkpoints(experiment: Experiment, table: pd.DataFrame) -> list[str]:
    """The checkpoints of `table` that later stages start from (empty when no trial finished).

    They are kept whatever `--keep-checkpoints` says (search/run/checkpoints.py).
    """
    try:
        return [path for path in experiment.loaded_checkpoints(table) if path]
    except ConfigError:  # no finished trial: nothing for a later stage to load
        return []
