"""Lab 1 figures: accuracy against fixed-point width (PTQ, QAT) and against sparsity."""

from pathlib import Path

import pandas as pd

from analysis.figure_io import new_axes, save
from analysis.figure_parts import FP32_LINE, chance_line, run_label
from analysis.format_styles import curve_styles
from analysis.results import finished, first_value


def plot_lab1_qat(table: pd.DataFrame, folder: str | Path) -> list[str | Path]:
    """Accuracy (y) against width (x): PTQ and QAT curves, fp32 base and chance as reference lines."""
    done = finished(table).copy()
    # One curve per sampled fractional share (`frac_ratio`); `frac_width` is the bits it gave.
    group = [c for c in ("width", "frac_ratio", "frac_width") if c in done.columns]
    metrics = [c for c in ("ptq_accuracy", "qat_accuracy", "fp32_accuracy", "majority_accuracy") if c in done]
    points = done.groupby(group, as_index=False)[metrics].mean().sort_values(group)
    figure, axes = new_axes(
        "Lab 1: fixed-point width, PTQ vs QAT", "fixed-point width (bits)", "test accuracy", run_label(table)
    )
    shares = points.groupby("frac_ratio") if "frac_ratio" in points else [(None, points)]
    labels = []
    for ratio, _ in shares:
        suffix = f" (frac {ratio:g}w)" if ratio is not None and points["frac_ratio"].nunique() > 1 else ""
        labels += [f"PTQ{suffix}", f"QAT{suffix}"]
    styles = curve_styles(labels)
    for ratio, part in shares:
        suffix = f" (frac {ratio:g}w)" if ratio is not None and points["frac_ratio"].nunique() > 1 else ""
        axes.plot(part["width"], part["ptq_accuracy"], label=f"PTQ{suffix}", **styles[f"PTQ{suffix}"].line())
        axes.plot(part["width"], part["qat_accuracy"], label=f"QAT{suffix}", **styles[f"QAT{suffix}"].line())
    if len(points):
        axes.axhline(points["fp32_accuracy"].iloc[0], label="fp32 base", **FP32_LINE)
    chance_line(axes, done)
    axes.set_xticks(sorted(points["width"].unique()))
    axes.legend(fontsize=8)
    return [save(figure, points, folder, "lab1-qat")]


def plot_lab1_prune(table: pd.DataFrame, folder: str | Path) -> list[str | Path]:
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
    figure, axes = new_axes(title, "sparsity (weights and activations)", "test accuracy", run_label(table))
    styles = curve_styles([str(method) for method in points["method"].unique()])
    for method, part in points.groupby("method", sort=False):
        # Colour and marker name the method; the line style says before or after fine-tuning.
        style = styles[str(method)]
        axes.plot(
            part["sparsity"],
            part["finetuned_accuracy"],
            color=style.colour,
            marker=style.marker,
            linestyle="-",
            label=f"{method}, fine-tuned",
        )
        axes.plot(
            part["sparsity"],
            part["pruned_accuracy"],
            color=style.colour,
            marker=style.marker,
            linestyle="--",
            alpha=0.6,
            markerfacecolor="none",
            label=f"{method}, before fine-tuning",
        )
    start = _first_number(done, "start_accuracy")
    if start is not None:
        axes.axhline(start, label="unpruned start model", **FP32_LINE)
    chance_line(axes, done)
    if len(points):
        axes.set_xticks(sorted(points["sparsity"].unique()))
    axes.legend(fontsize=8)
    return [save(figure, points, folder, "lab1-prune")]


def _first_number(table: pd.DataFrame, column: str) -> float | None:
    value = first_value(table, column)
    return None if value is None else float(value)
