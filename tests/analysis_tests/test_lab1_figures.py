"""Lab 1 figures from a made-up table (no Ray): the points each figure plots are its CSV."""

import math

import pandas as pd

from analysis.figures import draw_figures


def qat_table(ratios=(0.5,)) -> pd.DataFrame:
    rows = []
    for ratio in ratios:
        for width in (4, 8, 16):
            for repeat in (0, 1):
                rows.append(
                    {
                        "experiment": "lab1-qat",
                        "variant": "qat",
                        "repeat": repeat,
                        "trial_index": len(rows),
                        "status": "TERMINATED",
                        "width": width,
                        "frac_ratio": ratio,
                        "frac_width": round(width * ratio),
                        "ptq_accuracy": 0.5 + width / 100 + repeat / 100,
                        "qat_accuracy": 0.6 + width / 100 + repeat / 100 + ratio / 10,
                        "fp32_accuracy": 0.8,
                    }
                )
    rows.append({**rows[0], "trial_index": len(rows), "status": "ERROR", "ptq_accuracy": math.nan})
    return pd.DataFrame(rows)


def test_the_qat_figure_plots_the_mean_over_repeats_per_width(tmp_path):
    [png] = draw_figures(tmp_path, qat_table())
    assert png.name == "lab1-qat.png" and png.stat().st_size > 10_000
    points = pd.read_csv(tmp_path / "lab1-qat.csv")
    assert points["width"].tolist() == [4, 8, 16]  # the failed trial is not a point
    assert points["frac_width"].tolist() == [2, 4, 8]
    assert points["ptq_accuracy"].round(3).tolist() == [0.545, 0.585, 0.665]
    assert (points["fp32_accuracy"] == 0.8).all()


def test_two_fractional_shares_are_two_curves(tmp_path):
    draw_figures(tmp_path, qat_table(ratios=(0.25, 0.5)))
    points = pd.read_csv(tmp_path / "lab1-qat.csv")
    assert sorted(zip(points["frac_ratio"], points["width"], strict=True)) == [
        (ratio, width) for ratio in (0.25, 0.5) for width in (4, 8, 16)
    ]
    assert points.set_index(["frac_ratio", "width"])["frac_width"].to_dict()[(0.25, 16)] == 4


def test_the_prune_figure_plots_each_method_against_sparsity(tmp_path):
    rows = [
        {
            "experiment": "lab1-prune",
            "variant": "prune",
            "trial_index": index,
            "status": "TERMINATED",
            "method": method,
            "sparsity": sparsity,
            "pruned_accuracy": 0.8 - sparsity / (2 if method == "l1-norm" else 1),
            "finetuned_accuracy": 0.82 - sparsity / 4,
            "start_accuracy": 0.83,
            "start_width": 8,
            "majority_accuracy": 0.5,
        }
        for index, (method, sparsity) in enumerate(
            (m, s) for m in ("random", "l1-norm") for s in (0.1, 0.5, 0.9)
        )
    ]
    [png] = draw_figures(tmp_path, pd.DataFrame(rows))
    assert png.name == "lab1-prune.png" and png.stat().st_size > 10_000
    points = pd.read_csv(tmp_path / "lab1-prune.csv")
    assert list(zip(points["method"], points["sparsity"], strict=True)) == [
        (m, s) for m in ("l1-norm", "random") for s in (0.1, 0.5, 0.9)
    ]
    l1 = points[points["method"] == "l1-norm"]
    assert l1["pruned_accuracy"].round(3).tolist() == [0.75, 0.55, 0.35]
