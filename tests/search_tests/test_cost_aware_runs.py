"""Hardware-aware searches end to end through real Ray Tune runs (smoke profile, synthetic data):
a constrained two-objective Lab 3 search, the per-layer sensitivity experiment, a Lab 3 search
seeded from it, and a search that grows. One storage folder for the module (base trains once).

Marked `cost_aware`: minutes together, its own CI step (make test-cost-aware).
"""

import optuna
import pandas as pd
import pytest

from analysis.best import best_trials
from search.options import RunOptions
from search.runner import run

pytestmark = pytest.mark.cost_aware


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    return tmp_path_factory.mktemp("cost_aware")


def test_lab3_mixed_under_a_budget_searches_accuracy_and_bops(ray_session, storage):
    """--objective accuracy,bops with --constraint: every row says whether it kept the budget, the
    Pareto set and the best trials come from the rows that did, and the study holds each trial's
    constraint value where Optuna's samplers read it."""
    options = RunOptions(
        profile_name="smoke",
        dataset="synthetic",
        storage=str(storage),
        objectives=("accuracy", "bops"),
        constraints=("avg_linear_bits<=24",),
    )
    table = run("lab3-mixed", options)["lab3-mixed"]
    assert (table["status"] == "TERMINATED").all()
    assert (table["objective"] == "accuracy,cost_bops_per_token").all()
    assert (table["constraints"] == "avg_linear_bits<=24").all()
    assert (table["feasible"] == (table["cost_avg_linear_bits"] <= 24)).all()
    assert (table["constraint_avg_linear_bits"] == table["cost_avg_linear_bits"] - 24).all()
    assert not (table["pareto_optimal"] & ~table["feasible"]).any()
    if table["feasible"].any():
        assert table["pareto_optimal"].any()
    assert set(best_trials(table, k=10)["trial_index"]) <= set(table.loc[table["feasible"], "trial_index"])

    study = optuna.load_study(
        study_name="lab3-mixed/integer", storage=f"sqlite:///{storage / 'lab3-mixed' / 'optuna.db'}"
    )
    by_tune_id = {t.user_attrs["tune_trial_id"]: t for t in study.get_trials()}
    for _, row in table.iterrows():
        constraints = by_tune_id[row["trial_id"]].constraints
        assert constraints == {"avg_linear_bits<=24": pytest.approx(row["cost_avg_linear_bits"] - 24)}

    folder = storage / "lab3-mixed"
    bops = pd.read_csv(folder / "lab3-mixed-bops.csv")
    assert len(bops) == table["feasible"].sum()  # the infeasible trials are drawn apart, never on the front
    assert (folder / "lab3-mixed-bops.png").stat().st_size > 10_000
