"""Ray Tune's ASHAScheduler, remembering which trials it stopped (search/schedulers/early_stopping.py uses it)."""

from typing import Any

from ray.tune.schedulers import ASHAScheduler


class RecordingASHA(ASHAScheduler):
    """ASHAScheduler that records the id of every trial it stops, for the results table's STOPPED rows."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stopped: set[str] = set()

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        action = super().on_trial_result(tune_controller, trial, result)
        if action == self.STOP:
            self.stopped.add(trial.trial_id)
        return action
