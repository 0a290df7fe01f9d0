"""The drawing steps the figures share: a best-so-far line with its band, trials with their Pareto front,
reference lines, and the run label every title carries.

A new figure is a few lines: pick the points (analysis.curves), style the curves
(analysis.format_styles.curve_styles: one look per name in every lab), draw them with these, and
save the PNG with its CSV (analysis.figure_io.save).
"""

import re
from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from analysis.curves import pareto_front
from analysis.format_styles import CurveStyle
from analysis.results import finished, first_value, infeasible

# Reference lines, the same in every lab.
FP32_LINE = {"color": "black", "linestyle": ":", "linewidth": 1.2}
CHANCE_LINE = {"color": "black", "linestyle": "-.", "linewidth": 0.8}


def run_label(table: pd.DataFrame) -> str:
    """`<profile> profile, [<model> on ]<dataset>` (and `MASE-exact` when set) from every row's columns.

    The model is named when the run brought its own (`model` column; the default is bert-tiny),
    and a dataset file by its name.
    """
    parts = []
    profile = first_value(table, "profile")
    if profile is not None:
        parts.append(f"{profile} profile")
    dataset = first_value(table, "dataset")
    model = first_value(table, "model")
    if dataset is not None:
        shown = data_name(str(dataset))
        parts.append(f"{model} on {shown}" if model is not None else shown)
    elif model is not None:
        parts.append(str(model))
    if bool(first_value(table, "mase_exact", False)):
        parts.append("MASE-exact")
    return ", ".join(parts) or "profile and dataset not recorded"


def data_name(dataset: str) -> str:
    """A dataset as a title shows it: a file or folder by its name, anything else as given."""
    return dataset.rstrip("/").rsplit("/", 1)[-1] if dataset.startswith(("/", "~", ".")) else dataset


def chance_line(axes: plt.Axes, table: pd.DataFrame) -> None:
    """The majority-class share of the test split (`majority_accuracy`), when the rows carry it."""
    chance = first_value(table, "majority_accuracy")
    if chance is not None:
        axes.axhline(float(chance), label="chance (majority class)", **CHANCE_LINE)


def best_so_far_line(axes: plt.Axes, curve: pd.DataFrame, label: str, style: CurveStyle) -> None:
    """One best-so-far curve (analysis.curves.best_so_far_band's columns) in `style`, with its
    min-max band when it averages several repeats."""
    axes.plot(curve["trial"], curve["best_so_far"], markersize=4, label=label, **style.line())
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if (curve["repeats"] > 1).any():
        axes.fill_between(
            curve["trial"], curve["lowest"], curve["highest"], color=style.colour, alpha=0.15, linewidth=0
        )


def front_points(table: pd.DataFrame, maximize: str, minimize: str) -> pd.DataFrame:
    """The finished trials that have both values, with `on_front` (analysis.curves.pareto_front)."""
    done = finished(table).dropna(subset=[maximize, minimize]).copy()
    done["on_front"] = done.index.isin(pareto_front(done, maximize, minimize).index)
    return done


def scatter_with_front(
    axes: plt.Axes,
    points: pd.DataFrame,
    x: str,
    y: str,
    styles: Mapping[str, CurveStyle],
    extend_to: float | None = None,
) -> None:
    """Every point in its `variant`'s style (in the order of `styles`, labelled with the style's label
    or the variant), the front as a staircase.

    `points` is front_points' table. Each front point also beats everything larger and less
    accurate, so the last step runs on to `extend_to` (e.g. the largest size plotted).
    """
    for variant, style in styles.items():
        part = points[points["variant"] == variant]
        axes.scatter(part[x], part[y], s=18, alpha=0.75, label=style.label or str(variant), **style.points())
    front = points[points["on_front"]].sort_values(x, kind="stable")
    if len(front):
        right = max(points[x].max(), extend_to or 0.0)
        axes.plot(
            [*front[x], right],
            [*front[y], front[y].iloc[-1]],
            color="black",
            linewidth=1.2,
            drawstyle="steps-post",
            label="Pareto front",
        )
        axes.scatter(front[x], front[y], s=40, facecolors="none", edgecolors="black", linewidths=1.0)


# A --constraint as the runner records it in the `constraints` column: "bops_per_token<=1e+09".
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=)\s*(\S+)\s*$")


def recorded_constraints(table: pd.DataFrame) -> list[tuple[str, str, float]]:
    """The search's cost budgets as (cost column, "<=" or ">=", bound), from its `constraints` column."""
    text = first_value(table, "constraints")
    found = []
    for part in str(text or "").split(","):
        match = _CONSTRAINT.match(part)
        if match:
            found.append(
                ("cost_" + match.group(1).removeprefix("cost_"), match.group(2), float(match.group(3)))
            )
    return found


def infeasible_points(axes: plt.Axes, table: pd.DataFrame, x: str, y: str) -> None:
    """The finished trials that broke a --constraint, as grey crosses (never on the front)."""
    broken = infeasible(table).dropna(subset=[x, y])
    if len(broken):
        axes.scatter(broken[x], broken[y], marker="x", s=22, color="0.55", label="broke a constraint")


def constraint_line(axes: plt.Axes, table: pd.DataFrame, x: str) -> None:
    """A vertical dashed line at each recorded budget on the x-axis cost `x`."""
    for column, op, bound in recorded_constraints(table):
        if column == x:
            axes.axvline(
                bound, color="firebrick", linestyle="--", linewidth=1.0, label=f"budget {op} {bound:g}"
            )
