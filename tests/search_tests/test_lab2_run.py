"""`adls run lab2` on the smoke profile: three NAS searches, then the compression-aware searches."""

import json

import pandas as pd
import pytest

from analysis import load_results
from search.experiments.lab2_compress_aware import TUTORIAL_PRUNING, TUTORIAL_QUANTIZATION, best_sampler
from search.experiments.spaces.nas import ARCH_FIELDS, PROJECTION_PARAMS, arch_from_params
from search.options import RunOptions
from search.runner import run

BUDGET = 2  # the smoke profile's nas_budget


def assert_running_max_curves(plotted: pd.DataFrame, table: pd.DataFrame, group: str, metric: str) -> None:
    """Each plotted curve never decreases and starts at its first trial's value."""
    for name, curve in plotted.groupby(group):
        values = curve.sort_values("trial")["best_so_far"].tolist()
        assert values == sorted(values), name
        first = table[table["variant"] == name].sort_values("trial_index")[metric].iloc[0]
        assert values[0] == pytest.approx(first), name


def test_lab2_runs_grid_tpe_random_then_compression_aware_and_draws_the_figures(ray_session, tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    tables = run("lab2", options)

    nas = tables["lab2-nas"]
    assert nas.groupby("variant").size().to_dict() == {"grid": BUDGET, "random": BUDGET, "tpe": BUDGET}
    assert (nas["status"] == "TERMINATED").all()
    # --keep-checkpoints 1: the best of each sampler's search (Lab 3's start is the best of them).
    assert nas.groupby("variant")["checkpoint"].count().to_dict() == {"grid": 1, "random": 1, "tpe": 1}
    assert (nas["sampler"] == nas["variant"]).all() and (nas["sampler_seed"] == 0).all()
    assert (nas["nas_space"] == "small").all() and (nas["budget"] == BUDGET).all()
    assert nas.loc[nas["variant"] == "tpe", "tpe_constant_liar"].eq(True).all()
    params = [*ARCH_FIELDS, *PROJECTION_PARAMS]  # smoke's small space: attention choices only
    grid = nas[nas["variant"] == "grid"]
    assert len(grid.drop_duplicates(params)) == BUDGET  # distinct points, exactly the budget
    for _, row in nas.iterrows():  # what was sampled is what was built
        arch, identity = arch_from_params(row)
        assert all(row[f"built_{field}"] == value for field, value in arch.items())
        assert row["built_identity_projections"] == (",".join(identity) or "none")
    for variant, rows in nas.groupby("variant"):
        assert sorted(rows["trial_index"]) == list(range(BUDGET)), variant

    folder = tmp_path / "lab2-nas"
    assert (folder / "lab2-nas.png").stat().st_size > 10_000
    assert (folder / "lab2-nas-params.png").stat().st_size > 10_000
    assert_running_max_curves(pd.read_csv(folder / "lab2-nas.csv"), nas, "variant", "accuracy")

    aware = tables["lab2-compress-aware"]
    assert aware.groupby("variant").size().to_dict() == {"compressed": BUDGET, "post-trained": BUDGET}
    assert (aware["status"] == "TERMINATED").all()
    assert (aware["sampler"] == best_sampler(nas)).all()
    for column in ("trained_accuracy", "compressed_accuracy", "post_trained_accuracy"):
        assert aware[column].between(0, 1).all(), column
    assert (aware["cost_avg_linear_bits"] == 8.0).all() and (aware["cost_sparsity"] > 0.1).all()
    assert json.loads(aware["pruning"].iloc[0]) == TUTORIAL_PRUNING
    assert json.loads(aware["quantization"].iloc[0]) == TUTORIAL_QUANTIZATION
    objectives = aware.groupby("variant")["objective"].first().to_dict()
    assert objectives == {"compressed": "compressed_accuracy", "post-trained": "post_trained_accuracy"}

    folder = tmp_path / "lab2-compress-aware"
    assert (folder / "lab2-compress-aware.png").stat().st_size > 10_000
    plotted = pd.read_csv(folder / "lab2-compress-aware.csv")
    assert plotted["curve"].nunique() == 3 and (plotted.groupby("curve").size() == BUDGET).all()
    for curve, part in plotted.groupby("curve"):
        values = part.sort_values("trial")["best_so_far"].tolist()
        assert values == sorted(values), curve

    again = run("lab2", options)  # both stages reused, nothing trains again
    for name in ("lab2-nas", "lab2-compress-aware"):
        pd.testing.assert_frame_equal(again[name], load_results(tmp_path / name))
        assert len(again[name]) == len(tables[name])
