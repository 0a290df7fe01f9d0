"""What an experiment is: a name, its dependencies, and the Tune searches (variants) it runs."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import optuna
import pandas as pd

from search.options import RunOptions
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


class Experiment(Protocol):
    """A named search of a lab. Implementations live in `search/experiments/`, one file each.

    Two optional methods let an experiment depend on the run's options (read with
    `dependencies` and `run_identity` below, never directly):

    - `inputs_for(options) -> tuple[str, ...]`: the experiments whose results this run needs,
      when that depends on the options (Lab 3 starts from `base` or `lab2-nas`). Default: `requires`.
    - `identity_fields(options) -> dict`: options besides profile, data and seed that change the
      results (sampler, formats, starting model ...), so stored results are reused only when they
      match too. Values must survive a JSON round trip (lists, not tuples). It may raise
      ConfigError: it runs before any dependency does.
    """

    name: str
    lab_task: str
    requires: tuple[str, ...]

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        """The Tune searches to run; `inputs` holds the results tables of its dependencies."""
        ...


def dependencies(experiment: Experiment, options: RunOptions) -> tuple[str, ...]:
    """The experiments this run of `experiment` needs: `inputs_for(options)` if defined, else `requires`."""
    inputs_for = getattr(experiment, "inputs_for", None)
    return tuple(inputs_for(options)) if inputs_for is not None else tuple(experiment.requires)


def allows_early_stopping(experiment: Experiment) -> bool:
    """Whether `--scheduler asha` may stop this experiment's trials early (its `early_stopping`).

    True for searches after the best trial; False (the default) for grids whose every point is
    the answer (lab1-qat, lab1-prune) and for single trials (base).
    """
    return bool(getattr(experiment, "early_stopping", False))


def run_identity(experiment: Experiment, options: RunOptions) -> dict[str, Any]:
    """What makes two runs of `experiment` the same result: profile, data, seed and its own fields."""
    identity = options.identity(experiment.name)
    if options.scheduler != "fifo" and allows_early_stopping(experiment):
        # Only where it applies: a base model run beside an ASHA search stays the same result.
        identity["scheduler"] = options.scheduler
    if options.mase_exact and getattr(experiment, "quantizes", False):
        # Only when set, so that results stored before the option existed keep their identity.
        identity["mase_exact"] = True
    identity_fields = getattr(experiment, "identity_fields", None)
    if identity_fields is not None:
        identity["fields"] = identity_fields(options)
    return identity
