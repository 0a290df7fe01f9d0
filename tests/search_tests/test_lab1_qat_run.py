"""lab1-qat end to end on synthetic data through a real Ray Tune run (base model chained first)."""

import os

import pandas as pd

from analysis import load_results
from search.experiments.lab1_qat import Lab1QatExperiment
from search.options import RunOptions
from search.runner import run


def test_lab1_qat_smoke_writes_one_row_per_grid_point_and_a_figure(ray_session, tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    tables = run("lab1-qat", options)

    base = load_results(tmp_path / "base")
    assert len(base) == 1 and base["status"].iloc[0] == "TERMINATED"
    assert base["checkpoint"].iloc[0] and base["accuracy"].iloc[0] > 0

    table = load_results(tmp_path / "lab1-qat")
    pd.testing.assert_frame_equal(table, tables["lab1-qat"], check_dtype=False)
    assert sorted(table["width"]) == [4, 8, 16, 32]  # exactly one trial per grid point
    assert (table["status"] == "TERMINATED").all()
    assert table["ptq_accuracy"].between(0, 1).all() and table["qat_accuracy"].between(0, 1).all()
    assert (table["frac_width"] == table["width"] // 2).all()
    assert sorted(table["trial_index"]) == [0, 1, 2, 3]
    # --keep-checkpoints 1 (the default): the model lab1-prune starts from is the best (ties: the
    # smaller width) and the only one that keeps its checkpoint.
    kept = table[table["checkpoint"].notna()]
    assert kept["checkpoint"].tolist() == [Lab1QatExperiment().best_start(table)["checkpoint"]]
    assert all(os.path.isdir(path) for path in kept["checkpoint"])
    tune_dir = tmp_path / "lab1-qat" / "tune"
    assert len(list(tune_dir.glob("*/*/checkpoint_000000"))) == len(kept)  # the others are deleted
    assert (table["fp32_accuracy"] == base["accuracy"].iloc[0]).all()
    assert table["cost_avg_linear_bits"].tolist() == table["width"].astype(float).tolist()
    assert (tmp_path / "lab1-qat" / "lab1-qat.png").stat().st_size > 10_000
    plotted = pd.read_csv(tmp_path / "lab1-qat" / "lab1-qat.csv")
    assert sorted(plotted["width"]) == [4, 8, 16, 32]

    # A second run with the same identity reuses both stages instead of training again.
    again = run("lab1-qat", options)
    pd.testing.assert_frame_equal(again["lab1-qat"], table)
