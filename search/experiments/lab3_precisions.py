"""`lab3-precisions`: Lab 3 task 2, one per-layer search per Linear number format, one curve each.

"Extend the search to consider all supported precisions for the Linear layer in Mase ... Plot
one curve for each precision." Each search is `lab3-mixed`'s with another format: every Linear
layer chooses fp32 or that format, and a layer that chose the format samples its knobs from
`search.experiments.spaces.precisions.PRECISION_SPACES`. `--precisions a,b,c` runs a subset; by default every
format the compression library registers. Every format gets the same budget and seeds.

`--layers all` ranks the formats instead: every Linear (the classifier too, unless
`--keep-classifier-fp32`) takes the format, and only the format's own knobs are searched per layer.

`sensitivity` (also defined here: the same precisions, asked per layer): how much each Linear
layer, alone, suffers from each precision. One trial per (layer, precision), all independent: from
the Lab 3 starting model (`--from`, as lab3-mixed), quantize that one layer and evaluate without
training (trainables/trials/sensitivity.py).
A grid, so every pair runs exactly once, spread over every CPU or GPU the cluster has.

`--precisions` entries are a format name (its example config, about 8 bits) or `format:width`
(every tensor's `<t>_width` set to width; for `integer` the frac width is width // 2). Default:
integer at widths 4 and 8. Layer names are read from the starting model.
"""

import itertools
import tomllib
from typing import Any

import pandas as pd
from torch import nn

from errors import ConfigError
from search.experiments.experiment import Experiment, SearchVariant, Stored, grid_variant
from search.experiments.lab3_mixed import lab3_identity, layerwise_variants
from search.experiments.options.lab3 import PRECISIONS
from search.experiments.options.space import space_values
from search.experiments.spaces.layer_patterns import check_patterns, layer_patterns
from search.experiments.spaces.precisions import (
    check_precisions,
    format_config,
    knob_keys,
    knob_values,
    layer_keys,
)
from search.experiments.starts.lab3_start import start_experiment, starting_point
from search.options import RunOptions
from trainables.compress import LINEAR_FORMATS, quantize_model
from trainables.compress.format_examples import example_config
from trainables.compress.layers.quantized_linear import TENSORS
from trainables.trial_ref import TrialRef
from trainables.trials.lab3 import starting_model

# The short names (search.experiments.spaces.precisions.layer_keys) of the classification head: BERT's and
# ALBERT's `classifier`, RoBERTa's `classifier.dense`/`classifier.out_proj` (prefix), DistilBERT's
# `pre_classifier` and `classifier`.
CLASSIFIER = ("classifier", "pre_classifier")


def formats(options: RunOptions) -> list[str]:
    """The formats to search: --precisions in the order given, else the search file's [space] formats
    (by default every searchable format)."""
    if options.precisions is None:
        return list(space_values(options, PRECISIONS)["formats"])
    names = list(options.precisions)
    check_precisions(names)
    return names


def knob_choices(options: RunOptions, format_name: str) -> dict[str, list[Any]]:
    """{knob: values} each layer in `format_name` chooses from: [space.<format>], else the format's declared space."""
    return dict(space_values(options, PRECISIONS)[format_name])


def check_knob_choices(options: RunOptions) -> None:
    """ConfigError before Ray starts when a [space.<format>] value combination is no valid layer config.

    Every combination of the format's knob values is built once as a 4x4 quantized Linear (the
    format's own check names the key and its range); a format's declared space is valid as shipped.
    """
    given = tomllib.loads(options.search_file or "").get("space", {})
    for name in formats(options):
        if not isinstance(given.get(name), dict):
            continue
        choices = knob_choices(options, name)
        expands = knob_values(name)
        for point in itertools.product(*choices.values()):
            layer = format_config(name)
            for (knob, keys), value in zip(knob_keys(name).items(), point, strict=True):
                layer.update(expands[knob][str(value)] if knob in expands else dict.fromkeys(keys, value))
            try:
                quantize_model(nn.Sequential(nn.Linear(4, 4)), {"by": "type", "linear": {"config": layer}})
            except ConfigError as error:
                combination = ", ".join(f"{k} {v!r}" for k, v in zip(choices, point, strict=True))
                raise ConfigError(
                    f"search file [space.{name}]: {combination} is not a valid layer ({error})"
                ) from None


