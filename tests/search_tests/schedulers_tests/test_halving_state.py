"""--scheduler sha keeps its batches on storage; a new driver's scheduler starts from them (no Ray needed)."""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.run.halving_resume import kept_folders, plan_resume
from search.run.resume import InterruptedSearch
from search.schedulers.halving_state import STATE_FILE, HalvingState, read_state, state_location
from search.schedulers.sync_halving import SynchronousHalving
from tests.search_tests.schedulers_tests.test_sync_halving import Controller, FakeTrial, halving
from trainables.train_snapshot import SNAPSHOT_FILE
from trainables.trial_keys import CARRIED_TRIAL


def trial(tid: str, carried: dict | None = None, **config) -> FakeTrial:
    if carried is not None:
        config[CARRIED_TRIAL] = carried
    return FakeTrial(trial_id=tid, status="RUNNING", config=config, path=f"/tune/grid/t_{tid}_1_x")


def at_rung(scheduler: SynchronousHalving, controller, item: FakeTrial, loss: float) -> str:
    action = scheduler.on_trial_result(
        controller, item, {"epoch": 0.25, "eval_loss": loss, "time_total_s": 3.0}
    )
    item.status = {"PAUSE": "PAUSED", "STOP": "TERMINATED"}.get(action, item.status)
    return action


def test_the_state_is_rewritten_after_every_change_and_reads_back_whole(tmp_path):
    location = state_location(str(tmp_path))
    scheduler = halving(4)
    scheduler.keep_state(location)
    trials = [trial(str(i), width=8 * (i + 1)) for i in range(4)]
    controller = Controller(trials, finished=False)
    controller.scheduler = scheduler
    for item in trials:
        scheduler.on_trial_add(controller, item)
    for item, loss in zip(trials[:2], (0.3, 0.1), strict=True):
        assert at_rung(scheduler, controller, item, loss) == "PAUSE"
    state = read_state(location)
    [batch] = state.batches
    assert (
        batch.trial_ids == ["0", "1", "2", "3"] and batch.scores == {"0": 0.3, "1": 0.1} and not batch.decided
    )
    assert state.records["1"].params == {"width": 16} and state.records["1"].folder == "t_1_1_x"
    assert (
        state.records["1"].report == {"epoch": 0.25, "eval_loss": 0.1} and state.records["1"].seconds == 3.0
    )
    for item, loss in zip(trials[2:], (0.4, 0.2), strict=True):
        at_rung(scheduler, controller, item, loss)
    [batch] = read_state(location).batches
    assert batch.winners == ["1"] and sorted(batch.losers) == ["0", "2", "3"]
    assert not list(tmp_path.glob("*.tmp-*"))  # written as a temp file renamed over the old one


# Writes ever larger states at `argv[1]` until killed.
WRITER = """
import sys
from search.schedulers.halving_state import Batch, HalvingState, TrialRecord, write_state
records = {}
for n in range(100000):
    records[str(n)] = TrialRecord(str(n), "t_%d" % n, {"width": n, "pad": "x" * 2000})
    write_state(sys.argv[1], HalvingState([Batch(size=4, trial_ids=list(records))], records))
    print(n, flush=True)
"""


def test_a_driver_killed_while_writing_leaves_a_readable_state(tmp_path):
    location = state_location(str(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, location], env=env, stdout=subprocess.PIPE)
    assert writer.stdout is not None
    writer.stdout.readline()  # the first state is written
    time.sleep(0.8)
    writer.kill()  # SIGKILL, most likely in the middle of a write of ~1 MB
    writer.wait()
    state = read_state(location)
    assert state is not None and len(state.records) >= 1  # whole: an earlier state, never half of one
    assert state.batches[0].trial_ids == list(state.records)
    assert not (tmp_path / f"{STATE_FILE}.broken").exists()


@pytest.mark.parametrize(
    "text", ["{not json", "[]", '{"version": 1, "batches": [{"size": 4}], "records": {}}']
)
def test_an_unreadable_state_is_moved_aside_with_a_warning(tmp_path, caplog, text):
    (tmp_path / STATE_FILE).write_text(text)
    with caplog.at_level(logging.WARNING):
        assert read_state(state_location(str(tmp_path))) is None
    assert (tmp_path / f"{STATE_FILE}.broken").read_text() == text
    assert not (tmp_path / STATE_FILE).exists()
    assert "judged again" in caplog.text and str(tmp_path / STATE_FILE) in caplog.text


def _dead_driver_state() -> HalvingState:
    """Batch 0 decided (a won, b c d lost; a still training), batch 1 open: e paused, f running."""
    scheduler = halving(6)
    trials = [trial(tid, width=i) for i, tid in enumerate("abcdef")]
    controller = Controller(trials, finished=False)
    controller.scheduler = scheduler
    for item in trials:
        scheduler.on_trial_add(controller, item)
    for item, loss in zip(trials[:5], (0.1, 0.5, 0.6, 0.7, 0.2), strict=True):
        at_rung(scheduler, controller, item, loss)
    return HalvingState.from_json(json.loads(json.dumps(scheduler.state().to_json())))


