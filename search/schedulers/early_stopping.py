"""Early stopping of trials on their progress reports, as one plan: `early_stopping(name, ...)`.

`early_stopping(name, trial_epochs, num_trials)` returns an EarlyStopping with everything a search
needs: the Tune scheduler (None: FIFO), the rungs (epochs where trials are compared, for the
results table's `rung`), the pause epochs (where `sha` trials hand over a training snapshot), the
concurrency it requires, and, after the fit, which trials it stopped. A search whose experiment
does not allow early stopping passes `trial_epochs=None` and gets FIFO.

Trials are ranked by `eval_loss` (minimised) against `epoch`, both in every progress report
(trainables/trial_keys.py). The first rung sits at 1/4 of the trial's epochs, the reduction factor
is 4. Why these choices, and what `asha` and `sha` cost and keep: docs/performance.md, section 1.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GRACE_FRACTION = 0.25
REDUCTION_FACTOR = 4
# Progress points fall on whole steps: a point meant for 1/4 of the run may land a fraction of a
# step before it. Rungs sit this much earlier so that such a point still counts for its rung.
RUNG_SLACK = 0.98
# --scheduler sha: trials ranked together at the rung; the best 1 in REDUCTION_FACTOR finishes.
SHA_BATCH = 4


def rungs(trial_epochs: float) -> list[float]:
    """The epochs at which ASHA compares trials (ascending), for a trial that trains `trial_epochs`."""
    first = trial_epochs * GRACE_FRACTION * RUNG_SLACK
    points, rung = [], first
    while rung < trial_epochs:
        points.append(rung)
        rung *= REDUCTION_FACTOR
    return points


def rung_reached(epoch: float | None, trial_rungs: list[float]) -> int | None:
    """0-based index of the last rung at or before `epoch` (None: stopped before the first)."""
    if epoch is None or epoch != epoch:
        return None
    reached = [index for index, rung in enumerate(trial_rungs) if epoch >= rung]
    return reached[-1] if reached else None


@dataclass
class EarlyStopping:
    """What one search's early stopping is: its Tune scheduler and what the runner must do around it."""

    scheduler: Any | None
    # Epochs at which trials are compared (ascending); [] without early stopping.
    rungs: list[float]
    # Epochs at which a trial hands over a training snapshot to be paused (`sha`: the first rung).
    pause_epochs: list[float]
    # Tune's max_concurrent_trials must be at least this: it counts paused trials as running.
    min_concurrent: int = 1

    @property
    def stopped(self) -> set[str]:
        """The ids of the trials the scheduler stopped so far (empty for FIFO)."""
        return self.scheduler.stopped if self.scheduler is not None else set()

    def keep_state(self, location: str, restored: Any = None, carried: Any = ()) -> None:
        """Keep the scheduler's state at `location` and start from `restored` (`sha` only; others keep none).

        See SynchronousHalving.keep_state (search/schedulers/sync_halving.py).
        """
        keep = getattr(self.scheduler, "keep_state", None)
        if keep is not None:
            keep(location, restored, carried)

    def concurrency(self, wanted: int) -> int:
        """The max_concurrent_trials to give Tune when `wanted` trials should run at once.

        Paused trials hold no CPU, so the trials that run at once are still bounded by the CPUs.
        """
        return max(wanted, self.min_concurrent)


def _sha(trial_epochs: float, trial_rungs: list[float], num_trials: int) -> EarlyStopping:
    from search.schedulers.sync_halving import SynchronousHalving
    from trainables.trial_keys import PROGRESS_LOSS, PROGRESS_TIME

    scheduler = SynchronousHalving(
        time_attr=PROGRESS_TIME,
        metric=PROGRESS_LOSS,
        mode="min",
        rung=trial_rungs[0],
        reduction_factor=REDUCTION_FACTOR,
        batch_size=SHA_BATCH,
        num_trials=num_trials,
    )
    # Trials hand over a training snapshot at the rung, where the scheduler pauses them; a batch
    # must fit in Tune's concurrency limit to fill.
    return EarlyStopping(scheduler, trial_rungs, trial_rungs[:1], min_concurrent=SHA_BATCH)


def _asha(trial_epochs: float, trial_rungs: list[float], num_trials: int) -> EarlyStopping:
    from search.schedulers.asha import RecordingASHA
    from trainables.trial_keys import PROGRESS_LOSS, PROGRESS_TIME

    scheduler = RecordingASHA(
        time_attr=PROGRESS_TIME,
        metric=PROGRESS_LOSS,
        mode="min",
        max_t=trial_epochs,
        grace_period=trial_epochs * GRACE_FRACTION * RUNG_SLACK,
        reduction_factor=REDUCTION_FACTOR,
        brackets=1,
    )
    return EarlyStopping(scheduler, trial_rungs, [])


# --scheduler name -> factory(trial_epochs, rungs, num_trials), as Ray's own `create_scheduler`;
# "fifo" (no early stopping) needs none. The names are search.options.SCHEDULERS (a test keeps them equal).
SCHEDULER_FACTORIES: dict[str, Callable[[float, list[float], int], EarlyStopping] | None] = {
    "fifo": None,
    "asha": _asha,
    "sha": _sha,
}


# Schedulers whose state a new driver continues from (EarlyStopping.keep_state): their decisions
# take a whole batch of trials, which a dead driver must not lose.
KEEPS_STATE = frozenset({"sha"})


def keeps_state(name: str, trial_epochs: float | None) -> bool:
    """Whether `--scheduler name` on trials of `trial_epochs` keeps a state that a resumed search reads."""
    return name in KEEPS_STATE and trial_epochs is not None and trial_epochs > 0


def early_stopping(name: str, trial_epochs: float | None, num_trials: int = 0) -> EarlyStopping:
    """The early stopping `--scheduler name` gives a search whose trials train `trial_epochs` in all.

    `trial_epochs=None` (the experiment must not stop trials early) or "fifo" gives no scheduler.
    `num_trials`: the trials the search will run (for "sha", whose last batch is what is left; with
    0, every batch waits for SHA_BATCH trials and a short last one is decided when the search ends).
    """
    factory = SCHEDULER_FACTORIES[name]
    if factory is None or trial_epochs is None or trial_epochs <= 0:
        return EarlyStopping(None, [], [])
    return factory(trial_epochs, rungs(trial_epochs), num_trials)
