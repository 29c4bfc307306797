"""Where a sheet's map frame goes: its scale and centre, from the area and from where its stations and
workers are.

A sheet used to centre the area's bounding box at the first round scale that held it with 3 % to spare on
each side. An area whose people live at one end (五华区: the city is its southern tip, the north is hills)
then had its city pressed against the frame. Now two boxes must fit, in the sheet's projected metres:

- the **area box** (the bounding box of the area's polygon), at least :data:`AREA_MARGIN` of the frame's
  width (height) from the left and right (top and bottom) edges;
- the **dense core**: the box from the 5th to the 95th percentile, on each axis, of the area's stations
  and, separately, of its outdoor workers (the demand model's points weighted by workers), joined
  (:func:`core_box`); at least :data:`CORE_MARGIN` from every edge, so the core is never cut and has room
  around it for its neighbourhood.

:func:`fit_frame` takes the smallest round scale (:func:`.projection.nice_scale`) at which both boxes fit,
and centres the frame on the core as far as the area box allows, so the room a round scale or the paper's
shape leaves over goes around the place where the stations are rather than to a blank side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .projection import nice_scale

__all__ = ["AREA_MARGIN", "CORE_MARGIN", "CORE_QUANTILES", "Frame", "core_box", "fit_frame", "plan_frame"]

#: the area's bounding box keeps at least this share of the frame's width / height free on each side
AREA_MARGIN = 0.05
#: the dense core keeps at least this share of the frame's width / height free on each side
CORE_MARGIN = 0.12
#: the dense core spans these quantiles of the stations (and of the workers) on each axis
CORE_QUANTILES = (0.05, 0.95)

Box = tuple[float, float, float, float]  # (minx, miny, maxx, maxy)


@dataclass(frozen=True)
class Frame:
    """A planned map frame: ``extent`` (x0, x1, y0, y1) in the sheet's projected metres, the round scale
    ``denominator``, and the boxes it was fitted to."""

    crs: object
    denominator: int
    extent: tuple[float, float, float, float]
    area_box: Box
    core_box: Box | None


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray | None, qs) -> list[float]:
    if weights is None:
        return [float(v) for v in np.quantile(values, qs)]
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    total = cum[-1]
    return [float(v[min(np.searchsorted(cum, q * total), len(v) - 1)]) for q in qs]


def quantile_box(x, y, weights=None, qs=CORE_QUANTILES) -> Box | None:
    """The box from quantile ``qs[0]`` to ``qs[1]`` of ``x`` and of ``y`` (weighted when ``weights`` is
    given; points of weight 0 are left out); None without points."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    w = None
    if weights is not None:
        w = np.asarray(weights, float)
        ok &= np.isfinite(w) & (w > 0)
        w = w[ok]
    x, y = x[ok], y[ok]
    if not len(x):
        return None
    x0, x1 = _weighted_quantiles(x, w, qs)
    y0, y1 = _weighted_quantiles(y, w, qs)
    return (x0, y0, x1, y1)


def union_box(*boxes: Box | None) -> Box | None:
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def core_box(station_xy, demand_xyw=None, area_box: Box | None = None) -> Box | None:
    """The dense core: the :data:`CORE_QUANTILES` box of the stations ``(x, y)`` joined with the
    worker-weighted box of the demand points ``(x, y, workers)``, cut to ``area_box`` when given."""
    boxes = []
    if station_xy is not None and len(station_xy[0]):
        boxes.append(quantile_box(station_xy[0], station_xy[1]))
    if demand_xyw is not None and len(demand_xyw[0]):
        boxes.append(quantile_box(demand_xyw[0], demand_xyw[1], demand_xyw[2]))
    box = union_box(*boxes)
    if box is None or area_box is None:
        return box
    cut = (max(box[0], area_box[0]), max(box[1], area_box[1]), min(box[2], area_box[2]), min(box[3], area_box[3]))
    return cut if cut[0] <= cut[2] and cut[1] <= cut[3] else None


