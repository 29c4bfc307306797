"""Map furniture: the scale bar, the north arrow, the graticule, the national/provincial border lines and
the locator inset.

The scale bar and the north arrow are drawn in a map's data coordinates (projected metres) and axes
fractions; see :mod:`.projection` for how their length and direction are made true at the map centre.
"""

from __future__ import annotations

import math

import numpy as np

from .labels import LabelPlacer, halo, halo_annotation, label_point
from .layout import BOLD, MIN_FONT_PT, add_axes
from .symbols import NATIONAL_BAND, NATIONAL_BORDER_STYLE

GRATICULE_STEPS = (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0)


def draw_scalebar(ax, extent, bar_km, bar_m, denominator, f):
    """A segmented scale bar in the lower-left corner of the map, on a white panel; returns the panel.
    ``bar_km`` is the ground length, ``bar_m`` the bar's length in projected metres."""
    from matplotlib.patches import Rectangle

    x0, x1, y0, y1 = extent
    w = x1 - x0
    h = y1 - y0
    pad = w * 0.015
    bar_h = h * 0.008
    left = x0 + pad * 2
    base = y0 + h * 0.055
    panel = Rectangle(
        (x0 + pad, y0 + pad), bar_m + pad * 3.2, h * 0.095, facecolor="white", edgecolor="#888888", linewidth=0.4, alpha=0.92, zorder=25
    )
    ax.add_patch(panel)
    n = 4
    seg = bar_m / n
    for i in range(n):
        ax.add_patch(
            Rectangle((left + i * seg, base), seg, bar_h, facecolor="#222222" if i % 2 == 0 else "white", edgecolor="#222222", linewidth=0.5, zorder=26)
        )
    for frac in (0, 0.5, 1.0):
        val = bar_km * frac
        txt = f"{val:g}"
        if frac == 1.0:
            txt += " 公里"
        ax.text(left + bar_m * frac, base + bar_h * 1.8, txt, ha="center", va="bottom", fontsize=6.5 * f, zorder=27)
    ax.text(left, y0 + pad * 1.6, f"比例尺 1:{denominator:,}".replace(",", " "), ha="left", va="bottom", fontsize=6.5 * f, zorder=27)
    return panel


def draw_north_arrow(ax, angle_deg, f):
    """A north arrow in the top-right corner of the map, rotated to true north at the map centre
    (``angle_deg`` counter-clockwise from map up); returns its panel."""
    from matplotlib.patches import Polygon as MplPolygon

    # draw in axes-fraction coordinates scaled to keep the arrow upright-proportioned
    bbox = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    aspect = (bbox.width * fig_w) / (bbox.height * fig_h)
    size = 0.045  # of map height
    cx, cy = 1 - 0.05 / aspect * 1.0 - 0.01, 0.9
    a = math.radians(angle_deg)

    def pt(dx, dy):
        # (dx, dy) in units of 'size' in a square frame, rotated by a
        rx = dx * math.cos(a) - dy * math.sin(a)
        ry = dx * math.sin(a) + dy * math.cos(a)
        return (cx + rx * size / aspect, cy + ry * size)

    left = MplPolygon([pt(0, 1), pt(-0.38, -0.7), pt(0, -0.35)], closed=True, transform=ax.transAxes, fc="#222222", ec="#222222", lw=0.6, zorder=26)
    right = MplPolygon([pt(0, 1), pt(0.38, -0.7), pt(0, -0.35)], closed=True, transform=ax.transAxes, fc="white", ec="#222222", lw=0.6, zorder=26)
    ax.add_patch(left)
    ax.add_patch(right)
    lx, ly = pt(0, 1.55)
    ax.text(lx, ly, "北", transform=ax.transAxes, ha="center", va="center", fontsize=9 * f, zorder=27, rotation=angle_deg, **BOLD)
    panel = MplPolygon(
        [
            (cx - 0.75 * size / aspect, cy - 1.0 * size),
            (cx + 0.75 * size / aspect, cy - 1.0 * size),
            (cx + 0.75 * size / aspect, cy + 2.05 * size),
            (cx - 0.75 * size / aspect, cy + 2.05 * size),
        ],
        closed=True, transform=ax.transAxes, fc="white", ec="#888888", lw=0.4, alpha=0.85, zorder=24,
    )
    ax.add_patch(panel)
    return panel


