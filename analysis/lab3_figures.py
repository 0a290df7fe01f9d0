"""Lab 3 figures: best accuracy so far per number format, and accuracy against model size (Pareto).

Both read a `lab3-mixed` or `lab3-precisions` table: one row per trial with `variant` (the
format), `trial_index`, `accuracy`, `cost_size_mb`, and the starting model's `fp32_accuracy`
and `fp32_size_mb`. Files: `<experiment>.png` and `<experiment>-pareto.png`, each with a CSV.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis.curves import best_so_far_band
from analysis.figure_io import new_axes, save
from analysis.figure_parts import best_so_far_line, front_points, scatter_with_front
from analysis.results import first_value

ACCURACY = "accuracy"
SIZE = "cost_size_mb"


def plot_lab3_best_so_far(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Trials (x) against best accuracy so far (y), one curve per format, fp32 start as a reference.

    Trials are in launch order; a failed trial keeps the previous best. With --repeats the curve
    is the mean over repeats and the band spans their lowest to highest.
    """
    experiment = _experiment(table)
    points = best_so_far_band(table, ACCURACY, by=("variant",))
    figure, axes = new_axes(
        _title(table, "best accuracy so far"), "trial (launch order)", "best test accuracy so far"
    )
    colours = _colours(points["variant"])
    for number, (variant, part) in enumerate(points.groupby("variant")):
        best_so_far_line(axes, part, variant, colours[variant], number)
    reference = _reference(table)
    if reference is not None:
        axes.axhline(
            reference["accuracy"],
            color="black",
            linestyle=":",
            linewidth=1.2,
            label=f"fp32 start ({reference['start']})",
        )
    _legend(axes, len(colours))
    return [save(figure, points, folder, experiment)]


def plot_lab3_pareto(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Model size (x) against accuracy (y): every finished trial a point coloured by format, the front drawn.

    The front is taken over all trials of the experiment (every format together): the trials
    that no other trial beats on both accuracy and size. The starting fp32 model is a star.
    """
    experiment = _experiment(table)
    done = front_points(table, maximize=ACCURACY, minimize=SIZE)
    figure, axes = new_axes(_title(table, "accuracy against size"), "model size (MB)", "test accuracy")
    reference = _reference(table)
    colours = _colours(done["variant"])
    scatter_with_front(axes, done, SIZE, ACCURACY, colours, extend_to=(reference or {}).get("size_mb"))
    if reference is not None and reference["size_mb"] is not None:
        axes.scatter(
            [reference["size_mb"]],
            [reference["accuracy"]],
            marker="*",
            s=160,
            color="black",
            label=f"fp32 start ({reference['start']})",
            zorder=3,
        )
    _legend(axes, len(colours))
    columns = [
        c
        for c in (
            "variant",
            "repeat",
            "trial_index",
            SIZE,
            "cost_avg_linear_bits",
            ACCURACY,
            "quantized_layers",
            "pareto_optimal",
            "on_front",
        )
        if c in done.columns
    ]
    return [save(figure, done[columns].sort_values(SIZE, kind="stable"), folder, f"{experiment}-pareto")]


def _experiment(table: pd.DataFrame) -> str:
    return str(table["experiment"].iloc[0]) if len(table) else "lab3"


def _title(table: pd.DataFrame, what: str) -> str:
    """`<experiment>: <what> (<sampler>[, objectives])` from the columns the runner records."""
    details = []
    for column in ("sampler", "objectives"):
        value = first_value(table, column)
        if value is not None and (column != "objectives" or "," in str(value)):
            details.append(str(value))
    suffix = f" ({'; '.join(details)})" if details else ""
    return f"{_experiment(table)}: {what}{suffix}"


def _reference(table: pd.DataFrame) -> dict | None:
    """The starting model's accuracy and size, and the experiment it came from; None if unknown."""
    accuracy = first_value(table, "fp32_accuracy")
    if accuracy is None:
        return None
    size = first_value(table, "fp32_size_mb")
    return {
        "accuracy": float(accuracy),
        "size_mb": float(size) if size is not None else None,
        "start": str(first_value(table, "start_from", "starting model")),
    }


def _colours(variants: pd.Series) -> dict[str, tuple]:
    """One colour per format, by sorted name, so a format has the same colour in every figure."""
    variants = sorted(variants.dropna().unique())
    palette = plt.get_cmap("tab20" if len(variants) > 10 else "tab10")
    return {variant: palette(number % palette.N) for number, variant in enumerate(variants)}


def _legend(axes: plt.Axes, entries: int) -> None:
    if entries > 4:
        # Many formats: outside the axes (on a wider figure), so no curve hides behind the legend.
        axes.figure.set_size_inches(8.4, 4.2)
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        axes.legend(fontsize=8)
