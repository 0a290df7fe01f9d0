"""--constraint: parsing, Optuna's constrained sampling through StudySearch, feasibility in the table."""

import optuna
import pandas as pd
import pytest

from analysis.best import best_trials
from analysis.results import finished, infeasible
from errors import ConfigError
from search.options import RunOptions
from search.study.constraints import (
    COST_NAMES,
    Constraint,
    mark_feasible,
    parse_constraint,
    parse_constraints,
)
from search.study.database import StudySearch
from search.study.samplers import make_sampler
from trainables.compress import compute_cost, model_cost


def test_cost_names_are_the_costs_trials_report():
    from torch import nn

    model = nn.Sequential(nn.Linear(2, 2))
    assert set(COST_NAMES) == set(model_cost(model)) | set(compute_cost(model))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bops_per_token<=1e9", Constraint("bops_per_token", "<=", 1e9)),
        (" avg_linear_bits <= 6 ", Constraint("avg_linear_bits", "<=", 6.0)),
        ("cost_compression_ratio>=4", Constraint("compression_ratio", ">=", 4.0)),
    ],
)
def test_constraints_parse(text, expected):
    assert parse_constraint(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("bops<=5", "'bops' is not a cost"),
        ("avg_linear_bits<6", "not readable"),
        ("avg_linear_bits<=six", "'six' is not a number"),
        ("avg_linear_bits<=inf", "finite"),
    ],
)
def test_bad_constraints_are_refused_in_one_line(text, says):
    with pytest.raises(ConfigError, match=says):
        parse_constraint(text)


def test_run_options_refuse_a_bad_constraint_and_a_third_objective():
    with pytest.raises(ConfigError, match="twice"):
        parse_constraints(["avg_linear_bits<=6", "avg_linear_bits<=6.0"])
    with pytest.raises(ConfigError, match="--constraint 'bits<=6'"):
        RunOptions(profile_name="smoke", dataset="synthetic", constraints=("bits<=6",)).validate()
    with pytest.raises(ConfigError, match="must include accuracy"):
        RunOptions(
            profile_name="smoke", dataset="synthetic", objectives=("accuracy", "size", "bops")
        ).validate()


def test_rows_are_marked_feasible_and_readers_skip_the_rest():
    limit = parse_constraints(["avg_linear_bits<=10"])
    rows = [
        {"trial_index": i, "status": "TERMINATED", "accuracy": acc, "cost_avg_linear_bits": bits}
        for i, (acc, bits) in enumerate([(0.9, 32.0), (0.8, 8.0), (0.7, 10.0)])
    ]
    rows.append({"trial_index": 3, "status": "ERROR", "accuracy": None, "cost_avg_linear_bits": None})
    mark_feasible(rows, limit)
    assert [row["feasible"] for row in rows] == [False, True, True, None]
    assert [row["constraint_avg_linear_bits"] for row in rows] == [22.0, -2.0, 0.0, None]
    table = pd.DataFrame(rows).assign(experiment="lab3-mixed", variant="integer", objective="accuracy")
    table["objective_mode"] = "max"
    assert finished(table)["trial_index"].tolist() == [1, 2]
    assert infeasible(table)["trial_index"].tolist() == [0]
    # The most accurate trial broke the budget: the best is the best within it.
    assert best_trials(table)["trial_index"].tolist() == [1]


@pytest.mark.parametrize("sampler_name", ["tpe", "nsga2"])
def test_the_sampler_sees_the_constraint_values_the_searcher_stores(tmp_path, sampler_name):
    """Real Optuna through the searcher Tune drives: each told trial carries its constraint values
    (FrozenTrial.constraints, what TPE's and NSGA-II's constrained sampling read), in the database too."""
    constraints = parse_constraints(["avg_linear_bits<=8"])
    sampler, recorded = make_sampler(sampler_name, seed=0, constrained=True)
    assert recorded["sampler_constrained"] is True
    searcher = StudySearch(
        space={"bits": optuna.distributions.CategoricalDistribution([4, 8, 16, 32])},
        metric="accuracy",
        mode="max",
        sampler=sampler,
        study_name="lab3-mixed/integer",
        url=f"sqlite:///{tmp_path}/optuna.db",
        constraints=constraints,
    )
    for number in range(6):
        trial_id = f"t{number}"
        bits = searcher.suggest(trial_id)["bits"]
        searcher.on_trial_complete(trial_id, {"accuracy": bits / 32, "cost_avg_linear_bits": float(bits)})
    searcher.write_finished_trials()
    stored = optuna.load_study(study_name="lab3-mixed/integer", storage=f"sqlite:///{tmp_path}/optuna.db")
    trials = stored.get_trials()
    assert len(trials) == 6
    for trial in trials:
        assert trial.constraints == {"avg_linear_bits<=8": trial.params["bits"] - 8.0}
    # Optuna's own constrained best: the most accurate trial within the budget.
    feasible = [t for t in trials if t.params["bits"] <= 8]
    if feasible:
        assert stored.best_trial.params["bits"] <= 8
