"""--scheduler sha: trials pause at the rung until their batch is complete; the best of each batch finishes."""

import json
import math
import os
import tempfile
import time
from types import SimpleNamespace

import pytest
from ray import tune

from search.options import RunOptions
from search.schedulers.early_stopping import SHA_BATCH, early_stopping
from search.schedulers.sync_halving import Batch, SynchronousHalving

RUNG = 0.25 * 0.98
REPORTS = 3  # progress reports at 1/4, 2/4 and 3/4 of the trial


@pytest.fixture(autouse=True)
def lenient_metrics(monkeypatch):
    """As search/runner.py sets it: a trial's final result carries no eval_loss, and Tune must not mind."""
    monkeypatch.setenv("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")


def stepped_trial(config: dict) -> None:
    """Reports progress at k/4 with a checkpoint of k; resumes after the last checkpoint it is given."""
    case = config["case"]
    if case["fail"]:
        raise RuntimeError("this trial fails before the rung")
    resumed_from = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder, open(os.path.join(folder, "progress.json")) as file:
            resumed_from = json.load(file)["step"]
    seen = {"resumed_from": resumed_from, "pid": os.getpid()}
    for step in range((resumed_from or 0) + 1, REPORTS + 1):
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "progress.json"), "w") as file:
                json.dump({"step": step}, file)
            metrics = {"epoch": step / 4, "eval_loss": case["loss"], "step": step, **seen}
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
    tune.report({"accuracy": 1 - case["loss"], "step": REPORTS + 1, **seen})


def halving(num_trials: int) -> SynchronousHalving:
    """The scheduler under test: eval_loss at RUNG, batches of 4, the best 1 in 4 goes on."""
    return SynchronousHalving(
        time_attr="epoch",
        metric="eval_loss",
        mode="min",
        rung=RUNG,
        reduction_factor=4,
        batch_size=4,
        num_trials=num_trials,
    )


def search(cases: list[dict], tmp_path, reuse_actors=False, max_failures=0, num_trials=None):
    """A real Tuner over `cases` in order, four at a time; the scheduler, the results, the seconds."""
    scheduler = halving(num_trials or len(cases))
    tuner = tune.Tuner(
        stepped_trial,
        param_space={"case": tune.grid_search(cases)},
        tune_config=tune.TuneConfig(
            scheduler=scheduler, max_concurrent_trials=4, reuse_actors=reuse_actors, time_budget_s=120
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path),
            failure_config=tune.FailureConfig(max_failures=max_failures),
            verbose=0,
        ),
    )
    start = time.monotonic()
    grid = tuner.fit()
    return scheduler, list(grid), time.monotonic() - start


# The config is nested under "case" so that grid_search keeps one trial per case, in order.
def cases(losses: list[float], failing: int | None = None) -> list[dict]:
    return [{"loss": loss, "fail": index == failing} for index, loss in enumerate(losses)]


def trial_id(results, loss: float) -> str:
    [tid] = [r.metrics["trial_id"] for r in results if loss_of(r) == loss]
    return tid


def loss_of(result) -> float:
    return result.config["case"]["loss"]


def check_halving(scheduler, results, losses: list[float], winners: set[float]) -> None:
    """The best of each batch finished, resumed from its rung checkpoint; every other trial stopped at the rung."""
    by_id = {result.metrics["trial_id"]: result for result in results}
    assert [[loss_of(by_id[tid]) for tid in batch.trial_ids] for batch in scheduler.batches] == [
        losses[i : i + 4] for i in range(0, len(losses), 4)
    ]
    finished = {loss_of(r) for r in results if "accuracy" in r.metrics}
    assert finished == winners, scheduler.debug_string()
    for result in results:
        tid = result.metrics["trial_id"]
        if loss_of(result) in winners:
            assert tid not in scheduler.stopped
            # Resumed from the checkpoint of its rung report, not run again from the start; the
            # trial whose rung report decided its batch was never paused.
            decider = any(batch.decided_by == tid for batch in scheduler.batches)
            assert result.metrics["resumed_from"] == (None if decider else 1)
            assert result.metrics["step"] == REPORTS + 1
            assert result.checkpoint is not None
        else:
            assert tid in scheduler.stopped
            assert result.metrics["step"] == 1 and result.metrics["epoch"] == 0.25
            assert result.metrics["resumed_from"] is None and "accuracy" not in result.metrics
    assert len(scheduler.stopped) == len(losses) - len(winners)


