"""`lab3-mixed`: Lab 3 task 1, every Linear layer chooses fp32 or fixed point with its own width and frac width.

"Allow different layers to have widths in the range [8, 16, 32] and fractional widths in the
range [2, 4, 8]. Expose this choice as an additional hyperparameter for the Optuna sampler."
The space is define-by-run (`search.experiments.spaces.precisions.LayerwiseSpace`): a layer's width and frac
width parameters exist only when that layer chose `integer`. TPE by default (`--sampler`);
`--objective accuracy,size` searches accuracy (max) and model size (min) together.

`layerwise_variants` is shared with `lab3-precisions`, which runs the same search per format.
"""

from typing import Any

import pandas as pd

from analysis.sensitivity import layer_sensitivity
from errors import ConfigError
from search.experiments.experiment import Experiment, SearchVariant, Stored
from search.experiments.options.lab3 import OBJECTIVE_METRICS
from search.experiments.options.space import ALL_LAYERS, space_values
from search.experiments.spaces.layer_patterns import check_patterns, layer_patterns, selected_layers
from search.experiments.spaces.precisions import (
    LayerwiseSpace,
    format_config,
    knob_keys,
    knob_values,
    layer_keys,
    style_columns,
)
from search.experiments.spaces.sensitivity_seeds import seeded_configs
from search.experiments.starts.lab3_start import start_experiment, starting_point
from search.options import RunOptions
from search.study.samplers import make_sampler
from trainables.trials.lab3 import lab3_trial, starting_model

DEFAULT_SAMPLER = "tpe"
# Samplers that can search a define-by-run space (a grid needs the whole space up front).
LAB3_SAMPLERS = ("tpe", "random", "nsga2")


def sampler_name(options: RunOptions) -> str:
    """--sampler, TPE by default; ConfigError for a sampler that cannot search a define-by-run space."""
    name = options.sampler or DEFAULT_SAMPLER
    if name not in LAB3_SAMPLERS:
        raise ConfigError(
            f"--sampler {name}: Lab 3 spaces are define-by-run (a layer's width exists only if it "
            f"chose a format), which a grid cannot enumerate; choose one of {list(LAB3_SAMPLERS)}"
        )
    return name


def objective(options: RunOptions) -> tuple[str | list[str], str | list[str]]:
    """(metric, mode) of the search: one pair, or lists of them for several --objective names.

    The names are search.experiments.options.lab3.OBJECTIVES (RunOptions.validate checked them).
    """
    pairs = [OBJECTIVE_METRICS[name] for name in options.objectives]
    if len(pairs) == 1:
        return pairs[0]
    return [metric for metric, _ in pairs], [mode for _, mode in pairs]


def lab3_identity(options: RunOptions, stored: Stored) -> dict[str, Any]:
    """What besides profile, data and seed decides a Lab 3 result: start model, sampler, objectives."""
    identity = {
        "start_from": start_experiment(options, stored),
        "sampler": sampler_name(options),
        "objectives": list(options.objectives),
        "repeats": options.repeats,
    }
    if options.constraints:  # only when set: results stored before --constraint keep their identity
        identity["constraints"] = [c.text for c in options.parsed_constraints]
    return identity


def kept_fp32(layers: dict[str, str], heads: tuple[str, ...], searched: tuple[str, ...]) -> tuple[str, ...]:
    """The short names that stay fp32: those `heads` name and those the [space] layers leave out.

    A head name stands for its own sub-layers too (RoBERTa's classifier.dense, classifier.out_proj).
    """
    return tuple(
        k for k in layers if any(k == f or k.startswith(f + ".") for f in heads) or k not in searched
    )


