"""/api/nearest for a worker in the field (issue 11 §3): walking minutes only within 3 km, the nearest open station
first (``nearest_open_id``) even when a closed one is nearer, and "open at 22:00" / "open 24 h" questions."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from conftest import GEOD, KUNMING, fixture_stations
from stations.hours import parse_hours

AT = "2026-12-02T10:30"  # a Wednesday morning, not a holiday


def _nearest(client, **params):
    resp = client.get("/api/nearest", query_string=params)
    assert resp.status_code == 200, resp.data
    return resp.get_json()


def _distances(lon, lat):
    df = fixture_stations()
    df["d"] = GEOD.inv(np.full(len(df), lon), np.full(len(df), lat), df["lon"].to_numpy(), df["lat"].to_numpy())[2]
    return df.sort_values(["d"], kind="stable")


def test_walk_minutes_only_within_3_km(client):
    fc = _nearest(client, lat=KUNMING[1], lon=KUNMING[0], k=12, at=AT)
    near = [f for f in fc["features"] if f["properties"]["distance_m"] <= 3000]
    far = [f for f in fc["features"] if f["properties"]["distance_m"] > 3000]
    assert near and far
    for f in near:
        assert f["properties"]["walk_min"] == int(np.ceil(f["properties"]["distance_m"] / 1000 / 4.5 * 60))
    for f in far:
        assert "walk_min" not in f["properties"]
    assert fc["walk_max_m"] == 3000
    one = client.get(f"/api/stations/{far[0]['id']}", query_string={"lat": KUNMING[1], "lon": KUNMING[0]}).get_json()
    assert "walk_min" not in one["properties"] and one["properties"]["distance_m"] > 3000


def test_the_nearest_open_station_comes_first_even_when_a_closed_one_is_nearer(client):
    df = fixture_stations().set_index("id")
    closed = df.loc["YN-T-005"]  # temporarily closed, right under the question's point
    assert closed["status"] != "open"
    fc = _nearest(client, lat=closed["lat"], lon=closed["lon"], k=5, at=AT)
    ids = [f["id"] for f in fc["features"]]
    order = _distances(closed["lon"], closed["lat"])
    at = datetime.fromisoformat(AT)
    opened = [r.id for r in order.itertuples() if r.status == "open" and parse_hours(r.opening_hours).is_open(at)]
    assert order.iloc[0]["id"] == "YN-T-005"
    assert fc["nearest_open_id"] == opened[0] == ids[0]
    assert fc["features"][0]["properties"]["open_now"] is True
    assert "YN-T-005" in ids and ids[1] == "YN-T-005"  # still listed, right after
    rest = [f["properties"]["distance_m"] for f in fc["features"][1:]]
    assert rest == sorted(rest)
    # when the nearest is open it simply stays first
    fc = _nearest(client, lat=KUNMING[1], lon=KUNMING[0], k=5, at=AT)
    assert fc["nearest_open_id"] == fc["features"][0]["id"]
    d = [f["properties"]["distance_m"] for f in fc["features"]]
    assert d == sorted(d)
    # nothing open anywhere near: no id, the list is by distance
    fc = _nearest(client, lat=KUNMING[1], lon=KUNMING[0], k=3, at=AT, max_km=0.01)
    assert fc["numberReturned"] == 0 and fc["nearest_open_id"] is None


@pytest.mark.parametrize("open_at, expect_at", [("22:00", "2026-12-02T22:00"), ("06:30", "2026-12-03T06:30"),
                                                ("2026-12-05T23:00", "2026-12-05T23:00")])
def test_open_at_an_hour(client, open_at, expect_at):
    fc = _nearest(client, lat=KUNMING[1], lon=KUNMING[0], k=8, at=AT, open_at=open_at)
    assert fc["query"]["open_at"] == expect_at
    when = datetime.fromisoformat(expect_at)
    order = _distances(*KUNMING)
    expected = [r.id for r in order.itertuples() if r.status == "open" and parse_hours(r.opening_hours).is_open(when)]
    assert [f["id"] for f in fc["features"]] == expected[:8]
    assert len(expected) > 0


def test_open_24_hours(client):
    fc = _nearest(client, lat=KUNMING[1], lon=KUNMING[0], k=100, at=AT, open_24h=1)
    order = _distances(*KUNMING)
    expected = [r.id for r in order.itertuples() if r.status == "open" and parse_hours(r.opening_hours).is_24_7]
    assert [f["id"] for f in fc["features"]] == expected
    assert fc["query"]["open_24h"] is True
    assert all(f["properties"]["open_now"] for f in fc["features"])


@pytest.mark.parametrize("bad", ["25:00", "22", "tonight", "9999-12-31T23:59-12:00"])
def test_a_bad_open_at_names_the_parameter(client, bad):
    resp = client.get("/api/nearest", query_string={"lat": KUNMING[1], "lon": KUNMING[0], "open_at": bad})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["parameter"] == "open_at"


def test_the_map_columns_carry_what_the_compact_features_do(client):
    compact = client.get("/api/stations", query_string={"fields": "compact", "limit": 10000, "at": AT}).get_json()
    cols = client.get("/api/stations", query_string={"fields": "columns", "limit": 10000, "at": AT}).get_json()
    feats = compact["features"]
    df = fixture_stations().set_index("id")
    assert cols["numberMatched"] == compact["numberMatched"] == len(cols["ids"]) == len(feats)
    assert cols["ids"] == [f["id"] for f in feats]
    lon, lat = np.cumsum(cols["dlon"]) / cols["scale"], np.cumsum(cols["dlat"]) / cols["scale"]
    for i, f in enumerate(feats):
        x, y = f["geometry"]["coordinates"]
        assert abs(lon[i] - x) <= 0.6e-5 and abs(lat[i] - y) <= 0.6e-5
        assert cols["open"][i] == ("1" if f["properties"]["open_now"] else "0")
        row = df.loc[f["id"]]
        assert cols["h24"][i] == ("1" if row["status"] == "open" and parse_hours(row["opening_hours"]).is_24_7 else "0")
        assert cols["demo"][i] == ("1" if f["properties"]["demo"] else "0")
        assert cols["sv"][i] == f["properties"]["sv"]
    assert "1" in cols["h24"] and "0" in cols["open"]
    ids = client.get("/api/stations", query_string={"fields": "ids", "limit": 10000, "open_at": "22:00", "at": AT}).get_json()
    when = datetime.fromisoformat("2026-12-02T22:00")
    df = fixture_stations()
    expected = [r.id for r in df.itertuples() if r.status == "open" and parse_hours(r.opening_hours).is_open(when)]
    assert sorted(ids["ids"]) == sorted(expected) and ids["numberMatched"] == len(expected)


def test_unknown_hours_are_flagged_never_open(client, fixture_db_url):
    from stations.registry import Registry
    from webmap import create_app

    fc = _nearest(client, lat=KUNMING[1], lon=KUNMING[0], k=40, at=AT)
    assert all(f["properties"]["hours_unknown"] is False for f in fc["features"])  # every fixture's hours are read
    # a station whose hours say 营业时间不详: flagged, and never open
    df = fixture_stations()
    row = df[df["id"] == "YN-T-000"].copy()
    row["id"], row["opening_hours"] = "YN-T-UNK", "营业时间不详"
    row["hours_json"] = [parse_hours("营业时间不详").to_json()]
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/unk.sqlite"
        Registry(url).replace_all(row)
        c = create_app({"TESTING": True, "DATABASE_URL": url, "TILES": "none"}).test_client()
        f = c.get("/api/nearest", query_string={"lat": row["lat"].iloc[0], "lon": row["lon"].iloc[0], "at": AT}).get_json()
        p = f["features"][0]["properties"]
        assert p["hours_unknown"] is True and p["open_now"] is False and f["nearest_open_id"] is None
        slow = create_app({"TESTING": True, "DATABASE_URL": url, "TILES": "none", "FINDER_FRAGMENTS": False}).test_client()
        q = {"lat": row["lat"].iloc[0], "lon": row["lon"].iloc[0], "at": AT}
        assert c.get("/api/nearest", query_string=q).data == slow.get("/api/nearest", query_string=q).data
