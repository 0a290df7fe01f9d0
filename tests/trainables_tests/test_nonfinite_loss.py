"""A diverging trial (NaN/inf loss) stops at once, is stored as ERROR with the step, and is never a start model."""

from dataclasses import replace

import pytest
import torch

from analysis.results import load_results
from errors import ConfigError
from search import profiles
from search.experiments.starts.stage_inputs import best_checkpoint
from search.options import RunOptions
from search.runner import run
from trainables.train_loop import NonFiniteLoss
from trainables.trial_context import local_context
from trainables.trials.base import base_trial

DIVERGING_LR = 1e9


def test_training_stops_at_the_first_non_finite_loss(smoke_config, tmp_path):
    config = {**smoke_config, "train": {**smoke_config["train"], "lr": DIVERGING_LR}, "base_epochs": 1}
    ctx = local_context(tmp_path)
    with pytest.raises(NonFiniteLoss, match=r"^non-finite loss at step \d+$") as raised:
        base_trial(config, ctx)
    # Stopped at the first bad step, not at the end of the epoch; nothing was reported as a result.
    steps_per_epoch = 512 // smoke_config["train"]["batch_size"]
    assert 1 <= raised.value.step < steps_per_epoch
    assert ctx.reports == []


def test_the_step_named_is_the_first_bad_one():
    from trainables.train_loop import _raise_if_nonfinite

    _raise_if_nonfinite(torch.tensor(0))  # 0: every loss so far was finite
    with pytest.raises(NonFiniteLoss, match="at step 7$"):
        _raise_if_nonfinite(torch.tensor(7))


def test_a_diverging_trial_is_an_error_in_the_table_and_never_a_start_model(
    ray_session, tmp_path, monkeypatch
):
    # The profile is read on this driver, so a diverging learning rate reaches the real Tune trial.
    smoke = profiles.PROFILES["smoke"]
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(smoke, lr=DIVERGING_LR))
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    # Its only trial failed: the run says so in one line and is not stored as reusable results.
    with pytest.raises(
        ConfigError, match=r"every trial of base failed \(1\), e\.g\. non-finite loss at step \d+"
    ):
        run("base", options)
    assert not (tmp_path / "base" / "run.json").exists()
    table = load_results(tmp_path / "base")
    assert len(table) == 1
    row = table.iloc[0]
    assert row["status"] == "ERROR"
    assert row["error"].startswith("non-finite loss at step ")
    assert "trial_error" not in table.columns
    with pytest.raises(ConfigError, match="no finished trial"):
        best_checkpoint(table, "accuracy")