def _degrees(value: float, pos: str, neg: str) -> str:
    """``102.5`` -> ``102°30′E``."""
    deg = abs(value)
    whole = int(math.floor(deg + 1e-9))
    minutes = int(round((deg - whole) * 60))
    if minutes == 60:
        whole, minutes = whole + 1, 0
    text = f"{whole}°" + (f"{minutes:02d}′" if minutes else "")
    return text + (pos if value >= 0 else neg)


def _graticule_label(ax, placer: LabelPlacer, text, xy, offset, label_kw, halo_effect, **kw) -> None:
    """A degree label at ``xy`` unless it would overlap the furniture already placed."""
    t = ax.annotate(text, xy, xytext=offset, textcoords="offset points", **kw, **label_kw)
    bb = t.get_window_extent(placer.renderer)
    if placer.overlaps(bb):
        t.remove()
    else:
        placer.block(bb)
        halo_annotation(ax, t, halo_effect)


def draw_graticule(ax, crs, extent, placer: LabelPlacer, f):
    """Meridians and parallels (thin, light) with degree labels just inside the frame: meridians on the top
    edge, parallels on the left edge. Labels give way to the furniture already placed."""
    from pyproj import Transformer

    x0, x1, y0, y1 = extent
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 25), np.linspace(y0, y1, 25))
    lon, lat = inv.transform(gx.ravel(), gy.ravel())
    lon_min, lon_max, lat_min, lat_max = np.min(lon), np.max(lon), np.min(lat), np.max(lat)
    span = max(lon_max - lon_min, lat_max - lat_min)
    step = next((s for s in GRATICULE_STEPS if span / s <= 8), GRATICULE_STEPS[-1])
    style = dict(color="#9db4cf", linewidth=0.3 * f, alpha=0.9, zorder=3.8)
    label_kw = dict(fontsize=MIN_FONT_PT * f, color="#4a5a70", zorder=21)
    halo_effect = halo(1.8 * f)

    lat_samples = np.linspace(lat_min - 0.5, lat_max + 0.5, 60)
    for lon_v in np.arange(math.ceil(lon_min / step) * step, lon_max + 1e-9, step):
        px, py = fwd.transform(np.full_like(lat_samples, lon_v), lat_samples)
        ax.plot(px, py, **style)
        order = np.argsort(py)  # where the meridian meets the top edge
        if py.min() < y1 < py.max():
            xt = float(np.interp(y1, py[order], px[order]))
            if x0 + (x1 - x0) * 0.03 < xt < x1 - (x1 - x0) * 0.03:
                _graticule_label(ax, placer, _degrees(lon_v, "E", "W"), (xt, y1), (0, -2.5 * f), label_kw, halo_effect,
                                 ha="center", va="top")
    lon_samples = np.linspace(lon_min - 0.5, lon_max + 0.5, 60)
    for lat_v in np.arange(math.ceil(lat_min / step) * step, lat_max + 1e-9, step):
        px, py = fwd.transform(lon_samples, np.full_like(lon_samples, lat_v))
        ax.plot(px, py, **style)
        order = np.argsort(px)  # where the parallel meets the left edge
        if px.min() < x0 < px.max():
            yt = float(np.interp(x0, px[order], py[order]))
            if y0 + (y1 - y0) * 0.03 < yt < y1 - (y1 - y0) * 0.03:
                _graticule_label(ax, placer, _degrees(lat_v, "N", "S"), (x0, yt), (2.5 * f, 0), label_kw, halo_effect,
                                 ha="left", va="center", rotation=90)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def draw_borders(ax, national, provincial, f, tol):
    """国界: a dash-dot dark line on a light violet band; 省界: brown (both GeoSeries in the map's CRS)."""
    national = national.simplify(tol)
    provincial = provincial.simplify(tol)
    national.plot(ax=ax, color=NATIONAL_BAND, linewidth=4.2 * f, alpha=0.9, zorder=4.9, capstyle="butt")
    national.plot(ax=ax, linewidth=1.2 * f, zorder=5.6, **NATIONAL_BORDER_STYLE)  # above the red area outline
    provincial.plot(ax=ax, color="#7a5230", linewidth=1.6 * f, zorder=5)


