"""`--callbacks tensorboard|mlflow|wandb`: Ray Tune's own logger callbacks, where the package is installed.

None of these packages is a dependency of the project: a name whose package is missing is
refused before Ray starts, with the pip command that adds it. Tune's CSV and JSON loggers run on
every search. Its TensorBoard logger, which Tune would add by itself whenever tensorboardX is
installed, runs only when named (`tensorboard --logdir <results>/<name>/tune`): tensorboardX
imports torch, which would cost the driver, which never trains, about a second of every run.
"""

import importlib.util
from dataclasses import dataclass
from typing import Any

from errors import ConfigError


@dataclass(frozen=True)
class LoggerChoice:
    """One --callbacks name: the package it needs and the Ray callback class that uses it."""

    package: str
    pip_name: str
    module: str
    class_name: str


CALLBACKS: dict[str, LoggerChoice] = {
    "tensorboard": LoggerChoice("tensorboardX", "tensorboardX", "ray.tune.logger", "TBXLoggerCallback"),
    "mlflow": LoggerChoice("mlflow", "mlflow", "ray.air.integrations.mlflow", "MLflowLoggerCallback"),
    "wandb": LoggerChoice("wandb", "wandb", "ray.air.integrations.wandb", "WandbLoggerCallback"),
}


def check_callbacks(names: tuple[str, ...]) -> None:
    """ConfigError naming the first unknown name or missing package (with the pip command to add it)."""
    for name in names:
        if name not in CALLBACKS:
            raise ConfigError(f"--callbacks {name!r} is not known; choose from {', '.join(CALLBACKS)}")
        choice = CALLBACKS[name]
        if importlib.util.find_spec(choice.package) is None:
            raise ConfigError(
                f"--callbacks {name} needs the {choice.package} package, which is not installed; "
                f"pip install {choice.pip_name} (or drop the option)"
            )


def make_callbacks(names: tuple[str, ...], experiment: str) -> list[Any]:
    """Tune's CSV and JSON loggers, then the callbacks for `names` (checked with check_callbacks first).

    The caller sets TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1 so that Tune does not add its defaults again.

    MLflow logs to the experiment named after ours (tracking URI from MLFLOW_TRACKING_URI, else
    MLflow's default); W&B to project `adls-tune`, group = experiment (API key from W&B's usual
    environment or `wandb login`; WANDB_MODE=offline works without an account).
    """
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    check_callbacks(names)
    callbacks: list[Any] = [CSVLoggerCallback(), JsonLoggerCallback()]
    for name in names:
        choice = CALLBACKS[name]
        cls = getattr(importlib.import_module(choice.module), choice.class_name)
        if name == "mlflow":
            callbacks.append(cls(experiment_name=experiment))
        elif name == "wandb":
            callbacks.append(cls(project="adls-tune", group=experiment))
        else:
            callbacks.append(cls())
    return callbacks
