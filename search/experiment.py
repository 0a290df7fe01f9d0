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


class Experiment(Protocol):
    """A named search of a lab. Implementations live in `search/experiments/`, one file each."""

    name: str
    lab_task: str
    requires: tuple[str, ...]

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        """The Tune searches to run; `inputs` holds the results tables of `requires`."""
        ...
