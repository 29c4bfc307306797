"""The planner blueprint: /api/coverage, /api/gaps, downloads, the page, OpenAPI, bad parameters."""

from __future__ import annotations

import io
import json
import re

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
LIJIANG = (100.2330, 26.8721)  # YN-T-LJ, open 24 h, the only station in 530702
JINGHONG = (100.7979, 22.0017)  # YN-T-JH, open 24 h, in 532801


def _demand():
    """Six demand points: around 丽江 at 500 / 1500 / 3000 m and around 景洪 at 200 / 1200 m, plus one in
    a county without stations (533401, 香格里拉). Workers 10, 20, 30, 40, 50, 60."""
    pts = []
    for (lon, lat), d in [(LIJIANG, 500), (LIJIANG, 1500), (LIJIANG, 3000), (JINGHONG, 200), (JINGHONG, 1200)]:
        x, y, _ = GEOD.fwd(lon, lat, 0, d)
        pts.append((x, y))
    pts.append((99.7065, 27.8269))
    from stations.demand import demand_from_points

    lon = [p[0] for p in pts]
    lat = [p[1] for p in pts]
    return demand_from_points(lon, lat, [10, 20, 30, 40, 50, 60])


@pytest.fixture()
def planner_app(app):
    app.config["PLANNER_DEMAND"] = _demand()
    return app


@pytest.fixture()
def pc(planner_app):
    return planner_app.test_client()


def _rows(pc, **q):
    r = pc.get("/api/coverage", query_string=q)
    assert r.status_code == 200, r.data
    return r.get_json()


def test_coverage_rows_and_values(pc):
    body = _rows(pc, by="county")
    rows = {r["adcode"]: r for r in body["rows"]}
    assert len(rows) == 129
    for key in ("adcode", "name", "stations", "workers", "workers_covered", "covered_pct", "area_km2",
                "area_covered_km2", "median_distance_m", "p90_distance_m", "stations_per_10k_urban"):
        assert key in rows["530702"]
    lj = rows["530702"]
    assert lj["workers"] == 60 and lj["workers_covered"] == 10
    assert lj["stations"] == 1
    # 10 @500, 20 @1500, 30 @3000: half of 60 (30) is reached at 1500 m (the lower weighted median)
    assert lj["median_distance_m"] == pytest.approx(1500, abs=1)
    assert lj["p90_distance_m"] == pytest.approx(3000, abs=1)
    jh = rows["532801"]
    assert jh["workers"] == 90 and jh["workers_covered"] == 40
    assert rows["533401"]["workers"] == 60 and rows["533401"]["workers_covered"] == 0
    assert body["summary"]["workers"] == 210 and body["summary"]["workers_covered"] == 50
    assert body["radius"] == 1000 and body["hour"] is None


def test_radius_changes_result(pc):
    assert _rows(pc, radius=2000)["summary"]["workers_covered"] == 10 + 20 + 40 + 50
    assert _rows(pc, radius=1000, rural_radius=5000)["summary"]["workers_covered"] >= 50


def test_levels_add_up(pc):
    prov = _rows(pc, by="province")["rows"]
    pref = _rows(pc, by="prefecture")["rows"]
    cty = _rows(pc, by="county")["rows"]
    assert len(prov) == 1 and len(pref) == 16
    for col in ("stations", "workers", "workers_covered"):
        assert prov[0][col] == pytest.approx(sum(r[col] for r in pref))
        for p in pref:
            assert p[col] == pytest.approx(sum(r[col] for r in cty if r["parent_adcode"] == p["adcode"]))


def test_hour_counts_only_stations_open_then(pc):
    day = _rows(pc)
    night = _rows(pc, hour=3)
    assert night["stations_active"] < day["stations_active"]
    # 丽江 and 景洪 stations are 24 h: their coverage does not change at night
    assert night["summary"]["workers_covered"] == day["summary"]["workers_covered"]
    assert night["hour"] == 3


def test_gaps_geojson(pc):
    r = pc.get("/api/gaps", query_string={"radius": 1000, "limit": 10})
    assert r.status_code == 200
    assert r.mimetype == "application/geo+json"
    gj = r.get_json()
    feats = gj["features"]
    w = [f["properties"]["uncovered_workers"] for f in feats]
    assert w == sorted(w, reverse=True)
    assert sum(w) == pytest.approx(160)
    top = feats[0]["properties"]
    assert top["county_adcode"] == "533401" and top["uncovered_workers"] == 60
    assert top["nearest_station_m"] > 100_000
    lj = [f["properties"] for f in feats if f["properties"]["county_adcode"] == "530702"]
    assert sorted(p["nearest_station_m"] for p in lj) == pytest.approx([1500, 3000], abs=1)
    assert pc.get("/api/gaps?limit=1").get_json()["features"].__len__() == 1


