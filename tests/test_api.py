"""The JSON API over the fixture registry (tests/conftest.py)."""

from __future__ import annotations

import gzip
import json
import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import pytest
from pyproj import Geod

from conftest import HOSTILE_ID, HOSTILE_NAME, KUNMING, fixture_stations
from stations.coords import wgs84_to_bd09, wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")
LON, LAT = KUNMING


def nearest(client, **params):
    params.setdefault("lat", LAT)
    params.setdefault("lon", LON)
    resp = client.get("/api/nearest", query_string=params)
    assert resp.status_code == 200, resp.data
    return resp.get_json()


# ------------------------------------------------------------------------------------------- nearest
def test_nearest_default_five_sorted_geodesic(client):
    fc = nearest(client)
    feats = fc["features"]
    assert len(feats) == 5
    d = [f["properties"]["distance_m"] for f in feats]
    assert d == sorted(d)
    for f in feats:
        lon, lat = f["geometry"]["coordinates"]
        expected = GEOD.inv(LON, LAT, lon, lat)[2]
        assert f["properties"]["distance_m"] == pytest.approx(expected, rel=1e-3, abs=0.2)
        assert f["properties"]["walk_min"] == int(np.ceil(expected / 1000 / 4.5 * 60))


def test_nearest_matches_brute_force(client):
    df = fixture_stations()
    dist = GEOD.inv(np.full(len(df), LON), np.full(len(df), LAT), df["lon"].to_numpy(), df["lat"].to_numpy())[2]
    order = np.argsort(dist, kind="stable")
    fc = nearest(client, k=10)
    assert [f["id"] for f in fc["features"]] == list(df["id"].to_numpy()[order[:10]])
    assert fc["features"][0]["id"] == HOSTILE_ID


def test_nearest_service_filter_all_required(client):
    fc = nearest(client, service=["toilet", "microwave"], k=20)
    assert fc["features"]
    for f in fc["features"]:
        assert {"toilet", "microwave"} <= set(f["properties"]["services"])
    df = fixture_stations()
    assert len(fc["features"]) == min(20, int((df["toilet"] & df["microwave"]).sum()))
    # comma-separated form is the same query
    fc2 = nearest(client, service="toilet,microwave", k=20)
    assert [f["id"] for f in fc2["features"]] == [f["id"] for f in fc["features"]]


def test_nearest_open_now_at_a_given_time(client):
    from stations.hours import parse_hours

    # Sunday 03:00 Beijing time: only the 24-hour stations whose status is open
    at = "2026-11-29T03:00"
    fc = nearest(client, open_now="true", at=at, k=100)
    df = fixture_stations().set_index("id")
    expected = {sid for sid, row in df.iterrows()
                if row["status"] == "open" and parse_hours(row["opening_hours"]).is_open(
                    __import__("datetime").datetime(2026, 11, 29, 3, 0))}
    assert {f["id"] for f in fc["features"]} == expected
    assert all(f["properties"]["open_now"] for f in fc["features"])
    # Monday 10:00: weekday stations too
    fc = nearest(client, open_now="1", at="2026-11-30T10:00+08:00", k=100)
    assert len(fc["features"]) > len(expected)


def test_nearest_max_km(client):
    fc = nearest(client, k=100, max_km=5)
    assert fc["features"]
    assert all(f["properties"]["distance_m"] <= 5000 for f in fc["features"])
    far = nearest(client, lat=33.5, lon=92.0, k=5, max_km=20)
    assert far["features"] == []


def test_nearest_nav_links_use_the_right_datums(client):
    f = nearest(client, k=1)["features"][0]
    lon, lat = f["geometry"]["coordinates"]
    nav = f["properties"]["nav"]
    amap = parse_qs(urlsplit(nav["amap"]).query)
    to_lon, to_lat, to_name = amap["to"][0].split(",", 2)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert float(to_lon) == pytest.approx(g_lon, abs=2e-6) and float(to_lat) == pytest.approx(g_lat, abs=2e-6)
    assert to_name == HOSTILE_NAME
    assert amap["mode"] == ["walk"] and amap["coordinate"] == ["gaode"]
    from_lon, from_lat, _ = amap["from"][0].split(",", 2)
    o_lon, o_lat = wgs84_to_gcj02(LON, LAT)
    assert float(from_lon) == pytest.approx(o_lon, abs=2e-6) and float(from_lat) == pytest.approx(o_lat, abs=2e-6)
    # the GCJ-02 shift in Kunming is a few hundred metres, so a WGS-84 link would be visibly wrong
    assert GEOD.inv(lon, lat, g_lon, g_lat)[2] > 100

    baidu = parse_qs(urlsplit(nav["baidu"]).query)
    dest = re.match(r"latlng:([\d.]+),([\d.]+)\|name:(.*)", baidu["destination"][0])
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    assert float(dest.group(1)) == pytest.approx(b_lat, abs=2e-6) and float(dest.group(2)) == pytest.approx(b_lon, abs=2e-6)
    assert baidu["coord_type"] == ["bd09ll"] and baidu["mode"] == ["walking"]

    m = re.match(r"geo:([\d.]+),([\d.]+)\?q=([\d.]+),([\d.]+)\((.*)\)$", nav["geo"])
    assert float(m.group(1)) == pytest.approx(lat, abs=2e-6) and float(m.group(2)) == pytest.approx(lon, abs=2e-6)
    assert unquote(m.group(5)) == HOSTILE_NAME


