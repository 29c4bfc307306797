"""The county atlas of a prefecture: a cover (the prefecture's map with each county's page, the table of its
counties), then for each county, in adcode order, its map sheet followed by the table of its stations, like
a QGIS atlas page with its attribute table.

The station table lists every station of the county (name order): name, address, opening hours as the
registry's parsed hours describe them (:meth:`stations.hours.OpeningHours.describe`, or the text as given when
it cannot be read), services, status and the date of the last change (``updated_at``). Each row is two lines
high; a longer cell is wrapped to two lines and ends in an ellipsis. A county with more stations than a page
holds (:func:`rows_per_page`) continues on further pages, with the column headers repeated; a county without
stations gets one page saying so. The page count is known before drawing (:func:`atlas_pages`), so every page
says "第 i 页 / 共 N 页".

The figures of the cover's table (workers, covered workers) come from the analysis table rounded by
:func:`stations.coverage.round_table` (through :mod:`stations.sheet_layers`), so the counties add up to the
prefecture's total row as printed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

from stations.schema import SERVICES, STATUSES

from .context import Context, area_geometry, coverage_header, covered_pct, data_date, is_demo, reach_text
from .furniture import draw_north_arrow, draw_scalebar
from .labels import LabelPlacer, halo, label_point
from .layout import BOLD, FOOTER_PT, MIN_FONT_PT, add_axes, fmt_int, layout_for, new_page, text_width_mm, wrap_text
from .panels import DEMO_NOTE, DISCLAIMER_TEXT, SOURCES_TEXT, producer
from .projection import area_crs, nice_length_km, nice_scale, north_angle, point_scale_factor, to_lonlat
from .request import SheetRequest
from .sheet import build_sheet
from .symbols import station_classes

__all__ = ["TABLE_COLUMNS", "atlas_pages", "county_codes", "county_cover_page", "county_index_rows", "draw_county_atlas",
           "rows_per_page", "station_rows", "station_table_page", "table_pages"]

#: the station table: (header, share of the table's width)
TABLE_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 0.04), ("名称", 0.24), ("地址", 0.19), ("开放时间", 0.16), ("服务", 0.19), ("状态", 0.085),
    ("最近更新", 0.095),
)
TABLE_PT = MIN_FONT_PT  # type size of the table rows (A4; A3 scales it)
HEADER_MM = 24.0  # title, subtitle and the column headers above the rows (A4)
ROW_LINES = 2  # every row is two lines high


def _row_mm(f: float) -> float:
    return (ROW_LINES * TABLE_PT * 0.3528 * 1.25 + 1.6) * f


def _table_rect(lay) -> tuple[float, float, float, float]:
    """The rectangle (mm) of the table: inside the border, between the header and the footer."""
    f = lay.factor
    bx, by, bw, bh = lay.border
    top = by + bh - 4 * f - HEADER_MM * f
    bottom = lay.footer[1] + lay.footer[3] + 2 * f
    return (bx + 4 * f, bottom, bw - 8 * f, top - bottom)


def rows_per_page(paper: str) -> int:
    """How many stations a table page of ``paper`` (portrait) holds."""
    lay = layout_for(paper, "portrait")
    return int(_table_rect(lay)[3] // _row_mm(lay.factor))


def table_pages(n_stations: int, paper: str) -> int:
    """Table pages of a county with ``n_stations`` stations (one, saying so, when it has none)."""
    return max(1, math.ceil(n_stations / rows_per_page(paper)))


def county_codes(ctx: Context, prefecture: str) -> list[str]:
    """The counties of ``prefecture``, in adcode order."""
    return sorted(c for c, p in ctx.geo.county_prefecture.items() if p == prefecture)


def _county_stations(stations, county: str):
    return stations[stations["county_adcode"].astype(str) == county] if len(stations) else stations


def atlas_pages(ctx: Context, prefecture: str, paper: str) -> dict[str, tuple[int, int]]:
    """county -> (page of its map sheet, number of its table pages); the cover is page 1."""
    out = {}
    page = 2
    for code in county_codes(ctx, prefecture):
        n_tab = table_pages(len(_county_stations(ctx.stations, code)), paper)
        out[code] = (page, n_tab)
        page += 1 + n_tab
    return out


# ------------------------------------------------------------------------------------------------ station rows


def _hours_text(row) -> str:
    from stations.hours import OpeningHours, parse_hours

    parsed = row.get("hours_json")
    text = row.get("opening_hours")
    try:
        if isinstance(parsed, str) and parsed.strip().startswith("{"):
            return OpeningHours.from_json(parsed).describe("zh")
        if isinstance(text, str) and text.strip():
            return parse_hours(text).describe("zh")
    except ValueError:  # unreadable hours: the text as the registry has it
        pass
    return text.strip() if isinstance(text, str) and text.strip() else "不详"


#: shorter names of the services in the table (the page's note says what they stand for); the others as in SERVICES
SERVICE_SHORT = {"first_aid": "急救", "aircon": "空调", "wifi": "无线网"}


def _services_text(row) -> str:
    names = [SERVICE_SHORT.get(key, zh) for key, (zh, _en) in SERVICES.items()
             if key in row and not pd.isna(row[key]) and bool(row[key])]
    return "、".join(names) if names else "—"


def _date_text(value) -> str:
    ts = pd.to_datetime(value, errors="coerce", utc=True)
    return "—" if pd.isna(ts) else ts.strftime("%Y-%m-%d")


def natural_key(text) -> tuple:
    """Sort key that reads numbers as numbers: 驿站2号 before 驿站10号."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", str(text)) if part)


