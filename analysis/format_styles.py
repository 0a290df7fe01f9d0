"""One look per curve name, shared by every lab's figures: colour, marker and line style together.

A number format's look is declared in its registration (`FigureStyle` of
trainables/compress/number_format.py) and travels with the results, since analysis/ reads files
only: Lab 3's searches write it into every row as the `STYLE_COLUMNS` (`style_record` builds them),
and `declared_styles(table)` reads it back. A name with a declared style keeps it in every figure
and run; any other name (a sampler, a pruning method, ptq/qat, a format of a table written before
the columns existed) takes the next palette entry whose colour no declared style of the figure
uses. The 13 colours are distinct hues, never the light/dark pairs of a paired palette, and each
name also differs from its neighbours in marker and line style, so curves stay apart in grey-scale
and where they overlap.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Any

import pandas as pd

# Distinct hues (Tableau 10 plus black, olive-green and navy), in the order styles are handed out.
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#000000",
    "#556b2f",
    "#000080",
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p", "d")
LINESTYLES = ("-", "--", "-.", ":")
# The row columns that carry a variant's declared style (search/ writes them, `declared_styles` reads them).
STYLE_COLUMNS = ("style_colour", "style_marker", "style_linestyle", "style_order", "style_label")


@dataclass(frozen=True)
class CurveStyle:
    """Keyword arguments for `Axes.plot` / `Axes.scatter` of one curve; `label` None: the curve's name."""

    colour: str
    marker: str
    linestyle: str
    label: str | None = None

    def line(self) -> dict[str, str]:
        return {"color": self.colour, "marker": self.marker, "linestyle": self.linestyle}

    def points(self) -> dict[str, str]:
        return {"color": self.colour, "marker": self.marker}


def style_record(colour: str, marker: str, linestyle: str, order: int, label: str) -> dict[str, Any]:
    """The row columns (`STYLE_COLUMNS`) that carry one variant's declared style and place among its kind."""
    return dict(zip(STYLE_COLUMNS, (colour, marker, linestyle, int(order), label), strict=True))


def declared_styles(table: pd.DataFrame) -> dict[str, CurveStyle]:
    """{variant: the style its rows declare}; variants whose rows carry no style are left out."""
    if "variant" not in table.columns or not set(STYLE_COLUMNS[:3]) <= set(table.columns):
        return {}
    declared = table.dropna(subset=list(STYLE_COLUMNS[:3])).drop_duplicates("variant")
    styles = {}
    for _, row in declared.iterrows():
        label = row.get("style_label")
        styles[str(row["variant"])] = CurveStyle(
            str(row["style_colour"]),
            str(row["style_marker"]),
            str(row["style_linestyle"]),
            str(label) if isinstance(label, str) and label else None,
        )
    return styles


def declared_order(table: pd.DataFrame, names: Iterable[str]) -> list[str]:
    """`names` in the order their rows declare (`style_order`), names without one after them by name."""
    orders: dict[str, float] = {}
    if {"variant", "style_order"} <= set(table.columns):
        placed = table.dropna(subset=["style_order"]).drop_duplicates("variant")
        orders = {str(v): float(o) for v, o in zip(placed["variant"], placed["style_order"], strict=True)}
    unique = list(dict.fromkeys(str(name) for name in names))
    return sorted(unique, key=lambda name: (name not in orders, orders.get(name, 0.0), name))


def _style(number: int) -> CurveStyle:
    return CurveStyle(
        COLOURS[number % len(COLOURS)], MARKERS[number % len(MARKERS)], LINESTYLES[number % len(LINESTYLES)]
    )


def curve_styles(
    names: list[str] | tuple[str, ...], declared: Mapping[str, CurveStyle] | None = None
) -> dict[str, CurveStyle]:
    """{name: style} for the curves of one figure: a name in `declared` keeps that style, the others
    take, in order, the palette entries whose colour no declared style of the figure uses."""
    declared = declared or {}
    taken = {declared[name].colour for name in names if name in declared}
    if set(COLOURS) <= taken:  # every colour declared: the others share colours, not markers and lines
        taken = set()
    free = (_style(number) for number in count() if COLOURS[number % len(COLOURS)] not in taken)
    return {name: declared[name] if name in declared else next(free) for name in names}
