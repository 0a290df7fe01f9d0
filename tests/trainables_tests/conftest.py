"""Fixtures for running trial functions directly (no Ray) on the smoke profile's synthetic data."""

import pytest

from search.options import RunOptions


@pytest.fixture(scope="session")
def smoke_config() -> dict:
    """The fixed part of a trial config (data, train, seed) that the runner would pass on smoke."""
    options = RunOptions(profile_name="smoke", dataset="synthetic")
    return {"data": options.data_settings(), "train": options.train_settings(), "seed": 0}
