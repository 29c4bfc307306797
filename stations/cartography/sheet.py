"""One map sheet: a title naming the area (``昆明市工会驿站分布图``), a subtitle with the service radius and
the data date, the map in a projection suited to the area (:mod:`.projection`), a legend, a scale bar in
km, a north arrow, a graticule, a locator inset, a statistics box, sources and attribution, the producer
and the print date.

:func:`build_sheet` draws a sheet as a series of small ``draw_*`` steps over one :class:`Sheet` (the
figure, the map axes and what the steps share); :func:`make_sheet` validates the arguments and writes the
sheet as PDF or PNG; :func:`sheet_bytes` returns it as bytes.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import numpy as np
import pandas as pd

from stations.errors import PrintError

from .context import (
    AnalysisLayers, Context, area_geometry, area_level, area_stations, covered_pct, data_date, in_area, is_demo,
    sheet_title, top_gaps,
)
from .fonts import find_cjk_font, font_context
from .framing import plan_frame
from .furniture import draw_borders, draw_graticule, draw_locator, draw_north_arrow, draw_scalebar
from .labels import LabelPlacer, halo, label_point
from .layout import BOLD, MIN_FONT_PT, add_axes, layout_for, new_page
from .panels import DEMO_NOTE, draw_footer, draw_legend, draw_stats, producer
from .projection import nice_length_km, north_angle, point_scale_factor, to_lonlat
from .request import DEFAULT_RADIUS_M, DEFAULT_SYMBOLS, SheetRequest, parse_dpi, parse_format, validate
from .symbols import symbol_classes, symbol_styles

__all__ = ["SheetInfo", "Sheet", "build_sheet", "make_sheet", "sheet_bytes", "metadata"]


@dataclass
class SheetInfo:
    """What was drawn (for tests, the CLI and the atlas)."""

    title: str
    area: str
    level: str
    crs: Any
    scale_denominator: int
    scalebar_km: float
    scalebar_map_m: float  # bar length in projected metres
    center_lonlat: tuple[float, float]
    north_angle_deg: float
    stations: int
    covered_pct: float | None
    notes: list[str]
    map_extent: tuple[float, float, float, float]
    dropped_labels: list[str]


@dataclass
class Sheet:
    """A sheet being drawn: its request, data and figure, and what the map steps share. Map coordinates are
    metres in ``crs``; ``extent`` is (x0, x1, y0, y1), ``view`` the same as a shapely box, ``tol`` the
    simplification tolerance (0.15 mm on paper)."""

    req: SheetRequest
    ctx: Context
    lay: Any
    fig: Any
    renderer: Any
    level: str
    title: str
    stations: Any  # every station (GeoDataFrame, EPSG:4326)
    area_st: Any  # the stations of the area
    analysis: AnalysisLayers
    notes: list[str]
    f: float = 1.0  # type size factor of the paper
    ax: Any = None
    crs: Any = None
    area_proj: Any = None  # the area's geometry in crs
    extent: tuple[float, float, float, float] = (0, 0, 0, 0)
    center_xy: tuple[float, float] = (0.0, 0.0)  # the map centre in crs
    view: Any = None
    tol: float = 0.0
    denominator: int = 0
    prov: Any = None  # province, prefectures, counties: projected, clipped to the view, simplified
    prefs: Any = None
    counties: Any = None
    lake_labels: list = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    rec_in: Any = None
    national_drawn: bool = False
    placer: LabelPlacer | None = None
    center_lonlat: tuple[float, float] = (0.0, 0.0)
    north_deg: float = 0.0
    bar_km: float = 0.0
    bar_m: float = 0.0

    def proj(self, frame):
        return frame.to_crs(self.crs) if frame is not None and len(frame) else frame

    def clip(self, frame):
        """``frame`` in the map's CRS, only the rows in view, simplified to ``tol``."""
        frame = self.proj(frame)
        if frame is None or not len(frame):
            return frame
        frame = frame[frame.intersects(self.view)].copy()
        frame["geometry"] = frame.geometry.simplify(self.tol, preserve_topology=True)
        return frame

    def wants(self, layer: str) -> bool:
        return layer in self.req.layers


# ------------------------------------------------------------------------------------------- the steps


