"""Siting, recommendations and what-if scenarios on foot: :mod:`stations.siting` with walking distances.

:func:`network_max_cover` is :meth:`stations.siting.MaxCover.from_geodataframes` with the coverage matrix of
:func:`~stations.network.coverage.network_coverage_matrix` (candidate sites x demand, within the walking
distance) and the demand already covered *on foot* by the active stations; the solvers are unchanged.
:func:`on_network` turns a recommendation's before/after coverage (computed by the siting module in straight
lines) into walking coverage of the same stations and sites, and :func:`network_whatif` is
:func:`stations.siting.whatif` on foot. ``distance`` is walking metres (a number or a per-class mapping, as
the straight-line ``radius``); the default is 15 minutes at 4.5 km/h (1,125 m).
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import coverage as C
from ..budget import check_coverage_pairs
from ..siting import MaxCover, Recommendation, default_candidates, with_added_sites
from .coverage import NetworkCoverageResult, network_coverage, network_coverage_matrix
from .graph import DEFAULT_DISTANCE_M, WalkNetwork, distance_per_point

__all__ = ["network_max_cover", "on_network", "network_whatif"]


def network_max_cover(network: WalkNetwork, demand: gpd.GeoDataFrame, candidates: pd.DataFrame | None = None,
                      stations: pd.DataFrame | None = None, distance=DEFAULT_DISTANCE_M, hour: int | None = None,
                      weekday: int = 2, max_pairs=None) -> MaxCover:
    """The maximal-covering instance on foot. ``max_pairs`` bounds the straight-line pairs within the
    distance (an upper bound of the walking pairs: a walk is never shorter than the straight line), counted
    before any search."""
    C.check_radius(distance)
    if candidates is None:
        candidates = default_candidates(demand)
    dlon, dlat = C.lonlat(demand)
    classes = demand["area_class"].tolist() if "area_class" in demand.columns else None
    r = distance_per_point(len(demand), distance, classes)
    clon, clat = C.lonlat(candidates)
    if max_pairs is not None:
        check_coverage_pairs(dlon, dlat, clon, clat, r, max_pairs)
    if stations is not None and len(stations):
        res = network_coverage(network, stations, demand, distance, hour, weekday)
        act, covered = res.stations, res.demand["covered"].to_numpy(bool)
    else:
        act, covered = stations, np.zeros(len(dlon), dtype=bool)
    A = network_coverage_matrix(network, clon, clat, dlon, dlat, r)
    return MaxCover(demand["workers"].to_numpy(float), A, covered, candidates=candidates, demand=demand, stations=act,
                    radius=distance, hour=hour, weekday=weekday)


def on_network(rec: Recommendation, network: WalkNetwork, stations: pd.DataFrame, demand: gpd.GeoDataFrame,
               distance=DEFAULT_DISTANCE_M, hour: int | None = None, weekday: int = 2) -> Recommendation:
    """``rec`` with its before/after coverage measured on foot (same stations, same sites)."""
    before = network_coverage(network, stations, demand, distance, hour, weekday)
    sites = rec.sites
    after_st = with_added_sites(stations, sites["lon"].to_numpy(), sites["lat"].to_numpy(),
                                county_adcode=sites["county_adcode"].to_numpy())
    after = network_coverage(network, after_st, demand, distance, hour, weekday)
    return dataclasses.replace(rec, before=before, after=after)


def network_whatif(network: WalkNetwork, stations: pd.DataFrame, demand: gpd.GeoDataFrame, add=(), close=(),
                   distance=DEFAULT_DISTANCE_M, hour: int | None = None,
                   weekday: int = 2) -> tuple[NetworkCoverageResult, NetworkCoverageResult]:
    """Walking coverage before and after a scenario (``add`` [(lon, lat[, hours]), ...], ``close`` ids)."""
    add = [tuple(a) for a in add]
    xy = np.asarray([a[:2] for a in add], dtype=float).reshape(-1, 2)
    hours = [a[2] if len(a) > 2 else None for a in add]
    before = network_coverage(network, stations, demand, distance, hour, weekday)
    scen = with_added_sites(stations, xy[:, 0], xy[:, 1], close=list(close), hours=hours)
    return before, network_coverage(network, scen, demand, distance, hour, weekday)
