"""Hardware-aware searches end to end through real Ray Tune runs (smoke profile, synthetic data):
a constrained two-objective Lab 3 search, the per-layer sensitivity experiment, a Lab 3 search
seeded from it, and a search that grows with a larger --budget. One storage folder for the module (base trains once).

Marked `cost_aware`: minutes together, its own CI step (make test-cost-aware).
"""

import json

import optuna
import pandas as pd
import pytest

from adls.cli import main
from analysis import load_results
from analysis.best import best_trials
from analysis.sensitivity import layer_sensitivity
from search.experiments.spaces.precisions import LayerwiseSpace, layer_keys
from search.experiments.spaces.sensitivity_seeds import seeded_configs
from search.options import RunOptions
from search.runner import run
from search.study.samplers import make_sampler
from trainables.models.checkpoint import load_model

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


def test_sensitivity_runs_one_trial_per_layer_and_precision(ray_session, storage, capsys):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(storage))
    table = run("sensitivity", options)["sensitivity"]
    start, _ = load_model(load_results(storage / "base")["checkpoint"].iloc[0])
    layers = list(layer_keys(start))  # read from the model, not a list of BERT names
    assert sorted(zip(table["layer"], table["precision"], strict=True)) == sorted(
        (layer, precision) for layer in layers for precision in ("integer:4", "integer:8")
    )
    assert (table["status"] == "TERMINATED").all()
    assert (table["accuracy_drop"] == table["fp32_accuracy"] - table["accuracy"]).all()
    assert table["loss_increase"].tolist() == pytest.approx((table["loss"] - table["fp32_loss"]).tolist())
    # One layer quantized: the others' weights stay at 32 bits.
    assert (table["cost_avg_linear_bits"] < 32).all() and (table["cost_avg_linear_bits"] > 8).all()
    assert table["layer_position"].tolist() == [layers.index(name) for name in table["layer"]]
    heat = pd.read_csv(storage / "sensitivity" / "sensitivity.csv")
    assert len(heat) == 2 * len(layers)
    assert (storage / "sensitivity" / "sensitivity.png").stat().st_size > 10_000

    assert main(["best", str(storage / "sensitivity")]) == 0
    out = capsys.readouterr().out
    ranking = layer_sensitivity(table)
    assert f"#1 {ranking['layer'].iloc[0]}:" in out and f"#{len(layers)} {ranking['layer'].iloc[-1]}:" in out


def test_lab3_mixed_seeded_from_sensitivity_runs_the_seeds_first(ray_session, storage):
    options = RunOptions(
        profile_name="smoke", dataset="synthetic", storage=str(storage), seed_from="sensitivity"
    )
    table = run("lab3-mixed", options)["lab3-mixed"]
    seeds = seeded_configs(layer_sensitivity(load_results(storage / "sensitivity"))["layer"].tolist())
    first = table.sort_values("trial_index").head(len(seeds))
    for seed, (_, row) in zip(seeds, first.iterrows(), strict=True):
        assert json.loads(row["params"]) == seed
    # The seeds give the most sensitive layer the widest width and the most robust the narrowest.
    ranked = layer_sensitivity(load_results(storage / "sensitivity"))["layer"].tolist()
    assert seeds[0][f"{ranked[0]}.width"] == 32 and seeds[0][f"{ranked[-1]}.width"] == 8
    run_json = json.loads((storage / "lab3-mixed" / "run.json").read_text())
    assert run_json["identity"]["fields"]["seed_from"] == "sensitivity"


def test_a_larger_budget_grows_the_stored_search(ray_session, storage, capsys):
    """6 trials, then --budget 10: the same study goes on (10 rows, 4 new trial folders) and the
    sampler's 7th suggestion is the one TPE makes from the first 6; then --budget 4 reuses it."""

    def options(budget: int) -> RunOptions:
        return RunOptions(
            profile_name="smoke",
            dataset="synthetic",
            storage=str(storage),
            precisions=("integer",),
            budget=budget,
        )

    folder = storage / "lab3-precisions"
    first = run("lab3-precisions", options(6))["lab3-precisions"]
    trial_dirs = {p.name for p in (folder / "tune" / "integer").iterdir() if p.is_dir()}
    assert len(first) == 6 and len(trial_dirs) == 6

    grown = run("lab3-precisions", options(10))["lab3-precisions"]
    assert "its 6 trials are kept and told to the sampler, 4 new ones run" in capsys.readouterr().out
    assert len(grown) == 10 and sorted(grown["trial_index"]) == list(range(10))
    assert grown.sort_values("trial_index")["trial_id"].head(6).tolist() == (
        first.sort_values("trial_index")["trial_id"].tolist()
    )
    new_dirs = {p.name for p in (folder / "tune" / "integer").iterdir() if p.is_dir()} - trial_dirs
    assert len(new_dirs) == 4
    assert json.loads((folder / "run.json").read_text())["identity"]["budget"] == 10
    study = optuna.load_study(
        study_name="lab3-precisions/integer", storage=f"sqlite:///{folder / 'optuna.db'}"
    )
    assert len(study.get_trials()) == 10

    # Replay: the same seeded TPE told the first 6 trials suggests what the grown search ran 7th.
    by_id = {t.user_attrs["tune_trial_id"]: t for t in study.get_trials()}
    ordered = grown.sort_values("trial_index")
    replay_sampler, _ = make_sampler("tpe", seed=0)
    replay = optuna.create_study(sampler=replay_sampler, direction="maximize")
    for trial_id in ordered["trial_id"].head(6):
        replay.add_trial(by_id[trial_id])
    space = LayerwiseSpace("integer", tuple(_layers(grown)))
    asked = replay.ask()
    space(asked)
    seventh = json.loads(ordered["params"].iloc[6])
    assert asked.params == seventh
    # ... and not what the same sampler suggests with no history: the first 6 trials mattered.
    fresh_sampler, _ = make_sampler("tpe", seed=0)
    fresh = optuna.create_study(sampler=fresh_sampler, direction="maximize").ask()
    space(fresh)
    assert fresh.params != seventh

    reused = run("lab3-precisions", options(4))["lab3-precisions"]
    assert "its searches ran 10 trials each, --budget 4 asks for no more" in capsys.readouterr().out
    assert len(reused) == 10
    assert json.loads((folder / "run.json").read_text())["identity"]["budget"] == 10


def _layers(table: pd.DataFrame) -> list[str]:
    return [c.removesuffix(".type") for c in table.columns if c.endswith(".type")]