def draw_header(s: Sheet) -> None:
    """The title (shrunk to 80 % of the map width when long) and the subtitle (radius, data date)."""
    pw, ph = s.lay.page
    f = s.f
    title_fs = 19 * f
    max_title_mm = s.lay.map[2] * 0.8
    est_mm = len(s.title) * title_fs * 0.3528 * 1.02  # CJK glyphs are about 1 em wide
    if est_mm > max_title_mm:
        title_fs *= max_title_mm / est_mm
    s.fig.text(s.lay.title[0] / pw, s.lay.title[1] / ph, s.title, ha="center", va="center", fontsize=title_fs, color="#111111", **BOLD)
    radius_txt = f"{s.req.radius / 1000:g} 公里" if s.req.radius >= 1000 else f"{s.req.radius:g} 米"
    reach = s.analysis.distance_label or f"服务半径 {radius_txt}"  # on foot: "15分钟步行（街道网络）"
    subtitle = f"{reach} · 数据日期 {data_date(s.area_st if len(s.area_st) else s.stations)}"
    s.fig.text(s.lay.subtitle[0] / pw, s.lay.subtitle[1] / ph, subtitle, ha="center", va="center", fontsize=9.5 * f, color="#333333")


def draw_map_frame(s: Sheet) -> None:
    """The map axes, its projection and its extent: the frame planned by :func:`.framing.plan_frame` (the
    area and its dense core of stations and workers inside, with margins, at a round scale)."""
    import geopandas as gpd
    from shapely.geometry import box as shp_box

    geo = s.ctx.geo
    frame = plan_frame(s.req, s.ctx, s.lay)
    s.crs = frame.crs
    ax = s.ax = add_axes(s.fig, s.lay.map, s.lay.page)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.9 * s.f)
        spine.set_color("#222222")
    ax.set_facecolor("#ffffff")
    s.area_proj = gpd.GeoSeries([area_geometry(geo, s.req.area, s.level)], crs="EPSG:4326").to_crs(s.crs).iloc[0]
    s.denominator = frame.denominator
    s.extent = frame.extent
    s.center_xy = ((s.extent[0] + s.extent[1]) / 2, (s.extent[2] + s.extent[3]) / 2)
    ax.set_xlim(s.extent[0], s.extent[1])
    ax.set_ylim(s.extent[2], s.extent[3])
    s.view = shp_box(s.extent[0], s.extent[2], s.extent[1], s.extent[3])
    s.tol = s.denominator * 0.00015  # 0.15 mm on paper
    s.prov = s.clip(geo.province)
    s.prefs = s.clip(geo.prefectures)
    s.counties = s.clip(geo.counties)


def draw_background(s: Sheet) -> None:
    """Context: everything outside Yunnan light grey, Yunnan outside the area cream, the area white."""
    import geopandas as gpd

    gpd.GeoSeries([s.view], crs=s.crs).plot(ax=s.ax, color="#e4e4e4", zorder=0)  # outside Yunnan
    s.prov.plot(ax=s.ax, color="#f4f1ea", edgecolor="none", zorder=1)  # Yunnan outside the area
    gpd.GeoSeries([s.area_proj.simplify(s.tol)], crs=s.crs).plot(ax=s.ax, color="#ffffff", edgecolor="none", zorder=2)


#: a lake is drawn only when its outline has a vertex at least every this many mm on paper (mean spacing):
#: the only lake outlines a registry package carries (``data/geo/SOURCES.md``: OpenStreetMap lakes of
#: @geo-maps 0.6.0, whose finest variant earth-lakes-1m has the same vertices) have one every 1.2 to 3.4 km,
#: so 滇池 is 39 points and most small lakes triangles. Drawn at 1:1,000,000 that is 2.7 mm between points
#: (a recognisable outline); at a county sheet's 1:250,000 it is 11 mm, straight-edged polygons that are not
#: the lake's shape, so they are left out at that scale and the sheet says so.
LAKE_MAX_VERTEX_SPACING_MM = 3.0
#: ... and an outline of fewer distinct vertices than this (a triangle, a quadrilateral, a pentagon) is drawn
#: only while it is smaller than :data:`LAKE_DOT_MM` across on paper, where it reads as a blue dot
LAKE_MIN_VERTICES = 6
LAKE_DOT_MM = 2.0


