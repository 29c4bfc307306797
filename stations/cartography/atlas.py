"""The atlas: a cover (the province map with the page of each prefecture, the table of the 16 prefectures)
then one sheet per prefecture in adcode order, each with its page number, in one PDF; or, for a prefecture,
its county atlas (:mod:`.county_atlas`).
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from stations.errors import PrintError

from .context import Context, area_name, coverage_header, covered_pct, data_date, is_demo, reach_text
from .county_atlas import atlas_pages, draw_county_atlas
from .fonts import font_context
from .furniture import draw_north_arrow, draw_scalebar
from .labels import LabelPlacer, halo, label_point
from .layout import BOLD, FOOTER_PT, MIN_FONT_PT, add_axes, fmt_int, layout_for, new_page, wrap_text
from .panels import DEMO_NOTE, DISCLAIMER_TEXT, SOURCES_TEXT, producer
from .projection import area_crs, nice_length_km, nice_scale, north_angle, point_scale_factor, to_lonlat
from .request import (
    DEFAULT_RADIUS_M, DEFAULT_SYMBOLS, PROVINCE_ADCODE, SheetRequest, parse_atlas_area, parse_layers, parse_paper,
    parse_radius, parse_symbols,
)
from .sheet import build_sheet, metadata
from .symbols import station_classes

__all__ = ["AtlasInfo", "cover_page", "make_atlas"]


def _cover_map(fig, lay, ctx: Context, pages: dict[str, int]):
    """The province on the cover (METRIC_CRS) at a true scale, with a scale bar, a north arrow, the open
    stations and each prefecture's name and page; returns the map rectangle (mm)."""
    pw, ph = lay.page
    f = lay.factor
    geo = ctx.geo
    crs = area_crs(None, "province", geo.metric_crs)
    map_rect = (lay.border[0] + 18 * f, ph - 48 * f - 118 * f, pw - 2 * (lay.border[0] + 18 * f), 118 * f)
    ax = add_axes(fig, map_rect, lay.page)
    ax.set_aspect("equal")
    ax.set_axis_off()
    prov = geo.province.to_crs(crs)
    prefs = geo.prefectures.to_crs(crs)
    prefs = prefs.assign(geometry=prefs.geometry.simplify(800))
    prov.plot(ax=ax, color="#f4f1ea", edgecolor="none")
    prefs.boundary.plot(ax=ax, color="#555555", linewidth=0.6 * f)
    prov.boundary.plot(ax=ax, color="#7a5230", linewidth=1.4 * f)
    st = ctx.stations
    if len(st):
        stp = st.to_crs(crs)
        op = stp[station_classes(stp).isin(["open", "open_24h"])]
        ax.scatter(op.geometry.x, op.geometry.y, s=(1.4 * f) ** 2, c="#d7301f", linewidths=0, zorder=5)
    # a true scale and a north arrow on the index map too
    minx, miny, maxx, maxy = prov.total_bounds
    denominator = nice_scale(max((maxx - minx) * 1.04 / (map_rect[2] / 1000), (maxy - miny) * 1.04 / (map_rect[3] / 1000)))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hw, hh = denominator * map_rect[2] / 2000, denominator * map_rect[3] / 2000
    extent = (cx - hw, cx + hw, cy - hh, cy + hh)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    lon_c, lat_c = to_lonlat(crs, cx, cy)
    k = point_scale_factor(crs, lon_c, lat_c)
    bar_km = nice_length_km((extent[1] - extent[0]) / 1000 / k * 0.22)
    draw_scalebar(ax, extent, bar_km, bar_km * 1000 * k, denominator, f)
    draw_north_arrow(ax, north_angle(crs, lon_c, lat_c), f)
    fig.canvas.draw()
    placer = LabelPlacer(ax, fig.canvas.get_renderer())
    for _, row in prefs.sort_values("adcode").iterrows():
        p = label_point(row.geometry)
        placer.place(p.x, p.y, f"{row['name_zh']}\n第{pages[row['adcode']]}页", fontsize=MIN_FONT_PT * f, color="#222222",
                     path_effects=halo(2 * f), zorder=10, required=True, linespacing=1.1, **BOLD)
    return map_rect


def _bold(size):
    from matplotlib.font_manager import FontProperties

    return FontProperties(weight="bold", size=size)


