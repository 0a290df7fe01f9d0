"""Lab 1 figures: accuracy against fixed-point width (PTQ, QAT) and against sparsity."""

from pathlib import Path

import pandas as pd

from analysis.figure_io import new_axes, save


def plot_lab1_qat(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Accuracy (y) against width (x): PTQ and QAT curves, fp32 base as a reference line."""
    done = table[table["status"] == "TERMINATED"].copy()
    group = ["width", "frac_width"] if "frac_width" in done.columns else ["width"]
    points = (
        done.groupby(group, as_index=False)[["ptq_accuracy", "qat_accuracy", "fp32_accuracy"]]
        .mean()
        .sort_values(group)
    )
    figure, axes = new_axes(
        "Lab 1: fixed-point width, PTQ vs QAT", "fixed-point width (bits)", "test accuracy"
    )
    for frac_share, part in _by_frac_share(points):
        suffix = f" (frac {frac_share})" if frac_share else ""
        axes.plot(part["width"], part["ptq_accuracy"], "o--", label=f"PTQ{suffix}")
        axes.plot(part["width"], part["qat_accuracy"], "s-", label=f"QAT{suffix}")
    if len(points):
        axes.axhline(points["fp32_accuracy"].iloc[0], color="grey", linestyle=":", label="fp32 base")
    axes.set_xticks(sorted(points["width"].unique()))
    axes.legend()
    return [save(figure, points, folder, "lab1-qat")]


def _by_frac_share(points: pd.DataFrame):
    if "frac_width" not in points.columns:
        yield "", points
        return
    share = (points["frac_width"] / points["width"]).round(2)
    if share.nunique() == 1:
        yield "", points
        return
    for value, part in points.groupby(share):
        yield f"{value:g}w", part
