"""The BERT architecture space of Lab 2 (Tutorial 5's, and a scaled-down one for CPUs).

Both spaces have the same structure: four shape choices with BERT's own field names, and for
each square attention projection kind (query, key, value, attention output) a choice between
Linear and Identity that every layer shares. Every point is a valid BERT (each hidden size is a
multiple of each head count), and the space is finite, so Grid, TPE and Random search the same
thing. The profile's `nas_space` names the space: `tutorial` on `full`, `small` on `quick`/`smoke`.

For Lab 3 and notebooks: `arch_from_params(row)` turns a results row (or any dict of sampled
parameters) into `(arch, identity_projections)` for `ModelRecipe`; `best_nas_trial(table)` is
the row whose checkpoint Lab 3 starts from.
"""

from dataclasses import dataclass
from typing import Any

import pandas as pd
from ray import tune

from search.options import RunOptions
from search.samplers import grid_size
from search.stage_inputs import best_checkpoint
from trainables.compress.errors import ConfigError
from trainables.nas_arch import (
    ARCH_FIELDS,
    IDENTITY,
    LINEAR,
    PROJECTION_CHOICES,
    PROJECTION_PARAMS,
    arch_from_params,
    params_from_arch,
)

__all__ = [
    "ARCH_FIELDS",
    "IDENTITY",
    "LINEAR",
    "NAS_SPACES",
    "NasSpace",
    "PROJECTION_PARAMS",
    "arch_from_params",
    "best_nas_trial",
    "get_space",
    "params_from_arch",
    "space_for",
]


@dataclass(frozen=True)
class NasSpace:
    """The choices of each shape field; the projections are always Linear or Identity."""

    name: str
    num_hidden_layers: tuple[int, ...]
    num_attention_heads: tuple[int, ...]
    hidden_size: tuple[int, ...]
    intermediate_size: tuple[int, ...]

    def grid(self) -> dict[str, list[Any]]:
        """Every parameter with its choices, in a fixed order (GridSampler's search space)."""
        grid: dict[str, list[Any]] = {field: list(getattr(self, field)) for field in ARCH_FIELDS}
        grid.update({param: list(PROJECTION_CHOICES) for param in PROJECTION_PARAMS})
        return grid

    def size(self) -> int:
        """The number of distinct architectures."""
        return grid_size(self.grid())

    def tune_space(self) -> dict[str, Any]:
        """The same choices as a Tune param space (tune.choice per parameter)."""
        return {param: tune.choice(values) for param, values in self.grid().items()}

    def check(self) -> "NasSpace":
        """Raise ConfigError unless every point is a valid BERT; return the space."""
        for heads in self.num_attention_heads:
            for hidden in self.hidden_size:
                if hidden % heads:
                    raise ConfigError(
                        f"NAS space {self.name!r}: hidden_size {hidden} is not a multiple of {heads} heads"
                    )
        return self


NAS_SPACES: dict[str, NasSpace] = {
    # Tutorial 5's space, exactly (the `full` profile).
    "tutorial": NasSpace(
        name="tutorial",
        num_hidden_layers=(2, 4, 8),
        num_attention_heads=(2, 4, 8, 16),
        hidden_size=(128, 192, 256, 384, 512),
        intermediate_size=(512, 768, 1024, 1536, 2048),
    ).check(),
    # Same structure, scaled down so one trial trains an epoch of Rotten Tomatoes on one CPU
    # thread in under ~20 s; its largest point is bert-tiny's shape. 384 points, so a 20-trial
    # grid search still visits 20 distinct architectures.
    "small": NasSpace(
        name="small",
        num_hidden_layers=(1, 2),
        num_attention_heads=(2, 4),
        hidden_size=(64, 128),
        intermediate_size=(128, 256, 512),
    ).check(),
}


def get_space(name: str) -> NasSpace:
    """The named NAS space; ConfigError lists the names otherwise."""
    if name not in NAS_SPACES:
        raise ConfigError(f"unknown NAS space {name!r}; choose one of {list(NAS_SPACES)}")
    return NAS_SPACES[name]


def space_for(options: RunOptions) -> NasSpace:
    """The NAS space of this run's profile."""
    return get_space(options.profile.nas_space)


def best_nas_trial(table: pd.DataFrame, metric: str = "accuracy") -> dict[str, Any]:
    """The best finished NAS trial (ties: fewer parameters, then launch order) with its `checkpoint`.

    Works on a `lab2-nas` or `lab2-compress-aware` table (pass `metric`, e.g. post_trained_accuracy).
    """
    tie_breakers = [(column, True) for column in ("cost_params", "repeat", "trial_index") if column in table]
    return best_checkpoint(table, metric, tie_breakers)
