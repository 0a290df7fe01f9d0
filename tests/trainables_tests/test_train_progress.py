"""Progress reports during training: evenly spaced points, epochs counted across runs, same training."""

import torch

from trainables.train_loop import TrainSettings, evaluate, progress_steps, train
from trainables.trial_context import local_context
from trainables.trial_steps import open_data
from trainables.trials.lab2_compress_aware import lab2_compress_aware_trial
from trainables.trials.lab2_nas import build_nas_model

from .trials_tests.test_lab2_compress_aware_trial import COMPRESSION, PARAMS


def test_progress_points_split_the_run_evenly_at_least_once_per_epoch():
    assert progress_steps(100, TrainSettings(epochs=1, progress_points=4)) == {25, 50, 75}
    # More epochs than points: one per epoch.
    assert progress_steps(60, TrainSettings(epochs=6, progress_points=4)) == {10, 20, 30, 40, 50}
    assert progress_steps(3, TrainSettings(epochs=1, progress_points=8)) == {1, 2}
    assert progress_steps(100, TrainSettings(epochs=1, progress_points=1)) == set()


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