def _cover_table(fig, lay, ctx: Context, pages: dict[str, int], map_rect, radius: float, layers) -> None:
    """The table of the prefectures (stations, open stations, coverage, page) and the province total."""
    pw = lay.page[0]
    f = lay.factor
    geo = ctx.geo
    analysis = ctx.analysis(radius, layers)
    st = ctx.stations
    counts = st.groupby(st["prefecture_adcode"].astype(str)).size() if len(st) else pd.Series(dtype=int)
    open_counts = st[st["status"] == "open"].groupby(st["prefecture_adcode"].astype(str)).size() if len(st) else pd.Series(dtype=int)
    rows = []
    for code in pages:
        cov = covered_pct(analysis, code)
        rows.append([code, geo.prefecture_names[code], fmt_int(counts.get(code, 0)), fmt_int(open_counts.get(code, 0)),
                     "—" if cov is None else f"{cov:.1f}%", str(pages[code])])
    cov_total = covered_pct(analysis, PROVINCE_ADCODE)
    rows.append(["530000", "全省合计", fmt_int(len(st)), fmt_int(int((st["status"] == "open").sum()) if len(st) else 0),
                 "—" if cov_total is None else f"{cov_total:.1f}%", ""])
    tab_top = map_rect[1] - 4 * f
    bottom = lay.footer[1] + lay.footer[3] + 2 * f
    tab_rect = (lay.border[0] + 12 * f, bottom, pw - 2 * (lay.border[0] + 12 * f), tab_top - bottom)
    tax = add_axes(fig, tab_rect, lay.page)
    tax.set_axis_off()
    header = ["区划代码", "州（市）", "驿站总数", "开放驿站", coverage_header(analysis, radius), "页码"]
    tbl = tax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="center", colWidths=[0.13, 0.33, 0.13, 0.13, 0.18, 0.1])
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(7.5 * f)
    nrows = len(rows) + 1
    for (r, c), cell in tbl.get_celld().items():
        cell.set_height(1.0 / nrows)
        cell.set_linewidth(0.4)
        cell.set_edgecolor("#999999")
        if r == 0:
            cell.set_facecolor("#e8e2d6")
            cell.get_text().set_fontproperties(_bold(7.5 * f))
        elif r == nrows - 1:
            cell.set_facecolor("#f4f1ea")
            cell.get_text().set_fontproperties(_bold(7.5 * f))
        if c == 1 and r > 0:
            cell.get_text().set_ha("left")
            cell._loc = "left"
    if cov_total is None and analysis.table is None:
        tax.text(0.0, -0.02, "注：覆盖率计算模块不可用，覆盖率暂缺。", transform=tax.transAxes, ha="left", va="top", fontsize=MIN_FONT_PT * f, color="#666666")


def cover_page(req_paper: str, ctx: Context, total_pages: int, generated: date, radius: float, layers):
    """The atlas cover: the province map (small), the table of the 16 prefectures, the page index."""
    lay = layout_for(req_paper, "portrait")
    pw, ph = lay.page
    f = lay.factor
    fig = new_page(lay)
    fig.text(0.5, (ph - 28 * f) / ph, "云南省工会驿站分布图集", ha="center", va="center", fontsize=26 * f, **BOLD)
    fig.text(0.5, (ph - 38 * f) / ph, f"全省及 16 个州（市）· {reach_text(ctx.analysis(radius, layers), radius)} · 数据日期 {data_date(ctx.stations)}",
             ha="center", va="center", fontsize=10 * f, color="#333333")
    pages = {code: i + 2 for i, code in enumerate(sorted(ctx.geo.prefecture_names))}
    map_rect = _cover_map(fig, lay, ctx, pages)
    _cover_table(fig, lay, ctx, pages, map_rect, radius, layers)
    fx, fy, fw, fh = lay.footer
    y = fy + fh - 2.5 * f
    for line in wrap_text(SOURCES_TEXT + DISCLAIMER_TEXT, fw, FOOTER_PT * f) + [f"制图：{producer()}    生成日期：{generated.isoformat()}"]:
        fig.text(fx / pw, y / ph, line, ha="left", va="center", fontsize=FOOTER_PT * f, color="#444444")
        y -= 3.6 * f
    fig.text((fx + fw) / pw, (fy + 2.5 * f - 3.6 * f + 3.6 * f) / ph, f"第 1 页 / 共 {total_pages} 页", ha="right", va="center", fontsize=7.5 * f)
    if is_demo(ctx.stations):
        fig.text(0.5, (ph - 45 * f) / ph, DEMO_NOTE, ha="center", va="center", fontsize=8 * f, color="#c62828",
                 bbox=dict(boxstyle="square,pad=0.35", fc="#fff3f3", ec="#c62828", lw=0.6))
    return fig