def border_swatch(ax, sx, y, f):
    """The legend swatch of the national border (centred on ``sx``, ``y`` in mm)."""
    from matplotlib.lines import Line2D

    ax.add_line(Line2D([sx - 2.8 * f, sx + 2.8 * f], [y, y], color=NATIONAL_BAND, lw=4.2 * f, solid_capstyle="butt"))
    ax.add_line(Line2D([sx - 2.8 * f, sx + 2.8 * f], [y, y], lw=1.2 * f, **NATIONAL_BORDER_STYLE))


def short_name(name: str) -> str:
    """昆明市 -> 昆明, 西双版纳傣族自治州 -> 西双版纳, 大理白族自治州 -> 大理."""
    for suffix in ("傣族景颇族自治州", "傈僳族自治州", "哈尼族彝族自治州", "壮族苗族自治州", "傣族自治州", "白族自治州",
                   "彝族自治州", "藏族自治州", "市", "州"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name[:2]


def draw_locator(fig, lay, area: str, level: str, geo, f):
    """The locator inset: the province and its prefectures, the sheet's area in red (in METRIC_CRS). On
    the province sheet it is an index map naming the prefectures (short names)."""
    ax = add_axes(fig, lay.locator, lay.page)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.5 * f)
        spine.set_color("#888888")
    crs = geo.metric_crs
    prov = geo.province.to_crs(crs)
    prefs = geo.prefectures.to_crs(crs)
    prov.plot(ax=ax, color="#f4f1ea", edgecolor="#7a5230", linewidth=0.7 * f)
    prefs.assign(geometry=prefs.geometry.simplify(1500)).boundary.plot(ax=ax, color="#aaaaaa", linewidth=0.3 * f)
    if level != "province":
        if level == "prefecture":
            sel = prefs[prefs["adcode"].astype(str) == area]
        else:
            sel = geo.counties[geo.counties["adcode"].astype(str) == area].to_crs(crs)
            pref = prefs[prefs["adcode"].astype(str) == geo.county_prefecture[area]]
            pref.plot(ax=ax, color="#fbd5cf", edgecolor="#b2182b", linewidth=0.3 * f)
        sel.plot(ax=ax, color="#d7301f", edgecolor="#b2182b", linewidth=0.4 * f)
        if level == "county":
            c = sel.geometry.iloc[0].centroid
            ax.scatter([c.x], [c.y], s=(7 * f) ** 2, facecolors="none", edgecolors="#b2182b", linewidths=0.8 * f)
    minx, miny, maxx, maxy = prov.total_bounds
    pad = (maxx - minx) * 0.04
    # fit the province into the axes keeping the aspect ratio
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad + (maxy - miny) * 0.1)
    ax.set_anchor("C")
    head = ax.text(0.5, 0.985, "位置示意图" if level != "province" else "州（市）分布示意", transform=ax.transAxes, ha="center", va="top", fontsize=7 * f, **BOLD)
    if level == "province":
        # index map of the 16 prefectures (short names at the smallest sheet type, moved or left out where
        # they would collide; the main map names every prefecture in full)
        renderer = fig.canvas.get_renderer()
        ax.apply_aspect()
        placer = LabelPlacer(ax, renderer)
        placer.block(head.get_window_extent(renderer))
        prefs = prefs.assign(_a=prefs.area).sort_values("_a", ascending=False)
        for _, row in prefs.iterrows():
            p = label_point(row.geometry)
            placer.place(p.x, p.y, short_name(row["name_zh"]), offsets_pt=(0, 3, 5), fontsize=MIN_FONT_PT * f, color="#444444",
                         path_effects=halo(1.5 * f), zorder=5)
