"""A trial that fails before Tune recorded its config still has its sampled params in the table.

Tune carries a trial's config on its reports and in the params.json its logger writes when the
trial starts; a trial whose node died before that (the 300-trial node-loss test in
tests/cluster_tests/test_scale.py, when a trial ran out of retries) comes back with an empty
config. The ledger's record of what Tune started or failed fills it.
"""

import json
from types import SimpleNamespace

from ray.tune import Result

from search.run.progress import TrialLedger
from search.run.results_table import result_rows


def test_a_trial_lost_before_its_config_was_recorded_keeps_its_params(tmp_path, capsys):
    ledger = TrialLedger("t/v", "accuracy", "max", total=2)
    ran = SimpleNamespace(trial_id="aaaa0001", status="RUNNING", config={"width": 4}, last_result={})
    lost = SimpleNamespace(trial_id="aaaa0002", status="ERROR", config={"width": 8}, last_result={})
    ledger.on_trial_start(0, [ran], ran)
    ledger.on_trial_error(0, [ran, lost], lost)  # its node died before the trial started
    grid = [
        Result(
            metrics={"accuracy": 0.5, "trial_id": "aaaa0001", "config": {"width": 4}},
            checkpoint=None,
            error=None,
            path=str(tmp_path / "t_aaaa0001_1_width=4"),
        ),
        Result(
            metrics={},
            checkpoint=None,
            error=RuntimeError("The actor died unexpectedly"),
            path=str(tmp_path / "t_aaaa0002_2_width=8"),
        ),
    ]
    assert not grid[1].config  # what Tune's result holds for such a trial
    rows = {
        row["trial_id"]: row for row in result_rows(grid, ledger.launch_index, {}, configs=ledger.configs)
    }
    assert rows["aaaa0002"]["status"] == "ERROR" and rows["aaaa0002"]["width"] == 8
    assert json.loads(rows["aaaa0002"]["params"]) == {"width": 8}
    assert rows["aaaa0001"]["status"] == "TERMINATED" and rows["aaaa0001"]["width"] == 4
    # Without the ledger's record the row has no params: the test could fail.
    assert "width" not in result_rows(grid[1:], {}, {})[0]
