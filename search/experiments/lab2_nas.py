"""`lab2-nas`: Lab 2 task 1, BERT architecture search with Grid vs TPE (and Random as the baseline).

One Tune experiment per sampler (and per repeat) over the same finite space (search/experiments/spaces/nas.py),
with the same budget and seed policy: repeat r seeds its sampler and its trials with seed + r.
Grid visits `budget` distinct points of the grid (Optuna's GridSampler draws unvisited points in
a seeded random order, so a grid larger than the budget is sampled without replacement).
`--sampler` does not narrow this comparison: it picks lab2-compress-aware's sampler, and a
lab2-nas run that depended on it would replace the stored three-sampler results.
"""

from collections.abc import Sequence
from typing import Any

import pandas as pd

from errors import ConfigError
from search.experiments.experiment import Experiment, SearchVariant, Stored
from search.experiments.options.lab3 import OBJECTIVE_METRICS
from search.experiments.spaces.nas import NasSpace, space_for
from search.options import RunOptions
from search.study.samplers import make_sampler
from trainables.ray_adapter import TrialFunction
from trainables.trial_ref import TrialRef
from trainables.trials.surrogate import surrogate_nas_trial, surrogate_trainable

NAS_SAMPLERS = ("grid", "tpe", "random")


def nas_budget(options: RunOptions, space: NasSpace) -> int:
    """Trials per search: --budget or the profile's NAS budget, capped at the number of architectures."""
    return min(options.budget or options.profile.nas_budget, space.size())


def nas_search(
    name: str,
    sampler_name: str,
    repeat: int,
    options: RunOptions,
    *,
    metric: str,
    trial_fn: TrialFunction,
    settings: dict[str, Any] | None = None,
    recorded: dict[str, Any] | None = None,
    trial_epochs: float | None = None,
    cost_aware: bool = False,
) -> SearchVariant:
    """One search of the run's NAS space with one sampler, seeded with seed + repeat.

    `recorded` adds columns to every row (besides the sampler's settings, the space and budget).
    `trial_epochs` is what one trial trains in all (default: the profile's epochs), the time scale
    of early stopping. `cost_aware`: --objective's cost (if any) becomes a second objective and
    --constraint applies; such a search runs every trial to its end (no early stopping).
    """
    space = space_for(options)
    constraints = options.parsed_constraints if cost_aware else ()
    sampler, sampler_settings = make_sampler(
        sampler_name, options.seed + repeat, space.grid(), constrained=bool(constraints)
    )
    budget = nas_budget(options, space)
    metrics: str | list[str] = metric
    modes: str | list[str] = "max"
    if cost_aware and len(options.objectives) > 1:
        cost_metric, cost_mode = OBJECTIVE_METRICS[options.objectives[1]]
        metrics, modes = [metric, cost_metric], ["max", cost_mode]
    if constraints:
        sampler_settings["constraints"] = ",".join(c.text for c in constraints)
    single = isinstance(metrics, str) and not constraints
    return SearchVariant(
        name=name,
        space=space.tune_space(),
        sampler=sampler,
        num_samples=budget,
        metric=metrics,
        mode=modes,
        constraints=constraints,
        trial_fn=trial_fn,
        settings=dict(settings or {}),
        sampler_settings={**sampler_settings, "nas_space": space.name, "budget": budget, **(recorded or {})},
        repeat=repeat,
        early_stopping_epochs=(options.profile.epochs if trial_epochs is None else trial_epochs)
        if single
        else None,
    )


def nas_variants(options: RunOptions, samplers: Sequence[str] = NAS_SAMPLERS) -> list[SearchVariant]:
    """Every sampler once per repeat; variant name = sampler name (repeats differ by `repeat`).

    With `options.trial == "surrogate"` every trial is the rehearsal surrogate
    (trainables/trials/surrogate.py) instead of training.
    """
    variants = [
        nas_search(
            sampler,
            sampler,
            repeat,
            options,
            metric="accuracy",
            trial_fn=TrialRef("trainables.trials.lab2_nas", "lab2_nas_trial"),
        )
        for repeat in range(options.repeats)
        for sampler in samplers
    ]
    if options.trial == "surrogate":
        for variant in variants:
            variant.trial_fn = surrogate_nas_trial
            variant.tune_adapter = surrogate_trainable
            variant.settings["surrogate_seconds"] = options.surrogate_seconds
    return variants


def run_samplers(options: RunOptions) -> tuple[str, ...]:
    """The samplers this run compares: all of NAS_SAMPLERS unless `extra["samplers"]` (the scale bench) narrows it."""
    samplers = tuple(options.extra.get("samplers", NAS_SAMPLERS))
    if not samplers or any(name not in NAS_SAMPLERS for name in samplers):
        raise ConfigError(f"samplers {list(samplers)}: choose among {list(NAS_SAMPLERS)}")
    return samplers


class Lab2NasExperiment(Experiment):
    """The searches of `lab2-nas` (its name, lab task and requirements are in search/experiments/registry.py)."""

    early_stopping = True
    uses_budget = True  # --budget sets its trials (part of its identity: search/run_plan.py)
    has_surrogate = True  # --trial surrogate rehearses this search (bench/bench_scale.py)

    start_metric = "accuracy"  # Lab 3 may start from its best model (search/experiments/starts/lab3_start.py)

    def loaded_checkpoints(self, table: pd.DataFrame) -> list[str]:
        """The best trial's checkpoint, except in a surrogate run: its checkpoints hold no model."""
        if "surrogate" in table and table["surrogate"].fillna(False).astype(bool).any():
            return []
        return super().loaded_checkpoints(table)

    def identity_fields(self, options: RunOptions, stored: Stored) -> dict[str, Any]:
        space_for(options)  # a --model family it cannot search is refused before anything runs
        return {"repeats": options.repeats, "samplers": list(run_samplers(options))}

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        return nas_variants(options, run_samplers(options))
