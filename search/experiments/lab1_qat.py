"""`lab1-qat`: Lab 1 task 1, fixed-point width sweep with PTQ and QAT accuracy per width."""

import pandas as pd

from search.experiments.experiment import SearchVariant, grid_variant
from search.experiments.stage_inputs import best_checkpoint
from search.options import RunOptions
from trainables.trial_ref import TrialRef


def qat_grid(options: RunOptions) -> dict[str, list]:
    """Width x fractional share: frac width = round(width * ratio); the profile sets both lists."""
    profile = options.profile
    return {"width": list(profile.widths), "frac_ratio": list(profile.frac_ratios)}


class Lab1QatExperiment:
    """The searches of `lab1-qat` (its name, lab task and requirements are in search/experiments/registry.py)."""

    # Its trials quantize: --mase-exact is part of its identity (search/run_plan.py).
    quantizes = True

    def loaded_checkpoints(self, table: pd.DataFrame) -> list[str]:
        from search.experiments.lab1_prune import start_model  # lab1-prune imports nothing of ours

        return [start_model(table)["checkpoint"]]

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        base = best_checkpoint(inputs["base"], "accuracy")
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