def lake_vertex_spacing_mm(lakes_proj, denominator: float):
    """Mean distance between consecutive outline vertices of each lake, in mm on paper at 1:``denominator``
    (``lakes_proj`` in projected metres)."""
    import shapely

    geoms = lakes_proj.geometry.values
    n = shapely.get_num_coordinates(geoms) - shapely.get_num_geometries(geoms)  # closing points repeat
    n = n.clip(min=1)
    return shapely.length(geoms) / n / denominator * 1000.0


def lakes_too_coarse(lakes_proj, denominator: float):
    """Which lakes (``lakes_proj`` in projected metres) are too coarse to draw at 1:``denominator``: their
    mean vertex spacing exceeds :data:`LAKE_MAX_VERTEX_SPACING_MM` on paper, or they have fewer than
    :data:`LAKE_MIN_VERTICES` vertices and are :data:`LAKE_DOT_MM` or more across (a visible triangle)."""
    import shapely

    geoms = lakes_proj.geometry.values
    vertices = shapely.get_num_coordinates(geoms) - shapely.get_num_geometries(geoms)
    b = shapely.bounds(geoms)
    across_mm = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / denominator * 1000.0
    spacing = lake_vertex_spacing_mm(lakes_proj, denominator)
    return (spacing > LAKE_MAX_VERTEX_SPACING_MM) | ((vertices < LAKE_MIN_VERTICES) & (across_mm >= LAKE_DOT_MM))


def draw_lakes(s: Sheet) -> None:
    """Lakes above a size that depends on the scale, when their outlines are detailed enough for it
    (:func:`lakes_too_coarse`); the large named ones are kept for labels."""
    lakes_all = s.ctx.geo.optional("lakes")
    if lakes_all is None or not len(lakes_all):
        return
    lakes = s.clip(lakes_all)
    min_km2 = {"province": 30.0, "prefecture": 3.0, "county": 1.0}[s.level]
    if lakes is None or not len(lakes):
        return
    lakes = lakes[lakes["area_km2"] >= min_km2]
    if not len(lakes):
        return
    raw = s.proj(lakes_all).loc[lakes.index]  # the spacing of the outline as stored, not as simplified here
    coarse = lakes_too_coarse(raw, s.denominator)
    if coarse.all():
        s.notes.append("湖泊轮廓数据过于概略，本比例尺下未绘出")
    elif coarse.any():
        s.notes.append("部分湖泊轮廓数据过于概略，本比例尺下未绘出")
    lakes = lakes[~coarse]
    if not len(lakes):
        return
    lakes.plot(ax=s.ax, color="#c6dbef", edgecolor="#6baed6", linewidth=0.3 * s.f, zorder=2.5)
    named = lakes[lakes["name_zh"].fillna("").astype(str).str.len() > 0]
    s.lake_labels = [(label_point(r.geometry), str(r["name_zh"]).split("、")[0]) for _, r in named.iterrows()
                     if r["area_km2"] >= (60.0 if s.level == "province" else min_km2 * 3)]


def draw_coverage(s: Sheet) -> None:
    """The service areas (green), or a note when the analysis has none."""
    if not s.wants("coverage"):
        return
    coverage = s.analysis.coverage
    if coverage is not None and len(coverage):
        cov = s.clip(coverage)
        if cov is not None and len(cov):
            cov.plot(ax=s.ax, color="#41ab5d", alpha=0.35, edgecolor="#238b45", linewidth=0.25 * s.f, zorder=3)
    elif coverage is None:
        s.notes.append("服务范围图层不可用")


def draw_gaps(s: Sheet) -> None:
    """Coverage gaps: hatched orange in the area, faint outside it."""
    gaps_all = s.analysis.gaps
    if not s.wants("gaps") or gaps_all is None or not len(gaps_all):
        return
    gaps = s.clip(gaps_all)
    if gaps is None or not len(gaps):
        return
    gaps_in = in_area(gaps, s.req.area, s.level)
    for inside in (False, True):
        part = gaps[gaps_in == inside]
        if len(part):
            part.plot(ax=s.ax, facecolor=(0.99, 0.55, 0.24, 0.28 if inside else 0.12), edgecolor=(0.85, 0.28, 0.0, 1.0 if inside else 0.4),
                      hatch="////" if inside else None, linewidth=0.45 * s.f, zorder=3.5)


