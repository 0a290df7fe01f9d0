"""Progress reports during training: evenly spaced points, epochs counted across runs, same training,
evaluated on a fixed sample sized by the training between two points."""

import numpy as np
import torch

from trainables.train_loop import TrainSettings, evaluate, progress_gap_rows, progress_steps, train
from trainables.trial_context import local_context
from trainables.trial_steps import (
    PROGRESS_EVAL_MIN_ROWS,
    PROGRESS_EVAL_ROWS,
    open_data,
    progress_rows,
    progress_sample_size,
)
from trainables.trials.lab2_compress_aware import lab2_compress_aware_trial
from trainables.trials.lab2_nas import build_nas_model

from .trials_tests.test_lab2_compress_aware_trial import COMPRESSION, PARAMS


def test_progress_points_split_the_run_evenly_at_least_once_per_epoch():
    assert progress_steps(100, TrainSettings(epochs=1, progress_points=4)) == {25, 50, 75}
    # More epochs than points: one per epoch.
    assert progress_steps(60, TrainSettings(epochs=6, progress_points=4)) == {10, 20, 30, 40, 50}
    assert progress_steps(3, TrainSettings(epochs=1, progress_points=8)) == {1, 2}
    assert progress_steps(100, TrainSettings(epochs=1, progress_points=1)) == set()


def test_the_gap_between_progress_points_is_counted_in_training_rows(smoke_config):
    train_split = open_data(smoke_config).train  # 512 rows: 16 batches of 32
    smoke = TrainSettings(**smoke_config["train"])  # 0.25 epoch: 4 steps, a point after each of 3
    assert progress_gap_rows(train_split, smoke) == 32
    # 6 steps in 4 parts: points after steps 2, 3 and 4 (rounded): the shortest gap is one step.
    assert progress_gap_rows(train_split, TrainSettings(epochs=6 / 16, batch_size=32)) == 32
    assert progress_gap_rows(train_split, TrainSettings(epochs=4, batch_size=32)) == 16 * 32
    assert progress_gap_rows(train_split, TrainSettings(epochs=1, batch_size=32, progress_points=1)) == 0
    assert progress_gap_rows(train_split, TrainSettings(epochs=0)) == 0


def test_the_progress_sample_follows_the_training_between_points_within_bounds(smoke_config):
    assert progress_sample_size(32) == PROGRESS_EVAL_MIN_ROWS == 64
    assert progress_sample_size(300) == 300
    # A quick profile's run trains ~2,000 rows between points: the full sample, as before.
    assert progress_sample_size(67 * 32) == PROGRESS_EVAL_ROWS == 512
    test = open_data(smoke_config).test  # 256 rows
    rows = progress_rows(test, seed=3, size=64)
    assert len(rows) == 64 == len(set(rows)) and np.array_equal(rows, np.sort(rows))
    assert np.array_equal(rows, progress_rows(test, seed=3, size=64))
    assert not np.array_equal(rows, progress_rows(test, seed=4, size=64))
    assert np.array_equal(progress_rows(test, seed=3, size=512), np.arange(256))


def test_reporting_progress_does_not_change_the_training(smoke_config):
    data = open_data({**smoke_config, **PARAMS})
    settings = TrainSettings(**{**smoke_config["train"], "epochs": 0.5})
    finals, calls = [], []
    for on_progress in (None, lambda epochs, metrics, snapshot: calls.append((epochs, metrics))):
        torch.manual_seed(0)
        model, _ = build_nas_model({**smoke_config, **PARAMS}, data)
        finals.append(train(model, data.train, settings, torch.device("cpu"), on_progress=on_progress))
    assert finals[0]["train_loss"] == finals[1]["train_loss"]
    assert [round(epochs, 3) for epochs, _ in calls] == [0.125, 0.25, 0.375]
    assert all(metrics["train_loss"] > 0 for _, metrics in calls)


def test_a_trial_reports_progress_with_epochs_counted_over_its_training_runs(smoke_config, tmp_path):
    ctx = local_context(tmp_path)
    lab2_compress_aware_trial({**smoke_config, **PARAMS, **COMPRESSION, "post_train_epochs": 0.25}, ctx)
    epochs = [report["epoch"] for report in ctx.progress_reports]
    # 0.25 epoch of training, then 0.25 more after compression: 3 points inside each run.
    assert epochs == sorted(epochs) and len(epochs) == 6
    assert 0 < epochs[0] < 0.25 < epochs[3] < 0.5
    for report in ctx.progress_reports:
        assert 0 <= report["eval_accuracy"] <= 1 and report["eval_loss"] > 0
    assert len(ctx.reports) == 1 and ctx.epochs_trained == 0.5


def test_bf16_autocast_trains_and_evaluates(smoke_config):
    data = open_data({**smoke_config, **PARAMS})
    settings = TrainSettings(**{**smoke_config["train"], "epochs": 0.5, "precision": "bf16"})
    torch.manual_seed(0)
    model, _ = build_nas_model({**smoke_config, **PARAMS}, data)
    metrics = train(model, data.train, settings, torch.device("cpu"))
    assert metrics["train_steps"] > 0 and 0 < metrics["train_loss"] < 10
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast, not a bf16 model
    scores = evaluate(model, data.test, torch.device("cpu"), precision="bf16")
    assert 0 <= scores["accuracy"] <= 1 and scores["loss"] > 0


def test_every_progress_report_of_a_trial_scores_one_sample_sized_by_its_first_run(smoke_config, tmp_path):
    # First run 0.25 epoch (32 rows between points: 64 test rows); after compression 1 epoch
    # (128 rows between points), which alone would draw 128: the trial keeps its 64.
    ctx = local_context(tmp_path)
    lab2_compress_aware_trial({**smoke_config, **PARAMS, **COMPRESSION, "post_train_epochs": 1.0}, ctx)
    test = open_data(smoke_config).test
    assert np.array_equal(ctx.progress_rows, progress_rows(test, smoke_config["train"]["seed"], 64))
    reports = ctx.progress_reports
    assert len(reports) == 3 + 3 and reports[-1]["epoch"] == 0.25 + 0.75
    for report in reports:  # each an accuracy over the same 64 rows
        assert report["eval_accuracy"] * 64 == round(report["eval_accuracy"] * 64), report
