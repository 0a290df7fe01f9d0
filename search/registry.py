"""The named experiments and the labs that group them, in dependency order."""

from errors import ConfigError
from search.experiment import Experiment
from search.experiments.base_model import BaseExperiment
from search.experiments.lab1_prune import Lab1PruneExperiment
from search.experiments.lab1_qat import Lab1QatExperiment
from search.experiments.lab2_compress_aware import Lab2CompressAwareExperiment
from search.experiments.lab2_nas import Lab2NasExperiment
from search.experiments.lab3_mixed import Lab3MixedExperiment
from search.experiments.lab3_precisions import Lab3PrecisionsExperiment

EXPERIMENTS: dict[str, Experiment] = {
    experiment.name: experiment
    for experiment in (
        BaseExperiment(),
        Lab1QatExperiment(),
        Lab1PruneExperiment(),
        Lab2NasExperiment(),
        Lab2CompressAwareExperiment(),
        Lab3MixedExperiment(),
        Lab3PrecisionsExperiment(),
    )
}

LABS: dict[str, tuple[str, ...]] = {
    "lab1": ("base", "lab1-qat", "lab1-prune"),
    "lab2": ("lab2-nas", "lab2-compress-aware"),
    # Each starts from base or lab2-nas (see search/experiments/lab3_start.py) and runs it first if needed.
    "lab3": ("lab3-mixed", "lab3-precisions"),
}


def get_experiment(name: str) -> Experiment:
    """The experiment of that name; ConfigError lists the names otherwise."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {names()}")
    return EXPERIMENTS[name]


def expand(name: str) -> list[str]:
    """A lab name becomes its experiments in order; an experiment name stays itself."""
    if name in LABS:
        return list(LABS[name])
    get_experiment(name)
    return [name]


def names() -> list[str]:
    return list(EXPERIMENTS) + list(LABS)
