"""SynchronousHalving: a Tune scheduler that ranks trials in batches at one rung and finishes the best.

Trials join batches of `batch_size` in the order Tune adds them. A trial's first report at or past
the rung (with the metric) gives its score and PAUSEs it: Tune saves the trial's last reported
checkpoint and frees its resources. When every trial of the batch has a score or has ended before
the rung, the best ceil(n_scored / reduction_factor) go on (Tune restarts a paused winner from its
checkpoint when `choose_trial_to_run` returns it) and the rest are stopped. search/schedulers/early_stopping.py
says why this and not ASHA.

Semantics taken from Ray 2.60's HyperBandScheduler and TuneController (read, not copied): a PAUSE
decision makes the controller call the trainable's `save` (a function trainable returns its last
reported checkpoint) and then mark the trial PAUSED; a PAUSED trial that `choose_trial_to_run`
returns is set PENDING and restored from that checkpoint on its new actor; `stop_trial` on a PAUSED
trial calls our `on_trial_remove`, on a RUNNING one our `on_trial_complete`. A trial that fails and
is retried (FailureConfig.max_failures) gets `on_trial_error` while already marked ERROR and is then
added again with `on_trial_add`: it keeps its batch.

With `keep_state(location)` the batches and each trial's folder, params and rung report are
rewritten to `location` at every rung score, verdict and carried trial (search/schedulers/halving_state.py), and a new driver
starts from a dead one's (search/run/halving_resume.py): a trial whose config carries
CARRIED_TRIAL takes the place, score and verdict of the trial it continues.
"""

import logging
import os
from collections.abc import Collection
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler

from search.schedulers.halving_state import (
    TUNE_RESULT_KEYS,
    Batch,
    HalvingState,
    TrialRecord,
    write_state,
)
from trainables.trial_keys import CARRIED_TRIAL

logger = logging.getLogger(__name__)


