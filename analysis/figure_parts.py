"""The drawing steps the figures share: a best-so-far line with its band, trials with their Pareto front.

A new figure is a few lines: pick the points (analysis.curves), draw them with these, and save
the PNG with its CSV (analysis.figure_io.save).
"""

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from analysis.curves import pareto_front
from analysis.results import finished

# Line and marker per curve number: curves often tie, and styles keep each one visible.
STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))


def best_so_far_line(
    axes: plt.Axes, curve: pd.DataFrame, label: str, colour: str | None, number: int = 0
) -> None:
    """One best-so-far curve (analysis.curves.best_so_far_band's columns), with its min-max band
    when it averages several repeats; `number` picks the line style."""
    line, marker = STYLES[number % len(STYLES)]
    axes.plot(
        curve["trial"],
        curve["best_so_far"],
        linestyle=line,
        marker=marker,
        markersize=4,
        color=colour,
        label=label,
    )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if (curve["repeats"] > 1).any():
        axes.fill_between(
            curve["trial"], curve["lowest"], curve["highest"], color=colour, alpha=0.15, linewidth=0
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
    colours: Mapping[str, str | tuple | None],
    extend_to: float | None = None,
) -> None:
    """Every point coloured by its `variant` (in the order of `colours`), the front as a staircase.

    `points` is front_points' table. Each front point also beats everything larger and less
    accurate, so the last step runs on to `extend_to` (e.g. the largest size plotted).
    """
    for variant, colour in colours.items():
        part = points[points["variant"] == variant]
        axes.scatter(part[x], part[y], s=18, alpha=0.75, color=colour, label=str(variant))
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