def draw_outlines(s: Sheet) -> None:
    """County and prefecture boundaries, the national and provincial borders, the area's red outline."""
    import geopandas as gpd

    f = s.f
    county_lw = (0.25 if s.level == "province" else 0.5) * f
    pref_lw = (0.7 if s.level == "province" else 1.0) * f
    if s.wants("outlines"):
        s.counties.boundary.plot(ax=s.ax, color="#9a9a9a", linewidth=county_lw, linestyle=(0, (3, 1.5)) if s.level != "province" else "-", zorder=4)
        s.prefs.boundary.plot(ax=s.ax, color="#555555", linewidth=pref_lw, zorder=4.5)
    national, provincial = s.ctx.geo.borders
    if national is not None:
        nat_p = national.to_crs(s.crs)
        s.national_drawn = bool(nat_p.intersects(s.view).any())
        draw_borders(s.ax, nat_p, provincial.to_crs(s.crs), f, s.tol)
    else:
        s.prov.boundary.plot(ax=s.ax, color="#7a5230", linewidth=1.6 * f, zorder=5)
    if s.level != "province":
        gpd.GeoSeries([s.area_proj.simplify(s.tol)], crs=s.crs).boundary.plot(ax=s.ax, color="#b2182b", linewidth=1.3 * f, zorder=5.5)


def draw_stations(s: Sheet) -> None:
    """The stations by symbol class (those outside the area faded); counts the area's classes."""
    if len(s.stations) == 0:
        s.notes.append("驿站登记簿为空")
    if not s.wants("stations") or not len(s.stations):
        return
    f = s.f
    st = s.stations.to_crs(s.crs)
    st = st[st.intersects(s.view)]
    classes = symbol_classes(st, s.req.symbols)
    size_pt = {"province": 2.0, "prefecture": 3.6, "county": 5.0}[s.level] * f
    in_area_ = in_area(st, s.req.area, s.level) if s.level != "province" else pd.Series(True, index=st.index)
    for key, (_label, marker, face, edge, factor, z) in reversed(list(symbol_styles(s.req.symbols).items())):
        for inside in (False, True):
            sel = st[(classes == key) & (in_area_ == inside)]
            if sel.empty:
                continue
            kw = dict(marker=marker, s=(size_pt * factor) ** 2, zorder=z + 2, linewidths=0.35 * f if marker != "x" else 0.6 * f)
            if s.level == "province" and marker != "x" and key != "basic":
                edge = face if face != "#ffffff" else edge
            if not inside:
                kw["alpha"] = 0.35
            if marker == "x":
                kw["c"] = face
            else:
                kw.update(c=face, edgecolors=edge)
                if face == "#ffffff":
                    kw["linewidths"] = 0.9 * f
            s.ax.scatter(sel.geometry.x, sel.geometry.y, **kw)
    area_classes = symbol_classes(s.area_st, s.req.symbols) if len(s.area_st) else pd.Series(dtype=str)
    s.counts = area_classes.value_counts().to_dict()


def draw_recommended(s: Sheet) -> None:
    """Recommended new sites: blue stars (faded outside the area)."""
    recommended = s.analysis.recommended
    if not s.wants("recommended") or recommended is None or not len(recommended):
        return
    rec = s.proj(recommended)
    rec = rec[rec.intersects(s.view)]
    if not len(rec):
        return
    inside = in_area(rec, s.req.area, s.level)
    s.rec_in = rec[inside]
    star = (({"province": 6.0, "prefecture": 7.5, "county": 9.0}[s.level]) * s.f) ** 2
    out_ = rec[~inside]
    if len(out_):
        s.ax.scatter(out_.geometry.x, out_.geometry.y, marker="*", s=star, c="#2166ac", edgecolors="white", linewidths=0.4, alpha=0.35, zorder=12)
    if len(s.rec_in):
        s.ax.scatter(s.rec_in.geometry.x, s.rec_in.geometry.y, marker="*", s=star, c="#2166ac", edgecolors="white", linewidths=0.5, zorder=12)


