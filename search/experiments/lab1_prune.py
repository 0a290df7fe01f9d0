"""`lab1-prune`: Lab 1 task 2, prune the best QAT model at sparsity 0.1..0.9 with Random and L1-norm.

"Take your best obtained model from Task 1 and rerun the pruning procedure, varying the sparsity
from 0.1 to 0.9 ... separate curves for Random and L1-Norm." One grid search over sparsity x
method; each trial prunes weights and activations at that sparsity (Tutorial 4's config, local
scope), evaluates, fine-tunes for the profile's `prune_epochs` (Tutorial 4: 5) and evaluates again.
"""

from typing import Any

import pandas as pd

from search.experiments.experiment import Experiment, SearchVariant, grid_variant
from search.experiments.lab1_qat import Lab1QatExperiment
from search.experiments.options.space import space_values
from search.options import RunOptions
from trainables.trial_ref import TrialRef

START_EXPERIMENT = "lab1-qat"


def prune_grid(options: RunOptions) -> dict[str, list[Any]]:
    """Sparsity (the profile's list, 0.1..0.9 by default) x pruning method, or the search file's [space]."""
    space = space_values(options, "lab1-prune")
    return {"sparsity": [float(s) for s in space["sparsity"]], "method": space["method"]}


class Lab1PruneExperiment(Experiment):
    """The searches of `lab1-prune` (its name, lab task and requirements are in search/experiments/registry.py)."""

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        start = Lab1QatExperiment().best_start(inputs[START_EXPERIMENT])
        settings = {
            "start_checkpoint": start["checkpoint"],
            "start_accuracy": float(start["qat_accuracy"]),
            "start_width": int(start["width"]),
            "finetune_epochs": options.profile.prune_epochs,
        }
        return [
            grid_variant(
                "prune",
                prune_grid(options),
                options,
                metric="finetuned_accuracy",
                trial_fn=TrialRef("trainables.trials.lab1_prune", "lab1_prune_trial"),
                settings=settings,
            )
        ]
