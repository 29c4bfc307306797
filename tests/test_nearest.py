"""stations.nearest: exact k-nearest on the WGS-84 ellipsoid, filters, national scale."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from stations.nearest import NearestIndex, UnknownServiceError
from stations.schema import SERVICE_KEYS

GEOD = Geod(ellps="WGS84")


def random_stations(n: int, seed: int = 1, lon=(97.5, 106.2), lat=(21.1, 29.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "id": [f"T-{i:06d}" for i in range(n)],
            "lon": rng.uniform(*lon, n),
            "lat": rng.uniform(*lat, n),
            "status": np.where(rng.random(n) < 0.9, "open", "temp_closed"),
        }
    )
    for j, key in enumerate(SERVICE_KEYS):
        df[key] = rng.random(n) < (0.9 if j < 2 else 0.3)
    return df


def brute(df, lon, lat, mask=None):
    d = GEOD.inv(np.full(len(df), lon), np.full(len(df), lat), df["lon"].to_numpy(), df["lat"].to_numpy())[2]
    d = np.asarray(d)
    pos = np.arange(len(df))
    if mask is not None:
        d, pos = d[mask], pos[mask]
    order = np.lexsort((pos, d))
    return pos[order], d[order]


def test_matches_brute_force_geodesic():
    df = random_stations(3000)
    idx = NearestIndex(df)
    rng = np.random.default_rng(7)
    for lon, lat in zip(rng.uniform(97, 107, 40), rng.uniform(21, 29.5, 40)):
        hits = idx.query(lon, lat, k=7)
        pos, d = brute(df, lon, lat)
        assert [h.position for h in hits] == list(pos[:7])
        np.testing.assert_allclose([h.distance_m for h in hits], d[:7], rtol=1e-9)


def test_distance_agrees_with_pyproj_within_0_1_percent():
    df = pd.DataFrame({"id": ["a"], "lon": [102.7129], "lat": [25.0406]})
    idx = NearestIndex(df)
    # a point 3 km north-east
    lon, lat, _ = GEOD.fwd(102.7129, 25.0406, 45, 3000)
    (hit,) = idx.query(lon, lat, k=1)
    assert hit.distance_m == pytest.approx(3000, rel=1e-3)


def test_sorted_and_k_bounds():
    df = random_stations(50)
    idx = NearestIndex(df)
    hits = idx.query(102.7, 25.0, k=100)
    assert len(hits) == 50
    d = [h.distance_m for h in hits]
    assert d == sorted(d)
    assert idx.query(102.7, 25.0, k=0) == []


def test_service_filter_requires_all_services():
    df = random_stations(2000, seed=3)
    idx = NearestIndex(df)
    mask = (df["toilet"] & df["microwave"]).to_numpy()
    hits = idx.query(102.7, 25.0, k=5, services=["toilet", "microwave"])
    pos, _ = brute(df, 102.7, 25.0, mask)
    assert [h.position for h in hits] == list(pos[:5])
    for h in hits:
        assert df.loc[h.position, "toilet"] and df.loc[h.position, "microwave"]


def test_rare_filter_uses_subtree_and_is_exact():
    df = random_stations(5000, seed=4)
    df["wifi"] = False
    df.loc[[10, 2000, 4999], "wifi"] = True
    idx = NearestIndex(df)
    hits = idx.query(100.0, 25.0, k=5, services=["wifi"])
    assert sorted(h.position for h in hits) == [10, 2000, 4999]
    d = [h.distance_m for h in hits]
    assert d == sorted(d)


def test_unknown_service():
    idx = NearestIndex(random_stations(10))
    with pytest.raises(UnknownServiceError):
        idx.query(102.7, 25.0, services=["sauna"])


def test_max_km():
    df = random_stations(3000, seed=5)
    idx = NearestIndex(df)
    hits = idx.query(102.7, 25.0, k=50, max_km=20)
    pos, d = brute(df, 102.7, 25.0)
    expected = list(pos[d <= 20000][:50])
    assert [h.position for h in hits] == expected
    assert all(h.distance_m <= 20000 for h in hits)
    # far away from everything: empty, not an error
    assert idx.query(80.0, 40.0, k=5, max_km=20) == []


def test_open_now_uses_status_and_hours(monkeypatch):
    import stations.nearest as nearest_mod

    df = random_stations(300, seed=6)
    df["hours_json"] = ["{}"] * len(df)
    idx = NearestIndex(df)
    closed_by_hours = np.zeros(len(df), bool)
    closed_by_hours[::2] = True

    import types
    import sys

    fake = types.ModuleType("stations.hours")
    fake.open_mask = lambda hours, at: ~closed_by_hours
    monkeypatch.setitem(sys.modules, "stations.hours", fake)
    from datetime import datetime

    hits = idx.query(102.7, 25.0, k=10, open_at=datetime(2026, 11, 30, 10, 0))
    mask = (df["status"] == "open").to_numpy() & ~closed_by_hours
    pos, _ = brute(df, 102.7, 25.0, mask)
    assert [h.position for h in hits] == list(pos[:10])
    assert nearest_mod  # imported for monkeypatch clarity


def test_empty_frame():
    idx = NearestIndex(random_stations(0))
    assert idx.query(102.7, 25.0) == []


def test_query_frame_has_distance_column():
    df = random_stations(100)
    out = NearestIndex(df).query_frame(102.7, 25.0, k=3)
    assert list(out.columns)[-1] == "distance_m"
    assert len(out) == 3


@pytest.mark.slow
def test_national_scale_186000():
    df = random_stations(186_000, seed=9, lon=(74, 134), lat=(18, 53))
    t0 = time.perf_counter()
    idx = NearestIndex(df)
    build = time.perf_counter() - t0
    rng = np.random.default_rng(11)
    pts = list(zip(rng.uniform(74, 134, 20), rng.uniform(18, 53, 20)))
    t0 = time.perf_counter()
    for lon, lat in pts:
        idx.query(lon, lat, k=5, services=["toilet"])
    per_query = (time.perf_counter() - t0) / len(pts)
    lon, lat = pts[0]
    mask = df["toilet"].to_numpy()
    pos, _ = brute(df, lon, lat, mask)
    assert [h.position for h in idx.query(lon, lat, k=5, services=["toilet"])] == list(pos[:5])
    assert build < 5 and per_query < 0.05, (build, per_query)


def test_unknown_service_names_the_parameter():
    idx = NearestIndex(random_stations(10))
    with pytest.raises(UnknownServiceError, match="unknown service 'sauna'") as exc:
        idx.query(102.7, 25.0, services=["sauna"])
    assert exc.value.param == "service"
