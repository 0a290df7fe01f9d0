"""Lab 3 figures: best accuracy so far per format, each format's best accuracy, and accuracy against bits.

All read a `lab3-mixed` or `lab3-precisions` table: one row per trial with `variant` (the
format), `repeat`, `trial_index`, `accuracy`, `cost_avg_linear_bits`, the starting model's
`fp32_accuracy` and, when the trials report it, `majority_accuracy` (chance). Files, each with a
CSV of its points: `<experiment>.png` (best so far), `<experiment>-formats.png` (one dot per
format; lab3-precisions only), `<experiment>-pareto.png` (accuracy against bits per weight) and
`<experiment>-bops.png` (accuracy against bit operations per token). Trials that broke a
--constraint are grey crosses, never on a front; a budget on the x-axis cost is a dashed line.

Every format is drawn in the style its rows declare (analysis.format_styles: the format's
registration), in its declared order. The x-axis of the Pareto
figure is the average bits per Linear weight: it separates the formats, whereas model size is
dominated by the fp32 embeddings that no format touches.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis.curves import best_so_far_band
from analysis.figure_io import new_axes, save
from analysis.figure_parts import (
    FP32_LINE,
    best_so_far_line,
    chance_line,
    constraint_line,
    front_points,
    infeasible_points,
    run_label,
    scatter_with_front,
)
from analysis.format_styles import CurveStyle, curve_styles, declared_order, declared_styles
from analysis.results import finished, first_value

ACCURACY = "accuracy"
BITS = "cost_avg_linear_bits"
BOPS = "cost_bops_per_token"
FP32_BITS = 32.0


def plot_lab3_best_so_far(table: pd.DataFrame, folder: str | Path) -> list[str | Path]:
    """Trials (x) against best accuracy so far (y), one curve per format, fp32 start as a reference.

    Trials are in launch order; a failed trial keeps the previous best. With --repeats the curve
    is the mean over repeats and the band spans their lowest to highest. The y-range spans the
    formats' final bests and the fp32 start, so an early low trial does not squash the spread
    (such a point is cut off at the bottom; the CSV keeps it).
    """
    experiment = _experiment(table)
    points = best_so_far_band(table, ACCURACY, by=("variant",))
    figure, axes = new_axes(
        _title(table, "best accuracy so far"),
        "trial (launch order)",
        "best test accuracy so far",
        run_label(table),
    )
    styles = _styles(table, points["variant"])
    for variant, style in styles.items():
        best_so_far_line(axes, points[points["variant"] == variant], style.label or variant, style)
    reference = _reference(table)
    if reference is not None:
        axes.axhline(reference["accuracy"], label=f"fp32 start ({reference['start']})", **FP32_LINE)
    finals = points.groupby("variant")["best_so_far"].last().dropna()
    if len(finals):
        low, high = float(finals.min()), float(finals.max())
        if reference is not None:
            low, high = min(low, reference["accuracy"]), max(high, reference["accuracy"])
        margin = max(0.1 * (high - low), 0.005)
        axes.set_ylim(low - margin, high + margin)
    _legend(axes, len(styles))
    return [save(figure, points, folder, experiment)]


def format_bests(table: pd.DataFrame) -> pd.DataFrame:
    """One row per format: its best accuracy (mean over repeats of each repeat's best, with the
    lowest and highest), and the average bits per Linear weight of the best trial; best first."""
    done = finished(table).dropna(subset=[ACCURACY])
    rows = []
    for variant, part in done.groupby("variant"):
        per_repeat = (
            part.groupby("repeat")[ACCURACY].max() if "repeat" in part else part[ACCURACY].agg(["max"])
        )
        best = part.loc[part[ACCURACY].idxmax()]
        rows.append(
            {
                "variant": variant,
                "best_accuracy": float(per_repeat.mean()),
                "lowest": float(per_repeat.min()),
                "highest": float(per_repeat.max()),
                "repeats": int(len(per_repeat)),
                "trials": int(len(part)),
                "best_trial_index": int(best["trial_index"]),
                "best_avg_linear_bits": float(best[BITS]) if BITS in part else float("nan"),
            }
        )
    columns = [
        "variant",
        "best_accuracy",
        "lowest",
        "highest",
        "repeats",
        "trials",
        "best_trial_index",
        "best_avg_linear_bits",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values("best_accuracy", ascending=False, kind="stable")


def plot_lab3_formats(table: pd.DataFrame, folder: str | Path) -> list[str | Path]:
    """Each format's best accuracy as a dot (a bar over repeats' lowest to highest), best first,
    with the fp32 start and chance (majority class) as reference lines."""
    experiment = _experiment(table)
    bests = format_bests(table)
    figure, axes = new_axes(
        _title(table, "best accuracy per format"), "format", "best test accuracy", run_label(table)
    )
    styles = _styles(table, bests["variant"])
    for position, row in enumerate(bests.itertuples()):
        style = styles[row.variant]
        axes.errorbar(
            [position],
            [row.best_accuracy],
            yerr=[[row.best_accuracy - row.lowest], [row.highest - row.best_accuracy]]
            if row.repeats > 1
            else None,
            color=style.colour,
            marker=style.marker,
            markersize=7,
            linestyle="none",
            capsize=3,
        )
    labels = [styles[variant].label or variant for variant in bests["variant"]]
    axes.set_xticks(range(len(bests)), labels, rotation=40, ha="right", fontsize=8)
    reference = _reference(table)
    if reference is not None:
        axes.axhline(reference["accuracy"], label=f"fp32 start ({reference['start']})", **FP32_LINE)
    chance_line(axes, table)
    axes.legend(fontsize=8, loc="lower left")
    return [save(figure, bests, folder, f"{experiment}-formats")]


def plot_lab3_pareto(table: pd.DataFrame, folder: str | Path) -> list[str | Path]:
    """Average bits per Linear weight (x) against accuracy (y): every finished trial in its format's
    style, the Pareto front drawn and each front point labelled with its format.

    The front is taken over all trials of the experiment (every format together): the trials
    that no other trial beats on both accuracy and bits. The starting fp32 model is a star at 32.
    """
    experiment = _experiment(table)
    done = front_points(table, maximize=ACCURACY, minimize=BITS)
    figure, axes = new_axes(
        _title(table, "accuracy against bits per weight"),
        "average bits per Linear weight",
        "test accuracy",
        run_label(table),
    )
    reference = _reference(table)
    styles = _styles(table, done["variant"])
    scatter_with_front(axes, done, BITS, ACCURACY, styles, extend_to=FP32_BITS)
    infeasible_points(axes, table, BITS, ACCURACY)
    constraint_line(axes, table, BITS)
    for _, point in done[done["on_front"]].iterrows():
        axes.annotate(
            styles[str(point["variant"])].label or str(point["variant"]),
            (point[BITS], point[ACCURACY]),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
        )
    if reference is not None:
        axes.scatter(
            [FP32_BITS],
            [reference["accuracy"]],
            marker="*",
            s=160,
            color="black",
            label=f"fp32 start ({reference['start']})",
            zorder=3,
        )
    _legend(axes, len(styles))
    columns = [
        c
        for c in (
            "variant",
            "repeat",
            "trial_index",
            BITS,
            "cost_size_mb",
            ACCURACY,
            "quantized_layers",
            "pareto_optimal",
            "on_front",
        )
        if c in done.columns
    ]
    return [save(figure, done[columns].sort_values(BITS, kind="stable"), folder, f"{experiment}-pareto")]


def plot_lab3_bops(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Bit operations per token (x, log scale) against accuracy (y): the trials within their
    budgets in their format's style with the Pareto front over them, the trials that broke a
    --constraint as grey crosses, and a bops budget as a dashed line.

    Bit operations (trainables.compress.cost.compute_cost, docs/formats.md) count every Linear's
    MACs times weight bits times input bits, shared exponents and scales included. A table
    without `cost_bops_per_token` (written before it existed) draws nothing.
    """
    if BOPS not in table.columns:
        return []
    experiment = _experiment(table)
    done = front_points(table, maximize=ACCURACY, minimize=BOPS)
    figure, axes = new_axes(
        _title(table, "accuracy vs bit operations"),
        "bit operations per token (Linear layers)",
        "test accuracy",
        run_label(table),
    )
    styles = _styles(table, done["variant"])
    scatter_with_front(axes, done, BOPS, ACCURACY, styles)
    infeasible_points(axes, table, BOPS, ACCURACY)
    constraint_line(axes, table, BOPS)
    axes.set_xscale("log")
    reference = _reference(table)
    if reference is not None:
        axes.axhline(reference["accuracy"], label=f"fp32 start ({reference['start']})", **FP32_LINE)
    _legend(axes, len(styles))
    columns = [
        c
        for c in (
            "variant",
            "repeat",
            "trial_index",
            BOPS,
            BITS,
            ACCURACY,
            "feasible",
            "pareto_optimal",
            "on_front",
        )
        if c in done.columns
    ]
    return [save(figure, done[columns].sort_values(BOPS, kind="stable"), folder, f"{experiment}-bops")]