BAD_NEAREST = [
    ({"lat": "95", "lon": "102"}, "lat"),
    ({"lat": "-90.5", "lon": "102"}, "lat"),
    ({"lat": "abc", "lon": "102"}, "lat"),
    ({"lat": "nan", "lon": "102"}, "lat"),
    ({"lat": "inf", "lon": "102"}, "lat"),
    ({"lon": "102"}, "lat"),
    ({"lat": "25"}, "lon"),
    ({"lat": "25", "lon": "181"}, "lon"),
    ({"lat": "25", "lon": "1e999"}, "lon"),
    ({"lat": "25", "lon": "102", "k": "0"}, "k"),
    ({"lat": "25", "lon": "102", "k": "101"}, "k"),
    ({"lat": "25", "lon": "102", "k": "2.5"}, "k"),
    ({"lat": "25", "lon": "102", "k": "five"}, "k"),
    ({"lat": "25", "lon": "102", "service": "sauna"}, "service"),
    ({"lat": "25", "lon": "102", "service": "water,<script>"}, "service"),
    ({"lat": "25", "lon": "102", "open_now": "maybe"}, "open_now"),
    ({"lat": "25", "lon": "102", "max_km": "-1"}, "max_km"),
    ({"lat": "25", "lon": "102", "max_km": "far"}, "max_km"),
    ({"lat": "25", "lon": "102", "at": "yesterday"}, "at"),
    ({"lat": ["25", "26"], "lon": "102"}, "lat"),
]


@pytest.mark.parametrize("params,name", BAD_NEAREST)
def test_nearest_bad_parameters_400_naming_the_parameter(client, params, name):
    resp = client.get("/api/nearest", query_string=params)
    assert resp.status_code == 400
    assert resp.is_json
    assert resp.get_json()["error"]["parameter"] == name
    assert resp.get_json()["error"]["message"]


BAD_STATIONS = [
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "103,25,102,26"}, "bbox"),
    ({"bbox": "100,-95,103,26"}, "bbox"),
    ({"bbox": "100,nan,103,26"}, "bbox"),
    ({"prefecture": "5301"}, "prefecture"),
    ({"county": "abcdef"}, "county"),
    ({"service": "sauna"}, "service"),
    ({"status": "demolished"}, "status"),
    ({"open_now": "2"}, "open_now"),
    ({"limit": "0"}, "limit"),
    ({"limit": "10001"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"fields": "everything"}, "fields"),
]


@pytest.mark.parametrize("params,name", BAD_STATIONS)
def test_stations_bad_parameters_400(client, params, name):
    resp = client.get("/api/stations", query_string=params)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["parameter"] == name


def test_never_500_on_garbage(client):
    garbage = ["", " ", "%", "\x00", "1e309", "-0", "0x10", "[]", "{}", "😀", "1,2,3,4,5", "NaN", "Infinity", "--1"]
    for value in garbage:
        for path, names in [("/api/nearest", ["lat", "lon", "k", "service", "open_now", "max_km", "at"]),
                            ("/api/stations", ["bbox", "prefecture", "county", "service", "open_now", "status",
                                               "limit", "offset", "fields", "at"]),
                            ("/api/places", ["q", "limit"])]:
            for name in names:
                params = {"lat": "25", "lon": "102.7", name: value} if path == "/api/nearest" else {name: value}
                resp = client.get(path, query_string=params)
                assert resp.status_code < 500 or resp.status_code == 503, (path, name, value, resp.data[:200])
                assert resp.is_json


