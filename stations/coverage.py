"""Coverage of outdoor-worker demand by open stations, tables by province / prefecture / county, gaps.

A demand point (a cell centre of :mod:`stations.demand`, or a user point) is **covered** when an *active*
station lies within the service radius of it: 1,000 m by default (the local rule 城区内1公里服务半径),
or one radius per area class (``{"town": 1000, "rural": 2000}``). Active means ``status == "open"`` and,
when ``hour`` is given, open at that hour (``stations.hours``; weekday Wednesday unless told).

Distances are metric, never degrees (:mod:`stations.proximity`: earth-centred metres and a k-d tree, exact
geodesics beyond 20 km), so a 1 km radius is 1 km on the ground at 22 N and at 28 N alike.

Building blocks for siting (MCLP, issue 5):

* :func:`active_stations` -- the stations that count;
* :func:`nearest_station`, :func:`coverage_matrix`, :func:`covered_mask`, :func:`ecef` -- from
  :mod:`stations.proximity`, re-exported here;
* :func:`radius_per_demand` -- the radius array for a demand frame and a radius spec;
* :func:`compute_coverage` -- everything at once, as a :class:`CoverageResult`.

Maps and print: :func:`coverage_layer` dissolves the station buffers (computed in ``METRIC_CRS``) into one
layer and returns it in WGS-84. Tables: :func:`coverage_table` (with load per station and 2SFCA
accessibility from :mod:`stations.access`, ``CoverageResult.access()``), shown and downloaded through
:func:`round_table`, whose rounding keeps totals (:mod:`stations.rounding`). Gaps: :func:`find_gaps` (from
:mod:`stations.gaps`). Files: :func:`export_table`, :func:`export_gaps` (CSV UTF-8 with BOM, XLSX, GeoJSON,
GeoPackage).
"""

from __future__ import annotations

import functools
import json
import math
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from . import geo, hours as H
from .access import AccessResult, accessibility
from .rounding import hierarchical_rounding, largest_remainder, round_within  # noqa: F401 (largest_remainder re-exported)
from .errors import ExportError, InputError
from .export import write_csv, write_xlsx
from .gaps import find_gaps
from .limits import RADIUS_M as RADIUS_LIMIT
from .proximity import CHORD_EXACT_M, coverage_matrix, covered_mask, ecef, nearest_station  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_RADIUS_M",
    "LEVELS",
    "TABLE_COLUMNS",
    "CoverageResult",
    "active_stations",
    "ecef",
    "nearest_station",
    "coverage_matrix",
    "covered_mask",
    "radius_per_demand",
    "check_radius",
    "lonlat",
    "transformer",
    "compute_coverage",
    "coverage_layer",
    "display_layer",
    "coverage_table",
    "round_table",
    "largest_remainder",
    "ADDITIVE_DIGITS",
    "find_gaps",
    "export_table",
    "export_gaps",
    "weighted_quantile",
]

DEFAULT_RADIUS_M = 1000.0
MAX_RADIUS_M = RADIUS_LIMIT.hi  # the one radius limit of stations.limits (was 50 km here, 20 km on the pages)
LEVELS = ("province", "prefecture", "county")
BUFFER_QUAD_SEGS = 8
# A buffer polygon with 4 x quad_segs vertices on the circle has less area than the disc; scaling its radius by
# this factor gives it exactly the disc's area (32-gon: +0.32 %, so vertices lie 3.2 m outside a 1 km circle
# and edge midpoints 1.6 m inside), which keeps covered areas unbiased at half the vertices of 16 segments.
_N_GON = 4 * BUFFER_QUAD_SEGS
BUFFER_AREA_FACTOR = math.sqrt(math.pi / (_N_GON / 2 * math.sin(2 * math.pi / _N_GON)))

TABLE_COLUMNS = (
    "level",
    "adcode",
    "name",
    "name_en",
    "parent_adcode",
    "stations",
    "urban_residents",
    "stations_per_10k_urban",
    "workers",
    "workers_covered",
    "covered_pct",
    "area_km2",
    "area_covered_km2",
    "area_covered_pct",
    "median_distance_m",
    "p90_distance_m",
    # load and 2SFCA (stations.access), added at the end so that the columns above keep their places
    "load_workers",
    "load_per_station",
    "load_max_station",
    "access_per_1000",
)

