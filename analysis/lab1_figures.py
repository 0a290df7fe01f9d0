"""Lab 1 figures: accuracy against fixed-point width (PTQ, QAT) and against sparsity."""

from pathlib import Path

import pandas as pd

from analysis.figure_io import new_axes, save
from analysis.results import finished, first_value


def plot_lab1_qat(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Accuracy (y) against width (x): PTQ and QAT curves, fp32 base as a reference line."""
    done = finished(table).copy()
    # One curve per sampled fractional share (`frac_ratio`); `frac_width` is the bits it gave.
    group = [c for c in ("width", "frac_ratio", "frac_width") if c in done.columns]
    points = (
        done.groupby(group, as_index=False)[["ptq_accuracy", "qat_accuracy", "fp32_accuracy"]]
        .mean()
        .sort_values(group)
    )
    figure, axes = new_axes(
        "Lab 1: fixed-point width, PTQ vs QAT", "fixed-point width (bits)", "test accuracy"
    )
    shares = points.groupby("frac_ratio") if "frac_ratio" in points else [(None, points)]
    for ratio, part in shares:
        suffix = f" (frac {ratio:g}w)" if ratio is not None and points["frac_ratio"].nunique() > 1 else ""
        axes.plot(part["width"], part["ptq_accuracy"], "o--", label=f"PTQ{suffix}")
        axes.plot(part["width"], part["qat_accuracy"], "s-", label=f"QAT{suffix}")
    if len(points):
        axes.axhline(points["fp32_accuracy"].iloc[0], color="grey", linestyle=":", label="fp32 base")
    axes.set_xticks(sorted(points["width"].unique()))
    axes.legend()
    return [save(figure, points, folder, "lab1-qat")]


PRUNE_STYLES = {"random": "tab:orange", "l1-norm": "tab:blue"}


def plot_lab1_prune(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Accuracy (y) against sparsity (x): per method, after fine-tuning (solid) and before (dashed).

    The unpruned start model (the best QAT trial) and the majority-class share of the test split
    (chance) are reference lines. With several trials per point (repeats), points are means.
    """
    done = finished(table)
    metrics = [
        c
        for c in ("pruned_accuracy", "finetuned_accuracy", "start_accuracy", "majority_accuracy")
        if c in done
    ]
    points = (
        done.groupby(["method", "sparsity"], as_index=False)[metrics]
        .mean()
        .sort_values(["method", "sparsity"])
    )
    width = _first_number(done, "start_width")
    title = "Lab 1: pruning the best QAT model" + (f" ({width:g}-bit)" if width is not None else "")
    figure, axes = new_axes(title, "sparsity (weights and activations)", "test accuracy")
    for method, part in points.groupby("method", sort=False):
        colour = PRUNE_STYLES.get(str(method))
        axes.plot(
            part["sparsity"], part["finetuned_accuracy"], "o-", color=colour, label=f"{method}, fine-tuned"
        )
        axes.plot(
            part["sparsity"],
            part["pruned_accuracy"],
            "s--",
            color=colour,
            alpha=0.8,
            label=f"{method}, before fine-tuning",
        )
    start = _first_number(done, "start_accuracy")
    if start is not None:
        axes.axhline(start, color="grey", linestyle=":", label="unpruned start model")
    chance = _first_number(done, "majority_accuracy")
    if chance is not None:
        axes.axhline(chance, color="black", linestyle="-.", linewidth=0.8, label="chance (majority class)")
    if len(points):
        axes.set_xticks(sorted(points["sparsity"].unique()))
    axes.legend(fontsize=8)
    return [save(figure, points, folder, "lab1-prune")]


def _first_number(table: pd.DataFrame, column: str) -> float | None:
    value = first_value(table, column)
    return None if value is None else float(value)
