"""Save a figure as PNG beside a CSV of exactly the points it shows."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def new_axes(title: str, xlabel: str, ylabel: str, run: str | None = None) -> tuple[plt.Figure, plt.Axes]:
    """A figure with one axes; `run` (figure_parts.run_label) is added as the title's last line, so a
    smoke or synthetic figure is never mistaken for a result."""
    figure, axes = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    axes.set_title(f"{title}\n{run}" if run else title, fontsize=10)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def save(figure: plt.Figure, points: pd.DataFrame, folder: str | Path, stem: str) -> Path:
    """Write `<stem>.png` and `<stem>.csv` into `folder`; returns the PNG path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{stem}.png"
    figure.tight_layout()
    figure.savefig(png)
    plt.close(figure)
    points.to_csv(folder / f"{stem}.csv", index=False)
    return png
