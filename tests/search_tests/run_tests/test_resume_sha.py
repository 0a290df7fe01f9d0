"""A `--scheduler sha` search whose driver is SIGKILLed while trials pause at the rung goes on from its batches.

`adls run lab2-nas --scheduler sha --budget 6` (smoke, synthetic data) runs as a real process: its
grid search has a batch of 4 and a last batch of 2. The test watches the search's stored state
(search/schedulers/halving_state.py) and kills the driver once the first batch is decided and a
trial of the second is paused at the rung; the same command then runs again in this process.
"""

import json
from pathlib import Path

import pytest

from search.options import RunOptions
from search.runner import run
from search.schedulers.halving_state import STATE_FILE
from tests.killed_driver import finished_trials, sigkill_driver, start_driver, wait_until
from trainables.train_snapshot import SNAPSHOT_FILE, load_snapshot
from trainables.trial_keys import CARRIED_FROM

pytestmark = pytest.mark.reliability

BUDGET = 6  # per search: batches of 4 and 2, one winner each


def _state(tune_dir: Path) -> dict | None:
    try:  # written as a temp file renamed over the old one: whole or absent
        return json.loads((tune_dir / STATE_FILE).read_text())
    except FileNotFoundError:
        return None


def _paused_after_a_decision(tune_dir: Path) -> bool:
    """The first batch is decided and a trial of a later, open batch has its rung score (it is paused)."""
    state = _state(tune_dir)
    if not state or len(state["batches"]) < 2:
        return False
    first, last = state["batches"][0], state["batches"][-1]
    return first["winners"] is not None and last["winners"] is None and bool(last["scores"])


def _snapshot_steps(tune_dir: Path, folders: dict[str, str]) -> dict[str, int]:
    """{trial id: the step of the training snapshot in its folder}."""
    steps = {}
    for trial_id, folder in folders.items():
        [snapshot] = (tune_dir / folder).glob(f"checkpoint_*/{SNAPSHOT_FILE}")
        steps[trial_id] = load_snapshot(snapshot.parent).step
    return steps


def test_sigkill_while_trials_pause_at_the_rung_continues_their_batch(ray_session, tmp_path):
    argv = ["lab2-nas", "--profile", "smoke", "--dataset", "synthetic", "--scheduler", "sha"]
    argv += ["--budget", str(BUDGET)]
    tune_dir = tmp_path / "lab2-nas" / "tune" / "grid"
    driver = start_driver(tmp_path, *argv)
    try:
        wait_until(driver, lambda: _paused_after_a_decision(tune_dir), "a paused trial after a decided batch")
    finally:
        left = sigkill_driver(driver)
    assert left == [], f"Ray processes left after the driver died: {[p.pid for p in left]}"

    before = _state(tune_dir)
    decided, open_batch = before["batches"][0], before["batches"][-1]
    assert open_batch["winners"] is None and open_batch["scores"], (
        "the batch was decided before the kill landed"
    )
    paused = dict(open_batch["scores"])
    folders = {tid: before["records"][tid]["folder"] for tid in paused}
    snapshot_steps = _snapshot_steps(tune_dir, folders)
    kept = finished_trials(tune_dir)

    options = RunOptions(
        profile_name="smoke", dataset="synthetic", scheduler="sha", budget=BUDGET, storage=str(tmp_path)
    )
    table = run("lab2-nas", options)["lab2-nas"]
    grid = table[table["variant"] == "grid"].set_index("trial_id", drop=False)

    # Every trial once: six distinct grid points, one winner per batch, the rest stopped at the rung.
    assert len(grid) == BUDGET and grid["params"].notna().all() and grid["params"].nunique() == BUDGET
    assert sorted(grid["status"]) == ["STOPPED"] * 4 + ["TERMINATED"] * 2
    for trial_id, seconds in kept.items():  # finished before the kill: kept, not run again
        assert grid.loc[trial_id, "duration_s"] == pytest.approx(seconds)

    # The decided batch was not judged again: its losers are STOPPED rows of their own, with the
    # scores they were ranked by; its winner finished (itself, or carried on from its snapshot).
    for loser in decided["losers"]:
        assert grid.loc[loser, "status"] == "STOPPED"
        assert grid.loc[loser, "eval_loss"] == pytest.approx(decided["scores"][loser])
    [winner] = decided["winners"]
    carried = grid[grid[CARRIED_FROM].notna()] if CARRIED_FROM in grid else grid.iloc[:0]
    finisher = grid.loc[winner] if winner in grid.index else carried[carried[CARRIED_FROM] == winner].iloc[0]
    assert finisher["status"] == "TERMINATED"

    # The paused trials went on from their snapshots, with the scores they had: a winner trained
    # only the steps after its snapshot, a loser not one step more.
    for old_id, score in paused.items():
        [row] = [r for _, r in carried.iterrows() if r[CARRIED_FROM] == old_id]
        assert row["eval_loss"] == pytest.approx(score) or row["status"] == "TERMINATED"
        if row["status"] == "TERMINATED":
            assert row["train_start_step"] == snapshot_steps[old_id] > 0
            assert 0 < row["train_steps"] - row["train_start_step"] < row["train_steps"]
        else:
            assert row["status"] == "STOPPED" and row["epoch"] == before["records"][old_id]["report"]["epoch"]
    after = _state(tune_dir)
    assert after["batches"][0]["losers"] == decided["losers"]
    renamed = {r[CARRIED_FROM]: tid for tid, r in carried.iterrows()}
    last = after["batches"][-1]
    assert last["winners"] is not None and len(last["trial_ids"]) == open_batch["size"]
    for old_id, score in paused.items():  # in its batch, in its place, with its score
        assert last["scores"][renamed[old_id]] == pytest.approx(score)

    # The other searches ran whole; no trial folder is left without a row.
    assert sorted(table["variant"].value_counts().items()) == [("grid", 6), ("random", 6), ("tpe", 6)]
    folders_now = {p.name for p in tune_dir.iterdir() if p.is_dir()}
    assert folders_now == {Path(path).name for path in grid["trial_path"]}