def test_eight_trials_two_batches_of_four_the_best_of_each_finishes(ray_session, tmp_path):
    losses = [0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.1, 0.7]
    scheduler, results, seconds = search(cases(losses), tmp_path)
    assert seconds < 100
    # On 2 CPUs trials 2 and 3 start once 0 and 1 pause: batch 0's winner (trial 1) was paused and resumed.
    assert scheduler.batches[0].decided_by != trial_id(results, 0.2)
    check_halving(scheduler, results, losses, winners={0.2, 0.1})
    assert scheduler.debug_string().endswith("#0 4/4: 1 go on, 3 stopped\n  #1 4/4: 1 go on, 3 stopped")


def test_a_last_short_batch_keeps_one_and_reused_actors_resume_too(ray_session, tmp_path):
    losses = [0.4, 0.3, 0.6, 0.5, 0.9, 0.8]
    scheduler, results, seconds = search(cases(losses), tmp_path, reuse_actors=True)
    assert [batch.size for batch in scheduler.batches] == [4, 2]
    assert scheduler.batches[0].decided_by != trial_id(results, 0.3)
    check_halving(scheduler, results, losses, winners={0.3, 0.8})


def test_a_search_that_ends_short_of_num_trials_decides_its_last_batch(ray_session, tmp_path):
    # The scheduler was told 8, the grid has 6: the last batch's paused trials must not wait forever.
    losses = [0.4, 0.3, 0.6, 0.5, 0.9, 0.8]
    scheduler, results, seconds = search(cases(losses), tmp_path, reuse_actors=True, num_trials=8)
    assert seconds < 100, "the last batch waited until Tune's time budget"
    assert [batch.size for batch in scheduler.batches] == [4, 2]  # 4 expected, closed with 2
    check_halving(scheduler, results, losses, winners={0.3, 0.8})


def test_a_trial_that_fails_before_the_rung_leaves_its_batch_without_a_hang(ray_session, tmp_path):
    # It fails, Tune retries it once (on_trial_error, then on_trial_add again), it fails again.
    losses = [0.4, 0.7, 0.2, 0.5]
    scheduler, results, seconds = search(cases(losses, failing=2), tmp_path, max_failures=1)
    assert seconds < 100, "the batch waited for the failed trial until Tune's time budget"
    errored = [r for r in results if r.error is not None]
    assert [loss_of(r) for r in errored] == [0.2]
    [batch] = scheduler.batches
    assert len(batch.trial_ids) == 4 and len(batch.scores) == 3 and len(batch.ended) == 1
    # 3 scored: ceil(3 / 4) = 1 goes on, the best of those that reached the rung.
    assert {loss_of(r) for r in results if "accuracy" in r.metrics} == {0.4}
    assert len(scheduler.stopped) == 2


# --- bookkeeping without Ray ---------------------------------------------------------------------


def test_a_batch_keeps_the_best_quarter_rounded_up_and_ranks_nan_last():
    batch = Batch(size=5, trial_ids=list("abcde"), scores={"a": 0.3, "b": math.nan, "c": 0.1, "d": 0.2})
    batch.ended.add("e")
    assert batch.ready()
    batch.decide("min", 4)
    assert batch.winners == ["c"] and batch.losers == ["d", "a", "b"]
    batch = Batch(size=3, trial_ids=list("abc"), scores={"a": 0.5, "b": 0.9, "c": 0.9})
    batch.decide("max", 2)
    assert batch.winners == ["b", "c"] and batch.losers == ["a"]
    assert not Batch(size=2, trial_ids=["a"], scores={"a": 1.0}).ready()


class FakeTrial(SimpleNamespace):
    is_saving = False
    config: dict = {}
    path = None  # Tune names the folder when the trial starts


