"""A Tune callback that records launch order and prints one status line per experiment."""

import logging
import sys
import time
from typing import Any

from ray.tune import Callback

from analysis.results import FAILED, FINISHED
from trainables.ray_adapter import TRIAL_ERROR_KEY

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
        metrics = [metric] if isinstance(metric, str) else list(metric)
        modes = [mode] if isinstance(mode, str) else list(mode)
        # The first objective is "the" metric; a multi-objective search also shows the others' bests.
        self.metric, self.mode = metrics[0], modes[0]
        self.others = list(zip(metrics[1:], modes[1:], strict=True))
        self.other_bests: dict[str, float] = {}
        self.total = total
        self.interval = interval
        self.launch_index: dict[str, int] = {}
        self.best: float | None = None
        self._last_print = 0.0

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.launch_index.setdefault(trial.trial_id, len(self.launch_index))
        self._print(trials)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self.best = _better(self.best, result.get(self.metric), self.mode)
        for metric, mode in self.others:
            best = _better(self.other_bests.get(metric), result.get(metric), mode)
            if best is not None:
                self.other_bests[metric] = best
        if time.monotonic() - self._last_print > self.interval:
            self._print(trials)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trials, (trial, FINISHED))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trials, (trial, FAILED))

    def status_line(self, trials: list, ending: tuple[Any, str] | None = None) -> str:
        """The progress line; `ending` is a (trial, final status) that Tune has not applied yet.

        Tune calls on_trial_complete/on_trial_error before it changes the trial's status, so
        without `ending` the last line of a search would still show that trial as running.
        """
        states = [_outcome(t, ending[1] if ending and t is ending[0] else t.status) for t in trials]
        done = states.count(FINISHED)
        failed = states.count(FAILED)
        running = states.count("RUNNING")
        best = "-" if self.best is None else f"{self.best:.4f}"
        others = "".join(
            f", best {metric} " + (f"{self.other_bests[metric]:.4f}" if metric in self.other_bests else "-")
            for metric, _ in self.others
        )
        return (
            f"[{self.label}] {done + failed}/{self.total} finished "
            f"({done} ok, {failed} failed), {running} running, best {self.metric} {best}{others}"
        )

    def _print(self, trials: list, ending: tuple[Any, str] | None = None) -> None:
        self._last_print = time.monotonic()
        print(self.status_line(trials, ending), file=sys.stdout, flush=True)


def _outcome(trial: Any, status: str) -> str:
    """ERROR for a trial that ended normally but reported a failure reason (a non-finite loss)."""
    if status == FINISHED and TRIAL_ERROR_KEY in (getattr(trial, "last_result", None) or {}):
        return FAILED
    return status


def _better(best: float | None, value: Any, mode: str) -> float | None:
    """The better of the best so far and a reported value ("max" or "min"); non-numbers are ignored."""
    if not isinstance(value, int | float) or value != value:
        return best
    if best is None or (value > best if mode == "max" else value < best):
        return float(value)
    return best