#: the additive columns and their decimals: rounded so that counties add up to their prefecture and
#: prefectures to the province as shown (:func:`round_table`)
ADDITIVE_DIGITS = (("urban_residents", 0), ("workers", 0), ("workers_covered", 0), ("area_km2", 1),
                   ("area_covered_km2", 2), ("load_workers", 0))


def _geo():
    from . import geo

    return geo


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transformer(src, dst) -> Transformer:
    """A cached ``always_xy`` Transformer (building one costs tens of milliseconds)."""
    key = lambda c: c if isinstance(c, str) else c.to_wkt()  # noqa: E731
    return _transformer(key(src), key(dst))


def metric_crs():
    """:data:`stations.geo.METRIC_CRS`: the CRS of buffers (metres)."""
    return geo.METRIC_CRS


def equal_area_crs():
    """:data:`stations.geo.EQUAL_AREA_CRS`: the CRS of areas (m²)."""
    return geo.EQUAL_AREA_CRS


# ---------------------------------------------------------------------------------------------------------
# stations that count


def open_at_hour_mask(hours_json, hour: int, weekday: int = 2) -> np.ndarray:
    """Boolean array: is each station (by its ``hours_json``) open at ``hour``:00 on ``weekday``?"""
    values = list(hours_json)
    out = np.zeros(len(values), dtype=bool)
    memo: dict[str, bool] = {}
    for i, hj in enumerate(values):
        key = hj if isinstance(hj, str) else json.dumps(hj, sort_keys=True, default=str)
        if key not in memo:
            try:
                oh = H.OpeningHours.from_json(hj)
                memo[key] = bool(oh.open_at_hour(int(hour), weekday=int(weekday)))
            except Exception as exc:  # unparseable hours: the station is not counted at a given hour
                log.debug("hours %r not usable: %s", hj, exc)
                memo[key] = False
        out[i] = memo[key]
    return out


def active_stations(stations: gpd.GeoDataFrame, hour: int | None = None, weekday: int = 2) -> gpd.GeoDataFrame:
    """The stations that count: ``status == "open"`` (closed and temp_closed excluded) and, when ``hour``
    is given, open at that hour."""
    keep = np.ones(len(stations), dtype=bool)
    if "status" in stations.columns:
        keep &= (stations["status"].astype(str) == "open").to_numpy()
    if hour is not None:
        if "hours_json" not in stations.columns:
            raise ValueError("stations have no hours_json column; cannot filter by hour")
        sub = stations.loc[keep, "hours_json"]
        mask = open_at_hour_mask(sub, hour, weekday)
        idx = np.flatnonzero(keep)
        keep[idx[~mask]] = False
    return stations.loc[keep]


def _lonlat(frame) -> tuple[np.ndarray, np.ndarray]:
    if "lon" in frame.columns and "lat" in frame.columns:
        return frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    g = frame.geometry.to_crs(4326) if frame.crs is not None else frame.geometry
    return g.x.to_numpy(), g.y.to_numpy()


def radius_per_demand(demand: pd.DataFrame, radius=DEFAULT_RADIUS_M) -> np.ndarray:
    """Radius (m) for each demand point: a number, or a mapping area_class -> metres (classes missing from
    the mapping get ``radius["default"]`` or 1,000 m)."""
    n = len(demand)
    if isinstance(radius, Mapping):
        default = float(radius.get("default", DEFAULT_RADIUS_M))
        classes = demand["area_class"] if "area_class" in demand.columns else pd.Series(["town"] * n)
        return np.array([float(radius.get(c, default)) for c in classes], dtype=float)
    return np.full(n, float(radius))


# ---------------------------------------------------------------------------------------------------------
# the result


