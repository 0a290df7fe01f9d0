"""Per-layer sensitivity from a `sensitivity` table: the ranking of layers and the heat map.

The table has one finished row per (layer, precision) with `layer`, `layer_position` (its place
in the model), `precision`, `accuracy_drop` and `loss_increase`. A layer's sensitivity is its
mean accuracy drop over the precisions, ties broken by its mean loss increase (the finer signal
when accuracy barely moves), then by its place in the model.
"""

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figure_io import save
from analysis.figure_parts import run_label
from analysis.results import finished
from errors import ResultsError

DROP = "accuracy_drop"
LOSS = "loss_increase"


def layer_sensitivity(table: pd.DataFrame) -> pd.DataFrame:
    """One row per layer, most sensitive first: `layer`, `accuracy_drop`, `loss_increase` (means
    over the precisions), `worst_precision` (the precision with the largest drop) and `rank` (1 =
    most sensitive). ResultsError when the table has no finished sensitivity trial."""
    done = finished(table)
    missing = [c for c in ("layer", "precision", DROP, LOSS) if c not in done.columns]
    if missing or done.empty:
        raise ResultsError(
            f"no finished per-layer sensitivity trial in this table (missing {missing or 'rows'}); "
            "run `adls run sensitivity` first"
        )
    position = done["layer_position"] if "layer_position" in done.columns else pd.Series(0, index=done.index)
    grouped = done.assign(layer_position=position).groupby("layer", sort=False)
    ranking = grouped.agg(
        accuracy_drop=(DROP, "mean"), loss_increase=(LOSS, "mean"), layer_position=("layer_position", "min")
    )
    worst = done.loc[done.groupby("layer", sort=False)[DROP].idxmax(), ["layer", "precision"]]
    ranking["worst_precision"] = worst.set_index("layer")["precision"]
    ranking = ranking.reset_index().sort_values(
        [DROP, LOSS, "layer_position"], ascending=[False, False, True], kind="stable"
    )
    ranking["rank"] = np.arange(1, len(ranking) + 1)
    return ranking.reset_index(drop=True)


def format_sensitivity(table: pd.DataFrame, k: int = 3) -> list[str]:
    """Lines naming the `k` most and the `k` least sensitive layers, with their mean damage."""
    ranking = layer_sensitivity(table)
    precisions = ", ".join(str(p) for p in finished(table)["precision"].drop_duplicates())
    lines = [f"[sensitivity] layers ranked by mean accuracy drop over {precisions} (then loss increase):"]
    for title, rows in (("most sensitive", ranking.head(k)), ("least sensitive", ranking.tail(k).iloc[::-1])):
        lines.append(f"  {title}:")
        for _, row in rows.iterrows():
            lines.append(
                f"    #{row['rank']} {row['layer']}: accuracy drop {row[DROP]:+.4f}, "
                f"loss increase {row[LOSS]:+.4f} (worst at {row['worst_precision']})"
            )
    return lines


def plot_sensitivity(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Heat maps of layers (rows, model order) x precisions (columns): accuracy drop and loss
    increase of quantizing that one layer; `sensitivity.png` with its CSV."""
    done = finished(table)
    if done.empty or "layer" not in done.columns:
        return []
    order = _layer_order(done)
    precisions = list(done["precision"].drop_duplicates())
    panels = [(DROP, "accuracy drop (points)", 100.0), (LOSS, "loss increase", 1.0)]
    figure, axes = plt.subplots(1, 2, figsize=(3.2 + 1.4 * len(precisions) * 2, 1.6 + 0.32 * len(order)))
    for ax, (column, title, scale) in zip(axes, panels, strict=True):
        grid = done.pivot_table(index="layer", columns="precision", values=column, aggfunc="mean")
        grid = grid.reindex(index=order, columns=precisions) * scale
        limit = float(np.nanmax(np.abs(grid.to_numpy()))) if grid.notna().any().any() else 0.0
        image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", vmin=-limit or -1, vmax=limit or 1, aspect="auto")
        ax.set_xticks(range(len(precisions)), precisions, fontsize=8)
        ax.set_yticks(range(len(order)), order, fontsize=8)
        ax.set_title(title, fontsize=9)
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            if not np.isnan(value):
                ax.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=7)
        figure.colorbar(image, ax=ax, shrink=0.8)
    figure.suptitle(
        f"sensitivity: one Linear quantized at a time, no training\n{run_label(table)}", fontsize=9
    )
    points = done[[c for c in ("layer", "layer_position", "precision", DROP, LOSS, "accuracy") if c in done]]
    return [
        save(
            figure, points.sort_values(["layer_position", "precision"], kind="stable"), folder, "sensitivity"
        )
    ]


def _layer_order(done: pd.DataFrame) -> Sequence[str]:
    if "layer_position" in done.columns:
        return list(done.sort_values("layer_position", kind="stable")["layer"].drop_duplicates())
    return list(done["layer"].drop_duplicates())
