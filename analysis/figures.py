"""Draw the figures of a stored experiment, chosen by the experiment name in its table."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.lab1_figures import plot_lab1_qat
from analysis.results import load_results

FigureFunction = Callable[[pd.DataFrame, str | Path], list[Path]]

FIGURES: dict[str, list[FigureFunction]] = {
    "lab1-qat": [plot_lab1_qat],
}


def draw_figures(folder: str | Path, table: pd.DataFrame | None = None) -> list[Path]:
    """Draw every figure of the experiment stored in `folder`, beside its data; returns PNG paths.

    Experiments without a figure (e.g. `base`) return an empty list.
    """
    table = load_results(folder) if table is None else table
    name = str(table["experiment"].iloc[0]) if len(table) else ""
    paths: list[Path] = []
    for figure in FIGURES.get(name, []):
        paths += figure(table, folder)
    return paths
