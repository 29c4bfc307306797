"""Coverage, the siting matrix and county tables on the walking network, shaped like :mod:`stations.coverage`.

:func:`network_coverage` answers the same question as :func:`stations.coverage.compute_coverage` (is an
active station within reach of each demand point, which one, how far) with walking distances on streets,
and returns a :class:`NetworkCoverageResult`, a :class:`~stations.coverage.CoverageResult` whose demand
frame carries the same columns (``distance_m``, ``nearest_station``, ``radius_m``, ``covered``) plus:

* ``snap_m``: geodesic metres from the demand point to the street it joins (part of the walk);
* ``on_network``: False for points farther than the maximum snapping distance from every walkable street:
  they *cannot reach the network*, count as not covered, and are listed by :attr:`NetworkCoverageResult.unreachable`;
* ``straight_m``, ``covered_straight``: the straight-line (geodesic) distance to the nearest active station and
  coverage at the same distance, computed in the same call so tables show both side by side.

``distance_m`` is the walking distance when it is within the coverage distance and ``inf`` beyond it (the
search stops at the limit: that is what makes the province take seconds); so medians over a county are
finite only when more than half its workers are within reach.

:func:`network_coverage_matrix` is :func:`stations.coverage.coverage_matrix` on foot (sparse boolean,
sites x demand). :func:`side_by_side_table` is the county (prefecture, province) table with straight-line
and network coverage next to each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from .. import coverage as C
from ..errors import NetworkError
from .graph import DEFAULT_DISTANCE_M, MAX_SNAP_M, WALK_SPEED_KMH, WalkNetwork, distance_per_point

log = logging.getLogger(__name__)

__all__ = ["NetworkCoverageResult", "network_coverage", "network_coverage_matrix", "side_by_side_table",
           "SIDE_BY_SIDE_COLUMNS"]


@dataclass
class NetworkCoverageResult(C.CoverageResult):
    """A :class:`~stations.coverage.CoverageResult` measured on foot; ``radius`` is the walking distance."""

    network: WalkNetwork | None = field(default=None, repr=False)
    max_snap_m: float = MAX_SNAP_M
    speed_kmh: float = WALK_SPEED_KMH
    stations_off_network: list = field(default_factory=list)  # ids of active stations that cannot reach it
    _width_m: float | None = field(default=None, repr=False)

    @property
    def unreachable(self) -> gpd.GeoDataFrame:
        """Demand points farther than ``max_snap_m`` from every walkable street."""
        return self.demand.loc[~self.demand["on_network"].to_numpy(bool)]

    @property
    def workers_unreachable(self) -> float:
        return float(self.unreachable["workers"].sum())

    @property
    def workers_covered_straight(self) -> float:
        d = self.demand
        return float(d.loc[d["covered_straight"].to_numpy(bool), "workers"].sum())

    @property
    def covered_pct_straight(self) -> float:
        w = self.workers
        return 100.0 * self.workers_covered_straight / w if w > 0 else 0.0

    def layer_metric(self):
        """The area within walking reach (the stations' isochrone at the coverage distance, streets buffered
        by :data:`stations.network.isochrones.STREET_BUFFER_M`), one (Multi)Polygon in METRIC_CRS; used by the
        tables' covered-area columns and by maps."""
        if self._layer_metric is None:
            from .isochrones import reach_polygon_metric

            slon, slat = C.lonlat(self.stations)
            self._layer_metric = reach_polygon_metric(self.network, slon, slat, float(np.max(self.demand["radius_m"])
                                                      if len(self.demand) else float(self.radius)),
                                                      max_snap_m=self.max_snap_m)
        return self._layer_metric