@pytest.mark.parametrize(
    "url, parameter",
    [
        ("/api/coverage?radius=abc", "radius"),
        ("/api/coverage?radius=0", "radius"),
        ("/api/coverage?radius=1e9", "radius"),
        ("/api/coverage?radius=nan", "radius"),
        ("/api/coverage?hour=24", "hour"),
        ("/api/coverage?hour=-1", "hour"),
        ("/api/coverage?hour=x", "hour"),
        ("/api/coverage?by=city", "by"),
        ("/api/coverage?radius=1000&radius=2000", "radius"),
        ("/api/coverage?rural_radius=-5", "rural_radius"),
        ("/api/coverage?weekday=7", "weekday"),
        ("/api/gaps?limit=0", "limit"),
        ("/api/gaps?limit=many", "limit"),
        ("/api/gaps?hour=12.5", "hour"),
        ("/planner/download/coverage.shp", "format"),
        ("/planner/download/stations.csv", "what"),
    ],
)
def test_bad_parameters(pc, url, parameter):
    r = pc.get(url)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["parameter"] == parameter
    assert parameter.split("_")[0] in err["message"] or err["message"]


def test_results_cached_per_radius_and_hour(planner_app, pc):
    _rows(pc, radius=1000)
    _rows(pc, radius=1000, by="prefecture")
    from webmap import get_store

    snap = get_store(planner_app).snapshot()
    keys = [k for k in snap._cache if k[0] == "planner"]
    assert keys == [("planner", 1000.0, None, None, 2, None, None)]
    _rows(pc, radius=1500, hour=22)
    assert ("planner", 1500.0, None, 22, 2, None, None) in snap._cache


def test_downloads(pc):
    r = pc.get("/planner/download/coverage.csv?by=prefecture")
    assert r.status_code == 200
    assert r.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in r.headers["Content-Disposition"]
    df = pd.read_csv(io.BytesIO(r.data), encoding="utf-8-sig", dtype={"adcode": str})
    assert len(df) == 16 and "昆明市" in set(df["name"])
    x = pd.read_excel(io.BytesIO(pc.get("/planner/download/coverage.xlsx").data))
    assert len(x) == 129
    gj = json.loads(pc.get("/planner/download/coverage.geojson?by=prefecture").data)
    assert len(gj["features"]) == 16
    g = pc.get("/planner/download/gaps.gpkg?radius=1000")
    assert g.status_code == 200 and g.data[:16] == b"SQLite format 3\x00"
    gaps = json.loads(pc.get("/planner/download/gaps.geojson").data)
    assert gaps["features"][0]["properties"]["uncovered_workers"] == 60
    assert pc.get("/planner/download/gaps.csv").data.startswith(b"\xef\xbb\xbf")


