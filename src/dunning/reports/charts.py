"""Charts: a document's chart drawn by matplotlib as an SVG fragment to inline in a page.

matplotlib draws; nothing here writes SVG by hand. Text stays text in the SVG (``svg.fonttype``
``none``), so that the browser sets Chinese labels in its own fonts and a reader can select and
search them; the fixed hash salt and the absent date make the same chart the same bytes every
run. Only a figure object is used, never pyplot: no global figure registry, no GUI backend.
"""

from __future__ import annotations

import io
import math
import re
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from .document import Chart, Kind, Table
from .locales import Locale

__all__ = ["chart_svg"]

# Colour-blind-safe (Okabe–Ito), then matplotlib's tab10 for more series.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#000000",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
)
FONTS = [
    "DejaVu Sans",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "WenQuanYi Micro Hei",
    "sans-serif",
]

# rcParams are process-wide: one chart is drawn at a time.
_LOCK = threading.Lock()
_HEAD = re.compile(r"\A.*?(?=<svg)", re.S)
_SIZE = re.compile(r'\s(width|height)="[0-9.]+pt"')


def chart_svg(chart: Chart, table: Table, loc: Locale) -> str:
    """The chart of ``table`` as an ``<svg>`` element (no XML prologue), sized by its viewBox."""
    from cycler import cycler
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    rows = table.body()
    first = table.columns[0]
    categories = [loc.value(row[0], first.kind) for row in rows]
    index = {column.key: i for i, column in enumerate(table.columns)}
    series = [table.columns[index[key]] for key in chart.series]
    kind: Kind = series[0].kind if series else "count"
    gap = chart.kind == "lines"  # a month not yet reached is a gap in its curve, not a zero
    values = [[_number(row[index[key]], gap) for key in chart.series] for row in rows]
    names = [loc.label(c.key) if c.code else loc.text(c.title) for c in series]

    settings: Any = {
        "svg.fonttype": "none",
        "svg.hashsalt": f"dunning-{chart.id}",
        "font.family": "sans-serif",
        "font.sans-serif": FONTS,
        "font.size": 9,
        "text.parse_math": False,  # a "$" in a label is a dollar sign, not mathematics
        "text.usetex": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=PALETTE),
    }
    with _LOCK, rc_context(settings), warnings.catch_warnings():
        # Measuring Chinese text with a Latin font warns of each missing glyph; the browser,
        # not matplotlib, sets the text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        tall = chart.horizontal or chart.kind == "heatmap"
        height = max(2.4, 0.3 * len(categories) + 1.2) if tall else 3.0
        figure = Figure(figsize=(WIDTH, height))
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        _margins(figure, chart, categories, names, height)
        plot = _Plot(categories, names, values, kind, loc)
        if chart.kind == "heatmap":
            _heatmap(axes, figure, plot)
        elif chart.kind == "lines":
            _lines(axes, plot)
        else:
            _bars(axes, chart, plot)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    svg = _SIZE.sub("", _HEAD.sub("", out.getvalue(), count=1), count=2)
    return svg.replace("<svg ", f'<svg role="img" data-chart="{chart.id}" ', 1)


WIDTH = 8.0  # inches; the page scales the SVG to its column


def _inches(text: str) -> float:
    """About how wide ``text`` is at 9 points: Chinese characters are twice a Latin letter."""
    return sum(0.13 if ord(char) >= 0x2E80 else 0.068 for char in text)


def _rotated(categories: list[str]) -> bool:
    """Whether the category labels under the axis must turn to fit side by side."""
    room = (WIDTH - 1.0) / max(len(categories), 1)
    return max((_inches(c) for c in categories), default=0.0) > room * 0.9


def _margins(
    figure: Any, chart: Chart, categories: list[str], names: list[str], height: float
) -> None:
    """Room for the labels, legend and colour bar, measured from the text (no layout pass).

    A layout engine measures every label by drawing the figure twice; estimating the widths
    from the characters halves the time a chart takes, and the labels are short codes.
    """
    widest = max((_inches(c) for c in categories), default=0.0)
    left, bottom, top, right = 0.6, 0.4, 0.15, 0.2
    if chart.horizontal or chart.kind == "heatmap":
        left = widest + 0.3
    if chart.kind == "heatmap":
        bottom = max(_inches(n) for n in names) * 0.5 + 0.45
    elif not chart.horizontal and _rotated(categories):
        bottom = widest * 0.5 + 0.45
    if chart.kind == "lines":
        right = widest + 0.7
    elif len(names) > 1 and chart.kind != "heatmap":
        top = 0.45
    figure.subplots_adjust(
        left=min(left, WIDTH * 0.45) / WIDTH,
        right=1 - right / WIDTH,
        bottom=min(bottom, height * 0.45) / height,
        top=1 - top / height,
    )


