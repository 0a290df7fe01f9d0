"""A Tune callback that records launch order and shows a search's progress: a bar or plain lines.

On a terminal the progress is one live bar per search (tqdm); elsewhere (job logs,
`adls logs --follow`, pipes) it is one plain line per event that changes something: a trial
starts, finishes or fails, or the best value improves. Each line carries the elapsed time, an
ETA from the finished trials and the best value so far with its parameters.
"""

import sys
import time
from collections import Counter
from typing import Any, TextIO

from ray.tune import Callback

from analysis.results import FAILED, FINISHED
from trainables.trial_keys import CARRIED_TRIAL, TRIAL_ERROR_KEY


class TrialLedger(Callback):
    """Numbers trials in launch order and reports `finished / running / failed, best so far`."""

    def __init__(
        self,
        label: str,
        metric: str | list[str],
        mode: str | list[str],
        total: int,
        stream: TextIO | None = None,
        bar: bool | None = None,
    ) -> None:
        self.label = label
        metrics = [metric] if isinstance(metric, str) else list(metric)
        modes = [mode] if isinstance(mode, str) else list(mode)
        # The first objective is "the" metric; a multi-objective search also shows the others' bests.
        self.metric, self.mode = metrics[0], modes[0]
        self.others = list(zip(metrics[1:], modes[1:], strict=True))
        self.other_bests: dict[str, float] = {}
        self.total = total
        # None: sys.stdout as it is when a line is printed (Tune pickles its callbacks with the
        # Tuner, and a captured or redirected stdout does not pickle).
        self._stream = stream
        self._bar_wanted = bar
        self.launch_index: dict[str, int] = {}
        # Each trial's sampled config, as Tune gave it: a trial whose worker died before its first
        # report has an empty config in Tune's results (the config rides on the reports).
        self.configs: dict[str, dict[str, Any]] = {}
        self.best: float | None = None
        self.best_params: dict[str, Any] = {}
        self.started = time.monotonic()
        # When the first trial started: the ETA leaves out the Tuner's start (workers, imports),
        # which under load can take longer than the trials themselves.
        self.first_start: float | None = None
        self._last_state: str | None = None
        self._bar: Any = None
        self._settled = _SettledPrefix()

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    @property
    def use_bar(self) -> bool:
        return self.stream.isatty() if self._bar_wanted is None else self._bar_wanted

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_bar"] = None  # a live terminal bar is not state
        state["_settled"] = _SettledPrefix()  # holds Tune's trial objects; recounted after a restore
        return state

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.launch_index.setdefault(trial.trial_id, len(self.launch_index))
        self.configs.setdefault(trial.trial_id, dict(trial.config or {}))
        if self.first_start is None:
            self.first_start = time.monotonic()
        self._show(trials)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self._record(trial, result)
        self._show(trials)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._record(trial, getattr(trial, "last_result", None) or {})
        self._show(trials, (trial, FINISHED))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.configs.setdefault(trial.trial_id, dict(trial.config or {}))
        self._show(trials, (trial, FAILED))

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def status(self, trials: list, ending: tuple[Any, str] | None = None) -> tuple[str, str]:
        """(state, timing) of the progress line; `ending` is a (trial, status) Tune has not applied yet.

        Tune calls on_trial_complete/on_trial_error before it changes the trial's status, so
        without `ending` the last line of a search would still show that trial as running. The
        state part decides whether a line is new; the timing part (elapsed, ETA) never does.
        """
        counts = self._counts(trials, ending)
        done, failed, running = counts[FINISHED], counts[FAILED], counts["RUNNING"]
        best = "-" if self.best is None else f"{self.best:.4f}"
        if self.best_params:
            best += f" ({_params_text(self.best_params)})"
        others = "".join(
            f", best {metric} " + (f"{self.other_bests[metric]:.4f}" if metric in self.other_bests else "-")
            for metric, _ in self.others
        )
        state = (
            f"{done + failed}/{self.total} finished ({done} ok, {failed} failed), {running} running, "
            f"best {self.metric} {best}{others}"
        )
        now = time.monotonic()
        finished = done + failed
        running_for = now - (self.first_start if self.first_start is not None else self.started)
        eta = _clock(running_for / finished * max(self.total - finished, 0)) if finished else "-"
        return state, f"{_clock(now - self.started)} elapsed, ETA {eta}"

    def status_line(self, trials: list, ending: tuple[Any, str] | None = None) -> str:
        """The plain progress line: `[label] <state>, <elapsed>, <ETA>`."""
        state, timing = self.status(trials, ending)
        head, _, best = state.partition(", best ")
        return f"[{self.label}] {head}, {timing}, best {best}"

    def _counts(self, trials: list, ending: tuple[Any, str] | None) -> Counter:
        """Trials by outcome, `ending` applied: the settled prefix's counts plus a scan of the rest."""
        counts = self._settled.advance(trials, ending[0] if ending else None).copy()
        counts.update(_states(trials[self._settled.length :], ending))
        return counts

    def _record(self, trial: Any, result: dict) -> None:
        value = result.get(self.metric)
        improved = _better(self.best, value, self.mode)
        if improved is not None and improved != self.best:
            self.best = improved
            self.best_params = dict(getattr(trial, "config", None) or {})
            self.best_params.pop(CARRIED_TRIAL, None)
        for metric, mode in self.others:
            best = _better(self.other_bests.get(metric), result.get(metric), mode)
            if best is not None:
                self.other_bests[metric] = best

    def _show(self, trials: list, ending: tuple[Any, str] | None = None) -> None:
        state, timing = self.status(trials, ending)
        if state == self._last_state:
            return
        self._last_state = state
        if not self.use_bar:
            print(self.status_line(trials, ending), file=self.stream, flush=True)
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=self.label, file=self.stream, dynamic_ncols=True)
        counts = self._counts(trials, ending)
        self._bar.n = counts[FINISHED] + counts[FAILED]
        self._bar.set_postfix_str(state.split(", ", 2)[-1], refresh=False)
        self._bar.refresh()


