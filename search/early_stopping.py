"""Early stopping of trials: Ray Tune's ASHA scheduler on the trials' progress reports.

Why ASHA (Ray Tune's `ASHAScheduler`) and not Optuna's pruners: under Tune, trials are run and
stopped by Tune's controller; a scheduler sees every progress report as it arrives and stops the
trial's worker at once, with the same code for every sampler (Grid, TPE, Random). Optuna's
pruners (`trial.should_prune()`) are asked from inside the trial, which under Tune's ask-and-tell
searcher has no Optuna trial to ask. Stopped trials still reach the study: the searcher gives it
their progress scores as intermediate values and tells it PRUNED (search/study_storage.py).

The time scale is `epoch` (epochs trained so far in the trial, every training run counted) and the
score `eval_loss` (minimised), both in every progress report (trainables/trial_steps.py). The
first rung sits at 1/4 of the trial's epochs (grace period 1/4) and the reduction factor is 4: at
1/4 a trial goes on only if its loss is in the best quarter of the losses recorded there so far.
The next rung (4 x 0.245 = 0.98 of the trial) comes after the last progress report (3/4), so a
trial is judged once, at the report at 1/4 that every training run makes anyway (TrainSettings'
4 progress points): early stopping adds no evaluation.

Why the loss and not `eval_accuracy`: early in a quick trial every model still answers the
majority label, so the progress accuracy is the same for most of them at 1/4 of an epoch and
ASHA lets ties through. The held-out cross-entropy of the same rows has moved for the models
that have started to learn, and those end the more accurate (measured, docs/performance.md).
Why 1/4 and not earlier: at 1/8 every model's loss is still the entropy of the label prior
(0.681 on Rotten Tomatoes' test split), so a rung there cuts at random.
"""

from typing import Any

GRACE_FRACTION = 0.25
REDUCTION_FACTOR = 4
# Progress points fall on whole steps: a point meant for 1/4 of the run may land a fraction of a
# step before it. Rungs sit this much earlier so that such a point still counts for its rung.
RUNG_SLACK = 0.98


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


def make_scheduler(name: str, trial_epochs: float | None) -> Any:
    """A Tune scheduler, or None for plain FIFO (also when the search must not stop trials early)."""
    if name == "fifo" or trial_epochs is None or trial_epochs <= 0:
        return None
    from search.asha import RecordingASHA
    from trainables.trial_keys import PROGRESS_LOSS, PROGRESS_TIME

    return RecordingASHA(
        time_attr=PROGRESS_TIME,
        metric=PROGRESS_LOSS,
        mode="min",
        max_t=trial_epochs,
        grace_period=trial_epochs * GRACE_FRACTION * RUNG_SLACK,
        reduction_factor=REDUCTION_FACTOR,
        brackets=1,
    )