def _number(value: Any, gap: bool) -> float:
    if value is None:
        return math.nan if gap else 0.0
    return float(value)


def _formatter(kind: Kind, loc: Locale) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: loc.axis(v, kind))


@dataclass(frozen=True)
class _Plot:
    """What a chart draws: the rows' labels, the series' names, the values, how to write them."""

    categories: list[str]
    names: list[str]
    values: list[list[float]]
    kind: Kind
    loc: Locale


def _turn(labels: Any) -> None:
    """Tilt the labels under an axis that do not fit side by side."""
    for label in labels:
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _bars(axes: Any, chart: Chart, plot: _Plot) -> None:
    categories, names, values = plot.categories, plot.names, plot.values
    positions = list(range(len(categories)))
    count = len(names)
    width = 0.8 if chart.kind == "stacked" else 0.8 / max(count, 1)
    base: list[float] = [0.0] * len(categories)
    for s, name in enumerate(names):
        column = [row[s] for row in values]
        where: list[float]
        if chart.kind == "stacked":
            where, start = [float(p) for p in positions], list(base)
            base = [b + v for b, v in zip(base, column, strict=True)]
        else:
            where = [p - 0.4 + width * (s + 0.5) for p in positions]
            start = [0.0] * len(column)
        if chart.horizontal:
            axes.barh(where, column, height=width, left=start, label=name)
        else:
            axes.bar(where, column, width=width, bottom=start, label=name)
    value_axis, category_axis = (
        (axes.xaxis, axes.yaxis) if chart.horizontal else (axes.yaxis, axes.xaxis)
    )
    value_axis.set_major_formatter(_formatter(plot.kind, plot.loc))
    if plot.kind == "count":  # counts are whole: no tick at 0.5 printed as "0 0 1 1"
        from matplotlib.ticker import MaxNLocator

        value_axis.set_major_locator(MaxNLocator(integer=True))
    category_axis.set_ticks(positions, categories)
    if chart.horizontal:
        axes.invert_yaxis()  # the table's first row at the top
        axes.grid(axis="x", alpha=0.3)
    else:
        axes.grid(axis="y", alpha=0.3)
        if _rotated(categories):
            _turn(axes.get_xticklabels())
    axes.set_axisbelow(True)
    if count > 1:
        axes.legend(
            frameon=False,
            fontsize=8,
            ncols=min(count, 8),
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            borderaxespad=0.2,
        )


def _lines(axes: Any, plot: _Plot) -> None:
    steps = list(range(len(plot.names)))
    for label, row in zip(plot.categories, plot.values, strict=True):
        axes.plot(steps, row, marker="o", markersize=3, linewidth=1.4, label=label)
    axes.set_xticks(steps, plot.names)
    axes.yaxis.set_major_formatter(_formatter(plot.kind, plot.loc))
    if plot.kind == "count":
        from matplotlib.ticker import MaxNLocator

        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(frameon=False, fontsize=7, ncols=1, loc="upper left", bbox_to_anchor=(1.01, 1))


def _heatmap(axes: Any, figure: Any, plot: _Plot) -> None:
    # Each cell shaded by its share of its row: where an old channel's cases went.
    values, loc = plot.values, plot.loc
    if not values or not plot.names:  # nothing to shade: an empty frame, not an error
        axes.set_axis_off()
        return
    shares = []
    for row in values:
        total = sum(row)
        shares.append([v / total if total else 0.0 for v in row])
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(plot.names)), plot.names)
    axes.set_yticks(range(len(plot.categories)), plot.categories)
    _turn(axes.get_xticklabels())
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            if value:
                dark = shares[r][c] > 0.55
                axes.text(
                    c,
                    r,
                    loc.value(int(value), "count"),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "#222222",
                )
    axes.spines[:].set_visible(False)
    bar = figure.colorbar(image, ax=axes, shrink=0.8)
    bar.ax.yaxis.set_major_formatter(_formatter("percent", loc))