def station_rows(stations) -> list[list[str]]:
    """The table rows of ``stations`` (sorted by name, numbers in names as numbers, then id): the columns of
    :data:`TABLE_COLUMNS`."""
    if not len(stations):
        return []
    st = stations.copy()
    names = st["name"] if "name" in st else pd.Series("", index=st.index)
    ids = st["id"] if "id" in st else pd.Series("", index=st.index)
    order = sorted(range(len(st)), key=lambda i: (natural_key(names.iloc[i]), natural_key(ids.iloc[i])))
    st = st.iloc[order]
    classes = station_classes(st)
    rows = []
    for i, ((_, row), cls) in enumerate(zip(st.iterrows(), classes), start=1):
        status = STATUSES.get(str(row.get("status")), (str(row.get("status") or "—"), ""))[0]
        if cls == "open_24h":
            status = "24小时" + status
        rows.append([str(i), str(row.get("name") or "—"), str(row.get("address") or "—"), _hours_text(row),
                     _services_text(row), status, _date_text(row.get("updated_at"))])
    return rows


def _cell_lines(text: str, width_mm: float, size_pt: float) -> list[str]:
    """``text`` wrapped to ``width_mm``, at most :data:`ROW_LINES` lines, the last ending in … when cut."""
    lines = wrap_text(text, width_mm, size_pt) or [""]
    if len(lines) <= ROW_LINES:
        return lines
    last = "".join(lines[ROW_LINES - 1:])
    while last and text_width_mm(last + "…", size_pt) > width_mm:
        last = last[:-1]
    return lines[: ROW_LINES - 1] + [last + "…"]


# ------------------------------------------------------------------------------------------------ pages


def _footer(fig, lay, page_label: str, generated: date, note: str = "") -> None:
    pw, ph = lay.page
    f = lay.factor
    fx, fy, fw, fh = lay.footer
    y = fy + fh - 2.5 * f
    for line in wrap_text(note + SOURCES_TEXT + DISCLAIMER_TEXT, fw, FOOTER_PT * f):
        fig.text(fx / pw, y / ph, line, ha="left", va="center", fontsize=FOOTER_PT * f, color="#444444")
        y -= 3.6 * f
    fig.text(fx / pw, y / ph, f"制图：{producer()}    打印日期：{generated.isoformat()}", ha="left", va="center",
             fontsize=FOOTER_PT * f, color="#444444")
    fig.text((fx + fw) / pw, y / ph, page_label, ha="right", va="center", fontsize=7.5 * f, color="#222222")


def _demo_stamp(fig, lay) -> None:
    """The demo-data stamp in the top-right corner, above the subtitle's line."""
    pw, ph = lay.page
    f = lay.factor
    fx, _fy, fw, _fh = lay.footer
    fig.text((fx + fw) / pw, (lay.border[1] + lay.border[3] - 5.5 * f) / ph, "示例数据 / demo data (synthetic)", ha="right", va="center",
             fontsize=8 * f, color="#c62828", bbox=dict(boxstyle="square,pad=0.3", fc="#fff3f3", ec="#c62828", lw=0.6), **BOLD)


