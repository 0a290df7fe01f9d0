"""The named experiments and the labs that group them: what `adls list` shows, without importing trial code.

Each entry names the class that defines the experiment's searches (`"module:Class"`). That module,
and with it torch, Ray Tune and the trial functions, is imported only when the experiment runs,
so `adls list` and `adls --help` start in a fraction of a second.
"""

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from errors import ConfigError

if TYPE_CHECKING:  # type names only: importing search.experiments.experiment would import torch
    from search.experiments.experiment import Experiment


@dataclass(frozen=True)
class ExperimentEntry:
    """One experiment as the command line and the runner's plan know it.

    `requires` are the experiments whose results it needs (an experiment may choose them per run
    with `inputs_for`, see search/experiments/experiment.py); `definition` is its `"module:Class"`.
    """

    name: str
    lab_task: str
    requires: tuple[str, ...]
    definition: str


EXPERIMENTS: dict[str, ExperimentEntry] = {
    entry.name: entry
    for entry in (
        ExperimentEntry(
            "base",
            "Tutorial 2: fine-tune the starting model (bert-tiny) and save it",
            (),
            "search.experiments.base_model:BaseExperiment",
        ),
        ExperimentEntry(
            "lab1-qat",
            "Lab 1 task 1: fixed-point width 4..32, PTQ vs QAT accuracy",
            ("base",),
            "search.experiments.lab1_qat:Lab1QatExperiment",
        ),
        ExperimentEntry(
            "lab1-prune",
            "Lab 1 task 2: prune the best QAT model, sparsity 0.1..0.9, Random vs L1-norm",
            ("lab1-qat",),
            "search.experiments.lab1_prune:Lab1PruneExperiment",
        ),
        ExperimentEntry(
            "lab2-nas",
            "Lab 2 task 1: BERT architecture search, Grid vs TPE vs Random (same space and budget)",
            (),
            "search.experiments.lab2_nas:Lab2NasExperiment",
        ),
        ExperimentEntry(
            "lab2-compress-aware",
            "Lab 2 task 2: NAS with quantization + pruning in each trial, with and without post-training",
            ("lab2-nas",),
            "search.experiments.lab2_compress_aware:Lab2CompressAwareExperiment",
        ),
        ExperimentEntry(
            "lab3-mixed",
            "Lab 3 task 1: per-layer fp32 or integer (width 8/16/32, frac 2/4/8), TPE; --from base|lab2-nas",
            # The default start; `inputs_for` swaps in lab2-nas when it is chosen or stored.
            ("base",),
            "search.experiments.lab3_mixed:Lab3MixedExperiment",
        ),
        ExperimentEntry(
            "lab3-precisions",
            "Lab 3 task 2: one search per Linear format (--precisions); --layers choose: each Linear fp32 or "
            "the format, --layers all: every Linear in the format",
            ("base",),
            "search.experiments.lab3_precisions:Lab3PrecisionsExperiment",
        ),
        ExperimentEntry(
            "sensitivity",
            "Per-layer sensitivity: quantize one Linear of the Lab 3 starting model at a time (--precisions, "
            "default integer:4,integer:8), evaluate without training; one independent trial per (layer, precision)",
            ("base",),
            "search.experiments.lab3_precisions:SensitivityExperiment",
        ),
    )
}

LABS: dict[str, tuple[str, ...]] = {
    "lab1": ("base", "lab1-qat", "lab1-prune"),
    "lab2": ("lab2-nas", "lab2-compress-aware"),
    # Each starts from base or lab2-nas (see search/experiments/starts/lab3_start.py) and runs it first if needed.
    "lab3": ("lab3-mixed", "lab3-precisions"),
}


def get_entry(name: str) -> ExperimentEntry:
    """The experiment of that name; ConfigError lists the names otherwise."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {names()}")
    return EXPERIMENTS[name]


def get_experiment(name: str) -> "Experiment":
    """The experiment's definition (its searches), imported now; ConfigError for an unknown name."""
    module, _, cls = get_entry(name).definition.partition(":")
    return getattr(importlib.import_module(module), cls)()


def expand(name: str) -> list[str]:
    """A lab name becomes its experiments in order; an experiment name stays itself."""
    if name in LABS:
        return list(LABS[name])
    get_entry(name)
    return [name]


def names() -> list[str]:
    return list(EXPERIMENTS) + list(LABS)
