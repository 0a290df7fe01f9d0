"""Resuming never unpickles Tune state from storage: a crafted pickle there is not executed."""

import pickle

from search.options import RunOptions
from search.runner import run


class _Payload:
    """Unpickling this creates a file (what an attacker's pickle would do, harmlessly)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_tune_pickle_in_an_interrupted_run_is_never_loaded(ray_session, tmp_path):
    marker = tmp_path / "pwned"
    search = tmp_path / "results" / "base" / "tune" / "base"
    search.mkdir(parents=True)
    crafted = pickle.dumps(_Payload(str(marker)))
    for name in ("tuner.pkl", "searcher-state-2026-01-01_00-00-00.pkl", "trainable.pkl"):
        (search / name).write_bytes(crafted)
    (search / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")
    (search / "base_trial_0123abcd_1_2026-01-01_00-00-00").mkdir()  # an unfinished trial folder
    (search / "base_trial_0123abcd_1_2026-01-01_00-00-00" / "params.pkl").write_bytes(crafted)

    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path / "results"))
    table = run("base", options)["base"]
    assert not marker.exists()
    assert len(table) == 1 and table["status"].iloc[0] == "TERMINATED"
    # The planted trial folder was moved aside, not deleted, and not counted.
    assert (tmp_path / "results" / "base" / "tune" / "base.interrupted").is_dir()