def draw_map_furniture(s: Sheet) -> None:
    """Scale bar, north arrow and demo banner inside the map frame (each blocks label space), then the
    graticule with its labels where they fit."""
    x0, x1, _y0, _y1 = s.extent
    center_lon, center_lat = s.center_lonlat = to_lonlat(s.crs, *s.center_xy)
    k = point_scale_factor(s.crs, center_lon, center_lat)
    s.bar_km = nice_length_km((x1 - x0) / 1000 / k * 0.22)
    s.bar_m = s.bar_km * 1000 * k
    placer = s.placer = LabelPlacer(s.ax, s.renderer)
    sb_box = draw_scalebar(s.ax, s.extent, s.bar_km, s.bar_m, s.denominator, s.f)
    placer.block(sb_box.get_window_extent(s.renderer).expanded(1.02, 1.02))
    s.north_deg = north_angle(s.crs, center_lon, center_lat)
    na_box = draw_north_arrow(s.ax, s.north_deg, s.f)
    placer.block(na_box.get_window_extent(s.renderer).expanded(1.05, 1.05))
    if is_demo(s.stations):
        banner = s.ax.text(
            0.012, 0.988, DEMO_NOTE, transform=s.ax.transAxes, ha="left", va="top", fontsize=7.0 * s.f, color="#c62828",
            zorder=30, bbox=dict(boxstyle="square,pad=0.35", fc="white", ec="#c62828", lw=0.6, alpha=0.92),
        )
        placer.block(banner.get_window_extent(s.renderer).expanded(1.03, 1.3))
    note = draw_notes(s)
    if note is not None:
        placer.block(placer.extent(note))
    draw_graticule(s.ax, s.crs, s.extent, placer, s.f)


def _draw_lake_labels(s: Sheet) -> None:
    for p, name in s.lake_labels:
        s.placer.place(p.x, p.y, name, fontsize=6.5 * s.f, color="#2171b5", zorder=17, path_effects=halo(1.8 * s.f))


def draw_area_labels(s: Sheet) -> None:
    """Names: the prefectures (province sheet), the counties of a prefecture biggest first, or the county,
    its neighbours and its towns; the neighbouring prefectures where there is room; named lakes (before
    the county names on a prefecture or county sheet, after the prefecture names on the province sheet)."""
    f, placer, req, geo = s.f, s.placer, s.req, s.ctx.geo
    label_halo = halo(2.4 * f)
    if s.level == "province":
        for _, row in s.prefs.sort_values("adcode").iterrows():
            p = label_point(row.geometry)
            placer.place(p.x, p.y, row["name_zh"], fontsize=7.6 * f, color="#222222", path_effects=label_halo, zorder=20, required=True, **BOLD)
        _draw_lake_labels(s)
        return
    _draw_lake_labels(s)
    prefecture = req.area if s.level == "prefecture" else geo.county_prefecture[req.area]
    inside = s.counties[s.counties["prefecture_adcode"].astype(str) == prefecture]
    if s.level == "prefecture":
        inside = inside.assign(_a=inside.area).sort_values("_a", ascending=False)
        for _, row in inside.iterrows():
            p = label_point(row.geometry)
            placer.place(p.x, p.y, row["name_zh"], fontsize=7.8 * f, color="#333333", path_effects=label_halo, zorder=20)
    else:
        _draw_county_labels(s, label_halo)
    for _, row in s.prefs.iterrows():  # neighbouring prefectures, grey, where there is room
        if row["adcode"] == req.area or (s.level == "county" and row["adcode"] == prefecture):
            continue
        geom = row.geometry.intersection(s.view)
        if geom.is_empty or geom.area < s.view.area * 0.02:
            continue
        p = label_point(geom)
        placer.place(p.x, p.y, row["name_zh"], fontsize=8.5 * f, color="#8a8a8a", path_effects=label_halo, zorder=18)


def _draw_county_labels(s: Sheet, label_halo) -> None:
    """On a county sheet: the county (required, red), its neighbours in view (grey), its towns."""
    f, placer, counties = s.f, s.placer, s.counties
    row = counties[counties["adcode"].astype(str) == s.req.area].iloc[0]
    p = label_point(row.geometry)
    placer.place(p.x, p.y, row["name_zh"], fontsize=11 * f, color="#b2182b", path_effects=label_halo, zorder=20, required=True, **BOLD)
    for _, row in counties[counties["adcode"].astype(str) != s.req.area].iterrows():
        geom = row.geometry.intersection(s.view)
        if geom.is_empty or geom.area < s.view.area * 0.01:
            continue
        p = label_point(geom)
        placer.place(p.x, p.y, row["name_zh"], fontsize=7.2 * f, color="#777777", path_effects=label_halo, zorder=19)
    draw_towns(s, label_halo)


