"""A training run's state at a progress point, saved so that a paused trial continues exactly.

A synchronous early-stopping scheduler (search/schedulers/sync_halving.py) pauses trials at a rung until the
other trials of their batch get there; Tune then frees the trial's CPU and, for the winners, later
restarts the trial function from its last reported checkpoint. The snapshot holds everything the
loop needs to go on as if it had never stopped: the model, optimizer and learning-rate schedule,
the step, the running loss sums, and torch's global random state (dropout draws from it). The data
order needs no saving: an epoch's batches are a pure function of the seed and the epoch.
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from trainables.trial_keys import SNAPSHOT_FILE


@dataclass
class TrainSnapshot:
    """The training loop's state after `step` optimizer steps; `extra` is the caller's own state."""

    step: int
    model: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: torch.Tensor
    loss_sum: float
    samples: int
    extra: dict[str, Any] = field(default_factory=dict)


def save_snapshot(snapshot: TrainSnapshot, folder: Path) -> Path:
    """Write `snapshot` into `folder` (created); returns the folder, ready to report as a checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(asdict(snapshot), folder / SNAPSHOT_FILE)
    return folder


def load_snapshot(folder: str | Path) -> TrainSnapshot | None:
    """The snapshot saved in `folder`, or None when the folder holds none (e.g. a final checkpoint)."""
    path = Path(folder) / SNAPSHOT_FILE
    if not path.exists():
        return None
    # Tensors, dicts and numbers only: loads with torch's safe unpickler.
    return TrainSnapshot(**torch.load(path, weights_only=True))
