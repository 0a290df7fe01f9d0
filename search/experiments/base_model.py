"""`base`: Tutorial 2, fine-tune the starting model once and keep its checkpoint."""

import pandas as pd
from ray import tune

from search.experiment import SearchVariant
from search.options import RunOptions
from search.samplers import make_sampler
from trainables.base_trial import base_trial


class BaseExperiment:
    """The searches of `base` (its name, lab task and requirements are in search/registry.py)."""

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        grid = {"seed": [options.seed]}
        sampler, recorded = make_sampler("grid", options.seed, grid)
        return [
            SearchVariant(
                name="base",
                space={"seed": tune.choice(grid["seed"])},
                sampler=sampler,
                num_samples=1,
                metric="accuracy",
                mode="max",
                trial_fn=base_trial,
                settings={
                    "base_epochs": options.profile.base_epochs,
                    "base_method": options.resolved_base_method,
                    "pretrained": options.sources().pretrained,
                },
                sampler_settings=recorded,
            )
        ]
