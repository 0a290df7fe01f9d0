"""`base`: Tutorial 2, fine-tune the starting model once and keep its checkpoint."""

import pandas as pd

from search.experiments.experiment import Experiment, SearchVariant, grid_variant
from search.options import RunOptions
from trainables.trial_ref import TrialRef


class BaseExperiment(Experiment):
    """The searches of `base` (its name, lab task and requirements are in search/experiments/registry.py)."""

    start_metric = "accuracy"  # lab1-qat and Lab 3 start from its best model

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        grid = {"seed": [options.seed]}
        settings = {
            "base_epochs": options.profile.base_epochs,
            "base_method": options.resolved_base_method,
            "pretrained": options.sources().pretrained,
        }
        return [
            grid_variant(
                "base",
                grid,
                options,
                metric="accuracy",
                trial_fn=TrialRef("trainables.trials.base", "base_trial"),
                settings=settings,
            )
        ]