def _interval(lo_a, hi_a, lo_c, hi_c, span, area_margin, core_margin):
    """The centres (on one axis) at which a frame ``span`` wide keeps both boxes inside with their margins."""
    lo = hi_a - span / 2 + area_margin * span
    hi = lo_a + span / 2 - area_margin * span
    if lo_c is not None:
        lo = max(lo, hi_c - span / 2 + core_margin * span)
        hi = min(hi, lo_c + span / 2 - core_margin * span)
    return lo, hi


def fit_frame(area: Box, core: Box | None, map_mm: tuple[float, float], area_margin: float = AREA_MARGIN,
              core_margin: float = CORE_MARGIN) -> tuple[int, tuple[float, float, float, float]]:
    """``(denominator, (x0, x1, y0, y1))``: the smallest round scale at which a frame of ``map_mm`` (width,
    height in mm) holds ``area`` with ``area_margin`` and ``core`` with ``core_margin`` of the frame free on
    every side, centred on the core's centre as far as that allows (on the area's centre without a core)."""
    mw, mh = map_mm
    aw, ah = area[2] - area[0], area[3] - area[1]
    need = max(aw / (1 - 2 * area_margin) / (mw / 1000), ah / (1 - 2 * area_margin) / (mh / 1000), 1.0)
    if core is not None:
        cw, ch = core[2] - core[0], core[3] - core[1]
        need = max(need, cw / (1 - 2 * core_margin) / (mw / 1000), ch / (1 - 2 * core_margin) / (mh / 1000))
    denominator = nice_scale(need)
    target = ((core[0] + core[2]) / 2, (core[1] + core[3]) / 2) if core is not None else \
        ((area[0] + area[2]) / 2, (area[1] + area[3]) / 2)
    for _ in range(200):
        w, h = denominator * mw / 1000, denominator * mh / 1000
        c = core if core is not None else (None, None, None, None)
        xlo, xhi = _interval(area[0], area[2], c[0], c[2], w, area_margin, core_margin)
        ylo, yhi = _interval(area[1], area[3], c[1], c[3], h, area_margin, core_margin)
        if xlo <= xhi and ylo <= yhi:
            cx = min(max(target[0], xlo), xhi)
            cy = min(max(target[1], ylo), yhi)
            return denominator, (cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2)
        denominator = nice_scale(denominator * 1.002)
    raise RuntimeError("no frame fits the area")  # pragma: no cover - a core inside the area always fits


def plan_frame(req, ctx, lay=None) -> Frame:
    """The frame of the sheet ``req`` drawn from ``ctx``: its projection (:func:`.projection.area_crs`), the
    area box, the dense core of the area's stations and workers (the analysis' demand points, when the
    provider gives them) and the fitted scale and extent. :func:`.sheet.build_sheet` draws exactly this."""
    import geopandas as gpd

    from .context import area_geometry, area_level, area_stations, in_area
    from .layout import layout_for
    from .projection import area_crs

    lay = lay or layout_for(req.paper, req.orientation)
    geo = ctx.geo
    level = area_level(req.area)
    geom = area_geometry(geo, req.area, level)
    crs = area_crs(geom, level, geo.metric_crs)
    area_proj = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs).iloc[0]
    abox = tuple(float(v) for v in area_proj.bounds)
    st = area_stations(ctx.stations, req.area, level)
    station_xy = None
    if len(st):
        p = st.geometry.to_crs(crs)
        station_xy = (p.x.to_numpy(), p.y.to_numpy())
    demand_xyw = None
    demand = ctx.analysis(req.radius, req.layers).demand
    if demand is not None and len(demand):
        d = demand[in_area(demand, req.area, level).to_numpy()]
        if len(d):
            from pyproj import Transformer

            t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
            dx, dy = t.transform(d["lon"].to_numpy(float), d["lat"].to_numpy(float))
            demand_xyw = (np.asarray(dx), np.asarray(dy), d["workers"].to_numpy(float))
    cbox = core_box(station_xy, demand_xyw, abox)
    denominator, extent = fit_frame(abox, cbox, (lay.map[2], lay.map[3]))
    return Frame(crs=crs, denominator=denominator, extent=extent, area_box=abox, core_box=cbox)
