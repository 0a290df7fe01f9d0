"""Tune keeps one checkpoint per trial only where a trial reports two (`sha`): elsewhere no forced snapshots."""

import pytest

from search.run.tuner import checkpoint_config
from search.schedulers.early_stopping import early_stopping


@pytest.mark.parametrize("scheduler", ["fifo", "asha"])
def test_one_checkpoint_a_trial_sets_no_retention(scheduler):
    # num_to_keep would make Tune snapshot the whole experiment at every trial's checkpoint.
    assert checkpoint_config(early_stopping(scheduler, 4.0, num_trials=20)).num_to_keep is None


def test_a_paused_trial_keeps_only_its_last_checkpoint():
    stopping = early_stopping("sha", 4.0, num_trials=20)
    assert stopping.pause_epochs and checkpoint_config(stopping).num_to_keep == 1
