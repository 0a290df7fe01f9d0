"""Lab 1 prune and Lab 2 figures from prepared tables: curves, bands over repeats, files written."""

import pandas as pd
import pytest

from analysis.curves import best_so_far_band
from analysis.figures import draw_figures
from analysis.lab1_figures import plot_lab1_prune
from analysis.lab2_figures import plot_lab2_compress_aware, plot_lab2_nas

NAS = {  # (sampler, repeat) -> accuracy per trial in launch order; NaN = a failed trial
    ("grid", 0): [0.6, 0.55, 0.7, 0.65],
    ("grid", 1): [0.5, 0.8, 0.6, 0.7],
    ("tpe", 0): [0.62, 0.71, 0.69, 0.75],
    ("tpe", 1): [0.58, float("nan"), 0.77, 0.7],
}


def nas_table(experiment="lab2-nas", metric="accuracy", data=NAS, **columns) -> pd.DataFrame:
    rows = []
    for (variant, repeat), values in data.items():
        for index, value in enumerate(values):
            status = "ERROR" if value != value else "TERMINATED"
            rows.append(
                {
                    "experiment": experiment,
                    "variant": variant,
                    "repeat": repeat,
                    "trial_index": index,
                    "status": status,
                    metric: value,
                    "cost_params": 1000 * (index + 1),
                    **columns,
                }
            )
    # Stored tables are sorted by variant, repeat, trial; shuffle to prove the order is not assumed.
    return pd.DataFrame(rows).sample(frac=1, random_state=0).reset_index(drop=True)


def test_best_so_far_band_is_the_running_max_averaged_over_repeats():
    band = best_so_far_band(nas_table(), "accuracy")
    grid = band[band["variant"] == "grid"].sort_values("trial")
    assert grid["best_so_far"].tolist() == pytest.approx([0.55, 0.7, 0.75, 0.75])
    assert grid["lowest"].tolist() == pytest.approx([0.5, 0.6, 0.7, 0.7])
    assert grid["highest"].tolist() == pytest.approx([0.6, 0.8, 0.8, 0.8])
    tpe = band[band["variant"] == "tpe"].sort_values("trial")
    assert tpe["best_so_far"].tolist() == pytest.approx([0.6, 0.645, 0.74, 0.76])  # a failure keeps the best
    assert (band["repeats"] == 2).all()


def test_nas_figure_curves_never_decrease_and_start_at_the_first_trial(tmp_path):
    table = nas_table(nas_space="small", budget=4)
    [png] = plot_lab2_nas(table, tmp_path)
    assert png.name == "lab2-nas.png" and png.stat().st_size > 10_000
    plotted = pd.read_csv(tmp_path / "lab2-nas.csv")
    for (variant, repeat), values in {(v, r): vals for (v, r), vals in NAS.items() if r == 0}.items():
        curve = best_so_far_band(table[table["repeat"] == repeat], "accuracy")
        curve = curve[curve["variant"] == variant].sort_values("trial")["best_so_far"].tolist()
        assert curve[0] == values[0] and curve == sorted(curve)
    for _, curve in plotted.groupby("variant"):
        assert curve.sort_values("trial")["best_so_far"].is_monotonic_increasing


def test_draw_figures_writes_both_nas_figures(tmp_path):
    table = nas_table()
    table.to_parquet(tmp_path / "trials.parquet")
    assert sorted(p.name for p in draw_figures(tmp_path)) == ["lab2-nas-params.png", "lab2-nas.png"]
    front = pd.read_csv(tmp_path / "lab2-nas-params.csv")
    assert front["on_front"].any() and len(front) == int(table["status"].eq("TERMINATED").sum())


def test_compress_aware_figure_has_three_curves_with_the_nas_sibling_and_two_without(tmp_path):
    nas_folder = tmp_path / "lab2-nas"
    nas_folder.mkdir()
    nas = nas_table()
    nas["sampler"] = nas["variant"]
    nas.to_parquet(nas_folder / "trials.parquet")
    aware = pd.concat(
        [
            nas_table("lab2-compress-aware", "compressed_accuracy", {("compressed", 0): [0.5, 0.52, 0.51]}),
            nas_table(
                "lab2-compress-aware", "post_trained_accuracy", {("post-trained", 0): [0.6, 0.7, 0.65]}
            ),
        ]
    ).assign(sampler="tpe")
    folder = tmp_path / "lab2-compress-aware"
    [png] = plot_lab2_compress_aware(aware, folder)
    plotted = pd.read_csv(folder / "lab2-compress-aware.csv")
    assert png.stat().st_size > 10_000 and plotted["curve"].nunique() == 3
    nas_curve = plotted[plotted["curve"].str.startswith("no compression")]
    assert nas_curve["best_so_far"].tolist() == pytest.approx([0.6, 0.645, 0.74, 0.76])  # TPE's, both repeats
    post = plotted[plotted["curve"].str.contains("with post-training")]
    assert post["best_so_far"].tolist() == pytest.approx([0.6, 0.7, 0.7])

    alone = tmp_path / "elsewhere" / "lab2-compress-aware"
    plot_lab2_compress_aware(aware, alone)
    assert pd.read_csv(alone / "lab2-compress-aware.csv")["curve"].nunique() == 2


def test_prune_figure_has_one_point_per_method_and_sparsity(tmp_path):
    rows = [
        {
            "experiment": "lab1-prune",
            "variant": "prune",
            "trial_index": i,
            "status": "TERMINATED",
            "sparsity": s,
            "method": m,
            "pruned_accuracy": 0.5 + 0.1 * (m == "l1-norm"),
            "finetuned_accuracy": 0.7,
            "start_accuracy": 0.8,
            "start_width": 16,
            "majority_accuracy": 0.55,
        }
        for i, (s, m) in enumerate([(s, m) for s in (0.1, 0.5, 0.9) for m in ("random", "l1-norm")])
    ]
    rows.append({**rows[0], "trial_index": 6, "status": "ERROR", "pruned_accuracy": None})
    [png] = plot_lab1_prune(pd.DataFrame(rows), tmp_path)
    assert png.name == "lab1-prune.png" and png.stat().st_size > 10_000
    plotted = pd.read_csv(tmp_path / "lab1-prune.csv")
    assert len(plotted) == 6 and not plotted.isna().any().any()
