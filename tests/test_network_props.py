"""Property tests of the walking network on random street grids (TEST DATA generated in memory at Kunming).

* a walking distance is never shorter than the straight line (geodesic) between the same two points;
* coverage on the network never exceeds straight-line coverage at the same distance;
* the three ways of measuring agree: the many-source search, the siting matrix's local searches and single
  routes give the same answer for every pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import geopandas as gpd
from hypothesis import HealthCheck, given, settings, strategies as st
from pyproj import Geod, Transformer

from stations import network as N
from stations.network.build import GraphArrays
from stations.network.graph import WalkNetwork
from stations.network.synthetic import KUNMING

GEOD = Geod(ellps="WGS84")
TO_LL = Transformer.from_crs(f"+proj=aeqd +lat_0={KUNMING[1]} +lon_0={KUNMING[0]} +ellps=WGS84 +units=m",
                             "EPSG:4326", always_xy=True)


def random_grid(seed: int, n: int, keep: float) -> WalkNetwork:
    """An n x n jittered grid of 120 m blocks with a share ``keep`` of its street segments."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(n) * 120.0, np.arange(n) * 120.0)
    x = gx.ravel() + rng.normal(0, 25, n * n)
    y = gy.ravel() + rng.normal(0, 25, n * n)
    lon, lat = TO_LL.transform(x, y)
    idx = np.arange(n * n).reshape(n, n)
    pairs = np.concatenate([np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
                            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()])])
    pairs = pairs[rng.random(len(pairs)) < keep]
    node_x = np.round(np.asarray(lon) * 1e7).astype(np.int32)
    node_y = np.round(np.asarray(lat) * 1e7).astype(np.int32)
    lo, hi = pairs.min(axis=1), pairs.max(axis=1)
    _, _, length = GEOD.inv(node_x[lo] / 1e7, node_y[lo] / 1e7, node_x[hi] / 1e7, node_y[hi] / 1e7)
    arrays = GraphArrays(np.arange(n * n, dtype=np.int64) + 1, node_x, node_y, lo.astype(np.int32),
                         hi.astype(np.int32), np.asarray(length, np.float32), np.zeros(len(lo), np.uint8))
    return WalkNetwork(arrays, {"synthetic": True})


def random_points(seed: int, k: int, extent: float):
    rng = np.random.default_rng(seed + 1)
    lon, lat = TO_LL.transform(rng.uniform(-100, extent + 100, k), rng.uniform(-100, extent + 100, k))
    return np.asarray(lon), np.asarray(lat)


def _frame(lon, lat, **cols):
    return gpd.GeoDataFrame(pd.DataFrame({"lon": lon, "lat": lat, **cols}), geometry=gpd.points_from_xy(lon, lat),
                            crs="EPSG:4326")


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(3, 9), keep=st.floats(0.5, 1.0), k=st.integers(2, 12))
def test_walking_is_never_shorter_than_the_straight_line(seed, n, keep, k):
    net = random_grid(seed, n, keep)
    lon, lat = random_points(seed, k, (n - 1) * 120.0)
    for i in range(k - 1):
        try:
            r = net.route(lon[i], lat[i], lon[i + 1], lat[i + 1])
        except N.graph.NetworkError:
            continue
        _, _, straight = GEOD.inv(lon[i], lat[i], lon[i + 1], lat[i + 1])
        if r is not None:
            assert r.length_m >= straight - 1e-6
            # the route's own vertices are a walk of the stated length
            _, _, legs = GEOD.inv(r.coords[:-1, 0], r.coords[:-1, 1], r.coords[1:, 0], r.coords[1:, 1])
            assert np.sum(legs) <= r.length_m + 0.05
    # from each point to all others, through the finder's bounded search
    d = net.distances_from_point(lon[0], lat[0], lon[1:], lat[1:], 3000.0)
    _, _, straight = GEOD.inv(np.full(k - 1, lon[0]), np.full(k - 1, lat[0]), lon[1:], lat[1:])
    assert np.all(d >= straight - 1e-6)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(3, 9), keep=st.floats(0.4, 1.0), n_st=st.integers(1, 6),
       dist=st.floats(100, 1500))
def test_network_coverage_never_above_straight_line_coverage(seed, n, keep, n_st, dist):
    net = random_grid(seed, n, keep)
    extent = (n - 1) * 120.0
    slon, slat = random_points(seed + 7, n_st, extent)
    dlon, dlat = random_points(seed + 13, 40, extent)
    stations = _frame(slon, slat, id=[f"S{i}" for i in range(n_st)], status="open")
    demand = _frame(dlon, dlat, workers=1.0, county_adcode="530102")
    res = N.network_coverage(net, stations, demand, distance=dist)
    d = res.demand
    assert not (d["covered"] & ~d["covered_straight"]).any()
    assert res.covered_pct <= res.covered_pct_straight + 1e-9
    fin = np.isfinite(d["distance_m"].to_numpy())
    assert np.all(d["distance_m"].to_numpy()[fin] >= d["straight_m"].to_numpy()[fin] - 1e-6)
    # the straight-line module agrees on the straight-line side
    from stations.coverage import compute_coverage

    straight = compute_coverage(stations, demand, radius=dist)
    assert (straight.demand["covered"].to_numpy() == d["covered_straight"].to_numpy()).all()


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(3, 8), keep=st.floats(0.5, 1.0), dist=st.floats(150, 1200))
def test_matrix_many_source_search_and_routes_agree(seed, n, keep, dist):
    net = random_grid(seed, n, keep)
    extent = (n - 1) * 120.0
    slon, slat = random_points(seed + 3, 4, extent)
    dlon, dlat = random_points(seed + 5, 12, extent)
    A = N.network_coverage_matrix(net, slon, slat, dlon, dlat, dist).toarray()
    sites = net.snap(slon, slat)
    targets = net.snap(dlon, dlat)
    best, _ = net.point_distances(sites, targets, dist)
    assert (A.any(axis=0) == np.isfinite(best)).all()
    for i in range(4):
        one, _ = net.point_distances(sites.take([i]), targets, dist)
        assert (A[i] == np.isfinite(one)).all()
        for j in range(12):
            if not (sites.ok[i] and targets.ok[j]):
                assert not A[i, j]
                continue
            r = net.route(slon[i], slat[i], dlon[j], dlat[j])
            if r is None:
                assert not A[i, j]
            else:
                if abs(r.length_m - dist) > 1e-6:
                    assert A[i, j] == (r.length_m <= dist)
                if A[i, j]:
                    assert abs(one[j] - r.length_m) < 1e-6 * max(1.0, r.length_m)