# A per-layer search samples dozens of parameters; a status line shows the first few.
MAX_PARAMS_SHOWN = 6


def _params_text(params: dict[str, Any]) -> str:
    shown = [f"{k}={_short(v)}" for k, v in list(params.items())[:MAX_PARAMS_SHOWN]]
    hidden = len(params) - MAX_PARAMS_SHOWN
    return ", ".join(shown) + (f", +{hidden} more" if hidden > 0 else "")


def _clock(seconds: float) -> str:
    """h:mm:ss, or m:ss under an hour."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class _SettledPrefix:
    """Outcome counts of the longest run of settled (finished or failed) trials at the list's front.

    Tune passes every callback its whole trial list, append-only in creation order, and a trial
    that is TERMINATED or ERROR stays so for the rest of the run (a retried trial goes back to
    PENDING instead of ERROR). Counting every trial at every event made a search's progress lines
    cost O(trials^2): 1 s of driver CPU at 1,000 trials, 100 s at 10,000. Counting the settled
    prefix once leaves each event a scan of the trials after it, about the running ones.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.length = 0
        self.counts: Counter = Counter()
        self._last: Any = None  # the prefix's last trial: a different list starts the count over

    def advance(self, trials: list, ending: Any) -> Counter:
        """Extend the prefix over newly settled trials (never `ending`, still RUNNING); its counts."""
        if self.length > len(trials) or (self.length and trials[self.length - 1] is not self._last):
            self._reset()
        while self.length < len(trials):
            trial = trials[self.length]
            if trial is ending or trial.status not in (FINISHED, FAILED):
                break
            self.counts[_outcome(trial, trial.status)] += 1
            self._last = trial
            self.length += 1
        return self.counts


def _states(trials: list, ending: tuple[Any, str] | None) -> list[str]:
    """Each trial's status, with `ending` applied and reported failures counted as errors."""
    return [_outcome(t, ending[1] if ending and t is ending[0] else t.status) for t in trials]


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
