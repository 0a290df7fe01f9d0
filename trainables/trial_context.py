"""What a trial function gets besides its config: device, threads, a folder, a way to report."""

import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainables.train_snapshot import TrainSnapshot

Reporter = Callable[[dict[str, Any], Path | None], None]


@dataclass
class TrialContext:
    """The trial's view of where it runs; Ray is touched only by the reporter it is given.

    `report(metrics, checkpoint_dir)` hands the trial's final metrics (and optionally a saved-model
    folder) to whoever runs the trial: Ray Tune in a search, a list in a unit test.
    `report_progress(metrics, checkpoint_dir)` hands an intermediate evaluation during training
    (Tune's schedulers may stop or pause the trial there), with a training snapshot when the trial
    may be paused; `epochs_trained` counts the epochs of every training run so far and
    `training_runs` the runs started. `resume` is the snapshot a paused trial restarts from (its
    first training run continues from it, see trial_steps.train_model). `progress_rows` is the
    test sample every progress evaluation of the trial scores (drawn by its first training run
    that reports progress).
    """

    device: torch.device
    cpus: int
    work_dir: Path
    reporter: Reporter
    node: str = field(default_factory=platform.node)
    reports: list[dict[str, Any]] = field(default_factory=list)
    progress_reports: list[dict[str, Any]] = field(default_factory=list)
    epochs_trained: float = 0.0
    training_runs: int = 0
    resume: TrainSnapshot | None = None
    started: float = field(default_factory=time.perf_counter)  # for `trial_seconds`
    last_macro_f1: float | None = None  # of the last full test evaluation (trial_steps.accuracy)
    progress_rows: np.ndarray | None = None

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None = None) -> None:
        full = {**metrics, "node": self.node, "device": str(self.device)}
        self.reports.append(full)
        self.reporter(full, checkpoint_dir)

    def report_progress(self, metrics: dict[str, Any], checkpoint_dir: Path | None = None) -> None:
        self.progress_reports.append(metrics)
        self.reporter({**metrics, "node": self.node, "device": str(self.device)}, checkpoint_dir)

    def new_dir(self, name: str) -> Path:
        path = self.work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def pick_device(gpus: float) -> torch.device:
    """CUDA when the runner gave this trial a GPU share and one is visible, else the CPU."""
    if gpus > 0 and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def set_threads(cpus: int) -> None:
    """Make torch use exactly the CPUs this trial was given (over-subscription slows every trial)."""
    cpus = max(1, int(cpus))
    torch.set_num_threads(cpus)
    os.environ["OMP_NUM_THREADS"] = str(cpus)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def local_context(
    work_dir: Path | None = None, cpus: int = 1, gpus: float = 0.0, seed: int = 0
) -> TrialContext:
    """A context for running one trial function directly (tests, notebooks): reports go to a list.

    Seeds torch's global generator with `seed`, as the Ray adapter does with the config's seed;
    make a new context for each trial.
    """
    set_threads(cpus)
    torch.manual_seed(seed)
    work = Path(work_dir or tempfile.mkdtemp(prefix="adls-trial-"))
    return TrialContext(pick_device(gpus), cpus, work, lambda metrics, ckpt: None)