@dataclass
class CoverageResult:
    """Coverage of one demand frame by one set of active stations."""

    demand: gpd.GeoDataFrame  # + distance_m, nearest_station (id), radius_m, covered
    stations: gpd.GeoDataFrame  # the active stations
    radius: object
    hour: int | None
    weekday: int = 2
    _layer_metric: object = field(default=None, repr=False)
    _access: object = field(default=None, repr=False)

    @property
    def workers(self) -> float:
        return float(self.demand["workers"].sum())

    @property
    def workers_covered(self) -> float:
        return float(self.demand.loc[self.demand["covered"], "workers"].sum())

    @property
    def covered_pct(self) -> float:
        w = self.workers
        return 100.0 * self.workers_covered / w if w > 0 else 0.0

    def station_radius(self) -> np.ndarray:
        """Buffer radius per active station: the radius of the area class of its nearest demand point
        (the largest radius when the radius is per class and no demand point is near)."""
        if not isinstance(self.radius, Mapping):
            return np.full(len(self.stations), float(self.radius))
        slon, slat = _lonlat(self.stations)
        dlon, dlat = _lonlat(self.demand)
        if len(dlon) == 0:
            return np.full(len(slon), max(float(v) for v in self.radius.values()))
        dist, idx = nearest_station(slon, slat, dlon, dlat)
        r = self.demand["radius_m"].to_numpy(float)[idx]
        return np.where(dist <= 2000, r, max(float(v) for v in self.radius.values()))

    def access(self) -> AccessResult:
        """Load per active station and the 2SFCA accessibility of each demand cell
        (:func:`stations.access.accessibility`, catchment = the service radius of each cell), computed once."""
        if self._access is None:
            self._access = accessibility(self)
        return self._access

    def layer_metric(self):
        """Dissolved coverage (one (Multi)Polygon) in METRIC_CRS."""
        if self._layer_metric is None:
            self._layer_metric = _dissolved_buffers(self.stations, self.station_radius())
        return self._layer_metric


def compute_coverage(
    stations: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame | None = None,
    radius=DEFAULT_RADIUS_M,
    hour: int | None = None,
    weekday: int = 2,
) -> CoverageResult:
    """Coverage of ``demand`` (default: the bundled model) by the active ``stations``."""
    if demand is None:
        from .demand import load_demand

        demand = load_demand()
    _check_radius(radius)
    act = active_stations(stations, hour=hour, weekday=weekday)
    slon, slat = _lonlat(act)
    dlon, dlat = _lonlat(demand)
    dist, idx = nearest_station(dlon, dlat, slon, slat)
    r = radius_per_demand(demand, radius)
    out = demand.copy()
    ids = act["id"].astype(str).to_numpy() if "id" in act.columns else np.arange(len(act)).astype(str)
    out["distance_m"] = dist
    out["nearest_station"] = np.where(idx >= 0, ids[np.clip(idx, 0, None)] if len(ids) else "", None)
    out["radius_m"] = r
    out["covered"] = dist <= r
    return CoverageResult(demand=out, stations=act, radius=radius, hour=hour, weekday=weekday)


def check_radius(radius) -> None:
    """Raise :class:`~stations.errors.InputError` (a ValueError, ``param="radius"``) unless every radius (a
    number or a per-class mapping) is in (0, MAX_RADIUS_M] metres."""
    _check_radius(radius)