# ------------------------------------------------------------------------------------------- stations
def test_stations_geojson_and_paging(client):
    resp = client.get("/api/stations", query_string={"limit": 15})
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    fc = resp.get_json()
    assert fc["type"] == "FeatureCollection"
    assert fc["numberMatched"] == 40 and fc["numberReturned"] == 15
    seen = [f["id"] for f in fc["features"]]
    nxt = fc["links"][0]["href"]
    while nxt:
        fc = client.get(nxt).get_json()
        seen += [f["id"] for f in fc["features"]]
        nxt = fc["links"][0]["href"] if fc["links"] else None
    assert len(seen) == len(set(seen)) == 40


def test_stations_filters(client):
    df = fixture_stations()
    fc = client.get("/api/stations", query_string={"prefecture": "530700"}).get_json()
    assert [f["id"] for f in fc["features"]] == ["YN-T-LJ"]
    fc = client.get("/api/stations", query_string={"bbox": "100,21,101,23"}).get_json()
    assert [f["id"] for f in fc["features"]] == ["YN-T-JH"]
    fc = client.get("/api/stations", query_string={"service": ["toilet", "wifi"]}).get_json()
    assert fc["numberMatched"] == int((df["toilet"] & df["wifi"]).sum())
    fc = client.get("/api/stations", query_string={"status": "temp_closed"}).get_json()
    assert fc["numberMatched"] == int((df["status"] == "temp_closed").sum()) > 0
    fc = client.get("/api/stations", query_string={"open_now": "1", "at": "2026-11-29T03:00"}).get_json()
    assert 0 < fc["numberMatched"] < 40
    fc = client.get("/api/stations", query_string={"county": "530102", "fields": "compact", "limit": 3}).get_json()
    assert set(fc["features"][0]["properties"]) == {"name", "open_now", "demo", "sv"}
    from stations.schema import SERVICE_KEYS

    df = fixture_stations().set_index("id")
    for f in fc["features"]:
        expected = sum(1 << j for j, key in enumerate(SERVICE_KEYS) if df.loc[f["id"], key])
        assert f["properties"]["sv"] == expected
    assert fc["features"][0]["id"].startswith("YN-T-")


def test_station_by_id(client):
    resp = client.get(f"/api/stations/{HOSTILE_ID}")
    assert resp.status_code == 200
    f = resp.get_json()
    assert f["properties"]["name"] == HOSTILE_NAME  # stored and returned as given; escaping is the page's job
    assert f["properties"]["demo"] is True
    assert "distance_m" not in f["properties"]
    f = client.get(f"/api/stations/{HOSTILE_ID}", query_string={"lat": LAT, "lon": LON}).get_json()
    assert f["properties"]["distance_m"] == pytest.approx(30, abs=0.5)
    resp = client.get("/api/stations/NOPE")
    assert resp.status_code == 404 and resp.get_json()["error"]["parameter"] == "id"
    assert client.get(f"/api/stations/{HOSTILE_ID}", query_string={"lat": 25}).status_code == 400


def test_labels_follow_the_language(client):
    zh = client.get("/api/stations/YN-T-LJ").get_json()["properties"]
    en = client.get("/api/stations/YN-T-LJ?lang=en").get_json()["properties"]
    assert zh["service_labels"][0] == "饮水" and en["service_labels"][0] == "Drinking water"
    assert zh["hours_text"] == "24小时" and en["hours_text"] == "24 hours"