def layerwise_variants(
    format_name: str,
    options: RunOptions,
    start: dict[str, Any],
    num_samples: int,
    layer_mode: str = "choose",
    fp32_layers: tuple[str, ...] = (),
    enqueued: tuple[dict[str, Any], ...] = (),
    choices: dict[str, list[Any]] | None = None,
    patterns: tuple[str, ...] = ALL_LAYERS,
) -> list[SearchVariant]:
    """One search (per --repeats) in which each Linear layer chooses fp32 or `format_name`.

    `layer_mode="all"`: every layer but `fp32_layers` takes the format and only its knobs are searched.
    Every repeat gets the same budget; repeat r seeds its sampler and training with seed + r, so
    every format sees the same seeds. `enqueued` points are every repeat's first trials.
    `choices` replaces the format's declared values of some knobs (a search file's [space]);
    `patterns` (its [space] layers) select the layers searched, the others stay fp32
    (ConfigError for a pattern that selects none of the starting model's layers).
    """
    model, _ = starting_model(start["checkpoint"])
    layers = layer_keys(model)
    fp32_layers = kept_fp32(layers, fp32_layers, selected_layers(layers, patterns))
    metric, mode = objective(options)
    settings = {
        "start_checkpoint": start["checkpoint"],
        "fp32_accuracy": start["accuracy"],
        "layers": layers,
        "format": format_name,
        "format_config": format_config(format_name),
        "knob_keys": knob_keys(format_name),
        "knob_values": knob_values(format_name),
        "train_epochs": options.profile.lab3_epochs,
    }
    variants = []
    for repeat in range(options.repeats):
        constraints = options.parsed_constraints
        sampler, recorded = make_sampler(
            sampler_name(options), options.seed + repeat, constrained=bool(constraints)
        )
        variants.append(
            SearchVariant(
                name=format_name,
                space=LayerwiseSpace(
                    format_name,
                    tuple(layers),
                    layer_mode,
                    fp32_layers,
                    tuple((knob, tuple(values)) for knob, values in (choices or {}).items()),
                ),
                sampler=sampler,
                num_samples=num_samples,
                metric=metric,
                mode=mode,
                trial_fn=lab3_trial,
                settings=settings,
                sampler_settings={
                    **recorded,
                    "start_from": start["experiment"],
                    "objectives": ",".join(options.objectives),
                    "layers_mode": layer_mode,
                    "fp32_layers": ",".join(fp32_layers),
                    "constraints": ",".join(c.text for c in constraints),
                    **style_columns(format_name),
                },
                constraints=constraints,
                enqueued=enqueued[:num_samples],
                repeat=repeat,
                max_concurrent=options.profile.lab3_max_concurrent,
                # Stopping on accuracy alone is sound for one objective only: with accuracy and
                # size, a small, less accurate model may be on the Pareto front.
                # A stopped trial reports no cost either, so a constrained search runs every trial.
                early_stopping_epochs=(
                    options.profile.lab3_epochs if isinstance(metric, str) and not constraints else None
                ),
            )
        )
    return variants


class Lab3MixedExperiment(Experiment):
    """The searches of `lab3-mixed` (its name, lab task and requirements are in search/experiments/registry.py)."""

    # Its trials quantize: --mase-exact is part of its identity (search/run_plan.py).
    quantizes = True
    early_stopping = True
    uses_constraints = True

    def inputs_for(self, options: RunOptions, stored: Stored) -> tuple[str, ...]:
        start = start_experiment(options, stored)
        return (start, options.seed_from) if options.seed_from else (start,)

    def identity_fields(self, options: RunOptions, stored: Stored) -> dict[str, Any]:
        identity = lab3_identity(options, stored)
        check_patterns(options, "lab3-mixed", identity["start_from"])
        if options.seed_from:  # only when set: results stored before --seed-from keep their identity
            identity["seed_from"] = options.seed_from
        return identity

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        start = starting_point({name: table for name, table in inputs.items() if name != options.seed_from})
        enqueued: tuple[dict[str, Any], ...] = ()
        space = space_values(options, "lab3-mixed")
        choices = {knob: space[knob] for knob in ("width", "frac_width")}
        patterns = layer_patterns(options, "lab3-mixed")
        if options.seed_from:
            ranked = layer_sensitivity(inputs[options.seed_from])["layer"].tolist()
            model, _ = starting_model(start["checkpoint"])
            searched = set(selected_layers(layer_keys(model), patterns))
            ranked = [layer for layer in ranked if layer in searched]  # the others stay fp32
            enqueued = tuple(seeded_configs(ranked, choices=choices))
        return layerwise_variants(
            "integer",
            options,
            start,
            options.profile.budget,
            enqueued=enqueued,
            choices=choices,
            patterns=patterns,
        )