def lonlat(frame) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) arrays of a frame: its ``lon``/``lat`` columns, else its geometry in WGS-84."""
    return _lonlat(frame)


def _check_radius(radius) -> None:
    values = radius.values() if isinstance(radius, Mapping) else [radius]
    for v in values:
        v = float(v)
        if not (0 < v <= MAX_RADIUS_M):
            raise InputError(f"radius must be between 0 and {MAX_RADIUS_M:.0f} m, got {v:g}", param="radius")


# ---------------------------------------------------------------------------------------------------------
# the dissolved coverage layer


def _dissolved_buffers(stations, radii: np.ndarray):
    if len(stations) == 0:
        return shapely.MultiPolygon()
    lon, lat = _lonlat(stations)
    x, y = transformer("EPSG:4326", metric_crs()).transform(lon, lat)
    x, y = np.asarray(x), np.asarray(y)
    radii = np.broadcast_to(np.asarray(radii, float), x.shape) * BUFFER_AREA_FACTOR
    bufs = shapely.buffer(shapely.points(x, y), radii, quad_segs=BUFFER_QUAD_SEGS)
    # Dissolve overlapping clusters separately (union cost grows faster than linearly), in parallel threads
    # (shapely releases the GIL), then gather the disjoint results. Clusters are joined at the buffers' own
    # (area-corrected) radii plus a metre, so that no two parts of the result touch or overlap: parts of
    # neighbouring clusters overlapped by up to 0.3 % of the radius before, and the MultiPolygon was invalid
    # (GEOS TopologyException when the layer was simplified and reprojected at 20 km).
    reach = radii + 1.0
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(2 * float(reach.max()), output_type="ndarray")
    n = len(x)
    if len(pairs):
        r_sum = reach[pairs[:, 0]] + reach[pairs[:, 1]]
        near = np.hypot(x[pairs[:, 0]] - x[pairs[:, 1]], y[pairs[:, 0]] - y[pairs[:, 1]]) <= r_sum
        pairs = pairs[near]
    graph = sparse.coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)
    singles = [g[0] for g in groups if len(g) == 1]
    multi = sorted((g for g in groups if len(g) > 1), key=len, reverse=True)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        merged = list(pool.map(lambda ix: shapely.union_all(bufs[ix]), multi))
    parts = np.concatenate([bufs[np.asarray(singles, dtype=np.int64)], shapely.get_parts(np.asarray(merged, dtype=object))])
    return shapely.multipolygons(parts) if len(parts) != 1 else parts[0]


def display_layer(result: CoverageResult, simplify_m: float = 25.0, grid_deg: float = 1e-5):
    """The dissolved coverage as one valid (Multi)Polygon in WGS-84 for a web map: simplified by ``simplify_m``
    metres in METRIC_CRS (topology kept), reprojected, snapped to a ``grid_deg`` grid (1e-5 degrees is about a
    metre). Each step that could leave an invalid geometry is followed by ``make_valid``, so the result is valid
    at every radius (GEOS raised a TopologyException at 20 km before the parts were made disjoint)."""
    geom = shapely.simplify(result.layer_metric(), simplify_m)
    tr = transformer(metric_crs(), "EPSG:4326")
    wgs = shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    if not shapely.is_valid(wgs):
        wgs = shapely.make_valid(wgs)
    try:
        out = shapely.set_precision(wgs, grid_deg)
    except shapely.errors.GEOSException:  # a topology GEOS cannot snap: snap the points, then repair
        out = shapely.make_valid(shapely.set_precision(wgs, grid_deg, mode="pointwise"))
    if not shapely.is_valid(out):
        out = shapely.make_valid(out)
    if out.geom_type == "GeometryCollection":  # make_valid may leave slivers of lines: keep the areas
        polys = [g for g in shapely.get_parts(out) if g.geom_type in ("Polygon", "MultiPolygon")]
        out = shapely.union_all(polys) if polys else shapely.MultiPolygon()
    return out


def coverage_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """The dissolved coverage layer, one row per part, in WGS-84 (for the map and print)."""
    geom = result.layer_metric()
    parts = shapely.get_parts(geom)
    gs = gpd.GeoSeries(parts, crs=metric_crs())
    area = gs.to_crs(equal_area_crs()).area.to_numpy() / 1e6
    return gpd.GeoDataFrame({"area_km2": np.round(area, 4)}, geometry=gs.to_crs(4326).to_numpy(), crs="EPSG:4326")


# ---------------------------------------------------------------------------------------------------------
# tables


def weighted_quantile(values, weights, q: float) -> float:
    values = np.asarray(values, float)
    weights = np.asarray(weights, float)
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return float("nan")
    v, w = values[ok], weights[ok]
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cw = np.cumsum(w)
    i = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(v[min(i, len(v) - 1)])


#: the one geography (``Geography(province, prefectures, counties)`` wraps synthetic tables; ``.load()`` is
#: the cached geography of the data directory)
Geography = _geo().Geography


def _county_areas(counties: gpd.GeoDataFrame):
    """Equal-area county polygons (prepared) and their STRtree, kept in the cached geography (so that
    ``geo.clear_cache()`` drops them): its own part for its counties, one slot for any other county table."""
    g = _geo().geography()
    if g.has("counties") and g.counties is counties:
        return g.county_equal_area
    return g.cached("coverage.county_areas", lambda: _geo().equal_area_index(counties), owner=counties)


def _area_covered_by_county(result: CoverageResult, counties: gpd.GeoDataFrame) -> np.ndarray:
    ea, tree = _county_areas(counties)
    layer = result.layer_metric()
    out = np.zeros(len(counties))
    if layer.is_empty:
        return out
    tr = transformer(metric_crs(), equal_area_crs())
    parts = shapely.transform(shapely.get_parts(layer), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    pi, ci = tree.query(parts, predicate="intersects")
    if len(pi) == 0:
        return out
    inside = shapely.contains(ea[ci], parts[pi])
    areas = np.where(inside, shapely.area(parts[pi]), 0.0)
    todo = ~inside
    if todo.any():
        areas[todo] = shapely.area(shapely.intersection(parts[pi[todo]], ea[ci[todo]]))
    np.add.at(out, ci, areas)
    return out / 1e6


def _station_counties(stations: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> np.ndarray:
    """County adcode of each station: its ``county_adcode`` when every station has one, else the one
    point-in-county join (:func:`stations.geo.locate_counties`: intersects, the lowest adcode on a shared
    border). A geography other than the bundled one (tests) is joined by the same rule."""
    if "county_adcode" in stations.columns and stations["county_adcode"].notna().all():
        return stations["county_adcode"].astype(str).to_numpy()
    lon, lat = _lonlat(stations)
    if counties is geo.load_counties():
        return geo.locate_counties(lon, lat)
    # the same rule on another table of counties: the first county (in adcode order) the point intersects
    order = np.argsort(counties["adcode"].astype(str).to_numpy(), kind="stable")
    codes_sorted = counties["adcode"].astype(str).to_numpy()[order]
    pi, ci = shapely.STRtree(counties.geometry.to_numpy()[order]).query(shapely.points(lon, lat), predicate="intersects")
    codes = np.full(len(stations), None, dtype=object)
    first = np.lexsort((ci, pi))
    pi, ci = pi[first], ci[first]
    keep = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, dtype=bool)
    codes[pi[keep]] = codes_sorted[ci[keep]]
    return codes


def _county_base(result: CoverageResult, counties: gpd.GeoDataFrame, pref: pd.DataFrame):
    """The county rows with every additive column (computed once per result and geography)."""
    c = pd.DataFrame(
        {
            "adcode": counties["adcode"].astype(str).to_numpy(),
            "name": counties["name_zh"].to_numpy(),
            "name_en": counties["name_en"].to_numpy() if "name_en" in counties.columns else counties["name_zh"].to_numpy(),
            "prefecture_adcode": counties["prefecture_adcode"].astype(str).to_numpy(),
        }
    )
    urban_pct = pref["urban_pct"].reindex(c["prefecture_adcode"]).to_numpy(float)
    c["urban_residents"] = counties["population_2020"].to_numpy(float) * urban_pct / 100.0
    st_codes = pd.Series(_station_counties(result.stations, counties))
    c["stations"] = c["adcode"].map(st_codes.value_counts()).fillna(0).astype(int).to_numpy()
    d = result.demand
    dc = d["county_adcode"].astype(object).where(d["county_adcode"].notna(), None).astype(str)
    w = d["workers"].to_numpy(float)
    cov = d["covered"].to_numpy(bool)
    c["workers"] = c["adcode"].map(pd.Series(w).groupby(dc.to_numpy()).sum()).fillna(0.0).to_numpy()
    c["workers_covered"] = c["adcode"].map(pd.Series(w * cov).groupby(dc.to_numpy()).sum()).fillna(0.0).to_numpy()
    c["area_km2"] = shapely.area(_county_areas(counties)[0]) / 1e6
    c["area_covered_km2"] = _area_covered_by_county(result, counties)
    acc = result.access()
    load = pd.Series(acc.stations["load_workers"].to_numpy(float)).groupby(st_codes.to_numpy())
    c["load_workers"] = c["adcode"].map(load.sum()).fillna(0.0).to_numpy()
    c["load_max_station"] = c["adcode"].map(load.max()).to_numpy(float)  # NaN: no active station
    c["_access_workers"] = c["adcode"].map(pd.Series(w * acc.access_per_1000).groupby(dc.to_numpy()).sum()).fillna(0.0).to_numpy()
    return c, dc


def coverage_table(result: CoverageResult, by: str = "county", geography: Geography | None = None) -> pd.DataFrame:
    """The coverage table at one level (``province``, ``prefecture`` or ``county``), rows in adcode order,
    columns :data:`TABLE_COLUMNS`. Additive columns are summed from the counties, so the province equals the
    sum of its prefectures and each prefecture the sum of its counties; medians and the 90th percentile are
    computed from the demand points of each area, weighted by workers."""
    if by not in LEVELS:
        raise InputError(f"by must be one of {', '.join(LEVELS)}, got {by!r}", param="by")
    geo = geography or Geography.load()
    counties = geo.counties
    pref = geo.prefectures.set_index("adcode")
    d = result.demand
    memo = result.__dict__.setdefault("_county_base", {})
    if id(counties) not in memo:
        memo.clear()
        memo[id(counties)] = _county_base(result, counties, pref)
    c, dc = memo[id(counties)]
    w = d["workers"].to_numpy(float)

    additive = ["stations", "urban_residents", "workers", "workers_covered", "area_km2", "area_covered_km2", "load_workers",
                "_access_workers"]
    if by == "county":
        t = c.assign(level="county", parent_adcode=c["prefecture_adcode"])
        groups = dc.to_numpy()
    elif by == "prefecture":
        grouped = c.groupby("prefecture_adcode", sort=True)
        t = grouped[additive].sum().reset_index().rename(columns={"prefecture_adcode": "adcode"})
        t["load_max_station"] = grouped["load_max_station"].max().to_numpy()
        names = pref.reindex(t["adcode"])
        t["name"] = names["name_zh"].to_numpy()
        t["name_en"] = names["name_en"].to_numpy() if "name_en" in names.columns else t["name"]
        t["level"] = "prefecture"
        t["parent_adcode"] = "530000"
        groups = dc.map(dict(zip(c["adcode"], c["prefecture_adcode"]))).to_numpy(dtype=object)
    else:
        prov = geo.province.iloc[0]
        t = pd.DataFrame([c[additive].sum()])
        t["load_max_station"] = c["load_max_station"].max()
        t["adcode"] = str(prov.get("adcode", "530000"))
        t["name"] = prov.get("name_zh", "云南省")
        t["name_en"] = prov.get("name_en", "Yunnan")
        t["level"] = "province"
        t["parent_adcode"] = "100000"
        groups = np.where(dc.isin(set(c["adcode"])).to_numpy(), str(t["adcode"].iloc[0]), None).astype(object)

    dist = d["distance_m"].to_numpy(float)
    med, p90 = {}, {}
    gser = pd.Series(groups)
    for code, ix in gser.groupby(gser.to_numpy()).indices.items():
        med[code] = weighted_quantile(dist[ix], w[ix], 0.5)
        p90[code] = weighted_quantile(dist[ix], w[ix], 0.9)
    t["median_distance_m"] = t["adcode"].map(med)
    t["p90_distance_m"] = t["adcode"].map(p90)
    with np.errstate(divide="ignore", invalid="ignore"):
        t["covered_pct"] = np.where(t["workers"] > 0, 100.0 * t["workers_covered"] / t["workers"], np.nan)
        t["area_covered_pct"] = np.where(t["area_km2"] > 0, 100.0 * t["area_covered_km2"] / t["area_km2"], np.nan)
        t["stations_per_10k_urban"] = np.where(t["urban_residents"] > 0, 1e4 * t["stations"] / t["urban_residents"], np.nan)
        t["load_per_station"] = np.where(t["stations"] > 0, t["load_workers"] / t["stations"], np.nan)
        t["access_per_1000"] = np.where(t["workers"] > 0, t["_access_workers"] / t["workers"], np.nan)
    t["stations"] = t["stations"].astype(int)
    out = t[list(TABLE_COLUMNS)].sort_values("adcode").reset_index(drop=True)
    if "rounded" not in memo:
        memo["rounded"] = hierarchical_rounding(c, str(geo.province.iloc[0].get("adcode", "530000")), ADDITIVE_DIGITS)
    out.attrs["rounded"] = memo["rounded"]
    return out


def round_table(t: pd.DataFrame) -> pd.DataFrame:
    """Rounded for display and every download (workers and residents to whole people, percentages to 0.1,
    areas to 0.1 / 0.01 km², metres to 1, accessibility to 0.001 per 1,000 workers) so that the table adds up
    as shown: the additive columns (:data:`ADDITIVE_DIGITS`) are rounded by largest remainder
    (:mod:`stations.rounding`) down the hierarchy (province, prefectures, counties) attached by
    :func:`coverage_table`, so a county table, a
    prefecture table and the province row agree with each other; a table without it (built elsewhere) is
    rounded the same way within itself (its total, its ``parent_adcode`` groups, their rows)."""
    rounded = t.attrs.get("rounded") or {}
    t = t.copy()
    for col, nd in ADDITIVE_DIGITS:
        if col not in t.columns:
            continue
        exact = t[col].astype(float)
        m = rounded.get(col)
        if m is not None and t["adcode"].astype(str).isin(m.keys()).all():
            t[col] = t["adcode"].astype(str).map(m).astype(float).where(exact.notna())
        else:
            t[col] = round_within(t, col, nd)
    for col, nd in (
        ("covered_pct", 1),
        ("area_covered_pct", 2),
        ("stations_per_10k_urban", 3),
        ("median_distance_m", 0),
        ("p90_distance_m", 0),
        ("load_per_station", 0),
        ("load_max_station", 0),
        ("access_per_1000", 3),
    ):
        if col in t.columns:
            t[col] = t[col].astype(float).round(nd)
    return t


# ---------------------------------------------------------------------------------------------------------
# exports

EXPORT_FORMATS = ("csv", "xlsx", "geojson", "gpkg")


def export_format(path: Path, fmt: str | None) -> str:
    """The export format of ``path`` (or ``fmt`` when given): csv, xlsx, geojson or gpkg; else :class:`ExportError`."""
    fmt_given = bool(fmt)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    fmt = {"json": "geojson", "xls": "xlsx"}.get(fmt, fmt)
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unsupported export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}",
                          param="format" if fmt_given else "out")
    return fmt


def export_table(table: pd.DataFrame, out, fmt: str | None = None, geography: Geography | None = None) -> Path:
    """Write a coverage table as CSV (UTF-8 with BOM), XLSX, GeoJSON or GeoPackage (the last two with the
    area polygons)."""
    out = Path(out)
    fmt = export_format(out, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = round_table(table)
    if fmt == "csv":  # the one CSV / XLSX writers: no live formulas (stations.export)
        write_csv(t, out)
    elif fmt == "xlsx":
        write_xlsx({"coverage": t}, out)
    else:
        geo = geography or Geography.load()
        level = t["level"].iloc[0] if len(t) else "county"
        src = {"county": geo.counties, "prefecture": geo.prefectures, "province": geo.province}[level]
        polys = src.set_index(src["adcode"].astype(str)).geometry.to_crs(4326)
        gdf = gpd.GeoDataFrame(t, geometry=polys.reindex(t["adcode"]).to_numpy(), crs="EPSG:4326")
        _write_vector(gdf, out, fmt, layer="coverage")
    return out


def _write_vector(gdf: gpd.GeoDataFrame, out: Path, fmt: str, layer: str) -> None:
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    if tmp.exists():
        tmp.unlink()
    if fmt == "geojson":
        gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio")
    else:
        gdf.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
    tmp.replace(out)


def export_gaps(gaps: gpd.GeoDataFrame, out, fmt: str | None = None) -> Path:
    """Write gaps as GeoJSON / GeoPackage (polygons), CSV UTF-8 with BOM or XLSX (centre lon/lat, no
    polygon)."""
    out = Path(out)
    fmt = export_format(out, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    g = gaps.copy()
    g["uncovered_workers"] = g["uncovered_workers"].astype(float).round(1)
    g["nearest_station_m"] = g["nearest_station_m"].astype(float).round(0)
    g["area_km2"] = g["area_km2"].astype(float).round(3)
    if fmt in ("csv", "xlsx"):
        t = pd.DataFrame(g.drop(columns="geometry"))
        t["lon"] = t["lon"].round(6)
        t["lat"] = t["lat"].round(6)
        if fmt == "csv":
            write_csv(t, out)
        else:
            write_xlsx({"gaps": t}, out)
    else:
        _write_vector(g, out, fmt, layer="gaps")
    return out
