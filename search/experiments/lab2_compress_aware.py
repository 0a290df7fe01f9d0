"""`lab2-compress-aware`: Lab 2 task 2, compression inside each NAS trial's objective.

"In the objective function, after the model is constructed and trained for some iterations,
call the CompressionPipeline to quantize and prune the model, then continue training ... The
objective function should return the final accuracy of the model after compression."

Two searches over lab2-nas's space with the sampler that did best there (`--sampler` overrides):
one optimizes the accuracy right after compression (`compressed`), one the accuracy after
post-compression training (`post-trained`). Compression is Tutorial 5's: 8-bit fixed point
(frac 4) for every Linear, then L1-norm pruning of weights and activations at 0.5; a run can
replace either config through `RunOptions.extra["quantization"]` / `extra["pruning"]`.
"""

import copy
import json
from typing import Any

import pandas as pd
from torch import nn

from analysis.results import finished
from errors import ConfigError
from search.experiments.experiment import Experiment, SearchVariant, Stored
from search.experiments.lab2_nas import NAS_SAMPLERS, nas_search
from search.experiments.spaces.nas import space_for
from search.options import RunOptions
from trainables.compress import fixed_point_config, prune_model, quantize_model
from trainables.compress.prune import check_prune_config
from trainables.trials.lab2_compress_aware import lab2_compress_aware_trial

NAS_EXPERIMENT = "lab2-nas"
# Tutorial 5's CompressionPipeline configs.
TUTORIAL_QUANTIZATION: dict[str, Any] = fixed_point_config(8, 4)
TUTORIAL_PRUNING: dict[str, Any] = {
    "weight": {"sparsity": 0.5, "method": "l1-norm", "scope": "local"},
    "activation": {"sparsity": 0.5, "method": "l1-norm", "scope": "local"},
}
# variant name -> the accuracy its sampler maximizes.
OBJECTIVES = {"compressed": "compressed_accuracy", "post-trained": "post_trained_accuracy"}
# Among samplers with the same result, prefer the model-based one.
SAMPLER_PREFERENCE = ("tpe", "random", "grid")


def compression_configs(options: RunOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """(quantization, pruning) of this run, validated now (before any search starts).

    The quantization config must be `by: type`: every sampled architecture has other layer names.
    """
    quantization = copy.deepcopy(options.extra.get("quantization", TUTORIAL_QUANTIZATION))
    pruning = copy.deepcopy(options.extra.get("pruning", TUTORIAL_PRUNING))
    if not isinstance(quantization, dict) or quantization.get("by", "type") != "type":
        raise ConfigError(
            f"lab2-compress-aware quantization config {quantization!r} is not allowed; give a MASE "
            "'by': 'type' config (layer names differ between sampled architectures)"
        )
    check_prune_config(pruning)
    probe = nn.Sequential(nn.Linear(8, 8))  # applying both to a tiny model checks every field
    prune_model(quantize_model(probe, quantization), pruning)
    return quantization, pruning


def best_sampler(nas_table: pd.DataFrame) -> str:
    """The lab2-nas sampler with the highest final best-so-far accuracy, averaged over repeats."""
    done = finished(nas_table)
    if done.empty or "accuracy" not in done:
        raise ConfigError("lab2-nas has no finished trial to choose a sampler from; rerun it with --force")
    final = done.groupby(["sampler", "repeat"])["accuracy"].max().groupby("sampler").mean()
    order = {name: rank for rank, name in enumerate(SAMPLER_PREFERENCE)}
    ranked = sorted(final.items(), key=lambda item: (-item[1], order.get(item[0], len(order)), item[0]))
    return str(ranked[0][0])


class Lab2CompressAwareExperiment(Experiment):
    """The searches of `lab2-compress-aware` (its name, lab task and requirements are in search/experiments/registry.py)."""

    # Its trials quantize: --mase-exact is part of its identity (search/run_plan.py).
    quantizes = True
    # Rungs compare trials' progress scores at equal epochs: during the first training (before
    # compression) and during post-training (after it), the same phase for every trial.
    early_stopping = True
    uses_budget = True  # --budget sets its trials (part of its identity: search/run_plan.py)

    def identity_fields(self, options: RunOptions, stored: Stored) -> dict[str, Any]:
        space_for(options)  # a --model family it cannot search is refused before anything runs
        quantization, pruning = compression_configs(options)
        if options.sampler is not None and options.sampler not in NAS_SAMPLERS:
            raise ConfigError(
                f"--sampler {options.sampler!r}: lab2-compress-aware uses one of {list(NAS_SAMPLERS)}"
            )
        return {
            "repeats": options.repeats,
            "sampler": options.sampler or f"best of {NAS_EXPERIMENT}",
            "quantization": quantization,
            "pruning": pruning,
        }

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        quantization, pruning = compression_configs(options)
        sampler = options.sampler or best_sampler(inputs[NAS_EXPERIMENT])
        chosen_by = "--sampler" if options.sampler else f"best final accuracy in {NAS_EXPERIMENT}"
        settings = {
            "quantization": quantization,
            "pruning": pruning,
            "post_train_epochs": options.profile.epochs,
        }
        return [
            nas_search(
                name,
                sampler,
                repeat,
                options,
                metric=metric,
                trial_fn=lab2_compress_aware_trial,
                settings=settings,
                trial_epochs=options.profile.epochs + settings["post_train_epochs"],
                recorded={
                    "objective": metric,
                    "sampler_chosen_by": chosen_by,
                    # As JSON text: one column each, readable in the CSV, whatever the config holds.
                    "quantization": json.dumps(quantization, sort_keys=True),
                    "pruning": json.dumps(pruning, sort_keys=True),
                },
            )
            for repeat in range(options.repeats)
            for name, metric in OBJECTIVES.items()
        ]
