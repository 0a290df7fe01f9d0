"""Lab 2 figures: best accuracy so far per sampler, accuracy against size, compression-aware curves.

Files, each with a CSV of the plotted points: `lab2-nas.png` (trials against best accuracy so
far, one curve per sampler), `lab2-nas-params.png` (every trial's accuracy against its parameter
count, with the Pareto front) and `lab2-compress-aware.png` (the best sampler's lab2-nas curve
against the two compression-aware searches). With --repeats a curve is the mean over repeats
and its band spans the lowest to the highest repeat.
"""

import logging
from pathlib import Path

import pandas as pd

from analysis.curves import best_so_far_band
from analysis.figure_io import new_axes, save
from analysis.figure_parts import best_so_far_line, front_points, run_label, scatter_with_front
from analysis.format_styles import curve_styles
from analysis.results import first_value, load_results
from errors import ResultsError

log = logging.getLogger(__name__)

# Samplers in this order take the first styles (analysis.format_styles), others follow by name.
SAMPLER_ORDER = ("grid", "tpe", "random")
NAS_EXPERIMENT = "lab2-nas"
# Compression-aware variant -> (its accuracy, its label).
COMPRESS_CURVES = {
    "compressed": ("compressed_accuracy", "compression-aware, no post-training"),
    "post-trained": ("post_trained_accuracy", "compression-aware, with post-training"),
}


def plot_lab2_nas(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Trials (x) against best accuracy so far (y), one curve per sampler (Grid, TPE, Random)."""
    points = best_so_far_band(table, "accuracy", by=("variant",))
    figure, axes = new_axes(
        _nas_title(table, "best accuracy so far", band=True),
        "trial (launch order)",
        "best test accuracy so far",
        run_label(table),
    )
    samplers = [str(sampler) for sampler in _ordered(points["variant"].unique())]
    styles = curve_styles(samplers)
    for sampler in samplers:
        part = points[points["variant"].astype(str) == sampler]
        best_so_far_line(axes, part, sampler, styles[sampler])
    axes.legend(fontsize=8)
    return [save(figure, points, folder, "lab2-nas")]


def plot_lab2_nas_params(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Parameter count (x, log) against accuracy (y) of every finished trial, per sampler, with the front."""
    done = front_points(table, maximize="accuracy", minimize="cost_params")
    figure, axes = new_axes(
        _nas_title(table, "accuracy against size", band=False),
        "parameters",
        "test accuracy",
        run_label(table),
    )
    scatter_with_front(
        axes, done, "cost_params", "accuracy", curve_styles(_ordered(done["variant"].unique()))
    )
    if len(done):
        axes.set_xscale("log")
    axes.legend(fontsize=8)
    columns = [
        c
        for c in (
            "variant",
            "repeat",
            "trial_index",
            "num_hidden_layers",
            "num_attention_heads",
            "hidden_size",
            "intermediate_size",
            "n_layers",
            "n_heads",
            "dim",
            "hidden_dim",
            "query_proj",
            "key_proj",
            "value_proj",
            "output_proj",
            "cost_params",
            "accuracy",
            "on_front",
        )
        if c in done.columns
    ]
    return [save(figure, done[columns].sort_values("cost_params", kind="stable"), folder, "lab2-nas-params")]


def plot_lab2_compress_aware(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Trials (x) against best accuracy so far (y): lab2-nas's curve for the same sampler (no
    compression) and the two compression-aware searches (without and with post-training).

    The lab2-nas table is read from the sibling folder `<storage>/lab2-nas`; without it the
    figure has the two compression-aware curves only (and says so in the log).
    """
    sampler = str(first_value(table, "sampler", "?"))
    parts = []
    nas = _nas_table(folder)
    if nas is not None and "sampler" in nas:
        chosen = nas[nas["sampler"] == sampler]
        if len(chosen):
            band = best_so_far_band(chosen, "accuracy", by=())
            parts.append(band.assign(curve=f"no compression (lab2-nas, {sampler})"))
    for variant, (metric, label) in COMPRESS_CURVES.items():
        rows = table[table["variant"] == variant]
        if len(rows) and metric in rows:
            parts.append(best_so_far_band(rows, metric, by=()).assign(curve=label))
    points = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["curve", "trial"])
    styles = curve_styles(
        [f"no compression (lab2-nas, {sampler})", *(label for _, label in COMPRESS_CURVES.values())]
    )
    figure, axes = new_axes(
        f"Lab 2: compression-aware NAS\n({sampler} sampler{_repeats_note(table, band=True)})",
        "trial (launch order)",
        "best test accuracy so far",
        run_label(table),
    )
    for curve, part in points.groupby("curve", sort=False):
        best_so_far_line(axes, part, str(curve), styles[str(curve)])
    axes.legend(fontsize=8)
    columns = ["curve", *[c for c in points.columns if c != "curve"]]
    return [save(figure, points[columns], folder, "lab2-compress-aware")]


def _nas_table(folder: str | Path) -> pd.DataFrame | None:
    # String arithmetic rather than Path: the folder may be a URI (s3://...), which load_results reads.
    location = str(folder).rstrip("/").rsplit("/", 1)[0] + "/" + NAS_EXPERIMENT
    try:
        return load_results(location)
    except ResultsError as error:
        log.warning("no lab2-nas curve in the compression-aware figure: %s", error)
        return None


def _ordered(samplers) -> list:
    known = [s for s in SAMPLER_ORDER if s in set(samplers)]
    return known + sorted(s for s in samplers if s not in SAMPLER_ORDER)


def _repeats_note(table: pd.DataFrame, band: bool) -> str:
    repeats = table["repeat"].nunique() if "repeat" in table else 1
    if repeats < 2:
        return ""
    return f", mean of {repeats} repeats, band min-max" if band else f", {repeats} repeats"


def _nas_title(table: pd.DataFrame, what: str, band: bool) -> str:
    """`Lab 2 NAS: <what>` over a second line naming the space, budget and repeats."""
    details = []
    if first_value(table, "nas_space") is not None:
        details.append(f"{first_value(table, 'nas_space')} space")
    if first_value(table, "budget") is not None:
        details.append(f"{int(first_value(table, 'budget'))} trials per sampler")
    note = _repeats_note(table, band)
    suffix = f"\n({', '.join(details)}{note})" if details else ""
    return f"Lab 2 NAS: {what}{suffix}"