def _trial_folder(root, name: str, snapshot: bool) -> None:
    checkpoint = root / name / "checkpoint_000000"
    checkpoint.mkdir(parents=True)
    if snapshot:
        (checkpoint / SNAPSHOT_FILE).write_bytes(b"snapshot")


def test_a_new_driver_keeps_the_verdict_and_carries_the_paused_trials(tmp_path):
    state = _dead_driver_state()
    tune = tmp_path / "grid"
    aside = tmp_path / "grid.interrupted"
    for tid in "bcd":  # the losers stay where they are
        _trial_folder(tune, f"t_{tid}_1_x", snapshot=True)
    for tid in "aef":  # resume.py moved the unfinished trials aside
        _trial_folder(aside, f"t_{tid}_1_x", snapshot=tid != "f")
    assert kept_folders(state) == {"t_b_1_x", "t_c_1_x", "t_d_1_x"}
    plan = plan_resume(state, InterruptedSearch([], str(aside)), str(tune))
    assert [r.trial_id for r in plan.stopped] == ["b", "c", "d"]
    assert plan.carried_ids == ["a", "e"]  # the winner going on first, then the paused trial
    params, marker = plan.carried[1]
    assert params == {"width": 4} and marker["report"]["eval_loss"] == 0.2
    assert marker["snapshot"] == str(aside / "t_e_1_x" / "checkpoint_000000")
    assert plan.state.batches[1].trial_ids == ["e"] and plan.state.batches[1].size == 2  # f's place is free
    rows = plan.rows({"variant": "grid"}, [0.245])
    assert [(r["trial_id"], r["status"], r["rung"], r["eval_loss"]) for r in rows] == [
        ("b", "STOPPED", 0, 0.5),
        ("c", "STOPPED", 0, 0.6),
        ("d", "STOPPED", 0, 0.7),
    ]
    assert sorted(plan.stopped_snapshots()) == [str(tune / f"t_{t}_1_x" / "checkpoint_000000") for t in "bcd"]

    # The new driver's scheduler: a's successor goes on unjudged, e's takes e's place and score.
    scheduler = halving(3)  # a, e carried and one new trial in f's place
    scheduler.keep_state(str(tmp_path / STATE_FILE), plan.state, plan.carried_ids)
    new = [trial("A", carried=plan.carried[0][1]), trial("E", carried=plan.carried[1][1]), trial("G")]
    controller = Controller(new, finished=False)
    controller.scheduler = scheduler
    for item in new:
        scheduler.on_trial_add(controller, item)
    assert [b.trial_ids for b in scheduler.batches] == [["A", "b", "c", "d"], ["E", "G"]]
    assert scheduler.on_trial_result(controller, new[0], {"epoch": 0.25, "eval_loss": 0.1}) == "CONTINUE"
    assert at_rung(scheduler, controller, new[1], 0.2) == "PAUSE"  # its rung report again
    assert at_rung(scheduler, controller, new[2], 0.3) == "STOP"  # completes the batch: E won
    assert scheduler.batches[1].winners == ["E"] and scheduler.stopped == {"G"}
    assert scheduler.choose_trial_to_run(controller) is new[1]
    stored = read_state(str(tmp_path / STATE_FILE))
    assert (
        stored.records["E"].carried_from["trial_id"] == "e" and stored.records["E"].report["eval_loss"] == 0.2
    )
    assert stored.batches[0].losers == ["b", "c", "d"] and stored.batches[0].winners == ["A"]


def test_a_carried_trial_whose_batch_is_decided_before_it_arrives_gets_the_verdict(tmp_path):
    state = _dead_driver_state()
    aside = tmp_path / "grid.interrupted"
    for tid in "ae":
        _trial_folder(aside, f"t_{tid}_1_x", snapshot=True)
    plan = plan_resume(state, InterruptedSearch([], str(aside)), str(tmp_path / "grid"))
    assert plan.stopped == []  # the losers' folders are gone: they run again as new trials
    scheduler = halving(5)
    scheduler.keep_state(str(tmp_path / STATE_FILE), plan.state, plan.carried_ids)
    fresh = trial("G")
    controller = Controller([fresh], finished=False)
    controller.scheduler = scheduler
    scheduler.on_trial_add(controller, fresh)  # takes f's free place; e's successor is not there yet
    assert at_rung(scheduler, controller, fresh, 0.05) == "CONTINUE"  # decides: G beats e
    late = trial("E", carried=plan.carried[1][1])
    controller.trials.append(late)
    scheduler.on_trial_add(controller, late)
    assert at_rung(scheduler, controller, late, 0.2) == "STOP" and "E" in scheduler.stopped
