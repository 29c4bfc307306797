"""The finder on foot: rank the straight-line nearest stations by walking distance, and the route to one.

The finder already has the nearest stations by geodesic distance (:class:`stations.nearest.NearestIndex`).
:func:`rank_by_walk` takes those candidates (ask for about three times as many as will be shown), measures
the walk to each with one bounded search around the user (:meth:`WalkNetwork.distances_from_point`) and
orders them by walking distance. The search goes at most :data:`SEARCH_CAP_M` (an hour's walk): a station
beyond it keeps only its straight-line figure (walking distance ``inf``), so a request in the countryside
costs no more than one in town. The ranking is *exact* (no station outside the candidates could walk
nearer) when the k-th walking distance is no longer than the straight-line distance of the farthest
candidate, because a walk is never shorter than the straight line; :class:`WalkRanking` says whether it
is. The route to the chosen station is :meth:`WalkNetwork.route` (a GeoJSON LineString via
:meth:`Route.to_geojson`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import MAX_SNAP_M, WALK_M_PER_MIN, WalkNetwork

__all__ = ["WalkRanking", "rank_by_walk", "SEARCH_FLOOR_M", "SEARCH_FACTOR", "SEARCH_CAP_M"]

#: the walking search around the user reaches at least this far ...
SEARCH_FLOOR_M = 2000.0
#: ... and this many times the straight-line distance of the k-th candidate ...
SEARCH_FACTOR = 3.0
#: ... but never farther than this (an hour's walk at 4.5 km/h; farther stations keep their straight-line figure)
SEARCH_CAP_M = 4500.0


@dataclass
class WalkRanking:
    order: np.ndarray  # positions into the candidates, nearest walk first (unreachable ones last, by straight line)
    walk_m: np.ndarray  # walking metres per candidate (inf: beyond the search or off the network)
    straight_m: np.ndarray  # the candidates' straight-line metres, as given
    search_m: float  # how far the search went
    exact: bool  # True when no station outside the candidates can be a nearer walk

    @property
    def minutes(self) -> np.ndarray:
        return self.walk_m / WALK_M_PER_MIN


def rank_by_walk(network: WalkNetwork, lon: float, lat: float, cand_lon, cand_lat, straight_m, k: int = 5,
                 max_snap_m: float = MAX_SNAP_M) -> WalkRanking:
    """Order straight-line candidates (``cand_lon``, ``cand_lat``, ``straight_m`` geodesic metres, nearest
    first or not) by walking distance from (``lon``, ``lat``)."""
    cand_lon = np.asarray(cand_lon, float)
    cand_lat = np.asarray(cand_lat, float)
    straight = np.asarray(straight_m, float)
    n = len(straight)
    if n == 0:
        return WalkRanking(np.zeros(0, int), np.zeros(0), straight, 0.0, True)
    kth = float(np.sort(straight)[min(k, n) - 1])
    search = min(max(SEARCH_FLOOR_M, SEARCH_FACTOR * kth), SEARCH_CAP_M)
    walk = network.distances_from_point(lon, lat, cand_lon, cand_lat, search, max_snap_m)
    order = np.lexsort((straight, walk))
    shown = walk[order[:min(k, n)]]
    exact = bool(np.all(np.isfinite(shown)) and shown[-1] <= float(straight.max()))
    return WalkRanking(order, walk, straight, search, exact)