def network_coverage(network: WalkNetwork, stations: gpd.GeoDataFrame, demand: gpd.GeoDataFrame | None = None,
                     distance=DEFAULT_DISTANCE_M, hour: int | None = None, weekday: int = 2,
                     max_snap_m: float = MAX_SNAP_M) -> NetworkCoverageResult:
    """Coverage of ``demand`` (default: the bundled model) by the active ``stations`` within ``distance``
    walking metres (a number, default 1,125 m = 15 minutes at 4.5 km/h, or a mapping area class -> metres as
    the straight-line ``radius``). One multi-source Dijkstra from every active station, bounded by the largest
    distance."""
    if network is None:
        raise NetworkError("no street network is loaded: build one with `yizhan network build EXTRACT.osm.pbf`",
                           param="distance")
    if demand is None:
        from ..demand import load_demand

        demand = load_demand()
    C.check_radius(distance)
    act = C.active_stations(stations, hour=hour, weekday=weekday)
    slon, slat = C.lonlat(act)
    dlon, dlat = C.lonlat(demand)
    classes = demand["area_class"].tolist() if "area_class" in demand.columns else None
    r = distance_per_point(len(demand), distance, classes)
    limit = float(r.max()) if len(r) else float(DEFAULT_DISTANCE_M)
    s_snap = network.snap(slon, slat, max_snap_m)
    d_snap = network.snap(dlon, dlat, max_snap_m)
    dist, who = network.point_distances(s_snap, d_snap, limit)
    covered = dist <= r
    dist = np.where(covered | (dist <= limit), dist, np.inf)
    ids = act["id"].astype(str).to_numpy() if "id" in act.columns else np.arange(len(act)).astype(str)
    straight, sidx = C.nearest_station(dlon, dlat, slon, slat)
    out = demand.copy()
    out["distance_m"] = dist
    out["nearest_station"] = np.where(who >= 0, ids[np.clip(who, 0, None)] if len(ids) else "", None)
    out["radius_m"] = r
    out["covered"] = covered
    out["snap_m"] = d_snap.dist_m
    out["on_network"] = d_snap.ok
    out["straight_m"] = straight
    out["covered_straight"] = straight <= r
    off = [str(i) for i in ids[~s_snap.ok]]
    if off:
        log.info("%d active stations are more than %.0f m from any walkable street", len(off), max_snap_m)
    return NetworkCoverageResult(demand=out, stations=act, radius=distance, hour=hour, weekday=weekday,
                                 network=network, max_snap_m=max_snap_m, stations_off_network=off)


def network_coverage_matrix(network: WalkNetwork, site_lon, site_lat, demand_lon, demand_lat,
                            distance=DEFAULT_DISTANCE_M, max_snap_m: float = MAX_SNAP_M) -> sparse.csr_matrix:
    """Sparse boolean matrix ``A`` (n_sites x n_demand): ``A[i, j]`` when demand point ``j`` is within
    ``distance`` walking metres of site ``i`` (a scalar, or one distance per demand point as
    :func:`stations.coverage.coverage_matrix`). Sites or points that cannot reach the network cover / are
    covered by nothing."""
    sites = network.snap(site_lon, site_lat, max_snap_m)
    targets = network.snap(demand_lon, demand_lat, max_snap_m)
    r = np.broadcast_to(np.asarray(distance, float), (len(targets),))
    if len(r) == 0:
        return sparse.csr_matrix((len(sites), 0), dtype=bool)
    rows, cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for rv in np.unique(r):  # one bounded search per distinct distance (town / rural)
        sel = np.flatnonzero(r == rv)
        A = network.coverage_matrix(sites, targets.take(sel), float(rv)).tocoo()
        rows.append(A.row.astype(np.int64))
        cols.append(sel[A.col])
    row, col = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(len(row), bool), (row, col)), shape=(len(sites), len(targets)))


SIDE_BY_SIDE_COLUMNS = (
    "level", "adcode", "name", "name_en", "parent_adcode", "stations", "workers",
    "workers_covered_straight", "covered_pct_straight", "workers_covered_network", "covered_pct_network",
    "overstatement_pp", "workers_unreachable", "unreachable_pct", "median_straight_m", "median_network_m",
    "median_snap_m",
)