def draw_towns(s: Sheet, label_halo) -> None:
    """Towns (GeoNames) inside the county, on county sheets: a small square and the name where it fits."""
    places = s.ctx.geo.optional("places")
    if places is None or not len(places) or "county_adcode" not in places:
        return
    sel = places[places["county_adcode"].astype(str) == s.req.area]
    if sel.empty:
        return
    import geopandas as gpd

    if not isinstance(sel, gpd.GeoDataFrame) or sel.geometry is None:
        sel = gpd.GeoDataFrame(sel, geometry=gpd.points_from_xy(sel["lon"], sel["lat"]), crs="EPSG:4326")
    sel = sel.to_crs(s.crs)
    sel = sel[sel.within(s.view)]
    for _, row in sel.head(25).iterrows():
        name = row.get("name_zh") or row.get("name_en")
        if not isinstance(name, str) or not name:
            continue
        t = s.placer.place(row.geometry.x, row.geometry.y, name, offsets_pt=(0, 7, 11), fontsize=6.5 * s.f, color="#444444",
                           path_effects=label_halo, zorder=16)
        if t is not None:
            (marker,) = s.ax.plot(row.geometry.x, row.geometry.y, marker="s", ms=2.2 * s.f, color="#444444", zorder=15)
            s.placer.attach(t, marker)


def draw_gap_numbers(s: Sheet) -> None:
    """The largest gaps of the area, numbered (10 on the province sheet, 5 otherwise)."""
    top = top_gaps(s.analysis, s.req.area, s.level, 10 if s.level == "province" else 5)
    if not s.wants("gaps") or top is None or not len(top):
        return
    if top.crs is None:
        top = top.set_crs("EPSG:4326")
    for i, (_, row) in enumerate(top.to_crs(s.crs).iterrows(), start=1):
        p = label_point(row.geometry)
        s.placer.place(p.x, p.y, str(i), offsets_pt=(0, 8, 12), required=True, fontsize=6.5 * s.f, color="white", zorder=22,
                       bbox=dict(boxstyle="circle,pad=0.25", fc="#d94801", ec="white", lw=0.6), **BOLD)


def draw_site_ranks(s: Sheet) -> None:
    """The ranks of the best recommended sites of the area, beside their stars."""
    rec_in = s.rec_in
    if rec_in is None or not len(rec_in) or "rank" not in rec_in:
        return
    for _, row in rec_in.sort_values("rank").head(12 if s.level != "province" else 10).iterrows():
        s.placer.place(row.geometry.x, row.geometry.y, str(int(row["rank"])), offsets_pt=(0, 5, 8, 12), center=False, fontsize=MIN_FONT_PT * s.f,
                       color="#2166ac", zorder=22, path_effects=halo(1.8 * s.f), **BOLD)


def draw_panels(s: Sheet, covered: float | None) -> None:
    """Legend, statistics box and locator inset."""
    towns_drawn = s.level == "county" and any(t.get_zorder() == 15 for t in s.ax.lines)
    lakes_drawn = s.ctx.geo.optional("lakes") is not None and any(c.get_zorder() == 2.5 for c in s.ax.collections)
    draw_legend(s.fig, s.lay, s.req, s.level, s.counts, s.analysis, s.f, towns_drawn, s.national_drawn, lakes_drawn)
    draw_stats(s.fig, s.lay, s.req, s.level, s.area_st, covered, s.ctx, s.f, s.analysis)
    draw_locator(s.fig, s.lay, s.req.area, s.level, s.ctx.geo, s.f)


def draw_notes(s: Sheet):
    """The notes (unavailable layers, an empty registry, lakes left out) in the map's lower-right corner;
    returns the text (None without notes). Drawn with the furniture, so labels keep off it."""
    if s.notes:
        return s.ax.text(
            0.99, 0.01, "注：" + "；".join(dict.fromkeys(s.notes)) + "。", transform=s.ax.transAxes, ha="right", va="bottom",
            fontsize=MIN_FONT_PT * s.f, color="#555555", zorder=30, bbox=dict(boxstyle="square,pad=0.3", fc="white", ec="none", alpha=0.85),
        )
    return None


MAP_STEPS = (draw_map_frame, draw_background, draw_lakes, draw_coverage, draw_gaps, draw_outlines, draw_stations,
             draw_recommended, draw_map_furniture, draw_area_labels, draw_gap_numbers, draw_site_ranks)


