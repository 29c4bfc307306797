"""/api/nearest written from per-station fragments (webmap.finder_json) is byte for byte the answer built from
dicts (FINDER_FRAGMENTS=False), over random questions, filters, languages and the hostile station name."""

from __future__ import annotations

import random

import pytest

from conftest import HOSTILE_ID, KUNMING


@pytest.fixture(scope="module")
def pair(fixture_db_url):
    from webmap import create_app

    fast = create_app({"TESTING": True, "DATABASE_URL": fixture_db_url, "TILES": "none"})
    slow = create_app({"TESTING": True, "DATABASE_URL": fixture_db_url, "TILES": "none", "FINDER_FRAGMENTS": False})
    return fast.test_client(), slow.test_client()


def _questions():
    rng = random.Random(14)
    out = []
    for i in range(60):
        lon = KUNMING[0] + rng.uniform(-0.3, 0.3) if i % 3 else rng.uniform(97.6, 106.1)
        lat = KUNMING[1] + rng.uniform(-0.3, 0.3) if i % 3 else rng.uniform(21.2, 29.2)
        q = {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "k": str(rng.choice([1, 5, 10, 40, 100]))}
        if i % 4 == 1:
            q["service"] = rng.choice(["toilet", "water,microwave", "wifi"])
        if i % 5 == 2:
            q["open_now"] = "1"
        if i % 6 == 3:
            q["max_km"] = str(rng.choice([0.5, 3, 20]))
        q["at"] = rng.choice(["2026-11-30T03:00", "2026-12-02T10:30", "2026-10-01T12:00"])
        if i % 2:
            q["lang"] = "en"
        out.append(q)
    return out


@pytest.mark.parametrize("q", _questions())
def test_fragments_give_the_same_bytes(pair, q):
    fast, slow = pair
    a, b = fast.get("/api/nearest", query_string=q), slow.get("/api/nearest", query_string=q)
    assert a.status_code == b.status_code == 200
    assert a.data == b.data
    assert a.headers["Content-Type"] == b.headers["Content-Type"]


def test_the_hostile_name_stays_data(pair):
    fast, slow = pair
    q = {"lat": KUNMING[1], "lon": KUNMING[0], "k": 3}
    a = fast.get("/api/nearest", query_string=q)
    assert a.data == slow.get("/api/nearest", query_string=q).data
    feats = a.get_json()["features"]
    assert feats[0]["id"] == HOSTILE_ID and feats[0]["properties"]["name"].startswith("<img")
    assert b"<img src=x" in a.data  # JSON text, escaped by the page when shown, as before


def test_the_one_point_datum_shifts_agree_with_stations_coords():
    import numpy as np

    from stations.coords import gcj02_to_bd09, wgs84_to_gcj02
    from webmap.finder_json import _bd09, _gcj02

    rng = np.random.default_rng(14)
    lon = np.concatenate([rng.uniform(97, 107, 3000), rng.uniform(60, 150, 1000)])  # Yunnan, and beyond China
    lat = np.concatenate([rng.uniform(20, 30, 3000), rng.uniform(-10, 60, 1000)])
    glon, glat = wgs84_to_gcj02(lon, lat)
    blon, blat = gcj02_to_bd09(glon, glat)
    for i in range(len(lon)):
        g = _gcj02(float(lon[i]), float(lat[i]))
        b = _bd09(*g)
        assert abs(g[0] - glon[i]) < 1e-11 and abs(g[1] - glat[i]) < 1e-11
        assert abs(b[0] - blon[i]) < 1e-11 and abs(b[1] - blat[i]) < 1e-11
        assert f"{g[0]:.6f},{g[1]:.6f}" == f"{glon[i]:.6f},{glat[i]:.6f}" or abs(round(g[0], 6) - glon[i]) < 1e-9
