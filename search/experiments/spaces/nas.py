"""The BERT architecture space of Lab 2 (Tutorial 5's, and a scaled-down one for CPUs).

Both spaces have four shape choices with BERT's own field names, and for each square attention
projection kind (query, key, value, attention output) a choice between Linear and Identity that
every layer shares. The `tutorial` space (profile `full`) also gives the pooler's dense layer and
the FFN's two projections that choice, as Tutorial 5's constructor offers Identity for every
square Linear; the FFN choices act only when intermediate_size == hidden_size (square), so some
grid points build the same model (`distinct_architectures()` counts models, `size()` grid
points). The `small` space (quick/smoke) keeps the attention choices only. Every point is a
valid BERT (each hidden size is a multiple of each head count), and the space is finite, so
Grid, TPE and Random search the same thing.

For Lab 3 and notebooks: `arch_from_params(row)` turns a results row (or any dict of sampled
parameters) into `(arch, identity_projections)` for `ModelRecipe`; the row whose checkpoint Lab 3
starts from is `Lab2NasExperiment().best_start(table)` (search/experiments/experiment.py).
"""

import tomllib
from dataclasses import dataclass, replace
from typing import Any

from ray import tune

from errors import ConfigError
from search.options import RunOptions
from search.study.samplers import grid_size
from trainables.models.nas_arch import (
    ARCH_FIELDS,
    EXTRA_PROJECTION_PARAMS,
    IDENTITY,
    LINEAR,
    PROJECTION_CHOICES,
    PROJECTION_PARAMS,
    arch_from_params,
    params_from_arch,
)

__all__ = [
    "ARCH_FIELDS",
    "EXTRA_PROJECTION_PARAMS",
    "IDENTITY",
    "LINEAR",
    "NAS_SPACES",
    "NasSpace",
    "PROJECTION_PARAMS",
    "arch_from_params",
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
    # Tutorial 5's further square Linears: the pooler, and the FFN projections when square.
    square_extras: bool = False
    # The parameter names of the four shape fields (a --model family's own, search/experiments/spaces/nas.py's
    # space_for) and whether the BERT projection choices are searched.
    field_names: tuple[str, ...] = ARCH_FIELDS
    projections: bool = True

    def projection_params(self) -> list[str]:
        """The Linear/Identity parameters of this space, in order."""
        if not self.projections:
            return []
        extras = list(EXTRA_PROJECTION_PARAMS) if self.square_extras else []
        return [*PROJECTION_PARAMS, *extras]

    def grid(self) -> dict[str, list[Any]]:
        """Every parameter with its choices, in a fixed order (GridSampler's search space)."""
        grid: dict[str, list[Any]] = {
            name: list(getattr(self, field))
            for name, field in zip(self.field_names, ARCH_FIELDS, strict=True)
        }
        grid.update({param: list(PROJECTION_CHOICES) for param in self.projection_params()})
        return grid

    def size(self) -> int:
        """The number of grid points (more than distinct models when the FFN choices can be moot)."""
        return grid_size(self.grid())

    def distinct_architectures(self) -> int:
        """The number of different models the space builds (an FFN choice on a non-square FFN is moot)."""
        choices = len(PROJECTION_CHOICES)
        shapes = len(self.num_hidden_layers) * len(self.num_attention_heads)
        if not self.projections:
            return shapes * len(self.hidden_size) * len(self.intermediate_size)
        per_shape = choices ** len(PROJECTION_PARAMS) * (choices if self.square_extras else 1)
        sizes = 0
        for hidden in self.hidden_size:
            for intermediate in self.intermediate_size:
                square = self.square_extras and hidden == intermediate
                sizes += choices**2 if square else 1
        return shapes * per_shape * sizes

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
    # Tutorial 5's space (the `full` profile): its sizes, and Identity for every square Linear kind.
    "tutorial": NasSpace(
        name="tutorial",
        num_hidden_layers=(2, 4, 8),
        num_attention_heads=(2, 4, 8, 16),
        hidden_size=(128, 192, 256, 384, 512),
        intermediate_size=(512, 768, 1024, 1536, 2048),
        square_extras=True,
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
    """The NAS space of this run's profile, under the field names of the run's --model family.

    The same sizes for every family (a search file's [space] may replace them); a family other than
    BERT has no projection choices. A family we cannot search is refused (ConfigError naming the
    ones we can), as is a [space] whose hidden size is not a multiple of a head count.
    """
    space = get_space(options.profile.nas_space)
    if options.search_file:  # a search file's [space] replaces some of the sizes
        # Checked when the file was read (search/experiments/options/space.py declares the fields).
        given = tomllib.loads(options.search_file).get("space", {})
        sizes = {key: tuple(values) for key, values in given.items() if key in ARCH_FIELDS}
        try:
            space = replace(space, **sizes).check()
        except ConfigError as error:
            raise ConfigError(
                f"search file [space]: {error}; give hidden sizes that are multiples of every head count"
            ) from None
    if options.model is None:
        return space
    from trainables.models.families import searchable_family

    family = searchable_family(options.sources().model_type, "lab2-nas/lab2-compress-aware")
    if family.model_type == "bert":
        return space
    return replace(space, field_names=family.shape_fields, projections=False)