def station_table_page(paper: str, county_name: str, prefecture_name: str, rows: list[list[str]], first: int,
                       part: int, parts: int, total_stations: int, *, page_label: str, generated: date,
                       as_of: str, demo: bool = False):
    """One page of a county's station table: rows ``first`` .. of ``rows`` (at most :func:`rows_per_page`)."""
    from matplotlib.patches import Rectangle

    lay = layout_for(paper, "portrait")
    pw, ph = lay.page
    f = lay.factor
    fig = new_page(lay)
    fig.text(lay.title[0] / pw, lay.title[1] / ph, f"{county_name}工会驿站名录", ha="center", va="center",
             fontsize=17 * f, color="#111111", **BOLD)
    part_txt = f" · 第 {part}/{parts} 页" if parts > 1 else ""
    fig.text(lay.subtitle[0] / pw, lay.subtitle[1] / ph,
             f"{prefecture_name} · 共 {fmt_int(total_stations)} 个驿站{part_txt} · 数据日期 {as_of}",
             ha="center", va="center", fontsize=9.5 * f, color="#333333")
    if demo:
        _demo_stamp(fig, lay)
    tx, ty, tw, th = _table_rect(lay)
    head_h = 6.0 * f
    ax = add_axes(fig, (tx, ty, tw, th + head_h), lay.page)
    ax.set_axis_off()
    ax.set_xlim(0, tw)
    ax.set_ylim(0, th + head_h)
    fs = TABLE_PT * f
    widths = [share * tw for _, share in TABLE_COLUMNS]
    xs = [sum(widths[:i]) for i in range(len(widths))]
    top = th + head_h
    ax.add_patch(Rectangle((0, th), tw, head_h, facecolor="#e8e2d6", edgecolor="#999999", linewidth=0.4))
    for (header, _), x in zip(TABLE_COLUMNS, xs):
        ax.text(x + 1.0 * f, th + head_h / 2, header, ha="left", va="center", fontsize=fs, **BOLD)
    row_h = _row_mm(f)
    line_h = TABLE_PT * f * 0.3528 * 1.25
    chunk = rows[first:first + rows_per_page(paper)]
    if not chunk:
        ax.text(tw / 2, th - 10 * f, "本县（市、区）暂无登记的驿站。", ha="center", va="center", fontsize=9 * f, color="#555555")
    for i, row in enumerate(chunk):
        y_top = th - i * row_h
        if i % 2 == 1:
            ax.add_patch(Rectangle((0, y_top - row_h), tw, row_h, facecolor="#f6f4ef", edgecolor="none"))
        for text, x, w in zip(row, xs, widths):
            for k, line in enumerate(_cell_lines(text, w - 3.5 * f, fs)):
                ax.text(x + 1.0 * f, y_top - 0.8 * f - line_h * (k + 0.5), line, ha="left", va="center", fontsize=fs,
                        color="#222222", parse_math=False)  # the registry's text as written: "$" is no math
        ax.plot([0, tw], [y_top - row_h, y_top - row_h], color="#cccccc", linewidth=0.3)
    bottom = th - len(chunk) * row_h if chunk else th
    ax.add_patch(Rectangle((0, bottom), tw, top - bottom, fill=False, edgecolor="#999999", linewidth=0.5))
    for x in xs[1:]:
        ax.plot([x, x], [bottom, top], color="#dddddd", linewidth=0.3)
    short = "，".join(f"{SERVICE_SHORT[k]}＝{SERVICES[k][0]}" for k in SERVICE_SHORT if k in SERVICES)
    note = f"开放时间为登记时间的规范描述；服务：{short}；状态与最近更新取自驿站登记簿。"
    _footer(fig, lay, page_label, generated, note)
    return fig


# ------------------------------------------------------------------------------------------------ cover


@dataclass
class CountyIndexRow:
    adcode: str
    name: str
    stations: int
    open: int
    workers: float | None
    covered: float | None  # per cent
    page: int


