"""The named experiments and the labs that group them, in dependency order."""

from search.experiment import Experiment
from search.experiments.base import BaseExperiment
from search.experiments.lab1_qat import Lab1QatExperiment
from trainables.compress.errors import ConfigError

EXPERIMENTS: dict[str, Experiment] = {
    experiment.name: experiment
    for experiment in (
        BaseExperiment(),
        Lab1QatExperiment(),
    )
}

LABS: dict[str, tuple[str, ...]] = {
    "lab1": ("base", "lab1-qat"),
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
