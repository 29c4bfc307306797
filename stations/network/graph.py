"""The walking graph in memory: snapping points to it, walking distances, routes.

Frames and units. Nodes are stored in WGS-84 (lon, lat). Edge lengths are geodesic metres on the WGS-84
ellipsoid (``pyproj.Geod``), measured once at build time. Searches for nearby nodes and segments use
``stations.geo.METRIC_CRS`` (Lambert conformal conic for Yunnan, scale error < 0.2 % in the province), but
only to *find* things: every distance reported is geodesic.

Snapping (:meth:`WalkNetwork.snap`). A point is attached to the nearest point of the nearest walkable
*segment* (not merely the nearest node: a long straight street may have its nodes far apart). Segments are
sampled every :data:`SAMPLE_SPACING_M` metres into a k-d tree; the true nearest segment always has a
sample within (nearest sample distance + half the spacing), so gathering the segments of those samples and
projecting onto each finds it exactly. The snapping distance (point to its foot on the segment, geodesic)
is part of the walk. Points farther than ``max_snap_m`` (default :data:`MAX_SNAP_M`) from every walkable
segment *cannot reach the network*: they are reported, never silently dropped.

Distances. A walk from point P to point Q is ``snap(P) + (foot(P) -> node) + path + (node -> foot(Q)) +
snap(Q)``, or ``snap(P) + foot(P) -> foot(Q) + snap(Q)`` when both feet lie on the same segment; each piece
is a geodesic, so a network distance is never shorter than the straight line (the geodesic is the shortest
curve on the ellipsoid). Many sources at once: every source becomes a virtual node joined to both ends of
its segment, and ``scipy.sparse.csgraph.dijkstra`` runs once from all of them with ``min_only=True`` and a
``limit`` (the coverage distance), so only the streets within reach are visited.

Bounded local searches. Because a network distance is at least the straight-line distance, a walk of at
most ``L`` metres from P never leaves the disc of radius ``L`` around P, and a shortest walk of length ``W``
from P to Q never leaves the ellipse ``|xP| + |xQ| <= W``. Per-site searches (the siting matrix) and
routes therefore run on the sub-graph inside that disc or ellipse, built from the CSR arrays without
touching the rest of the graph; a route is re-run on a larger ellipse until its length fits inside the
ellipse searched, which proves it the shortest on the whole graph.

Walking time is distance / :data:`WALK_SPEED_KMH` (4.5 km/h, 75 m a minute); 15 minutes is 1,125 m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from pyproj import Geod
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ..errors import NetworkError

__all__ = [
    "WALK_SPEED_KMH", "WALK_M_PER_MIN", "DEFAULT_MINUTES", "DEFAULT_DISTANCE_M", "MAX_SNAP_M", "SAMPLE_SPACING_M",
    "WalkNetwork", "Snap", "Route", "minutes_to_m", "m_to_minutes",
]

WALK_SPEED_KMH = 4.5
WALK_M_PER_MIN = WALK_SPEED_KMH * 1000.0 / 60.0  # 75 m a minute
DEFAULT_MINUTES = 15.0
DEFAULT_DISTANCE_M = DEFAULT_MINUTES * WALK_M_PER_MIN  # 1,125 m
#: points farther than this from every walkable segment cannot reach the network (they are reported)
MAX_SNAP_M = 500.0
#: spacing of the segment samples in the snapping k-d tree (affects speed only, never the result)
SAMPLE_SPACING_M = 100.0
#: inflation of metric search radii so that the LCC's scale error (< 0.5 % even at Yunnan's edges) can
#: never leave out a node that is within reach on the ground
_RADIUS_SLACK = 1.01
_RADIUS_PAD_M = 1.0

_GEOD = Geod(ellps="WGS84")


def minutes_to_m(minutes: float, speed_kmh: float = WALK_SPEED_KMH) -> float:
    """Walking minutes to metres at ``speed_kmh``."""
    return float(minutes) * float(speed_kmh) * 1000.0 / 60.0


def m_to_minutes(metres, speed_kmh: float = WALK_SPEED_KMH):
    """Metres to walking minutes at ``speed_kmh``."""
    return np.asarray(metres, float) / (float(speed_kmh) * 1000.0 / 60.0)


def _metric_transformers():
    from .. import geo
    from ..coverage import transformer

    return transformer("EPSG:4326", geo.METRIC_CRS), transformer(geo.METRIC_CRS, "EPSG:4326")


@dataclass
class Snap:
    """Where points join the network. Arrays, one entry per point; ``edge`` is -1 (and the distances inf)
    for a point that cannot reach the network."""

    lon: np.ndarray
    lat: np.ndarray
    edge: np.ndarray  # int64 edge index or -1
    foot_lon: np.ndarray
    foot_lat: np.ndarray
    dist_m: np.ndarray  # geodesic, point to foot
    off_u: np.ndarray  # geodesic, foot to the edge's u node
    off_v: np.ndarray  # geodesic, foot to the edge's v node
    max_snap_m: float

    @property
    def ok(self) -> np.ndarray:
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, idx) -> "Snap":
        idx = np.asarray(idx)
        return Snap(self.lon[idx], self.lat[idx], self.edge[idx], self.foot_lon[idx], self.foot_lat[idx],
                    self.dist_m[idx], self.off_u[idx], self.off_v[idx], self.max_snap_m)


@dataclass
class Route:
    """A walking route: WGS-84 (lon, lat) vertices from the start point to the end point (the snapping legs
    included), its geodesic length in metres, minutes at 4.5 km/h and the straight-line distance."""

    coords: np.ndarray  # (n, 2) lon, lat
    length_m: float
    straight_m: float
    snap_start_m: float
    snap_end_m: float

    @property
    def minutes(self) -> float:
        return float(self.length_m / WALK_M_PER_MIN)

    @property
    def detour(self) -> float:
        """Walking length over straight-line distance (1.0 for a straight street)."""
        return float(self.length_m / self.straight_m) if self.straight_m > 0 else 1.0

    def linestring(self):
        import shapely

        return shapely.linestrings(self.coords)

    def to_geojson(self) -> dict:
        """A GeoJSON Feature (RFC 7946: lon, lat) with length, minutes and straight-line distance."""
        return {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[round(float(x), 7), round(float(y), 7)]
                                                                for x, y in self.coords]},
            "properties": {"length_m": round(self.length_m, 1), "minutes": round(self.minutes, 1),
                           "straight_m": round(self.straight_m, 1), "snap_start_m": round(self.snap_start_m, 1),
                           "snap_end_m": round(self.snap_end_m, 1)},
        }


class WalkNetwork:
    """An undirected walking graph (see the module docstring). Build one with
    :func:`stations.network.build_network` and get it with :func:`stations.network.load_network`; tests may
    construct one from :class:`~stations.network.build.GraphArrays` directly."""

    def __init__(self, arrays, manifest: dict | None = None):
        self.arrays = arrays
        self.manifest = dict(manifest or {})
        self.lon = arrays.node_x.astype(np.float64) / 1e7
        self.lat = arrays.node_y.astype(np.float64) / 1e7
        self.u = np.asarray(arrays.edge_u)  # int32 as stored (indexing needs no wider type)
        self.v = np.asarray(arrays.edge_v)
        self.length = arrays.edge_len.astype(np.float64)
        self.n_nodes = len(self.lon)
        self.n_edges = len(self.u)
        fwd, _ = _metric_transformers()
        x, y = fwd.transform(self.lon, self.lat)
        self.xy = np.column_stack([np.asarray(x), np.asarray(y)])
        n = self.n_nodes
        # symmetric CSR, both directions (pedestrians ignore oneway); the slot -> edge map comes with the
        # stored network (computed once at build time), else it is computed here
        indptr, slot_edge = arrays.csr_indptr, arrays.csr_edge
        if indptr is None or slot_edge is None:
            indptr, slot_edge = csr_slots(self.u, self.v, n)
        self.csr_edge = np.asarray(slot_edge)
        row = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
        ue = self.u[self.csr_edge]
        nbr = np.where(ue == row, self.v[self.csr_edge], ue).astype(np.int32)
        # int32 indices and pointers (scipy's csgraph works in int32: no conversion per search)
        ptr_type = np.int32 if len(nbr) < 2**31 - 1 else np.int64
        self.csr = sparse.csr_matrix((self.length[self.csr_edge], nbr, np.asarray(indptr, dtype=ptr_type)), shape=(n, n))
        self.degree = np.diff(self.csr.indptr)
        self._tree = None
        self._tree_node = None
        self._sample_edge = None
        self._component = None

    # ------------------------------------------------------------------------------------------- basics

    def __repr__(self) -> str:
        return f"WalkNetwork({self.n_nodes:,} nodes, {self.n_edges:,} edges, {self.length.sum() / 1000:,.1f} km)"

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic"))

    def _index(self):
        """One k-d tree (metric frame) over every node followed by interior samples of the segments longer
        than :data:`SAMPLE_SPACING_M`, so that every point of every segment lies within half a spacing of
        a tree point belonging to that segment (a node stands for all its segments)."""
        if self._tree is None:
            seg = np.hypot(*(self.xy[self.v] - self.xy[self.u]).T) if self.n_edges else np.zeros(0)
            k = np.maximum(1, np.ceil(seg / SAMPLE_SPACING_M).astype(np.int64))
            inner = k - 1  # interior samples per segment, at i / k for i = 1 .. k - 1
            edge = np.repeat(np.arange(self.n_edges), inner)
            start = np.cumsum(inner) - inner
            frac = (np.arange(len(edge)) - np.repeat(start, inner) + 1) / np.repeat(k, inner)
            a, b = self.xy[self.u[edge]], self.xy[self.v[edge]]
            self._tree_node = np.flatnonzero(self.degree > 0)  # nodes that end a segment
            pts = np.concatenate([self.xy[self._tree_node], a + (b - a) * frac[:, None]])
            self._sample_edge = edge
            self._half = float((seg / k).max() / 2.0) if self.n_edges else 0.0
            self._tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
        return self._tree, self._sample_edge, self._half

    @property
    def component(self) -> np.ndarray:
        """Connected-component label of each node."""
        if self._component is None:
            from scipy.sparse.csgraph import connected_components

            self._component = connected_components(self.csr, directed=False)[1]
        return self._component

    def to_metric(self, lon, lat) -> np.ndarray:
        fwd, _ = _metric_transformers()
        x, y = fwd.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])

    # ------------------------------------------------------------------------------------------- snapping

    def snap(self, lon, lat, max_snap_m: float = MAX_SNAP_M) -> Snap:
        """Attach points to their nearest walkable segment (exact; see the module docstring)."""
        lon = np.atleast_1d(np.asarray(lon, float))
        lat = np.atleast_1d(np.asarray(lat, float))
        n = len(lon)
        edge = np.full(n, -1, dtype=np.int64)
        inf = np.full(n, np.inf)
        out = Snap(lon, lat, edge, np.full(n, np.nan), np.full(n, np.nan), inf.copy(), inf.copy(), inf.copy(),
                   float(max_snap_m))
        if n == 0 or self.n_edges == 0:
            return out
        tree, sample_edge, half = self._index()
        p = self.to_metric(lon, lat)
        good = np.isfinite(p).all(axis=1)
        d0 = np.full(n, np.inf)
        d0[good], _ = tree.query(p[good], k=1, workers=-1)
        bound = d0 + half + 1e-6
        # points whose nearest segment is certainly beyond the maximum snapping distance (with slack)
        todo = np.flatnonzero(good & (d0 - half <= max_snap_m * _RADIUS_SLACK + _RADIUS_PAD_M))
        if len(todo) == 0:
            return out
        k = 12
        dk, ik = tree.query(p[todo], k=min(k, tree.n), distance_upper_bound=float(bound[todo].max()), workers=-1)
        dk = np.asarray(dk).reshape(len(todo), -1)
        ik = np.asarray(ik).reshape(len(todo), -1)
        pts_i, samp_i = [], []
        full = np.isfinite(dk[:, -1]) & (dk[:, -1] <= bound[todo]) & (tree.n > k)
        inside = np.isfinite(dk) & (dk <= bound[todo][:, None])
        rr, cc = np.nonzero(inside & ~full[:, None])
        pts_i.append(todo[rr])
        samp_i.append(ik[rr, cc])
        for j in np.flatnonzero(full):  # more than k tree points within the bound: ask for all of them
            hits = tree.query_ball_point(p[todo[j]], bound[todo[j]])
            pts_i.append(np.full(len(hits), todo[j]))
            samp_i.append(np.asarray(hits, dtype=np.int64))
        pi = np.concatenate(pts_i)
        si = np.concatenate(samp_i)
        n_tn = len(self._tree_node)
        is_node = si < n_tn
        # a node stands for every segment it ends; an interior sample for its own segment
        nodes = self._tree_node[si[is_node]]
        cnt = self.degree[nodes]
        slots = _gather_ranges(self.csr.indptr[nodes], cnt)
        pi = np.concatenate([np.repeat(pi[is_node], cnt), pi[~is_node]])
        ei = np.concatenate([self.csr_edge[slots], sample_edge[si[~is_node] - n_tn]])
        # (a pair may appear twice, through both ends of a segment: harmless, the minimum is taken below)
        a = self.xy[self.u[ei]]
        b = self.xy[self.v[ei]]
        ab = b - a
        denom = (ab * ab).sum(axis=1)
        t = np.where(denom > 0, ((p[pi] - a) * ab).sum(axis=1) / np.where(denom > 0, denom, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        foot = a + ab * t[:, None]
        d = np.hypot(*(p[pi] - foot).T)
        order = np.lexsort((d, pi))
        first = np.r_[True, pi[order][1:] != pi[order][:-1]]
        best = order[first]
        bp, be, bfoot, bt = pi[best], ei[best], foot[best], t[best]
        _, inv = _metric_transformers()
        flon, flat = inv.transform(bfoot[:, 0], bfoot[:, 1])
        flon, flat = np.asarray(flon, float), np.asarray(flat, float)
        # the foot exactly at a node (t = 0 or 1) takes that node's stored coordinates
        at_u, at_v = bt <= 0.0, bt >= 1.0
        flon[at_u], flat[at_u] = self.lon[self.u[be[at_u]]], self.lat[self.u[be[at_u]]]
        flon[at_v], flat[at_v] = self.lon[self.v[be[at_v]]], self.lat[self.v[be[at_v]]]
        _, _, snap_d = _GEOD.inv(lon[bp], lat[bp], flon, flat)
        _, _, off_u = _GEOD.inv(flon, flat, self.lon[self.u[be]], self.lat[self.u[be]])
        _, _, off_v = _GEOD.inv(flon, flat, self.lon[self.v[be]], self.lat[self.v[be]])
        snap_d = np.asarray(snap_d, float)
        ok = snap_d <= max_snap_m
        bp = bp[ok]
        out.edge[bp] = be[ok]
        out.foot_lon[bp], out.foot_lat[bp] = flon[ok], flat[ok]
        out.dist_m[bp] = snap_d[ok]
        out.off_u[bp] = np.asarray(off_u, float)[ok]
        out.off_v[bp] = np.asarray(off_v, float)[ok]
        return out

    # ------------------------------------------------------------------------------------------- searches

    def _augmented(self, base: sparse.csr_matrix, u_loc, v_loc, w_u, w_v) -> sparse.csr_matrix:
        """``base`` plus one virtual source row per source, with edges to its segment's two ends (directed:
        nothing walks back into a virtual node)."""
        n = base.shape[0]
        s = len(u_loc)
        idx = np.column_stack([u_loc, v_loc]).ravel()
        w = np.column_stack([w_u, w_v]).ravel()
        keep = idx >= 0  # an end outside a local sub-graph is left out
        counts = keep.reshape(-1, 2).sum(axis=1)
        indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)]).astype(base.indptr.dtype, copy=False)
        indices = np.concatenate([base.indices, idx[keep]]).astype(base.indices.dtype, copy=False)
        data = np.concatenate([base.data, w[keep]])
        return sparse.csr_matrix((data, indices, indptr), shape=(n + s, n + s))

    def _subgraph(self, nodes: np.ndarray) -> sparse.csr_matrix:
        """The graph restricted to ``nodes`` (sorted global ids), in local numbering, without touching the
        rest of the graph (cost proportional to the sub-graph)."""
        indptr, indices, data = self.csr.indptr, self.csr.indices, self.csr.data
        starts, counts = indptr[nodes], indptr[nodes + 1] - indptr[nodes]
        pos = _gather_ranges(starts, counts)
        row = np.repeat(np.arange(len(nodes)), counts)
        col = indices[pos]
        loc = np.searchsorted(nodes, col)
        locc = np.minimum(loc, len(nodes) - 1)
        keep = (loc < len(nodes)) & (nodes[locc] == col)
        row, loc, w = row[keep], loc[keep], data[pos[keep]]
        sub_indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=len(nodes)))]).astype(np.int32)
        return sparse.csr_matrix((w, loc.astype(np.int32), sub_indptr), shape=(len(nodes), len(nodes)))

    def _nodes_within(self, centre_xy: np.ndarray, radius_m: float) -> np.ndarray:
        tree, _, _ = self._index()
        hits = np.asarray(tree.query_ball_point(centre_xy, radius_m * _RADIUS_SLACK + _RADIUS_PAD_M), dtype=np.int64)
        return np.unique(self._tree_node[hits[hits < len(self._tree_node)]])

    @staticmethod
    def _local(nodes: np.ndarray, glob: np.ndarray) -> np.ndarray:
        """Local index of each global node id in sorted ``nodes``, -1 where absent."""
        if len(nodes) == 0:
            return np.full(len(glob), -1, dtype=np.int64)
        loc = np.searchsorted(nodes, glob)
        locc = np.minimum(loc, len(nodes) - 1)
        return np.where((loc < len(nodes)) & (nodes[locc] == glob), loc, -1)

    def node_distances(self, sources: Snap, limit_m: float):
        """Walking distance from the nearest of ``sources`` (those that reach the network) to every node,
        ``inf`` beyond ``limit_m``; and the index (into ``sources``) of that nearest source, -1 where none."""
        n = self.n_nodes
        ok = np.flatnonzero(sources.ok)
        if len(ok) == 0:
            return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        e = sources.edge[ok]
        aug = self._augmented(self.csr, self.u[e], self.v[e], sources.dist_m[ok] + sources.off_u[ok],
                              sources.dist_m[ok] + sources.off_v[ok])
        dist, _, src = dijkstra(aug, directed=True, indices=n + np.arange(len(ok)), limit=float(limit_m),
                                min_only=True, return_predecessors=True)
        src = np.asarray(src[:n], dtype=np.int64)
        owner = np.where(src >= n, ok[np.clip(src - n, 0, len(ok) - 1)], -1)
        return np.asarray(dist[:n], float), owner

    def point_distances(self, sources: Snap, targets: Snap, limit_m: float):
        """Walking distance from the nearest source to each target point (snapping legs included) and that
        source's index; ``inf`` / -1 beyond ``limit_m`` or when either side cannot reach the network."""
        node_d, owner = self.node_distances(sources, limit_m)
        return self._finish(node_d, owner, sources, targets, limit_m)

    def _finish(self, node_d, owner, sources: Snap, targets: Snap, limit_m: float, node_index=None):
        nt = len(targets)
        dist = np.full(nt, np.inf)
        best = np.full(nt, -1, dtype=np.int64)
        t_ok = np.flatnonzero(targets.ok)
        if len(t_ok) == 0:
            return dist, best
        e = targets.edge[t_ok]
        gu, gv = self.u[e], self.v[e]
        if node_index is not None:
            gu, gv = node_index(gu), node_index(gv)
        du = np.where(gu >= 0, node_d[np.maximum(gu, 0)], np.inf) + targets.off_u[t_ok]
        dv = np.where(gv >= 0, node_d[np.maximum(gv, 0)], np.inf) + targets.off_v[t_ok]
        via_u = du <= dv
        d = np.minimum(du, dv) + targets.dist_m[t_ok]
        who = np.where(via_u, owner[np.maximum(gu, 0)], owner[np.maximum(gv, 0)])
        who = np.where(np.isfinite(d), who, -1)
        # a source on the same segment: walk along it directly
        s_ok = np.flatnonzero(sources.ok)
        if len(s_ok):
            s_edge = sources.edge[s_ok]
            order = np.argsort(s_edge, kind="stable")
            se = s_edge[order]
            lo = np.searchsorted(se, e, side="left")
            hi = np.searchsorted(se, e, side="right")
            for j in np.flatnonzero(hi > lo):
                cand = s_ok[order[lo[j]:hi[j]]]
                ti = t_ok[j]
                _, _, along = _GEOD.inv(np.full(len(cand), targets.foot_lon[ti]), np.full(len(cand), targets.foot_lat[ti]),
                                        sources.foot_lon[cand], sources.foot_lat[cand])
                direct = sources.dist_m[cand] + np.asarray(along, float) + targets.dist_m[ti]
                k = int(np.argmin(direct))
                if direct[k] < d[j]:
                    d[j], who[j] = direct[k], cand[k]
        over = d > limit_m
        d[over] = np.inf
        who[over] = -1
        dist[t_ok], best[t_ok] = d, who
        return dist, best

    # ------------------------------------------------------------------------------------------- per-source

    def _local_search(self, sources: Snap, centre_xy, radius_m: float, limit_m: float, min_only: bool,
                      predecessors: bool = False):
        """Dijkstra from each source in ``sources`` (all assumed to reach the network) on the sub-graph of nodes
        within ``radius_m`` of ``centre_xy``. Returns (nodes, dist[, pred]) with dist of shape
        (n_sources, n_local) (or (n_local,) with ``min_only``)."""
        nodes = self._nodes_within(centre_xy, radius_m)
        sub = self._subgraph(nodes)
        e = sources.edge
        lu, lv = self._local(nodes, self.u[e]), self._local(nodes, self.v[e])
        aug = self._augmented(sub, lu, lv, sources.dist_m + sources.off_u, sources.dist_m + sources.off_v)
        m = len(nodes)
        res = dijkstra(aug, directed=True, indices=m + np.arange(len(sources)), limit=float(limit_m),
                       min_only=min_only, return_predecessors=predecessors)
        return (nodes, *res) if predecessors else (nodes, res)

    def coverage_matrix(self, sites: Snap, targets: Snap, limit_m: float, tile_m: float | None = None) -> sparse.csr_matrix:
        """Sparse boolean matrix (n_sites x n_targets): site i reaches target j within ``limit_m`` on foot.
        Sites are processed in spatial tiles; each tile searches only the disc it can reach."""
        ns, nt = len(sites), len(targets)
        rows, cols = [], []
        s_ok = np.flatnonzero(sites.ok)
        t_ok = np.flatnonzero(targets.ok)
        if len(s_ok) == 0 or len(t_ok) == 0:
            return sparse.csr_matrix((ns, nt), dtype=bool)
        tile = float(tile_m or max(2.0 * limit_m, 1000.0))
        sxy = self.to_metric(sites.lon[s_ok], sites.lat[s_ok])
        txy = self.to_metric(targets.lon[t_ok], targets.lat[t_ok])
        ttree = cKDTree(txy)
        key = np.floor(sxy / tile).astype(np.int64)
        order = np.lexsort((key[:, 1], key[:, 0]))
        kk = key[order]
        breaks = np.flatnonzero((np.diff(kk, axis=0) != 0).any(axis=1)) + 1
        for grp in np.split(order, breaks):
            gsites = s_ok[grp]
            lo, hi = sxy[grp].min(axis=0), sxy[grp].max(axis=0)
            centre = (lo + hi) / 2.0
            half_diag = float(np.hypot(*(hi - lo)) / 2.0)
            reach = half_diag + limit_m
            sub_snap = sites.take(gsites)
            nodes, dist = self._local_search(sub_snap, centre, reach, limit_m, min_only=False)
            dist = np.atleast_2d(dist)[:, :len(nodes)]
            near = np.asarray(ttree.query_ball_point(centre, reach * _RADIUS_SLACK + _RADIUS_PAD_M), dtype=np.int64)
            if len(near) == 0:
                continue
            tj = t_ok[near]
            tsnap = targets.take(tj)
            lu = self._local(nodes, self.u[tsnap.edge])
            lv = self._local(nodes, self.v[tsnap.edge])
            du = np.where(lu >= 0, dist[:, np.maximum(lu, 0)], np.inf) + tsnap.off_u
            dv = np.where(lv >= 0, dist[:, np.maximum(lv, 0)], np.inf) + tsnap.off_v
            d = np.minimum(du, dv) + tsnap.dist_m  # (n_group_sites, n_near_targets)
            # same segment: walk along it directly
            same = sub_snap.edge[:, None] == tsnap.edge[None, :]
            if same.any():
                si, ti = np.nonzero(same)
                _, _, along = _GEOD.inv(sub_snap.foot_lon[si], sub_snap.foot_lat[si], tsnap.foot_lon[ti], tsnap.foot_lat[ti])
                direct = sub_snap.dist_m[si] + np.asarray(along, float) + tsnap.dist_m[ti]
                d[si, ti] = np.minimum(d[si, ti], direct)
            r, c = np.nonzero(d <= limit_m)
            rows.append(gsites[r])
            cols.append(tj[c])
        if not rows:
            return sparse.csr_matrix((ns, nt), dtype=bool)
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        return sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(ns, nt))

    def distances_from_point(self, lon: float, lat: float, targets_lon, targets_lat, limit_m: float,
                             max_snap_m: float = MAX_SNAP_M) -> np.ndarray:
        """Walking distance from one point to each target, exact up to ``limit_m`` and ``inf`` beyond it or
        where either end cannot reach the network (the finder's ranking of its straight-line candidates)."""
        src = self.snap([lon], [lat], max_snap_m)
        tgt = self.snap(targets_lon, targets_lat, max_snap_m)
        if not src.ok[0]:
            return np.full(len(tgt), np.inf)
        centre = self.to_metric([lon], [lat])[0]
        nodes, dist = self._local_search(src, centre, limit_m, limit_m, min_only=True)
        node_d = np.asarray(dist, float)[:len(nodes)]
        owner = np.zeros(len(nodes), dtype=np.int64)
        d, _ = self._finish(node_d, owner, src, tgt, limit_m, node_index=lambda g: self._local(nodes, g))
        return d

    # ------------------------------------------------------------------------------------------- routes

    def route(self, lon0: float, lat0: float, lon1: float, lat1: float, max_snap_m: float = MAX_SNAP_M) -> Route | None:
        """The shortest walk from (lon0, lat0) to (lon1, lat1), or None when no walk joins them.

        Raises :class:`NetworkError` (parameter ``from`` or ``to``) for an end farther than ``max_snap_m``
        from every walkable street."""
        snaps = self.snap([lon0, lon1], [lat0, lat1], max_snap_m)
        for i, name in enumerate(("from", "to")):
            if not snaps.ok[i]:
                raise NetworkError("the %(end)s point (%(lon).5f, %(lat).5f) is more than %(max).0f m from any walkable "
                                   "street of the network", param=name, end=name, lon=float(snaps.lon[i]),
                                   lat=float(snaps.lat[i]), max=max_snap_m)
        _, _, straight = _GEOD.inv(lon0, lat0, lon1, lat1)
        straight = float(straight)
        s, t = snaps.take([0]), snaps.take([1])
        comp = self.component
        if comp[self.u[s.edge[0]]] != comp[self.u[t.edge[0]]]:
            return None  # no walk joins them (e.g. two towns whose streets do not meet)
        # both feet on one segment: the direct walk along it
        best_len, best_coords = np.inf, None
        if s.edge[0] == t.edge[0]:
            _, _, along = _GEOD.inv(s.foot_lon[0], s.foot_lat[0], t.foot_lon[0], t.foot_lat[0])
            best_len = float(s.dist_m[0] + along + t.dist_m[0])
            best_coords = [(lon0, lat0), (s.foot_lon[0], s.foot_lat[0]), (t.foot_lon[0], t.foot_lat[0]), (lon1, lat1)]
        p0 = self.to_metric([lon0], [lat0])[0]
        p1 = self.to_metric([lon1], [lat1])[0]
        ellipse = max(1.6 * straight, straight + 600.0, float(s.dist_m[0] + t.dist_m[0]) + 600.0)
        total = float(self.length.sum()) + float(s.dist_m[0] + t.dist_m[0]) + straight
        while True:
            ellipse = min(ellipse, total)
            centre = (p0 + p1) / 2.0
            nodes = self._nodes_within(centre, ellipse / 2.0)
            if len(nodes):
                xy = self.xy[nodes]
                inside = (np.hypot(*(xy - p0).T) + np.hypot(*(xy - p1).T)) <= ellipse * _RADIUS_SLACK + _RADIUS_PAD_M
                nodes = nodes[inside]
            length, path = self._route_on(nodes, s, t, ellipse)
            if length < best_len and path is not None:
                best_len = length
                best_coords = ([(lon0, lat0), (s.foot_lon[0], s.foot_lat[0])]
                               + [(self.lon[g], self.lat[g]) for g in path]
                               + [(t.foot_lon[0], t.foot_lat[0]), (lon1, lat1)])
            if best_len <= ellipse or ellipse >= total:
                break
            ellipse = max(2.0 * ellipse, best_len if np.isfinite(best_len) else 0.0)
        if not np.isfinite(best_len):
            return None
        coords = np.asarray(best_coords, float)
        keep = np.r_[True, (np.abs(np.diff(coords, axis=0)) > 1e-9).any(axis=1)]
        return Route(coords[keep], best_len, straight, float(s.dist_m[0]), float(t.dist_m[0]))

    def _route_on(self, nodes: np.ndarray, s: Snap, t: Snap, limit: float):
        if len(nodes) == 0:
            return np.inf, None
        sub = self._subgraph(nodes)
        m = len(nodes)
        su, sv = self._local(nodes, self.u[s.edge]), self._local(nodes, self.v[s.edge])
        aug = self._augmented(sub, su, sv, s.dist_m + s.off_u, s.dist_m + s.off_v)
        dist, pred = dijkstra(aug, directed=True, indices=m, limit=float(limit), return_predecessors=True)
        tu, tv = self._local(nodes, self.u[t.edge])[0], self._local(nodes, self.v[t.edge])[0]
        cands = []
        if tu >= 0:
            cands.append((dist[tu] + t.off_u[0] + t.dist_m[0], tu))
        if tv >= 0:
            cands.append((dist[tv] + t.off_v[0] + t.dist_m[0], tv))
        if not cands:
            return np.inf, None
        length, end = min(cands)
        if not np.isfinite(length):
            return np.inf, None
        path = []
        k = int(end)
        while k != m and k >= 0:
            path.append(nodes[k])
            k = int(pred[k])
        return float(length), path[::-1]