def county_index_rows(ctx: Context, prefecture: str, pages: dict[str, tuple[int, int]], radius: float, layers):
    """The cover's table: one row per county, then the prefecture's total (workers from the rounded table)."""
    analysis = ctx.analysis(radius, layers)
    table = analysis.table
    workers = {}
    if table is not None and "workers" in table:
        workers = dict(zip(table["adcode"].astype(str), table["workers"]))
    st = ctx.stations
    rows = []
    for code, (page, _n) in pages.items():
        mine = _county_stations(st, code)
        rows.append(CountyIndexRow(code, ctx.geo.county_names[code], len(mine),
                                   int(station_classes(mine).isin(["open", "open_24h"]).sum()) if len(mine) else 0,
                                   workers.get(code), covered_pct(analysis, code), page))
    mine = st[st["prefecture_adcode"].astype(str) == prefecture] if len(st) else st
    total = CountyIndexRow(prefecture, "合计", len(mine),
                           int(station_classes(mine).isin(["open", "open_24h"]).sum()) if len(mine) else 0,
                           workers.get(prefecture), covered_pct(analysis, prefecture), 0)
    return rows, total


def _cover_map(fig, lay, ctx: Context, prefecture: str, pages, rect) -> None:
    """The prefecture (a Transverse Mercator centred on it) with its counties, their names and sheet pages,
    the open stations, a scale bar and a north arrow."""
    import geopandas as gpd

    f = lay.factor
    geo = ctx.geo
    geom = area_geometry(geo, prefecture, "prefecture")
    crs = area_crs(geom, "prefecture", geo.metric_crs)
    ax = add_axes(fig, rect, lay.page)
    ax.set_aspect("equal")
    ax.set_axis_off()
    counties = geo.counties[geo.counties["prefecture_adcode"].astype(str) == prefecture].to_crs(crs)
    minx, miny, maxx, maxy = counties.total_bounds
    denominator = nice_scale(max((maxx - minx) * 1.08 / (rect[2] / 1000), (maxy - miny) * 1.08 / (rect[3] / 1000)))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hw, hh = denominator * rect[2] / 2000, denominator * rect[3] / 2000
    extent = (cx - hw, cx + hw, cy - hh, cy + hh)
    counties = counties.assign(geometry=counties.geometry.simplify(denominator * 0.00015))
    counties.plot(ax=ax, color="#f4f1ea", edgecolor="#888888", linewidth=0.5 * f)
    gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs).boundary.plot(ax=ax, color="#b2182b", linewidth=1.2 * f)
    st = ctx.stations
    if len(st):
        mine = st[st["prefecture_adcode"].astype(str) == prefecture]
        op = mine[station_classes(mine).isin(["open", "open_24h"])].to_crs(crs)
        ax.scatter(op.geometry.x, op.geometry.y, s=(1.6 * f) ** 2, c="#d7301f", linewidths=0, zorder=5)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    lon_c, lat_c = to_lonlat(crs, cx, cy)
    k = point_scale_factor(crs, lon_c, lat_c)
    bar_km = nice_length_km((extent[1] - extent[0]) / 1000 / k * 0.22)
    renderer = fig.canvas.get_renderer()
    placer = LabelPlacer(ax, renderer)
    placer.block(draw_scalebar(ax, extent, bar_km, bar_km * 1000 * k, denominator, f).get_window_extent(renderer))
    placer.block(draw_north_arrow(ax, north_angle(crs, lon_c, lat_c), f).get_window_extent(renderer))
    counties = counties.assign(_a=counties.area).sort_values("_a", ascending=False)
    for _, row in counties.iterrows():
        p = label_point(row.geometry)
        placer.place(p.x, p.y, f"{row['name_zh']}\n第{pages[row['adcode']][0]}页", fontsize=MIN_FONT_PT * f,
                     color="#222222", path_effects=halo(2 * f), zorder=10, required=True, linespacing=1.1, **BOLD)