def side_by_side_table(result: NetworkCoverageResult, by: str = "county", geography=None) -> pd.DataFrame:
    """Straight-line and network coverage of the same demand, stations and distance, side by side per
    county (or prefecture, province): ``overstatement_pp`` is how many percentage points straight lines add.
    ``median_network_m`` is NaN where fewer than half of an area's workers are within walking reach (the
    search stops at the coverage distance)."""
    if by not in C.LEVELS:
        raise NetworkError("by must be one of %(levels)s, got %(by)s", param="by", levels=", ".join(C.LEVELS), by=by)
    geo = geography or C.Geography.load()
    d = result.demand
    counties = geo.counties
    county = d["county_adcode"].astype(object).where(d["county_adcode"].notna(), None)
    if by == "county":
        code = county
        names = counties.set_index(counties["adcode"].astype(str))
        parent = names["prefecture_adcode"].astype(str)
    elif by == "prefecture":
        code = county.map(lambda c: None if c is None else str(c)[:4] + "00")
        names = geo.prefectures.set_index(geo.prefectures["adcode"].astype(str))
        parent = pd.Series("530000", index=names.index)
    else:
        code = county.map(lambda c: None if c is None else "530000")
        names = geo.province.set_index(geo.province["adcode"].astype(str))
        parent = pd.Series("100000", index=names.index)
    w = d["workers"].to_numpy(float)
    frame = pd.DataFrame({
        "adcode": code.to_numpy(dtype=object), "w": w,
        "cs": w * d["covered_straight"].to_numpy(bool), "cn": w * d["covered"].to_numpy(bool),
        "un": w * ~d["on_network"].to_numpy(bool),
    })
    frame = frame[frame["adcode"].notna()]
    g = frame.groupby("adcode").sum()
    t = pd.DataFrame(index=names.index.astype(str))
    t["workers"] = g["w"].reindex(t.index).fillna(0.0)
    t["workers_covered_straight"] = g["cs"].reindex(t.index).fillna(0.0)
    t["workers_covered_network"] = g["cn"].reindex(t.index).fillna(0.0)
    t["workers_unreachable"] = g["un"].reindex(t.index).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = t["workers"] > 0
        t["covered_pct_straight"] = np.where(pos, 100 * t["workers_covered_straight"] / t["workers"], np.nan)
        t["covered_pct_network"] = np.where(pos, 100 * t["workers_covered_network"] / t["workers"], np.nan)
        t["unreachable_pct"] = np.where(pos, 100 * t["workers_unreachable"] / t["workers"], np.nan)
    t["overstatement_pp"] = t["covered_pct_straight"] - t["covered_pct_network"]
    st_county = C._station_counties(result.stations, counties)
    if by == "prefecture":
        st_code = [None if c is None else str(c)[:4] + "00" for c in st_county]
    elif by == "province":
        st_code = [None if c is None else "530000" for c in st_county]
    else:
        st_code = list(st_county)
    t["stations"] = pd.Series(st_code, dtype=object).value_counts().reindex(t.index).fillna(0).astype(int)
    med_s, med_n, med_snap = {}, {}, {}
    codes = frame["adcode"].to_numpy(dtype=object)
    sub = d.loc[frame.index]
    s_m, n_m, snap = (sub["straight_m"].to_numpy(float), sub["distance_m"].to_numpy(float),
                      sub["snap_m"].to_numpy(float))
    ww = frame["w"].to_numpy(float)
    for c, ix in pd.Series(codes).groupby(codes).indices.items():
        med_s[c] = C.weighted_quantile(s_m[ix], ww[ix], 0.5)
        med_n[c] = _median_with_inf(n_m[ix], ww[ix])
        med_snap[c] = C.weighted_quantile(snap[ix], ww[ix], 0.5)
    t["median_straight_m"] = pd.Series(med_s).reindex(t.index)
    t["median_network_m"] = pd.Series(med_n).reindex(t.index)
    t["median_snap_m"] = pd.Series(med_snap).reindex(t.index)
    t["adcode"] = t.index.to_numpy()
    t.index.name = None
    t["name"] = names["name_zh"].reindex(t.index).to_numpy()
    t["name_en"] = names["name_en"].reindex(t.index).to_numpy() if "name_en" in names.columns else t["name"]
    t["parent_adcode"] = parent.reindex(t.index).to_numpy()
    t["level"] = by
    return t[list(SIDE_BY_SIDE_COLUMNS)].sort_values("adcode").reset_index(drop=True)


def _median_with_inf(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted median where ``inf`` means "beyond the search limit" (sorted last): NaN when the median
    itself lies beyond it."""
    ok = weights > 0
    if not ok.any():
        return float("nan")
    v = np.where(np.isnan(values[ok]), np.inf, values[ok])
    w = weights[ok]
    order = np.argsort(v, kind="stable")
    cw = np.cumsum(w[order])
    i = int(np.searchsorted(cw, 0.5 * cw[-1], side="left"))
    m = float(v[order][min(i, len(v) - 1)])
    return m if np.isfinite(m) else float("nan")
