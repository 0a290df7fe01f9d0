"""A training run paused at a progress point and resumed from its snapshot ends as if never paused."""

import numpy as np
import torch

from trainables.train_loop import TrainSettings, train
from trainables.train_snapshot import TrainSnapshot, load_snapshot, save_snapshot
from trainables.trial_context import local_context
from trainables.trial_keys import PAUSE_EPOCHS
from trainables.trial_steps import open_data
from trainables.trials.lab2_nas import build_nas_model, lab2_nas_trial

from .trials_tests.test_lab2_compress_aware_trial import PARAMS


def _run(config: dict, settings: TrainSettings, resume: TrainSnapshot | None = None, keep=None):
    """Build the seeded model and train it; `keep` collects the snapshot of the second progress point."""
    data = open_data(config)
    torch.manual_seed(0)
    model, _ = build_nas_model(config, data)

    def progress(epochs, metrics, snapshot):
        if keep is not None and not keep:
            keep.append((epochs, snapshot({"epoch": epochs})))
            # What happens after a real pause must not leak into the snapshot taken before it.
            torch.rand(7)

    metrics = train(model, data.train, settings, torch.device("cpu"), on_progress=progress, resume=resume)
    return model, metrics


def test_a_resumed_run_ends_with_the_weights_and_loss_of_an_uninterrupted_one(smoke_config, tmp_path):
    config = {**smoke_config, **PARAMS}
    # Past one epoch, so the resumed run also crosses an epoch boundary (a new batch order).
    settings = TrainSettings(**{**smoke_config["train"], "epochs": 1.5, "progress_points": 6})
    straight, straight_metrics = _run(config, settings)
    kept: list = []
    _run(config, settings, keep=kept)
    epochs, snapshot = kept[0]
    assert 0 < epochs < 1.5 and snapshot.step > 0
    # Through the file a paused trial's checkpoint holds, as Tune hands it back.
    reloaded = load_snapshot(save_snapshot(snapshot, tmp_path / "snap"))
    torch.manual_seed(123)  # a restarted process has other random state until the snapshot's is set
    resumed, resumed_metrics = _run(config, settings, resume=reloaded)
    assert resumed_metrics["train_steps"] == straight_metrics["train_steps"]
    assert resumed_metrics["train_loss"] == straight_metrics["train_loss"]
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_a_folder_without_a_snapshot_resumes_nothing(tmp_path):
    assert load_snapshot(tmp_path) is None


def test_a_paused_trial_restarted_from_its_snapshot_reports_what_an_unpaused_one_does(smoke_config, tmp_path):
    train_settings = {**smoke_config["train"], "epochs": 1.0}
    config = {**smoke_config, **PARAMS, "train": train_settings, PAUSE_EPOCHS: [0.24]}
    straight = _recording(local_context(tmp_path / "a"))
    expected = lab2_nas_trial(config, straight)
    snapshots = [
        (report, folder)
        for report, folder in _reported(straight)
        if folder is not None and report.get("epoch")
    ]
    # One snapshot, with the first progress report at or past 0.24 epochs.
    assert len(snapshots) == 1 and snapshots[0][0]["epoch"] >= 0.24
    resumed_ctx = _recording(local_context(tmp_path / "b", seed=99))
    resumed_ctx.resume = load_snapshot(snapshots[0][1])
    got = lab2_nas_trial(config, resumed_ctx)
    for key in ("accuracy", "train_loss", "train_steps", "cost_params"):
        assert got[key] == expected[key], key
    # The resumed trial scores its progress on the sample the paused one drew (a quarter of an
    # epoch's 512 rows lies between points of a 1-epoch smoke run: 128 of the 256 test rows).
    assert len(straight.progress_rows) == 128
    assert np.array_equal(resumed_ctx.progress_rows, straight.progress_rows)
    # The reports before the pause are not made again; no second snapshot is taken.
    assert all(report["epoch"] > snapshots[0][0]["epoch"] for report in resumed_ctx.progress_reports)
    assert not any(folder for report, folder in _reported(resumed_ctx) if report.get("epoch"))


def _recording(ctx):
    """`ctx` with a reporter that keeps (metrics, checkpoint folder) as Tune would get them."""
    calls: list = []
    ctx.reporter = lambda metrics, folder: calls.append((metrics, folder))
    ctx.calls = calls
    return ctx


def _reported(ctx) -> list:
    return ctx.calls