def county_cover_page(paper: str, ctx: Context, prefecture: str, pages, total_pages: int, generated: date,
                      radius: float, layers):
    """The cover of a county atlas: title, the prefecture's map, the table of its counties (stations, open
    stations, outdoor workers, coverage, page), the total, sources."""
    lay = layout_for(paper, "portrait")
    pw, ph = lay.page
    f = lay.factor
    fig = new_page(lay)
    name = ctx.geo.prefecture_names[prefecture]
    st = ctx.stations
    mine = st[st["prefecture_adcode"].astype(str) == prefecture] if len(st) else st
    fig.text(0.5, (ph - 28 * f) / ph, f"{name}工会驿站分布图集", ha="center", va="center", fontsize=24 * f, **BOLD)
    fig.text(0.5, (ph - 38 * f) / ph,
             f"{len(pages)} 个县（市、区）分幅图及驿站名录 · {reach_text(ctx.analysis(radius, layers), radius)} · 数据日期 {data_date(mine)}",
             ha="center", va="center", fontsize=10 * f, color="#333333")
    if is_demo(st):
        fig.text(0.5, (ph - 45 * f) / ph, DEMO_NOTE, ha="center", va="center", fontsize=8 * f, color="#c62828",
                 bbox=dict(boxstyle="square,pad=0.35", fc="#fff3f3", ec="#c62828", lw=0.6))
    bx = lay.border[0]
    map_rect = (bx + 14 * f, ph - 50 * f - 112 * f, pw - 2 * (bx + 14 * f), 112 * f)
    _cover_map(fig, lay, ctx, prefecture, pages, map_rect)
    rows, total = county_index_rows(ctx, prefecture, pages, radius, layers)
    header = ["区划代码", "县（市、区）", "驿站总数", "开放驿站", "户外劳动者（估算）", coverage_header(ctx.analysis(radius, layers), radius), "页码"]

    def cells(r: CountyIndexRow):
        return [r.adcode, r.name, fmt_int(r.stations), fmt_int(r.open), "—" if r.workers is None else fmt_int(r.workers),
                "—" if r.covered is None else f"{r.covered:.1f}%", str(r.page) if r.page else ""]

    tab_top = map_rect[1] - 4 * f
    bottom = lay.footer[1] + lay.footer[3] + 2 * f
    tab_rect = (bx + 8 * f, bottom, pw - 2 * (bx + 8 * f), tab_top - bottom)
    tax = add_axes(fig, tab_rect, lay.page)
    tax.set_axis_off()
    body = [cells(r) for r in rows] + [cells(total)]
    nrows = len(body) + 1
    fs = max(MIN_FONT_PT, min(7.5, tab_rect[3] / nrows / 0.3528 / 1.6)) * f
    height = min(1.0, nrows * fs * 0.3528 * 1.7 / tab_rect[3])
    tbl = tax.table(cellText=body, colLabels=header, loc="upper center", cellLoc="center",
                    colWidths=[0.12, 0.24, 0.11, 0.11, 0.17, 0.15, 0.08])
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(fs)
    for (r, c), cell in tbl.get_celld().items():
        cell.set_height(height / nrows)
        cell.set_linewidth(0.4)
        cell.set_edgecolor("#999999")
        if r == 0 or r == nrows - 1:
            cell.set_facecolor("#e8e2d6" if r == 0 else "#f4f1ea")
            cell.get_text().set_fontweight("bold")
    _footer(fig, lay, f"第 1 页 / 共 {total_pages} 页", generated,
            "户外劳动者为模型估算，各县（市、区）数字之和等于合计（保持合计的舍入）。")
    return fig


# ------------------------------------------------------------------------------------------------ the atlas


def draw_county_atlas(pdf, ctx: Context, prefecture: str, paper: str, layers, radius: float, symbols: str,
                      generated: date, step=None) -> int:
    """Write the county atlas of ``prefecture`` into ``pdf`` (a matplotlib ``PdfPages``): the cover, then each
    county's sheet and station table pages. ``step(done, total, label)`` is called after each page. Returns
    the number of pages. Call it under :func:`.fonts.font_context`."""
    pages = atlas_pages(ctx, prefecture, paper)
    total = 1 + sum(1 + n for _p, n in pages.values())
    done = 0

    def save(fig, label):
        nonlocal done
        pdf.savefig(fig)
        done += 1
        if step:
            step(done, total, label)

    save(county_cover_page(paper, ctx, prefecture, pages, total, generated, radius, layers), prefecture)
    demo = is_demo(ctx.stations)
    pref_name = ctx.geo.prefecture_names[prefecture]
    for code, (page, n_tab) in pages.items():
        req = SheetRequest(code, paper, "portrait", tuple(layers), radius, symbols)
        fig, _info = build_sheet(req, ctx, page_label=f"第 {page} 页 / 共 {total} 页", print_date=generated)
        save(fig, code)
        mine = _county_stations(ctx.stations, code)
        rows = station_rows(mine)
        per_page = rows_per_page(paper)
        for part in range(1, n_tab + 1):
            fig = station_table_page(paper, ctx.geo.county_names[code], pref_name, rows, (part - 1) * per_page, part, n_tab,
                                     len(rows), page_label=f"第 {page + part} 页 / 共 {total} 页", generated=generated,
                                     as_of=data_date(mine), demo=demo)
            save(fig, code)
    return total
