"""Where Lab 3 starts: the best `lab2-nas` model when that search has run for this profile, else `base`.

Tutorial 6 starts from Tutorial 5's best NAS model. `--from base|lab2-nas` chooses explicitly;
`--from lab2-nas` runs the NAS search first when its results are not stored. Without `--from`,
stored `lab2-nas` results of the same identity (profile, data, seed) are used if present and
`base` otherwise, so a plain `adls run lab3` never starts a NAS search by surprise.
"""

from typing import Any

import pandas as pd

from errors import ConfigError
from search.experiments.experiment import Stored
from search.experiments.options.lab3 import START_CHOICES
from search.experiments.registry import EXPERIMENTS, get_experiment
from search.options import RunOptions

BASE, NAS = START_CHOICES


def start_experiment(options: RunOptions, stored: Stored) -> str:
    """The experiment whose best checkpoint Lab 3 starts from (see the module docstring).

    `stored(name)` says whether finished results of that experiment, for this run, are stored
    (the runner's plan hands it over).
    """
    if options.start_from is not None:  # one of START_CHOICES (RunOptions.validate checked)
        if options.start_from == NAS and NAS not in EXPERIMENTS:
            raise ConfigError(f"--from {NAS}: this installation has no {NAS} experiment; use --from {BASE}")
        return options.start_from
    if NAS in EXPERIMENTS and stored(NAS):
        return NAS
    return BASE


def starting_point(inputs: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """{experiment, checkpoint, accuracy} of the best finished trial of the starting experiment (by accuracy).

    `inputs` holds the one table `inputs_for` asked for: the starting experiment's.
    """
    [(name, table)] = inputs.items()
    # Among equally accurate NAS models, Lab 2's own rule prefers the smaller one.
    best = get_experiment(name).best_start(table)
    return {"experiment": name, "checkpoint": best["checkpoint"], "accuracy": float(best["accuracy"])}
