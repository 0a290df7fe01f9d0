"""A Tune callback that records launch order and prints one status line per experiment."""

import logging
import sys
import time
from typing import Any

from ray.tune import Callback

log = logging.getLogger(__name__)


class TrialLedger(Callback):
    """Numbers trials in launch order and prints `done / running / failed, best so far` lines.

    The line goes to stdout so it shows in `ray job logs` / `adls logs --follow`; it is
    printed when a trial starts, finishes or fails, and at most every `interval` seconds
    otherwise.
    """

    def __init__(
        self, label: str, metric: str | list[str], mode: str | list[str], total: int, interval: float = 30.0
    ) -> None:
        self.label = label
        self.metric = metric if isinstance(metric, str) else metric[0]
        self.mode = mode if isinstance(mode, str) else mode[0]
        self.total = total
        self.interval = interval
        self.launch_index: dict[str, int] = {}
        self.best: float | None = None
        self._last_print = 0.0

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.launch_index.setdefault(trial.trial_id, len(self.launch_index))
        self._print(trials)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        value = result.get(self.metric)
        if isinstance(value, int | float):
            better = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
            if better:
                self.best = float(value)
        if time.monotonic() - self._last_print > self.interval:
            self._print(trials)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trials)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trials)

    def status_line(self, trials: list) -> str:
        states = [t.status for t in trials]
        done = states.count("TERMINATED")
        failed = states.count("ERROR")
        running = states.count("RUNNING")
        best = "-" if self.best is None else f"{self.best:.4f}"
        return (
            f"[{self.label}] {done + failed}/{self.total} finished "
            f"({done} ok, {failed} failed), {running} running, best {self.metric} {best}"
        )

    def _print(self, trials: list) -> None:
        self._last_print = time.monotonic()
        print(self.status_line(trials), file=sys.stdout, flush=True)
