"""Which Linear layers a Lab 3 search searches: a search file's [space] `layers`, glob patterns on the model's names.

A pattern (fnmatch, case-sensitive) selects a layer when it matches the layer's short name
(`l0.query`, `classifier`: the results table's column prefix, see precisions.layer_keys) or its
module name (`bert.encoder.layer.0.attention.self.query`). The layers no pattern selects stay
fp32. A pattern that selects no layer is a ConfigError naming it and a few of the real names;
`check_patterns` says so when the run is planned, before Ray starts, from the run's model
without weights.
"""

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from errors import ConfigError
from search.experiments.options.space import ALL_LAYERS, space_values
from search.experiments.spaces.precisions import layer_keys

SHOWN_NAMES = 6


def layer_patterns(options: Any, experiment: str) -> tuple[str, ...]:
    """The run's layer patterns for `experiment`: the search file's [space] `layers`, else every layer."""
    return tuple(space_values(options, experiment).get("layers", ALL_LAYERS))


def selected_layers(layers: Mapping[str, str], patterns: Sequence[str]) -> tuple[str, ...]:
    """The short names of `layers` ({short: module name}) that any pattern selects, in model order.

    ConfigError (one line) for a pattern that selects none, listing a few real names.
    """
    for pattern in patterns:
        if not any(
            fnmatchcase(short, pattern) or fnmatchcase(name, pattern) for short, name in layers.items()
        ):
            shorts = list(layers)
            few = shorts[: SHOWN_NAMES - 2] + ["..."] + shorts[-2:] if len(shorts) > SHOWN_NAMES else shorts
            example = next(iter(layers.values()), "")
            raise ConfigError(
                f"[space] layers: {pattern!r} matches no Linear layer of the model; its layers are "
                f"{', '.join(few)} (or by module name, e.g. {example}); give glob patterns of those"
            )
    return tuple(
        short
        for short, name in layers.items()
        if any(fnmatchcase(short, p) or fnmatchcase(name, p) for p in patterns)
    )


def check_patterns(options: Any, experiment: str, start: str) -> None:
    """ConfigError before Ray starts when a [space] layers pattern selects no layer of the run's model.

    `start` is the experiment Lab 3 starts from: a NAS model's layers are known only once that
    search has run, so then the patterns are checked when the search is built (selected_layers).
    """
    patterns = layer_patterns(options, experiment)
    if patterns == ALL_LAYERS or start != "base":
        return
    from trainables.models.classifier import model_skeleton

    selected_layers(layer_keys(model_skeleton(options.sources().model_config)), patterns)