class SynchronousHalving(FIFOScheduler):
    """Pauses each trial at the rung until its batch is complete, then lets the best of the batch finish.

    `stopped` holds the ids of the trials it stopped (the results table marks them STOPPED). Tune's
    `max_concurrent_trials` must be >= `batch_size`: the searcher's concurrency limit counts paused
    trials as live, so with fewer slots a batch could never fill (a batch that cannot fill is
    decided with the trials it has, with a warning, rather than hang).
    """

    def __init__(
        self,
        *,
        time_attr: str,
        metric: str,
        mode: str,
        rung: float,
        reduction_factor: int,
        batch_size: int,
        num_trials: int,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        if reduction_factor < 1 or batch_size < 1 or num_trials < 0:
            raise ValueError("reduction_factor and batch_size must be >= 1 and num_trials >= 0")
        super().__init__()
        self._time_attr = time_attr
        self._metric = metric
        self._mode = mode
        self._rung = rung
        self._reduction_factor = reduction_factor
        self._batch_size = batch_size
        self._num_trials = num_trials
        self.stopped: set[str] = set()
        self.batches: list[Batch] = []
        self._batch_of: dict[str, Batch] = {}
        self._trials: dict[str, Trial] = {}  # every trial added, in the order added
        self._promoted: set[str] = set()
        self._records: dict[str, TrialRecord] = {}
        self._state_location: str | None = None
        # Trials of a dead driver that a carried trial of this one will replace (keep_state).
        self._awaiting: set[str] = set()

    def keep_state(
        self, location: str, restored: HalvingState | None = None, carried: Collection[str] = ()
    ) -> None:
        """Write the batches to `location` as they change; start from `restored` (a dead driver's).

        `restored` holds the dead driver's batches as search/run/halving_resume.py left them: decided
        ones whole, open ones with the trials that go on (`carried`, the ids of that driver's trials)
        and room for new ones. A trial whose config carries CARRIED_TRIAL takes its trial's place: its
        score, or its verdict when the batch was decided (a winner goes on, a loser is stopped).
        """
        self._state_location = location
        if restored is None:
            return
        self.batches = restored.batches
        self._records = restored.records
        self._batch_of = {tid: batch for batch in self.batches for tid in batch.trial_ids}
        self._promoted = {tid for batch in self.batches for tid in batch.winners or ()}
        self._awaiting = set(carried)
        self._save()

    def state(self) -> HalvingState:
        """The batches and trial records as they are now (what keep_state writes)."""
        for tid, record in self._records.items():
            if not record.folder and tid in self._trials:  # Tune names the folder when the trial starts
                record.folder = _folder(self._trials[tid])
        return HalvingState(self.batches, self._records)

    def _save(self) -> None:
        if self._state_location is not None:
            write_state(self._state_location, self.state())

    # --- bookkeeping -------------------------------------------------------------------------

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        tid = trial.trial_id
        if tid in self._batch_of:  # a failed trial Tune retries comes back: same batch
            return
        config = dict(trial.config or {})
        carried = config.pop(CARRIED_TRIAL, None)
        self._records[tid] = TrialRecord(tid, _folder(trial), config, carried_from=carried)
        self._trials[tid] = trial
        old = carried.get("trial_id") if isinstance(carried, dict) else None
        if old in self._awaiting:
            # Its rung report is the one it continues (reported again when it starts).
            self._records[tid].report = carried.get("report")
            self._records[tid].seconds = getattr(self._records.get(old), "seconds", None)
            self._carry(old, tid)
            self._save()  # a driver that dies before it reports still knows where it came from
        else:
            batch = next((b for b in self.batches if not b.decided and not b.full()), None)
            if batch is None:
                # The last batch has what is left (trials still to come, less the carried ones).
                left = self._num_trials - len(self._trials) + 1 - len(self._awaiting)
                batch = Batch(size=left if 0 < left < self._batch_size else self._batch_size)
                self.batches.append(batch)
            batch.trial_ids.append(tid)
            self._batch_of[tid] = batch
            # Not written yet: a new trial matters to a new driver once it has a rung score (one
            # write a trial at its rung, one a batch at its verdict, whatever the search's size).

    def _carry(self, old: str, new: str) -> None:
        """Trial `new` continues the dead driver's trial `old`: same batch, score and verdict."""
        self._awaiting.discard(old)
        batch = self._batch_of.pop(old)
        batch.rename(old, new)
        self._batch_of[new] = batch
        for ids in (self._promoted, self.stopped):
            if old in ids:
                ids.discard(old)
                ids.add(new)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        tid = trial.trial_id
        batch = self._batch_of.get(tid)
        if batch is None or tid in self._promoted:
            return self.CONTINUE
        progress = result.get(self._time_attr)
        if progress is None or progress != progress or progress < self._rung:
            return self.CONTINUE
        if batch.decided:  # not a winner, yet running (e.g. retried after its batch was decided)
            self.stopped.add(tid)
            return self.STOP
        score = result.get(self._metric)
        if score is None:
            return self.CONTINUE
        batch.scores.setdefault(tid, float(score))
        record = self._records.get(tid)
        if record is not None and record.report is None:
            record.report = {
                k: v
                for k, v in result.items()
                if k not in TUNE_RESULT_KEYS and isinstance(v, int | float | str | bool | None)
            }
            record.seconds = result.get("time_total_s")
        if not batch.ready():
            self._save()
            return self.PAUSE
        return self._decide(tune_controller, batch, current=trial)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self._ended(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        if trial.status == Trial.ERROR:
            # Tune retries it: it has marked it ERROR and will add it again (TuneController._requeue_trial).
            return
        self._ended(tune_controller, trial)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._ended(tune_controller, trial)

    def _ended(self, tune_controller: Any, trial: Trial) -> None:
        """The trial will not report again: without a rung score, its batch stops waiting for it."""
        tid = trial.trial_id
        self._promoted.discard(tid)
        batch = self._batch_of.get(tid)
        if batch is None or batch.decided or tid in batch.scores:
            return
        batch.ended.add(tid)
        if batch.ready():
            self._decide(tune_controller, batch, current=None)
        else:
            self._save()

    # --- the decision ------------------------------------------------------------------------

    def _decide(self, tune_controller: Any, batch: Batch, current: Trial | None) -> str:
        """Decide `batch`; stop its paused losers, queue its paused winners; the action for `current`."""
        batch.decide(self._mode, self._reduction_factor)
        batch.decided_by = current.trial_id if current is not None else None
        assert batch.winners is not None
        logger.info(
            "batch %d decided: %d of %d scored trials go on",
            self.batches.index(batch),
            len(batch.winners),
            len(batch.scores),
        )
        self._promoted.update(batch.winners)
        self.stopped.update(batch.losers)
        self._save()  # the verdict is on storage before any loser is stopped
        action = self.CONTINUE
        for tid in batch.losers:
            trial = self._trials.get(tid)  # None: a dead driver's trial, not (yet) carried over
            if current is not None and tid == current.trial_id:
                action = self.STOP
            elif trial is not None and (trial.status == Trial.PAUSED or trial.is_saving):
                # is_saving: its PAUSE is still being carried out (Tune stops it once saved).
                tune_controller.stop_trial(trial)
        return action

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        # Winners waiting at the rung first: they finish their batch and give the searcher a result.
        chosen = self._first_promoted_paused() or self._first_pending()
        if chosen is not None:
            return chosen
        self._unblock(tune_controller)
        return self._first_promoted_paused()

    def _first_promoted_paused(self) -> Trial | None:
        for tid, trial in self._trials.items():
            if tid in self._promoted and trial.status == Trial.PAUSED:
                return trial
        return None

    def _first_pending(self) -> Trial | None:
        for trial in self._trials.values():
            if trial.status == Trial.PENDING:
                return trial
        return None

    def _unblock(self, tune_controller: Any) -> None:
        """Nothing runs or waits to run: decide batches whose paused trials would otherwise wait forever.

        That happens when the searcher ends with fewer trials than `num_trials`, or when the
        concurrency limit (counting paused trials) is below the batch size.
        """
        if any(t.status in (Trial.RUNNING, Trial.PENDING) for t in tune_controller.get_trials()):
            return
        for batch in self.batches:
            waiting = [
                tid
                for tid in batch.trial_ids
                if tid in self._trials and self._trials[tid].status == Trial.PAUSED
            ]
            if batch.decided or not waiting:
                continue
            if not tune_controller.search_alg.is_finished():
                logger.warning(
                    "batch %d has %d of %d trials and no more can start: deciding it now "
                    "(max_concurrent_trials must be >= the batch size %d)",
                    self.batches.index(batch),
                    len(batch.trial_ids),
                    batch.size,
                    self._batch_size,
                )
            self._decide(tune_controller, batch, current=None)

    def debug_string(self) -> str:
        parts = []
        for index, batch in enumerate(self.batches):
            if batch.decided:
                verdict = f"{len(batch.winners or [])} go on, {len(batch.losers)} stopped"
            else:
                verdict = f"{len(batch.scores)} at the rung, {len(batch.ended)} ended"
            parts.append(f"#{index} {len(batch.trial_ids)}/{batch.size}: {verdict}")
        head = (
            f"SynchronousHalving: batches of {self._batch_size} ranked on {self._metric} ({self._mode}) "
            f"at {self._time_attr} {self._rung:g}, 1 in {self._reduction_factor} go on"
        )
        return head + ("\n  " + "\n  ".join(parts) if parts else "")


def _folder(trial: Trial) -> str:
    """The name of the trial's folder; "" until Tune has named it (when the trial first starts)."""
    try:
        return os.path.basename((trial.path or "").rstrip("/"))
    except (RuntimeError, ValueError):
        return ""
