"""`lab1-qat`: Lab 1 task 1, fixed-point width sweep with PTQ and QAT accuracy per width."""

import pandas as pd

from search.experiments.base_model import BaseExperiment
from search.experiments.experiment import Experiment, SearchVariant, grid_variant
from search.experiments.options.space import space_values
from search.options import RunOptions
from trainables.trial_ref import TrialRef


def qat_grid(options: RunOptions) -> dict[str, list]:
    """Width x fractional share: frac width = round(width * ratio); the profile or the search file's [space]."""
    space = space_values(options, "lab1-qat")
    return {"width": space["width"], "frac_ratio": space["frac_ratio"]}


class Lab1QatExperiment(Experiment):
    """The searches of `lab1-qat` (its name, lab task and requirements are in search/experiments/registry.py)."""

    # Its trials quantize: --mase-exact is part of its identity (search/run_plan.py).
    quantizes = True

    # lab1-prune starts from its best model by QAT accuracy (ties: fewer weight bits, launch order).
    start_metric = "qat_accuracy"

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        base = BaseExperiment().best_start(inputs["base"])
        settings = {"base_checkpoint": base["checkpoint"], "fp32_accuracy": base["accuracy"]}
        return [
            grid_variant(
                "qat",
                qat_grid(options),
                options,
                metric="qat_accuracy",
                trial_fn=TrialRef("trainables.trials.lab1_qat", "lab1_qat_trial"),
                settings=settings,
            )
        ]
