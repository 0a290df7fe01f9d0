"""One look per curve name, shared by every lab's figures: colour, marker and line style together.

Number formats (Lab 3) get a fixed style each, so a format looks the same in every figure and run;
any other name (a sampler, a pruning method, ptq/qat) takes the next unused style in order. The 13
colours are distinct hues, never the light/dark pairs of a paired palette, and each name also
differs from its neighbours in marker and line style, so curves stay apart in grey-scale and where
they overlap.
"""

from dataclasses import dataclass

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
# Lab 3's formats in the compression library's order: their styles do not depend on which ran.
FORMAT_ORDER = (
    "integer",
    "minifloat_denorm",
    "minifloat_ieee",
    "log",
    "block_fp",
    "block_minifloat",
    "block_log",
    "binary",
    "binary_scaling",
    "binary_residual_sign",
    "ternary",
    "mxint",
    "mxfp",
)


@dataclass(frozen=True)
class CurveStyle:
    """Keyword arguments for `Axes.plot` / `Axes.scatter` of one curve."""

    colour: str
    marker: str
    linestyle: str

    def line(self) -> dict[str, str]:
        return {"color": self.colour, "marker": self.marker, "linestyle": self.linestyle}

    def points(self) -> dict[str, str]:
        return {"color": self.colour, "marker": self.marker}


def _style(number: int) -> CurveStyle:
    return CurveStyle(
        COLOURS[number % len(COLOURS)], MARKERS[number % len(MARKERS)], LINESTYLES[number % len(LINESTYLES)]
    )


def curve_styles(names: list[str] | tuple[str, ...]) -> dict[str, CurveStyle]:
    """{name: style} for the curves of one figure: formats keep their own style, others take the rest in order."""
    styles: dict[str, CurveStyle] = {}
    taken = {FORMAT_ORDER.index(name) for name in names if name in FORMAT_ORDER}
    free = (number for number in range(10_000) if number not in taken)
    for name in names:
        styles[name] = _style(FORMAT_ORDER.index(name)) if name in FORMAT_ORDER else _style(next(free))
    return styles
