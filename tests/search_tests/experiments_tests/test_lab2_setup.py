"""Lab 2 experiments before Ray starts: variants, seeds and budgets, sampler choice, option errors."""

import pandas as pd
import pytest

from errors import ConfigError
from search.experiments.lab2_compress_aware import (
    TUTORIAL_PRUNING,
    TUTORIAL_QUANTIZATION,
    Lab2CompressAwareExperiment,
    best_sampler,
)
from search.experiments.lab2_nas import Lab2NasExperiment
from search.experiments.registry import LABS
from search.experiments.spaces.nas import space_for
from search.options import RunOptions
from search.run_plan import RunPlan
from search.runner import run
from trainables.trials.lab2_compress_aware import lab2_compress_aware_trial
from trainables.trials.lab2_nas import lab2_nas_trial


def nas_table(finals: dict[tuple[str, int], list[float]]) -> pd.DataFrame:
    rows = []
    for (sampler, repeat), accuracies in finals.items():
        for index, accuracy in enumerate(accuracies):
            rows.append(
                {
                    "experiment": "lab2-nas",
                    "variant": sampler,
                    "sampler": sampler,
                    "repeat": repeat,
                    "trial_index": index,
                    "status": "TERMINATED",
                    "accuracy": accuracy,
                }
            )
    return pd.DataFrame(rows)


def test_labs_run_their_experiments_in_dependency_order():
    assert LABS["lab1"] == ("base", "lab1-qat", "lab1-prune")
    assert LABS["lab2"] == ("lab2-nas", "lab2-compress-aware")


def test_nas_runs_every_sampler_with_the_same_budget_and_seed_policy_per_repeat():
    options = RunOptions(profile_name="quick", seed=7, repeats=3)
    variants = Lab2NasExperiment().variants(options, {})
    assert [(v.name, v.repeat) for v in variants] == [
        (sampler, repeat) for repeat in range(3) for sampler in ("grid", "tpe", "random")
    ]
    for variant in variants:
        assert variant.num_samples == 20 and variant.metric == "accuracy" and variant.mode == "max"
        assert variant.trial_fn.load() is lab2_nas_trial
        assert variant.sampler_settings["sampler"] == variant.name
        assert variant.sampler_settings["sampler_seed"] == 7 + variant.repeat
        assert variant.sampler_settings["nas_space"] == "small"
        assert "optuna_version" in variant.sampler_settings
    assert variants[1].sampler_settings["tpe_constant_liar"] is True
    assert RunPlan(options).identity("lab2-nas")["fields"]["repeats"] == 3


def test_best_sampler_averages_repeats_and_prefers_tpe_on_a_tie():
    table = nas_table({("grid", 0): [0.5, 0.9], ("grid", 1): [0.6], ("tpe", 0): [0.7], ("tpe", 1): [0.8]})
    assert best_sampler(table) == "tpe"  # grid 0.75 = tpe 0.75 on average: the tie goes to TPE
    table.loc[1, "accuracy"] = 0.95
    assert best_sampler(table) == "grid"
    with pytest.raises(ConfigError, match="no finished trial"):
        best_sampler(table.assign(status="ERROR"))


def test_compress_aware_uses_the_best_sampler_unless_told_and_records_its_configs():
    experiment = Lab2CompressAwareExperiment()
    table = nas_table({("grid", 0): [0.6], ("random", 0): [0.8], ("tpe", 0): [0.7]})
    options = RunOptions(profile_name="smoke", seed=3)
    variants = experiment.variants(options, {"lab2-nas": table})
    assert [(v.name, v.metric) for v in variants] == [
        ("compressed", "compressed_accuracy"),
        ("post-trained", "post_trained_accuracy"),
    ]
    for variant in variants:
        assert variant.trial_fn is lab2_compress_aware_trial
        assert (
            variant.sampler_settings["sampler"] == "random" and variant.sampler_settings["sampler_seed"] == 3
        )
        assert variant.settings["quantization"] == TUTORIAL_QUANTIZATION
        assert variant.settings["pruning"] == TUTORIAL_PRUNING
        assert variant.settings["post_train_epochs"] == options.profile.epochs
    told = experiment.variants(RunOptions(profile_name="smoke", sampler="grid"), {"lab2-nas": table})
    assert {v.sampler_settings["sampler"] for v in told} == {"grid"}
    assert RunPlan(options).identity("lab2-compress-aware")["fields"]["sampler"] == "best of lab2-nas"


def test_a_custom_compression_config_changes_the_identity_and_reaches_the_trials():
    pruning = {"weight": {"sparsity": 0.3, "method": "random", "scope": "local"}}
    options = RunOptions(profile_name="smoke", extra={"pruning": pruning})
    experiment = Lab2CompressAwareExperiment()
    assert RunPlan(options).identity("lab2-compress-aware") != RunPlan(
        RunOptions(profile_name="smoke")
    ).identity("lab2-compress-aware")
    table = nas_table({("tpe", 0): [0.7]})
    assert all(v.settings["pruning"] == pruning for v in experiment.variants(options, {"lab2-nas": table}))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RunOptions(sampler="nsga2"), "lab2-compress-aware uses one of"),
        (RunOptions(extra={"quantization": {"by": "name"}}), "'by': 'type' config"),
        (
            RunOptions(extra={"pruning": {"weight": {"sparsity": 2, "method": "l1-norm"}}}),
            "weight.sparsity=2",
        ),
        (
            RunOptions(extra={"quantization": {"by": "type", "linear": {"config": {"name": "integer"}}}}),
            "missing key",
        ),
    ],
)
def test_bad_lab2_options_fail_before_anything_runs(options, message, tmp_path):
    options = RunOptions(**{**options.to_dict(), "storage": str(tmp_path)})
    with pytest.raises(ConfigError, match=message):
        run("lab2", options)
    assert not any(tmp_path.iterdir())  # lab2-nas did not start


@pytest.mark.parametrize("sampler", ["grid", "tpe", "random"])
def test_every_sampler_proposes_points_of_the_space_and_grid_never_repeats_one(sampler):
    # All 20 quick-profile proposals are asked before any result comes back: the worst case of
    # concurrent trials, in which Grid must still hand out distinct points.
    from ray.tune.search.optuna import OptunaSearch

    options = RunOptions(profile_name="quick")
    [variant] = [v for v in Lab2NasExperiment().variants(options, {}) if v.name == sampler]
    search = OptunaSearch(
        space=OptunaSearch.convert_search_space(variant.space),
        metric=variant.metric,
        mode=variant.mode,
        sampler=variant.sampler,
    )
    grid = space_for(options).grid()
    points = [search.suggest(f"trial_{n}") for n in range(variant.num_samples)]
    for point in points:
        assert set(point) == set(grid) and all(point[key] in grid[key] for key in grid)
    if sampler == "grid":
        assert len({tuple(sorted(point.items())) for point in points}) == variant.num_samples == 20
