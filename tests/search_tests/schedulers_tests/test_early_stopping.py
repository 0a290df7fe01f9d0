"""--scheduler asha/sha: trials stopped on their progress reports; the table keeps them as STOPPED."""

from pathlib import Path

import pytest
from ray import tune

from errors import ConfigError
from search.experiments.experiment import SearchVariant
from search.options import RunOptions
from search.run.tuner import run_variant
from search.runner import run
from search.schedulers.early_stopping import rung_reached, rungs
from search.study.samplers import TuneGridSampler
from trainables.train_loop import TrainSettings, progress_steps
from trainables.train_snapshot import SNAPSHOT_FILE
from trainables.trial_keys import RESULT_FILE
from trainables.trial_ref import TrialRef

# Early in a quick trial most models still answer the majority label: the progress accuracy ties.
MAJORITY = 0.5


def scripted_trial(config, ctx):
    """Reports at 1/4, 1/2 and 3/4 of one epoch: a tied accuracy and a loss of 1 - quality."""
    for epoch in (0.25, 0.5, 0.75):
        ctx.report_progress({"epoch": epoch, "eval_accuracy": MAJORITY, "eval_loss": 1 - config["quality"]})
    metrics = {"accuracy": config["quality"]}
    ctx.report(metrics)
    return metrics


def grid_of(param: str, values: list, trial_fn, epochs: float, **fields) -> SearchVariant:
    """A search that runs each of `values` of `param` once, in the grid's seeded order."""
    return SearchVariant(
        name=param,
        space={param: tune.choice(values)},
        sampler=TuneGridSampler({param: values}, seed=0),
        num_samples=len(values),
        metric="accuracy",
        mode="max",
        trial_fn=trial_fn,
        early_stopping_epochs=epochs,
        **fields,
    )


def variant(qualities):
    return grid_of("quality", qualities, scripted_trial, 1.0, max_concurrent=1)


def test_one_decision_at_a_quarter_of_the_trial():
    # The second rung (0.98) comes after the last progress report (3/4): a trial is judged once.
    assert [round(r, 3) for r in rungs(1.0)] == [0.245, 0.98]
    assert [round(r, 3) for r in rungs(2.0)] == [0.49, 1.96]
    assert rung_reached(0.25, rungs(1.0)) == 0 and rung_reached(0.75, rungs(1.0)) == 0
    assert rung_reached(0.125, rungs(1.0)) is None
    # The report that decides it is one every training run makes anyway.
    assert 25 in progress_steps(100, TrainSettings()) and max(progress_steps(100, TrainSettings())) == 75


def test_asha_stops_the_weak_trials_on_their_loss_and_the_table_keeps_them(ray_session, tmp_path):
    # One trial at a time (in the grid's seeded order): ASHA lets the first trials at a rung go on
    # and cuts a later one whose loss is worse than the best quarter of those recorded there,
    # though every progress accuracy is the same.
    qualities = [0.9, 0.1, 0.8, 0.2, 0.3, 0.95]
    options = RunOptions(profile_name="smoke", dataset="synthetic", scheduler="asha", storage=str(tmp_path))
    rows = run_variant("lab2-nas", variant(qualities), options, str(tmp_path / "lab2-nas"))
    assert sorted(row["quality"] for row in rows) == sorted(qualities)
    stopped = [row for row in rows if row["status"] == "STOPPED"]
    assert stopped, [(row["trial_index"], row["quality"], row["status"]) for row in rows]
    for row in stopped:  # its last progress report, the rung it reached, no result, no checkpoint
        assert row["epoch"] == 0.25 and row["rung"] == 0 == rung_reached(row["epoch"], rungs(1.0))
        assert row["eval_accuracy"] == MAJORITY and row["eval_loss"] == pytest.approx(1 - row["quality"])
        assert "accuracy" not in row and row["checkpoint"] is None
        earlier = [r["quality"] for r in rows if r["trial_index"] < row["trial_index"]]
        assert earlier and row["quality"] < max(earlier)
    best = max(rows, key=lambda row: row["quality"])
    assert best["status"] == "TERMINATED" and best["accuracy"] == 0.95 and best["rung"] is None


def test_asha_is_refused_where_every_trial_is_the_answer():
    with pytest.raises(ConfigError, match="lab1-qat does not allow"):
        run("lab1-qat", RunOptions(profile_name="smoke", scheduler="asha"))
    with pytest.raises(ConfigError, match="--scheduler 'hyperband'"):
        RunOptions(scheduler="hyperband").validate()


def test_sha_pauses_real_trials_and_keeps_only_the_finished_models(ray_session, tmp_path):
    # Real lab2-nas trials (synthetic data, smoke profile): they hand over a training snapshot at
    # the rung, the batch of 4 is ranked there, one trial finishes, three are STOPPED; no snapshot
    # is left on disk and only the finished trial has a checkpoint, a model with its result.
    fixed = {
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 128,
        "query_proj": "linear",
        "key_proj": "identity",
        "value_proj": "linear",
        "output_proj": "linear",
    }
    sizes = [32, 64, 96, 128]
    trial = TrialRef("trainables.trials.lab2_nas", "lab2_nas_trial")
    search = grid_of(
        "hidden_size", sizes, trial, RunOptions(profile_name="smoke").profile.epochs, settings=fixed
    )
    options = RunOptions(profile_name="smoke", dataset="synthetic", scheduler="sha", storage=str(tmp_path))
    rows = run_variant("lab2-nas", search, options, str(tmp_path / "lab2-nas"))
    assert sorted(row["hidden_size"] for row in rows) == sizes
    status = sorted(row["status"] for row in rows)
    assert status == ["STOPPED"] * 3 + ["TERMINATED"], status
    rung = rungs(search.early_stopping_epochs)[0]
    for row in rows:
        if row["status"] == "STOPPED":
            assert row["epoch"] >= rung and row["rung"] == 0 and row["checkpoint"] is None
        else:
            assert row["accuracy"] > 0 and (Path(row["checkpoint"]) / RESULT_FILE).exists()
    assert not list(tmp_path.rglob(SNAPSHOT_FILE))