@dataclass
class AtlasInfo:
    pages: int
    seconds: float
    out: str


def make_atlas(
    paper: str = "A4",
    out: str | os.PathLike | io.IOBase = "yunnan-atlas.pdf",
    progress: bool = True,
    *,
    area: str | None = PROVINCE_ADCODE,
    layers: str | Iterable[str] | None = None,
    radius: float | str = DEFAULT_RADIUS_M,
    stations=None,
    context: Context | None = None,
    print_date: date | None = None,
    symbols: str | None = DEFAULT_SYMBOLS,
    on_page: Callable[[int, int], None] | None = None,
) -> AtlasInfo:
    """Write an atlas. For the province (``area`` ``yunnan``, the default): a cover (province map + table of
    the 16 prefectures) then one sheet per prefecture (adcode order). For a prefecture (``area`` an adcode or a
    name, :func:`.request.parse_atlas_area`): its county atlas (:mod:`.county_atlas`: a cover, then each county's
    sheet followed by the table of its stations). Every page has its number and the generated date.
    ``progress`` shows a tqdm bar; ``on_page(done, total)`` is called after each page (the web app's
    background job reports it). ``context`` gives the stations and the analysis layers (see :class:`Context`)."""
    from matplotlib.backends.backend_pdf import PdfPages

    area_v = parse_atlas_area(area)
    paper_v = parse_paper(paper)
    layers_v = parse_layers(layers)
    radius_v = parse_radius(radius)
    symbols_v = parse_symbols(symbols)
    if isinstance(out, (str, os.PathLike)) and Path(out).suffix.lower() != ".pdf":
        raise PrintError(f"out: the atlas is a PDF; give a .pdf file, not {str(out)!r}", param="out")
    t0 = time.perf_counter()
    ctx = context or Context(stations=stations)
    generated = print_date or date.today()
    bar = None
    if progress:
        from tqdm import tqdm

        if area_v == PROVINCE_ADCODE:
            expected = 1 + len(ctx.geo.prefecture_names)
        else:
            expected = 1 + sum(1 + n for _p, n in atlas_pages(ctx, area_v, paper_v).values())
        bar = tqdm(total=expected, unit="页", desc=f"atlas {area_v}")

    def step(done: int, total: int, label: str) -> None:
        if bar is not None:
            bar.total = total
            bar.set_postfix_str(label)
            bar.update(1)
        if on_page:
            on_page(done, total)

    title = f"{area_name(area_v)}工会驿站分布图集" if area_v != PROVINCE_ADCODE else "云南省工会驿站分布图集"
    with font_context(), PdfPages(out, metadata={**metadata(title, "pdf")}) as pdf:
        if area_v == PROVINCE_ADCODE:
            total = _province_atlas(pdf, ctx, paper_v, layers_v, radius_v, symbols_v, generated, step)
        else:
            total = draw_county_atlas(pdf, ctx, area_v, paper_v, layers_v, radius_v, symbols_v, generated, step)
    if bar is not None:
        bar.close()
    return AtlasInfo(pages=total, seconds=time.perf_counter() - t0, out=str(out))


def _province_atlas(pdf, ctx: Context, paper, layers, radius, symbols, generated: date, step) -> int:
    """The cover and the 16 prefecture sheets into ``pdf``; returns the number of pages."""
    codes = sorted(ctx.geo.prefecture_names)
    total = 1 + len(codes)
    pdf.savefig(cover_page(paper, ctx, total, generated, radius, layers))
    step(1, total, "cover")
    for i, code in enumerate(codes, start=2):
        req = SheetRequest(code, paper, "portrait", layers, radius, symbols)
        fig, _info = build_sheet(req, ctx, page_label=f"第 {i} 页 / 共 {total} 页", print_date=generated)
        pdf.savefig(fig)
        step(i, total, code)
    return total
