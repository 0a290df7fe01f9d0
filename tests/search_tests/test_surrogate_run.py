"""--trial surrogate rehearses lab2-nas on the production path, and is never mistaken for real results."""

import json
from pathlib import Path

import optuna
import pytest

from errors import ConfigError
from search.options import RunOptions
from search.run_plan import RunPlan
from search.runner import run
from trainables.trials.surrogate import SURROGATE_FILE, surrogate_accuracy


def test_surrogate_search_writes_table_study_and_its_own_identity(ray_session, tmp_path):
    options = RunOptions(
        profile_name="smoke",
        dataset="synthetic",
        storage=str(tmp_path),
        trial="surrogate",
        surrogate_seconds=0.1,
        budget=6,
        max_concurrent=2,
        extra={"samplers": ("tpe",)},
    )
    table = run("lab2-nas", options)["lab2-nas"]

    assert len(table) == 6 and (table["status"] == "TERMINATED").all()
    assert table["surrogate"].all()
    # Each trial saved a small checkpoint (no model); the best one is kept (--keep-checkpoints 1).
    kept = table["checkpoint"].dropna()
    assert len(kept) == 1 and (Path(kept.iloc[0]) / SURROGATE_FILE).is_file()
    for row in table.to_dict("records"):
        assert row["accuracy"] == surrogate_accuracy(row)
    study = optuna.load_study(study_name="lab2-nas/tpe", storage=f"sqlite:///{tmp_path}/lab2-nas/optuna.db")
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 6
    identity = json.loads((tmp_path / "lab2-nas" / "run.json").read_text())["identity"]
    assert identity["trial"] == {"kind": "surrogate", "seconds": 0.1}
    # The same folder never passes for real lab2-nas results.
    real = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    assert not RunPlan(real).has_results("lab2-nas")


def test_surrogate_is_refused_for_experiments_without_one(tmp_path):
    with pytest.raises(ConfigError, match="lab1-qat has no surrogate trial"):
        run("lab1-qat", RunOptions(profile_name="smoke", storage=str(tmp_path), trial="surrogate"))
