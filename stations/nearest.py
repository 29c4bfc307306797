"""Nearest stations with geodesic distances on the WGS-84 ellipsoid.

``NearestIndex(gdf)`` answers "the k nearest stations to (lon, lat)", optionally only those offering
every one of some services, open at a given time, and within ``max_km``.

How
---
1. Every station is put on the unit sphere as a 3-D vector (geodetic latitude used as if spherical) and
   indexed in a ``scipy.spatial.cKDTree``. Chord length on the unit sphere is monotonic in the
   great-circle angle, so the tree finds spherical nearest neighbours in O(log n).
2. Spherical and ellipsoidal distances differ by well under 1 %, so ranking by chord can swap two
   stations whose distances are within ~0.5 % of each other. To make the answer exact, the search takes
   the k-th eligible candidate's angle, widens it by 2 %, collects every eligible station inside that
   cone and measures each of them with ``pyproj.Geod("WGS84").inv`` (Karney's algorithm, exact to
   nanometres); the result is sorted by that geodesic distance.
   Without filters both steps are usually one tree search (the k + 8 nearest reach past the cone).
3. Filters are boolean masks over the stations; when a mask keeps few stations (< 5 %), a small tree over
   just those is built for the query instead of walking the big tree, so rare filters stay fast on a
   national-size registry (186,000 stations).

No Flask here: this is the domain library.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pyproj import Geod
from scipy.spatial import cKDTree

from stations.schema import SERVICE_KEYS
from stations.errors import UnknownServiceError  # noqa: F401 (re-exported: the classes live in stations.errors)

log = logging.getLogger(__name__)

GEOD = Geod(ellps="WGS84")

#: widening of the candidate cone beyond the k-th spherical candidate (covers sphere/ellipsoid error)
_SAFETY = 1.02
#: below this fraction of eligible stations a dedicated small tree is built for the query
_SUBTREE_FRACTION = 0.05


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon_r = np.radians(np.asarray(lon, dtype=float))
    lat_r = np.radians(np.asarray(lat, dtype=float))
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def _chord_to_angle(chord: np.ndarray | float) -> np.ndarray | float:
    return 2.0 * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def _angle_to_chord(angle: float) -> float:
    return 2.0 * math.sin(min(angle, math.pi) / 2.0)


@dataclass(frozen=True)
class Hit:
    """One result: the row position in the indexed frame and the geodesic distance in metres."""

    position: int
    distance_m: float


class NearestIndex:
    """k-nearest queries over a station GeoDataFrame (or DataFrame with ``lon``/``lat`` columns).

    The frame is kept as given (``self.frame``); results refer to its rows by position.
    """

    def __init__(self, gdf: pd.DataFrame):
        self.frame = gdf.reset_index(drop=True)
        n = len(self.frame)
        if n:
            lon = self.frame["lon"].to_numpy(dtype=float)
            lat = self.frame["lat"].to_numpy(dtype=float)
        else:
            lon = lat = np.zeros(0)
        self._lon = lon
        self._lat = lat
        self._xyz = _unit_vectors(lon, lat) if n else np.zeros((0, 3))
        self._tree = cKDTree(self._xyz) if n else None
        self._service = {
            key: self.frame[key].fillna(False).to_numpy(dtype=bool) if key in self.frame else np.zeros(n, bool)
            for key in SERVICE_KEYS
        }
        if "status" in self.frame:
            self._status_open = (self.frame["status"].astype(str) == "open").to_numpy()
        else:
            self._status_open = np.ones(n, dtype=bool)
        self._open_cache: tuple[datetime, np.ndarray] | None = None
        log.debug("NearestIndex built over %d stations", n)

    def __len__(self) -> int:
        return len(self.frame)

    # ------------------------------------------------------------------ masks
    def service_mask(self, services: Iterable[str]) -> np.ndarray | None:
        """Stations offering every service in ``services`` (None when no service is asked for)."""
        mask = None
        for key in services:
            if key not in self._service:
                raise UnknownServiceError(f"unknown service {key!r}; known: {', '.join(SERVICE_KEYS)}")
            mask = self._service[key].copy() if mask is None else mask & self._service[key]
        return mask

    def open_mask(self, at: datetime) -> np.ndarray:
        """Stations whose status is ``open`` and whose hours say open at ``at`` (naive = Asia/Shanghai)."""
        at = at.replace(second=0, microsecond=0)
        if self._open_cache is not None and self._open_cache[0] == at:
            return self._open_cache[1]
        mask = self._status_open.copy()
        if len(self) and "hours_json" in self.frame:
            from stations.hours import open_mask  # looked up at call time (tests substitute stations.hours)

            mask &= np.asarray(open_mask(self.frame["hours_json"].tolist(), at), dtype=bool)
        self._open_cache = (at, mask)
        return mask

    def eligible_mask(self, services: Sequence[str] = (), open_at: datetime | None = None,
                      where: np.ndarray | None = None) -> np.ndarray | None:
        """Stations with every service, open at ``open_at`` (when given) and true in ``where`` (when given)."""
        mask = self.service_mask(services)
        if open_at is not None:
            om = self.open_mask(open_at)
            mask = om.copy() if mask is None else mask & om
        if where is not None:
            where = np.asarray(where, dtype=bool)
            mask = where.copy() if mask is None else mask & where
        return mask

    # ------------------------------------------------------------------ distances
    def distances_m(self, lon: float, lat: float, positions: np.ndarray) -> np.ndarray:
        """Geodesic metres from (lon, lat) to the stations at ``positions``."""
        positions = np.asarray(positions, dtype=int)
        if positions.size == 0:
            return np.zeros(0)
        _, _, dist = GEOD.inv(
            np.full(positions.size, lon, dtype=float),
            np.full(positions.size, lat, dtype=float),
            self._lon[positions],
            self._lat[positions],
        )
        return np.asarray(dist, dtype=float)

    # ------------------------------------------------------------------ queries
    def query(
        self,
        lon: float,
        lat: float,
        k: int = 5,
        services: Sequence[str] = (),
        open_at: datetime | None = None,
        max_km: float | None = None,
        where: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` nearest eligible stations, nearest first, as :class:`Hit` (position, metres); ``where`` is a
        further boolean mask over the stations (e.g. open at another hour, open 24 hours)."""
        if k < 1 or len(self) == 0:
            return []
        mask = self.eligible_mask(services, open_at, where)
        if mask is None:
            positions, tree = None, self._tree
            n_eligible = len(self)
        else:
            n_eligible = int(mask.sum())
            if n_eligible == 0:
                return []
            if n_eligible < _SUBTREE_FRACTION * len(self):
                positions = np.flatnonzero(mask)
                tree = cKDTree(self._xyz[positions])
                mask = None
            else:
                positions, tree = None, self._tree

        lon_r, lat_r = math.radians(lon), math.radians(lat)
        q = np.array((math.cos(lat_r) * math.cos(lon_r), math.cos(lat_r) * math.sin(lon_r), math.sin(lat_r)))
        k = min(k, n_eligible)
        if mask is None:
            hits = self._query_unfiltered(q, lon, lat, k, tree, positions, max_km)
            if hits is not None:
                return hits
        # Step 1: the k eligible spherical nearest (growing the search until enough pass the mask).
        kk = k if mask is None else max(4 * k, 32)
        while True:
            kk = min(kk, tree.n)
            chord, idx = tree.query(q, k=kk)
            chord, idx = np.atleast_1d(chord), np.atleast_1d(idx)
            if mask is not None:
                keep = mask[idx]
                chord, idx = chord[keep], idx[keep]
            if len(idx) >= k or kk >= tree.n:
                break
            kk *= 4
        kth_angle = float(_chord_to_angle(chord[k - 1]))
        # Step 2: every eligible station inside the widened cone, measured on the ellipsoid.
        radius = _angle_to_chord(kth_angle * _SAFETY + 1e-9)
        if max_km is not None:
            # nothing beyond max_km can be returned: cap the cone (6,335 km is the smallest radius of curvature)
            radius = min(radius, _angle_to_chord(max_km / 6335.0 * _SAFETY + 1e-9))
        cand = np.asarray(tree.query_ball_point(q, r=radius), dtype=int)
        if mask is not None and cand.size:
            cand = cand[mask[cand]]
        if positions is not None:
            cand = positions[cand]
        if cand.size == 0:
            return []
        dist = self.distances_m(lon, lat, cand)
        order = np.lexsort((cand, dist))  # by distance, ties by position: deterministic
        hits = [Hit(int(cand[i]), float(dist[i])) for i in order[:k]]
        if max_km is not None:
            hits = [h for h in hits if h.distance_m <= max_km * 1000.0]
        return hits

    def _query_unfiltered(self, q, lon, lat, k, tree, positions, max_km) -> list[Hit] | None:
        """Steps 1 and 2 in one tree search when no mask applies: the ``k`` + 8 nearest by chord usually reach past
        the widened cone, and then every station inside the cone is among them (the same set that
        ``query_ball_point`` returns, without a second search). None when they do not reach: the caller searches
        the cone."""
        kk = min(k + 8, tree.n)
        chord, idx = tree.query(q, k=kk)
        chord, idx = np.atleast_1d(chord), np.atleast_1d(idx)
        radius = _angle_to_chord(float(_chord_to_angle(chord[k - 1])) * _SAFETY + 1e-9)
        if max_km is not None:
            radius = min(radius, _angle_to_chord(max_km / 6335.0 * _SAFETY + 1e-9))
        if kk < tree.n and chord[-1] <= radius:
            return None
        cand = idx[chord <= radius]
        if positions is not None:
            cand = positions[cand]
        if cand.size == 0:
            return []
        dist = self.distances_m(lon, lat, cand)
        order = np.lexsort((cand, dist))  # by distance, ties by position: deterministic
        hits = [Hit(int(cand[i]), float(dist[i])) for i in order[:k]]
        if max_km is not None:
            hits = [h for h in hits if h.distance_m <= max_km * 1000.0]
        return hits

    def query_frame(self, lon: float, lat: float, k: int = 5, **filters) -> pd.DataFrame:
        """Like :meth:`query`, as a copy of the matching rows with a ``distance_m`` column, nearest first."""
        hits = self.query(lon, lat, k=k, **filters)
        rows = self.frame.iloc[[h.position for h in hits]].copy()
        rows["distance_m"] = [h.distance_m for h in hits]
        return rows