class Controller:
    """The two things the scheduler asks of Tune's controller, recorded."""

    def __init__(self, trials: list, finished: bool) -> None:
        self.trials, self.stopped, self.scheduler = trials, [], None
        self.search_alg = SimpleNamespace(is_finished=lambda: finished)

    def get_trials(self) -> list:
        return self.trials

    def stop_trial(self, trial) -> None:
        # As Tune does: a paused trial it stops is reported to the scheduler as removed.
        self.stopped.append(trial.trial_id)
        self.scheduler.on_trial_remove(self, trial)
        trial.status = "TERMINATED"


def scheduler_with(trials: list, num_trials: int) -> SynchronousHalving:
    scheduler = halving(num_trials)
    for trial in trials:
        scheduler.on_trial_add(None, trial)
    return scheduler


def test_the_result_that_completes_a_batch_decides_it():
    trials = [FakeTrial(trial_id=str(i), status="RUNNING") for i in range(4)]
    scheduler = scheduler_with(trials, 4)
    controller = Controller(trials, finished=True)
    controller.scheduler = scheduler
    assert scheduler.on_trial_result(controller, trials[0], {"epoch": 0.1, "eval_loss": 0.0}) == "CONTINUE"
    assert scheduler.on_trial_result(controller, trials[0], {"eval_loss": 0.0}) == "CONTINUE"
    for trial, loss in zip(trials[:3], (0.3, 0.1, 0.2), strict=True):
        assert scheduler.on_trial_result(controller, trial, {"epoch": 0.25, "eval_loss": loss}) == "PAUSE"
        trial.status = "PAUSED"
    assert scheduler.choose_trial_to_run(controller) is None  # trial 3 still runs: nothing to resume
    assert scheduler.on_trial_result(controller, trials[3], {"epoch": 0.25, "eval_loss": 0.4}) == "STOP"
    assert controller.stopped == ["2", "0"] and scheduler.stopped == {"0", "2", "3"}
    assert scheduler.choose_trial_to_run(controller) is trials[1]
    trials[1].status = "RUNNING"
    assert scheduler.on_trial_result(controller, trials[1], {"epoch": 0.5, "eval_loss": 0.1}) == "CONTINUE"


def test_a_searcher_that_ends_early_does_not_leave_a_batch_paused():
    # num_trials says 8, the searcher stopped after 6: the second batch of 2 is decided when idle.
    trials = [FakeTrial(trial_id=str(i), status="RUNNING") for i in range(6)]
    scheduler = scheduler_with(trials, 8)
    controller = Controller(trials, finished=True)
    controller.scheduler = scheduler
    for trial, loss in zip(trials, (0.4, 0.3, 0.2, 0.1, 0.6, 0.5), strict=True):
        scheduler.on_trial_result(controller, trial, {"epoch": 0.3, "eval_loss": loss})
        trial.status = "PAUSED" if trial.trial_id != "3" else "RUNNING"
    assert scheduler.choose_trial_to_run(controller) is None  # trial 3, the winner of batch 0, runs
    scheduler.on_trial_complete(controller, trials[3], {})
    trials[3].status = "TERMINATED"
    assert scheduler.choose_trial_to_run(controller) is trials[5]
    assert sorted(scheduler.stopped) == ["0", "1", "2", "4"]


def test_make_scheduler_sha_ranks_eval_loss_at_a_quarter_of_the_trial():
    plan = early_stopping("sha", 2.0, num_trials=6)
    scheduler = plan.scheduler
    assert (
        isinstance(scheduler, SynchronousHalving)
        and early_stopping("sha", None, num_trials=6).scheduler is None
    )
    assert plan.pause_epochs == plan.rungs[:1] and plan.concurrency(1) == SHA_BATCH
    trials = [FakeTrial(trial_id=str(i), status="RUNNING") for i in range(6)]
    for trial in trials:
        scheduler.on_trial_add(None, trial)
    assert [batch.size for batch in scheduler.batches] == [4, 2]
    # The rung: 2 epochs x 1/4 x 0.98 = 0.49.
    assert scheduler.on_trial_result(None, trials[0], {"epoch": 0.48, "eval_loss": 0.1}) == "CONTINUE"
    assert scheduler.on_trial_result(None, trials[0], {"epoch": 0.49, "eval_loss": 0.1}) == "PAUSE"
    RunOptions(scheduler="sha").validate()
