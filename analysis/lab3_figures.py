"""Lab 3 figures: best accuracy so far per number format, and accuracy against model size (Pareto).

Both read a `lab3-mixed` or `lab3-precisions` table: one row per trial with `variant` (the
format), `trial_index`, `accuracy`, `cost_size_mb`, and the starting model's `fp32_accuracy`
and `fp32_size_mb`. Files: `<experiment>.png` and `<experiment>-pareto.png`, each with a CSV.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from analysis.curves import best_so_far_band, pareto_front
from analysis.figure_io import new_axes, save

ACCURACY = "accuracy"
SIZE = "cost_size_mb"
# Line styles cycle so that 11 formats stay tellable apart beyond their colours.
STYLES = ("-", "--", "-.", ":")


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
        style = STYLES[number % len(STYLES)]
        axes.plot(
            part["trial"],
            part["best_so_far"],
            style,
            marker="o",
            markersize=3,
            color=colours[variant],
            label=variant,
        )
        if (part["repeats"] > 1).any():
            axes.fill_between(
                part["trial"], part["lowest"], part["highest"], color=colours[variant], alpha=0.15
            )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
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
    done = table[table["status"] == "TERMINATED"].dropna(subset=[ACCURACY, SIZE]).copy()
    front = pareto_front(done, maximize=ACCURACY, minimize=SIZE)
    done["on_front"] = done.index.isin(front.index)
    figure, axes = new_axes(_title(table, "accuracy against size"), "model size (MB)", "test accuracy")
    colours = _colours(done["variant"])
    for variant, part in done.groupby("variant"):
        axes.scatter(part[SIZE], part[ACCURACY], s=18, alpha=0.75, color=colours[variant], label=variant)
    if len(front):
        # A staircase: each front point also beats everything larger and less accurate, so the last
        # step runs on to the largest size plotted.
        right = max(done[SIZE].max(), (_reference(table) or {}).get("size_mb") or 0.0)
        axes.plot(
            [*front[SIZE], right],
            [*front[ACCURACY], front[ACCURACY].iloc[-1]],
            color="black",
            linewidth=1.2,
            drawstyle="steps-post",
            label="Pareto front",
        )
        axes.scatter(
            front[SIZE], front[ACCURACY], s=40, facecolors="none", edgecolors="black", linewidths=1.0
        )
    reference = _reference(table)
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
        if column in table.columns and table[column].notna().any():
            value = str(table[column].dropna().iloc[0])
            if column != "objectives" or "," in value:
                details.append(value)
    suffix = f" ({'; '.join(details)})" if details else ""
    return f"{_experiment(table)}: {what}{suffix}"


def _reference(table: pd.DataFrame) -> dict | None:
    """The starting model's accuracy and size, and the experiment it came from; None if unknown."""
    if "fp32_accuracy" not in table.columns or table["fp32_accuracy"].dropna().empty:
        return None
    size = table["fp32_size_mb"].dropna() if "fp32_size_mb" in table.columns else pd.Series(dtype=float)
    start = table["start_from"].dropna() if "start_from" in table.columns else pd.Series(dtype=object)
    return {
        "accuracy": float(table["fp32_accuracy"].dropna().iloc[0]),
        "size_mb": float(size.iloc[0]) if len(size) else None,
        "start": str(start.iloc[0]) if len(start) else "starting model",
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