def build_sheet(req: SheetRequest, ctx: Context | None = None, *, page_label: str | None = None,
                print_date: date | None = None):
    """Draw one sheet and return ``(figure, SheetInfo)``; the figure is not attached to pyplot. Call it
    under :func:`.fonts.font_context` (as :func:`make_sheet` and the atlas do)."""
    ctx = ctx or Context()
    lay = layout_for(req.paper, req.orientation)
    fig = new_page(lay)
    find_cjk_font()
    level = area_level(req.area)
    stations = ctx.stations
    analysis = ctx.analysis(req.radius, req.layers)
    s = Sheet(req=req, ctx=ctx, lay=lay, fig=fig, renderer=fig.canvas.get_renderer(), level=level, title=sheet_title(req.area),
              stations=stations, area_st=area_stations(stations, req.area, level), analysis=analysis,
              notes=list(analysis.notes), f=lay.factor)
    draw_header(s)
    for step in MAP_STEPS:
        step(s)
    covered = covered_pct(analysis, req.area)
    draw_panels(s, covered)
    draw_footer(fig, lay, level, s.crs, s.f, page_label=page_label, print_date=print_date, demo=is_demo(stations))
    for a in fig.axes:
        a.set_xlabel("")
        a.set_ylabel("")
    info = SheetInfo(
        title=s.title, area=req.area, level=level, crs=s.crs, scale_denominator=s.denominator, scalebar_km=s.bar_km,
        scalebar_map_m=s.bar_m, center_lonlat=s.center_lonlat, north_angle_deg=s.north_deg, stations=int(len(s.area_st)),
        covered_pct=covered, notes=list(dict.fromkeys(s.notes)), map_extent=s.extent, dropped_labels=list(s.placer.dropped),
    )
    return fig, info


# ------------------------------------------------------------------------------------------- output


def metadata(title: str, fmt: str) -> dict[str, str]:
    """The document metadata of a PDF or PNG sheet."""
    if fmt == "pdf":
        return {"Title": title, "Author": producer(), "Subject": "云南省工会驿站", "Creator": "yizhan"}
    return {"Title": title, "Author": producer(), "Software": "yizhan"}


def make_sheet(
    area: str = "yunnan",
    paper: str = "A4",
    orientation: str = "portrait",
    layers: str | Iterable[str] | None = None,
    radius: float | str = DEFAULT_RADIUS_M,
    out: str | os.PathLike | io.IOBase | None = None,
    *,
    fmt: str | None = None,
    dpi: int | str = 200,
    stations=None,
    context: Context | None = None,
    print_date: date | None = None,
    symbols: str | None = DEFAULT_SYMBOLS,
) -> SheetInfo:
    """Write one map sheet to ``out`` (``.pdf`` or ``.png`` path, or a binary file object with ``fmt``).

    ``area``: ``"yunnan"`` or a prefecture/county adcode; ``paper``: A4 | A3; ``orientation``: portrait |
    landscape; ``layers``: subset of outlines, stations, coverage, gaps, recommended (string or list);
    ``radius``: service radius in metres; ``dpi``: PNG resolution; ``symbols``: ``status`` (open / 24 h /
    temporarily closed / closed) or ``services`` (open stations graded by the four hardships they answer:
    4 full, 2-3 partial, 0-1 basic). ``context`` gives the stations and the analysis layers (see
    :class:`Context`); without it, ``stations`` overrides the registry (a GeoDataFrame in EPSG:4326 with the
    registry columns) and no analysis is drawn. Returns a :class:`SheetInfo`.
    """
    req = validate(area, paper, orientation, layers, radius, symbols)
    dpi_v = parse_dpi(dpi)
    if out is None:
        raise PrintError("out: no output file given (a .pdf or .png path)", param="out")
    kind = parse_format(out, fmt)
    ctx = context or Context(stations=stations)
    with font_context():
        fig, info = build_sheet(req, ctx, print_date=print_date)
        fig.savefig(out, format=kind, dpi=dpi_v if kind == "png" else 100, metadata=metadata(info.title, kind))
    return info


def sheet_bytes(req: SheetRequest, fmt: str = "pdf", dpi: int = 200, context: Context | None = None) -> bytes:
    """A sheet as bytes (for the web view)."""
    buf = io.BytesIO()
    make_sheet(req.area, req.paper, req.orientation, req.layers, req.radius, buf, fmt=fmt, dpi=dpi, context=context,
               symbols=req.symbols)
    return buf.getvalue()