class Lab3PrecisionsExperiment(Experiment):
    """The searches of `lab3-precisions` (its name, lab task and requirements are in search/experiments/registry.py)."""

    # Its trials quantize: --mase-exact is part of its identity (search/run_plan.py).
    quantizes = True
    early_stopping = True
    uses_constraints = True
    uses_budget = True  # --budget sets its trials (part of its identity: search/run_plan.py)

    def inputs_for(self, options: RunOptions, stored: Stored) -> tuple[str, ...]:
        return (start_experiment(options, stored),)

    def identity_fields(self, options: RunOptions, stored: Stored) -> dict[str, Any]:
        identity = lab3_identity(options, stored)
        check_patterns(options, PRECISIONS, identity["start_from"])
        check_knob_choices(options)
        return {
            **identity,
            "precisions": formats(options),
            "layers": options.lab3_layers,
            "keep_classifier_fp32": options.keep_classifier_fp32,
        }

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        start = starting_point(inputs)
        # --budget (recorded in the run identity) overrides the profile's trials per format.
        budget = options.budget or options.profile.lab3_format_budget
        fp32_layers = CLASSIFIER if options.keep_classifier_fp32 else ()
        patterns = layer_patterns(options, PRECISIONS)
        return [
            variant
            for name in formats(options)
            for variant in layerwise_variants(
                name,
                options,
                start,
                budget,
                options.lab3_layers,
                fp32_layers,
                choices=knob_choices(options, name),
                patterns=patterns,
            )
        ]


DEFAULT_PRECISIONS = ("integer:4", "integer:8")
VARIANT = "per-layer"


def precision_names(options: RunOptions) -> list[str]:
    """--precisions in the order given, else integer at widths 4 and 8."""
    return list(options.precisions) if options.precisions is not None else list(DEFAULT_PRECISIONS)


def precision_config(precision: str) -> dict[str, Any]:
    """The MASE layer config of one `--precisions` entry (`format` or `format:width`); ConfigError if bad."""
    name, _, width_text = precision.partition(":")
    if name not in LINEAR_FORMATS:
        raise ConfigError(
            f"--precisions {precision!r}: unknown format {name!r}; choose from {sorted(LINEAR_FORMATS)}"
        )
    config = example_config(name)
    if width_text:
        if not width_text.isdigit() or int(width_text) < 1:
            raise ConfigError(
                f"--precisions {precision!r}: the width must be a whole number >= 1, e.g. integer:4"
            )
        if "weight_width" not in config:
            raise ConfigError(f"--precisions {precision!r}: {name} has no width to set; write {name} alone")
        width = int(width_text)
        for tensor in TENSORS:
            if f"{tensor}_width" in config:
                config[f"{tensor}_width"] = width
            if name == "integer":
                config[f"{tensor}_frac_width"] = width // 2
    # Building one layer checks every key (a width out of the format's range, ...).
    quantize_model(nn.Sequential(nn.Linear(4, 4)), {"by": "type", "linear": {"config": config}})
    return config


class SensitivityExperiment(Experiment):
    """The search of `sensitivity` (its name, task and requirements are in search/registry.py)."""

    quantizes = True  # --mase-exact is part of its identity

    def inputs_for(self, options: RunOptions, stored: Stored) -> tuple[str, ...]:
        return (start_experiment(options, stored),)

    def identity_fields(self, options: RunOptions, stored: Stored) -> dict[str, Any]:
        names = precision_names(options)
        for name in names:
            precision_config(name)
        return {"start_from": start_experiment(options, stored), "precisions": names}

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        start = starting_point(inputs)
        model, _ = starting_model(start["checkpoint"])
        layers = layer_keys(model)
        names = precision_names(options)
        variant = grid_variant(
            VARIANT,
            {"layer": list(layers), "precision": names},
            options,
            metric="accuracy",
            trial_fn=TrialRef("trainables.trials.sensitivity", "sensitivity_trial"),
            settings={
                "start_checkpoint": start["checkpoint"],
                "layers": layers,
                "precision_configs": {name: precision_config(name) for name in names},
            },
        )
        variant.sampler_settings["start_from"] = start["experiment"]
        return [variant]
