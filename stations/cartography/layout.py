"""Page layout of a sheet: paper, margins, the map frame and the panels, type sizes, text fitting.

Every rectangle is ``(x, y, w, h)`` in millimetres from the bottom-left corner of the page. Type sizes are
in points for A4; A3 multiplies them (and the margins) by the layout's ``factor`` (sqrt 2).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from .request import PAPERS

MM = 1 / 25.4  # inches per mm
#: the smallest type on any sheet, in points (A4; A3 type is scaled by sqrt 2): legend, statistics, footer,
#: graticule and locator labels never go below it (rows are dropped or rearranged instead)
MIN_FONT_PT = 6.5
FOOTER_PT = MIN_FONT_PT
#: bold text (``**BOLD``)
BOLD = {"weight": "bold"}


@dataclass
class Layout:
    """Rectangles in mm from the bottom-left of the page: (x, y, w, h)."""

    page: tuple[float, float]
    factor: float  # type size factor (1 for A4, ~1.41 for A3)
    border: tuple[float, float, float, float]
    title: tuple[float, float]  # centre x, baseline-ish y of the title
    subtitle: tuple[float, float]
    map: tuple[float, float, float, float]
    legend: tuple[float, float, float, float]
    stats: tuple[float, float, float, float]
    locator: tuple[float, float, float, float]
    footer: tuple[float, float, float, float]


def layout_for(paper: str, orientation: str) -> Layout:
    w, h = PAPERS[paper]
    if orientation == "landscape":
        w, h = h, w
    f = 1.0 if paper == "A4" else math.sqrt(2)
    m = 10.0 * f  # page margin
    pad = 3.0 * f
    border = (m, m, w - 2 * m, h - 2 * m)
    header_h = 21.0 * f
    footer_h = 15.0 * f
    inner_x, inner_y, inner_w, inner_h = m + pad, m + pad, w - 2 * (m + pad), h - 2 * (m + pad)
    title = (w / 2, inner_y + inner_h - 9.0 * f)
    subtitle = (w / 2, inner_y + inner_h - 16.5 * f)
    footer = (inner_x, inner_y, inner_w, footer_h)
    top = inner_y + inner_h - header_h
    if orientation == "portrait":
        panel_h = 62.0 * f
        map_rect = (inner_x, inner_y + footer_h + panel_h + pad, inner_w, top - (inner_y + footer_h + panel_h + pad))
        py = inner_y + footer_h + pad / 2
        ph = panel_h - pad / 2
        loc_w = min(ph, inner_w * 0.3)
        legend_w = (inner_w - loc_w - 2 * pad) * 0.48
        stats_w = inner_w - loc_w - legend_w - 2 * pad
        legend = (inner_x, py, legend_w, ph)
        stats = (inner_x + legend_w + pad, py, stats_w, ph)
        locator = (inner_x + inner_w - loc_w, py, loc_w, ph)
    else:
        side_w = 80.0 * f
        map_rect = (inner_x, inner_y + footer_h + pad / 2, inner_w - side_w - pad, top - (inner_y + footer_h + pad / 2))
        sx = inner_x + inner_w - side_w
        col_top = top
        loc_h = 38.0 * f
        locator = (sx, col_top - loc_h, side_w, loc_h)
        rest = col_top - loc_h - pad - (inner_y + footer_h + pad / 2)
        legend_h = rest * 0.42
        legend = (sx, col_top - loc_h - pad - legend_h, side_w, legend_h)
        stats = (sx, inner_y + footer_h + pad / 2, side_w, rest - legend_h - pad)
    return Layout((w, h), f, border, title, subtitle, map_rect, legend, stats, locator, footer)


def new_page(lay: Layout):
    """A page-sized matplotlib ``Figure`` (not attached to pyplot) with an Agg canvas and the page border."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    pw, ph = lay.page
    fig = Figure(figsize=(pw * MM, ph * MM), dpi=100)
    FigureCanvasAgg(fig)
    bx, by, bw, bh = lay.border
    fig.patches.append(
        Rectangle((bx / pw, by / ph), bw / pw, bh / ph, transform=fig.transFigure, fill=False, lw=1.6 * lay.factor, ec="#222222")
    )
    return fig


def add_axes(fig, rect_mm, page):
    """Axes over ``rect_mm`` (x, y, w, h in mm) of a page of size ``page`` (w, h in mm)."""
    x, y, w, h = rect_mm
    pw, ph = page
    return fig.add_axes((x / pw, y / ph, w / pw, h / ph))


def frame_box(ax, f):
    """A thin grey frame around a panel's axes."""
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, ec="#888888", lw=0.5 * f, clip_on=False))


def text_width_mm(text: str, size_pt: float) -> float:
    """Estimated width of ``text`` in mm: CJK and full-width characters 1 em, others about 0.56 em."""
    em = size_pt * 0.3528
    return sum(em if unicodedata.east_asian_width(ch) in ("W", "F") else em * 0.56 for ch in text)


def wrap_text(text: str, width_mm: float, size_pt: float) -> list[str]:
    """Greedy wrap for mixed Chinese/Latin text, breaking after Chinese punctuation where possible."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if text_width_mm(current + ch, size_pt) > width_mm and current and ch not in "。，；、）":
            cut = max(current.rfind(p) for p in "；。，、）") + 1
            if cut <= len(current) * 0.6:
                cut = len(current)
            while cut < len(current) and current[cut] in "。，；、）":
                cut += 1  # never start a line with closing punctuation
            lines.append(current[:cut])
            current = current[cut:]
        current += ch
    if current:
        lines.append(current)
    return lines


def fmt_int(n: float | int) -> str:
    """``12345.6`` -> ``"12,346"``."""
    return f"{int(round(n)):,}"
