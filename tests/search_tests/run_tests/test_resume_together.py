"""Searches that share one Tuner (search/run/searches_together.py) resume per search after a SIGKILL.

A real `adls run lab3-precisions` (13 searches of 2 trials, one Tuner) is killed once several
trials finished; the rerun keeps every finished trial, runs only what each search lacks, numbers
each search's trials from 0, and each search's own Optuna study ends with exactly its trials.
"""

from pathlib import Path

import optuna
import pytest

from search.options import RunOptions
from search.run.searches_together import GROUP_FOLDER
from search.runner import run
from tests.killed_driver import finished_trials, sigkill_driver, start_driver, wait_until

pytestmark = pytest.mark.reliability

SMOKE = ("--profile", "smoke", "--dataset", "synthetic")


def test_sigkill_then_rerun_keeps_each_searchs_finished_trials(ray_session, tmp_path: Path):
    group = tmp_path / "lab3-precisions" / "tune" / GROUP_FOLDER
    driver = start_driver(tmp_path, "lab3-precisions", *SMOKE)
    try:
        wait_until(driver, lambda: len(finished_trials(group)) >= 5, "5 finished lab3-precisions trials")
    finally:
        left = sigkill_driver(driver)
    assert left == [], f"Ray processes left after the driver died: {[p.pid for p in left]}"
    kept = finished_trials(group)
    assert 5 <= len(kept) < 26

    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    table = run("lab3-precisions", options)["lab3-precisions"]
    assert len(table) == 26 and (table["status"] == "TERMINATED").all()
    for variant, rows in table.groupby("variant"):
        assert sorted(rows["trial_index"]) == [0, 1], variant
    durations = dict(zip(table["trial_id"], table["duration_s"], strict=True))
    for trial_id, seconds in kept.items():
        assert durations.get(trial_id) == pytest.approx(seconds), f"finished trial {trial_id} was rerun"
    folders = {p.name for p in group.iterdir() if p.is_dir()}
    assert folders == {Path(path).name for path in table["trial_path"]}  # no orphan trial folders
    url = f"sqlite:///{tmp_path / 'lab3-precisions' / 'optuna.db'}"
    for study_name, rows in table.groupby("optuna_study"):
        study = optuna.load_study(study_name=study_name, storage=url)
        complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        assert sorted(t.user_attrs["tune_trial_id"] for t in complete) == sorted(rows["trial_id"])