def _styles(table: pd.DataFrame, variants: pd.Series) -> dict[str, CurveStyle]:
    """{format: style} of the formats present, in their declared order (undeclared ones after, by name)."""
    present = [str(v) for v in variants.dropna().unique()]
    return curve_styles(declared_order(table, present), declared_styles(table))


def _experiment(table: pd.DataFrame) -> str:
    return str(table["experiment"].iloc[0]) if len(table) else "lab3"


def _title(table: pd.DataFrame, what: str) -> str:
    """`<experiment>: <what> (<sampler>[; objectives][; every Linear])` from the recorded columns."""
    details = []
    for column in ("sampler", "objectives"):
        value = first_value(table, column)
        if value is not None and (column != "objectives" or "," in str(value)):
            details.append(str(value))
    budgets = first_value(table, "constraints")
    if budgets:
        details.append(str(budgets))
    if first_value(table, "layers_mode") == "all":
        fp32 = first_value(table, "fp32_layers")
        details.append("every Linear" + (f" but {fp32}" if fp32 else ""))
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


def _legend(axes: plt.Axes, entries: int) -> None:
    if entries > 4:
        # Many formats: outside the axes (on a wider figure), so no curve hides behind the legend.
        axes.figure.set_size_inches(8.4, 4.6)
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        axes.legend(fontsize=8)
