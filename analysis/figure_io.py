"""Save a figure as PNG beside a CSV of exactly the points it shows."""

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import location  # noqa: E402


def new_axes(title: str, xlabel: str, ylabel: str, run: str | None = None) -> tuple[plt.Figure, plt.Axes]:
    """A figure with one axes; `run` (figure_parts.run_label) is added as the title's last line, so a
    smoke or synthetic figure is never mistaken for a result."""
    figure, axes = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    axes.set_title(f"{title}\n{run}" if run else title, fontsize=10)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def save(figure: plt.Figure, points: pd.DataFrame, folder: str | Path, stem: str) -> str | Path:
    """Write `<stem>.png` and `<stem>.csv` into `folder` (a path or a URI); returns the PNG's location.

    The location is a Path for a local folder and the URI (a str) otherwise.
    """
    png = location.join(folder, f"{stem}.png")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    location.write_bytes(png, buffer.getvalue())
    location.write_bytes(location.join(folder, f"{stem}.csv"), points.to_csv(index=False).encode())
    return png if location.is_uri(png) else Path(png)