def test_layers(pc):
    layer = pc.get("/api/coverage/layer?radius=1000").get_json()
    assert layer["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    heat = pc.get("/api/coverage/demand").get_json()
    assert sum(p[2] for p in heat["points"]) == pytest.approx(210, abs=0.5)
    counties = pc.get("/api/coverage/counties").get_json()
    assert len(counties["features"]) == 129


def test_page_languages_and_local_assets(pc):
    zh = pc.get("/planner")
    assert zh.status_code == 200
    html = zh.get_data(as_text=True)
    assert "驿站覆盖规划" in html and "服务半径" in html
    en = pc.get("/planner?lang=en").get_data(as_text=True)
    assert "Coverage planner" in en and "Service radius (m)" in en
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not re.match(r"^(https?:)?//", url), url


def test_openapi_documents_planner(pc):
    doc = pc.get("/api/openapi.json").get_json()
    assert "/api/coverage" in doc["paths"] and "/api/gaps" in doc["paths"]
    names = [p["name"] for p in doc["paths"]["/api/coverage"]["get"]["parameters"]]
    assert {"radius", "hour", "by"} <= set(names)


def test_default_demand_model(app):
    """With the bundled demand model: about a million workers, province = sum of prefectures."""
    c = app.test_client()
    prov = c.get("/api/coverage?by=province").get_json()["rows"][0]
    pref = c.get("/api/coverage?by=prefecture").get_json()["rows"]
    assert prov["workers"] == pytest.approx(1_000_000, rel=1e-6)
    assert prov["workers_covered"] == pytest.approx(sum(r["workers_covered"] for r in pref), abs=16)
    assert 0 < prov["covered_pct"] < 100


# ------------------------------------------------------------------------------ CLI


def test_cli_coverage_and_gaps(tmp_path, fixture_db_url, monkeypatch):
    from click.testing import CliRunner

    from webmap.cli_planner import coverage_cmd, gaps_cmd

    monkeypatch.setenv("DATABASE_URL", fixture_db_url)
    d = _demand()
    csv = tmp_path / "demand.csv"
    pd.DataFrame({"lon": d["lon"], "lat": d["lat"], "workers": d["workers"]}).to_csv(csv, index=False)
    runner = CliRunner()
    out = tmp_path / "coverage.xlsx"
    r = runner.invoke(coverage_cmd, ["--radius", "1000", "--demand", str(csv), "--by", "county", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "50 of 210 workers covered (23.8%)" in r.output
    t = pd.read_excel(out, dtype={"adcode": str})
    assert len(t) == 129 and t.set_index("adcode").loc["530702", "workers_covered"] == 10
    r = runner.invoke(coverage_cmd, ["--radius", "2000", "--hour", "3", "--demand", str(csv), "--by", "province"])
    assert r.exit_code == 0 and "120 of 210 workers covered" in r.output and "at 03:00" in r.output
    gp = tmp_path / "gaps.gpkg"
    r = runner.invoke(gaps_cmd, ["--demand", str(csv), "--out", str(gp)])
    assert r.exit_code == 0, r.output
    g = gpd.read_file(gp)
    assert g["uncovered_workers"].iloc[0] == 60 and g["county_adcode"].iloc[0] == "533401"
    # bad input: one line, non-zero exit, no traceback
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat,weight\n100.2,26.8,-1\n")
    r = runner.invoke(coverage_cmd, ["--demand", str(bad)])
    assert r.exit_code == 1 and "row 2" in r.output and "negative" in r.output and "Traceback" not in r.output
    r = runner.invoke(coverage_cmd, ["--out", str(tmp_path / "x.shp")])
    assert r.exit_code == 2 and "--out" in r.output
    r = runner.invoke(coverage_cmd, ["--radius", "0"])
    assert r.exit_code == 2 and "--radius" in r.output


# ------------------------------------------------------------------------------ uploaded demand


def _upload(pc, name: str, data: bytes, **form):
    return pc.post("/api/coverage/demand", data={"file": (io.BytesIO(data), name), **form},
                   content_type="multipart/form-data")


def test_upload_demand_and_use_it(pc):
    x, y, _ = GEOD.fwd(LIJIANG[0], LIJIANG[1], 90, 700)
    csv = f"lon,lat,riders\n{x},{y},7\n{LIJIANG[0] + 0.5},{LIJIANG[1]},3\n".encode()
    r = _upload(pc, "mine.csv", csv, weight="riders")
    assert r.status_code == 201, r.data
    body = r.get_json()
    assert body["points"] == 2 and body["workers"] == 10
    token = body["demand"]
    mine = _rows(pc, demand=token, by="province")
    assert mine["summary"]["workers"] == 10 and mine["summary"]["workers_covered"] == 7
    assert mine["demand"] == token
    # the model is untouched
    assert _rows(pc, by="province")["summary"]["workers"] == 210
    g = pc.get("/api/gaps", query_string={"demand": token}).get_json()
    assert [f["properties"]["uncovered_workers"] for f in g["features"]] == [3]
    d = pc.get(f"/planner/download/coverage.csv?by=county&demand={token}")
    assert d.status_code == 200 and "own-demand" in d.headers["Content-Disposition"]
    heat = pc.get(f"/api/coverage/demand?demand={token}").get_json()
    assert sum(p[2] for p in heat["points"]) == pytest.approx(10)


@pytest.mark.parametrize(
    "name, data, form, parameter, words",
    [
        ("bad.csv", b"lon,lat,weight\n100.2,26.8,1\n100.2,26.8,-4\n", {}, "file", ["row 3", "negative"]),
        ("bad.csv", b"lon,lat,name\n100.2,26.8,a\n", {}, "file", ["no weight column"]),
        ("bad.csv", b"lon,lat,w\n100.2,26.8,1\n", {"weight": "riders"}, "weight", ["riders"]),
        ("empty.csv", b"", {}, "file", ["empty"]),
        ("m.csv", b"lon,lat,weight\n11150000,3100000,1\n", {}, "file", ["wrong CRS"]),
        ("notes.docx", b"x", {}, "file", ["unsupported"]),
    ],
)
def test_upload_bad_files(pc, name, data, form, parameter, words):
    r = _upload(pc, name, data, **form)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["parameter"] == parameter
    for w in words:
        assert w in err["message"]
    assert "/tmp" not in err["message"]


def test_unknown_demand_id(pc):
    r = pc.get("/api/coverage?demand=nope")
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "demand"
    assert pc.post("/api/coverage/demand").get_json()["error"]["parameter"] == "file"


def test_cli_refuses_points_outside_yunnan(tmp_path, fixture_db_url, monkeypatch):
    from click.testing import CliRunner

    from webmap.cli_planner import coverage_cmd

    monkeypatch.setenv("DATABASE_URL", fixture_db_url)
    csv = tmp_path / "d.csv"
    csv.write_text(f"lon,lat,weight\n{LIJIANG[0]},{LIJIANG[1]},5\n106.3,29.4,2\n")  # the second is in Chongqing
    r = CliRunner().invoke(coverage_cmd, ["--demand", str(csv), "--by", "province"])
    assert r.exit_code != 0, r.output
    assert "row 3: point (106.300000, 29.400000) lies outside Yunnan" in r.output
    assert "Traceback" not in r.output


# ------------------------------------------------------------------------------ recommendations: caches and messages


def _kunming_demand():
    """120 demand points within 20 km of Kunming (the fixture stations' town), 1-49 workers each."""
    import numpy as np

    from conftest import KUNMING
    from stations.demand import demand_from_points

    rng = np.random.default_rng(5)
    pts = [GEOD.fwd(KUNMING[0], KUNMING[1], float(az), float(d))[:2]
           for az, d in zip(rng.uniform(0, 360, 120), rng.uniform(0, 20000, 120))]
    return demand_from_points([p[0] for p in pts], [p[1] for p in pts], rng.integers(1, 50, 120).astype(float),
                              county_adcode=["530102"] * 120)


@pytest.fixture()
def rc(app):
    app.config["PLANNER_DEMAND"] = _kunming_demand()
    return app.test_client()


def _kunming_row(body):
    return next(r for r in body["prefectures"] if r["adcode"] == "530100")


def test_recommend_rows_are_the_requests_own_even_when_an_id_is_reused(rc, monkeypatch):
    """The before/after rows were cached under id(rec): once a recommendation was evicted, a new one could get
    the same id and answer with another request's rows. Every id() is made equal here, as after a reuse."""
    import webmap.recommend
    import webmap.state

    for module in (webmap.recommend, webmap.state):
        monkeypatch.setattr(module, "id", lambda obj: 12345, raising=False)
    none = rc.get("/api/recommend?n=0").get_json()
    row = _kunming_row(none)
    assert row["covered_after"] == row["covered_before"]
    three = rc.get("/api/recommend?n=3").get_json()
    assert three["after"]["workers_covered"] > three["before"]["workers_covered"]
    row = _kunming_row(three)
    assert row["covered_after"] == pytest.approx(three["after"]["workers_covered"], abs=0.5)
    assert row["covered_after"] > row["covered_before"]


def test_one_memo_size_for_every_caller(rc):
    """The recommendation used to pass size=32 to the per-snapshot memo and so trimmed the planner's entries
    (cached with size=64) under it: the memo owns one size policy now."""
    from webmap import get_store

    snap = get_store(rc.application).snapshot()
    for i in range(40):
        snap.cached(("test-entry", i), lambda i=i: i)
    assert rc.get("/api/recommend?n=1").status_code == 200
    assert ("test-entry", 0) in snap._cache
    assert snap.cached(("test-entry", 0), lambda: "rebuilt") == 0


def test_recommend_time_limit_message_says_the_configured_limit(rc):
    rc.application.config["RECOMMEND_MAX_SECONDS"] = 0.0
    err = rc.get("/api/recommend?n=5").get_json()["error"]
    assert err["parameter"] == "n"
    assert "run-time limit of 0 s reached" in err["message"]
    err = rc.get("/api/recommend?target_pct=99").get_json()["error"]
    assert err["parameter"] == "target_pct" and "run-time limit of 0 s" in err["message"]


def test_siting_errors_name_their_own_parameter(rc, monkeypatch):
    from stations import siting
    from stations.errors import SitingError

    def refuse(*args, **kwargs):
        raise SitingError("radius too small for these candidates", param="radius")

    monkeypatch.setattr(siting, "recommend", refuse)
    err = rc.get("/api/recommend?n=2").get_json()["error"]
    assert err == {"parameter": "radius", "message": "radius too small for these candidates"}

    def unnamed(*args, **kwargs):
        raise SitingError("nothing to choose from")

    monkeypatch.setattr(siting, "recommend", unnamed)
    assert rc.get("/api/recommend?n=2").get_json()["error"]["parameter"] == "n"
    assert rc.get("/api/recommend?target_pct=50").get_json()["error"]["parameter"] == "target_pct"
