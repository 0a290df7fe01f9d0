"""Draw the figures of a stored experiment, chosen by the experiment name in its table."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.lab1_figures import plot_lab1_prune, plot_lab1_qat
from analysis.lab2_figures import plot_lab2_compress_aware, plot_lab2_nas, plot_lab2_nas_params
from analysis.lab3_figures import plot_lab3_best_so_far, plot_lab3_bops, plot_lab3_formats, plot_lab3_pareto
from analysis.results import load_results
from analysis.sensitivity import plot_sensitivity
from errors import ResultsError

FigureFunction = Callable[[pd.DataFrame, str | Path], list[str | Path]]

FIGURES: dict[str, list[FigureFunction]] = {
    "lab1-qat": [plot_lab1_qat],
    "lab1-prune": [plot_lab1_prune],
    "lab2-nas": [plot_lab2_nas, plot_lab2_nas_params],
    "lab2-compress-aware": [plot_lab2_compress_aware],
    "lab3-mixed": [plot_lab3_best_so_far, plot_lab3_pareto, plot_lab3_bops],
    "lab3-precisions": [plot_lab3_best_so_far, plot_lab3_formats, plot_lab3_pareto, plot_lab3_bops],
    "sensitivity": [plot_sensitivity],
}


def draw_figures(folder: str | Path, table: pd.DataFrame | None = None) -> list[str | Path]:
    """Draw every figure of the experiment stored in `folder`, beside its data; returns PNG paths.

    Experiments without a figure (e.g. `base`) return an empty list.
    """
    table = load_results(folder) if table is None else table
    if table.empty:
        raise ResultsError(
            f"{folder}'s results table has no rows, so there is nothing to draw; rerun it with --force"
        )
    name = str(table["experiment"].iloc[0])
    paths: list[str | Path] = []
    for figure in FIGURES.get(name, []):
        try:
            paths += figure(table, folder)
        except (KeyError, ValueError) as error:  # pandas: a missing column, or no column left to group by
            raise ResultsError(
                f"{folder}'s results table lacks columns the {name} figure needs ({error.args[0]}); "
                "it was not written by this version of adls, rerun it with --force"
            ) from None
    return paths