def test_gzip_and_cache_headers(client):
    resp = client.get("/api/stations?limit=40", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(resp.data))["numberReturned"] == 40
    resp = client.get("/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert len(resp.data) < 60_000
    assert "max-age" in resp.headers["Cache-Control"]
    resp.close()
    resp = client.get("/static/vendor/leaflet/leaflet.js")
    assert "Content-Encoding" not in resp.headers
    resp.close()


def test_openapi_documents_every_endpoint(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/stations", "/api/stations/{id}", "/api/nearest", "/api/places"):
        assert path in doc["paths"]
    names = {p["name"] for p in doc["paths"]["/api/nearest"]["get"]["parameters"]}
    assert {"lat", "lon", "k", "service", "open_now", "max_km"} <= names


def test_outlines(client):
    resp = client.get("/api/outlines/prefectures")
    assert resp.status_code == 200
    assert "max-age" in resp.headers["Cache-Control"]
    fc = resp.get_json()
    assert len(fc["features"]) == 16
    assert len(resp.data) < 400_000
    counties = client.get("/api/outlines/counties", headers={"Accept-Encoding": "gzip"})
    assert len(json.loads(gzip.decompress(counties.data))["features"]) == 129
    assert client.get("/api/outlines/districts").status_code == 404


def test_places(client):
    assert client.get("/api/places").status_code == 400
    resp = client.get("/api/places", query_string={"q": "kunm"})
    assert resp.status_code == 200
    labels = [p.get("name_zh") or p.get("label") for p in resp.get_json()["places"]]
    assert any("昆明" in (label or "") for label in labels)
    resp = client.get("/api/places", query_string={"q": "昆"})
    assert any("昆明" in (p.get("name_zh") or p.get("label") or "") for p in resp.get_json()["places"])


# ------------------------------------------------------------------------------------------- app
def test_reload_picks_up_registry_changes(tmp_path):
    from stations.registry import Registry
    from webmap import create_app

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    reg = Registry(url)
    df = fixture_stations()
    reg.replace_all(df.iloc[:5])
    app = create_app({"DATABASE_URL": url, "TILES": "none"})
    client = app.test_client()
    assert client.get("/api/stations").get_json()["numberMatched"] == 5
    reg.upsert(df.iloc[5:10])
    assert client.get("/api/stations").get_json()["numberMatched"] == 5  # loaded once
    app.extensions["yizhan"].reload()
    assert client.get("/api/stations").get_json()["numberMatched"] == 10


def test_finder_page_has_no_cdn_and_builds_fast(app, client):
    t0 = time.perf_counter()
    resp = client.get("/")
    elapsed = time.perf_counter() - t0
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert len(resp.data) < 280_000 and elapsed < 0.47
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url
    assert "cdn" not in html.lower()
    assert "定位我" in html


def test_blueprints_are_registered_from_a_list(app):
    import webmap

    assert "webmap.views:bp" in webmap.BLUEPRINTS and "webmap.api:bp" in webmap.BLUEPRINTS
    assert {"views", "api"} <= set(app.blueprints)


def test_api_latency(client):
    client.get("/api/nearest", query_string={"lat": LAT, "lon": LON})  # warm
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        client.get("/api/nearest", query_string={"lat": LAT, "lon": LON, "service": "toilet", "open_now": 1})
        times.append(time.perf_counter() - t0)
    print(f"\n/api/nearest in-process (fixture registry): median {np.median(times) * 1000:.1f} ms")
    assert np.median(times) < 0.1


# ------------------------------------------------------------------------------------------- tiles
def test_tile_providers(monkeypatch):
    from webmap.maps import tile_config

    osm = tile_config("osm")
    assert osm.crs == "wgs84" and osm.hosts == ("tile.openstreetmap.org",)
    amap = tile_config("amap")
    assert amap.crs == "gcj02" and all(h.endswith("autonavi.com") for h in amap.hosts)
    assert tile_config("none").layers == ()
    assert tile_config("tianditu", "").name == "none"  # no key: no tiles rather than failing tiles
    tdt = tile_config("tianditu", "k3y")
    assert tdt.crs == "wgs84" and all("tk=k3y" in layer["url"] for layer in tdt.layers)
    custom = tile_config("http://127.0.0.1:9/{z}/{x}/{y}.png")
    assert custom.hosts == ("127.0.0.1",)
    assert tile_config("nonsense").name == "none"


def test_tianditu_key_comes_from_the_environment(monkeypatch, fixture_db_url):
    from webmap import create_app

    monkeypatch.setenv("YIZHAN_TILES", "tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "env-key-123")
    app = create_app({"DATABASE_URL": fixture_db_url})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "tk=env-key-123" in html and "tianditu.gov.cn" in html
    monkeypatch.setenv("YIZHAN_TILES", "osm")
    app = create_app({"DATABASE_URL": fixture_db_url})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "env-key-123" not in html and "tile.openstreetmap.org" in html


def test_make_run_serves_on_the_configured_address(monkeypatch, fixture_db_url):
    """``make run`` leaves the address to ``yizhan serve``, whose defaults are YIZHAN_HOST / YIZHAN_PORT."""
    from pathlib import Path

    import waitress
    from click.testing import CliRunner

    from webmap.cli import main

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "yizhan serve" in recipe and "--host" not in recipe and "--port" not in recipe
    served = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: served.update(kw))
    monkeypatch.setenv("DATABASE_URL", fixture_db_url)
    monkeypatch.setenv("YIZHAN_HOST", "0.0.0.0")
    monkeypatch.setenv("YIZHAN_PORT", "8123")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 0, result.output
    assert served["host"] == "0.0.0.0" and served["port"] == 8123