def csr_slots(u: np.ndarray, v: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The symmetric adjacency of undirected edges ``u-v`` as CSR row pointers and, for each slot, the edge
    index (rows in node order; the neighbour is the edge's other end)."""
    u = np.asarray(u, np.int64)
    v = np.asarray(v, np.int64)
    rows = np.concatenate([u, v])
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, (order % max(len(u), 1)).astype(np.int32)


def _gather_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each (s, c), vectorised."""
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    offs = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(offs, counts) + np.repeat(np.asarray(starts, np.int64), counts)


def distance_limit(distance_m=None, minutes=None, speed_kmh: float = WALK_SPEED_KMH) -> float:
    """The walking distance for ``distance_m`` or ``minutes`` (default 15 minutes at 4.5 km/h = 1,125 m),
    checked against 50 m .. 20 km (the radius limits of :mod:`stations.limits`)."""
    from ..limits import RADIUS_M

    if distance_m is not None and minutes is not None:
        raise NetworkError("give a walking distance or minutes, not both", param="minutes")
    if minutes is not None:
        m = float(minutes)
        if not math.isfinite(m) or m <= 0:
            raise NetworkError("walking minutes must be a positive number, got %(v)s", param="minutes", v=minutes)
        value = minutes_to_m(m, speed_kmh)
        param = "minutes"
    else:
        value = float(DEFAULT_DISTANCE_M if distance_m is None else distance_m)
        param = "distance"
    if not RADIUS_M.contains(value):
        raise NetworkError("walking distance must be between %(lo).0f and %(hi).0f m, got %(v).0f m", param=param,
                           lo=RADIUS_M.lo, hi=RADIUS_M.hi, v=value)
    return value


def distance_per_point(n: int, distance, classes=None) -> np.ndarray:
    """One walking distance per demand point: a number, or a mapping area class -> metres (as
    :func:`stations.coverage.radius_per_demand`)."""
    if isinstance(distance, Mapping):
        default = float(distance.get("default", DEFAULT_DISTANCE_M))
        cls = classes if classes is not None else ["town"] * n
        return np.array([float(distance.get(c, default)) for c in cls], dtype=float)
    return np.full(n, float(distance))
