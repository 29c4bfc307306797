"""The street network in the web app (issue 13 §2-§3): /api/network, isochrones, routes, distance=network on the
planner's endpoints and the finder's walking ranking, with and without a network.

The network is TEST DATA written by the test (``ExtractWriter``, labelled in its header and on every way): the
river map of ``tests/test_network.py`` placed at Kunming's 东风广场, its south bank street extended west::

    north bank  (-700,300) ---------- (0,300) S ---------------- (550,300) --- (700,300)
                                        |  motorway bridge          |  footway bridge
    ~~~~~~~~~~~~~~~~~~~~~ river ~~~~~~~~|~~~~~~~~~~~~~~~~~~~~~~~~~~~|~~~~~~~~~~~~~~~~~~~~
                                        |                           |  steps
    south bank  (-1300,0) B ----- (0,0) P ---------------------- (550,0) ---------- (700,0)

Stations (a registry of the test's own): S (the fixture's hostile-name station, moved) and B, both open 24 h,
plus the three fixture stations far away. A worker at P: S is 300 m in a straight line and 1,400 m on foot
(over the footbridge); B is 1,300 m either way along the street, so the walk ranks B first and S second.
Demand: P 10 workers, (-300, 300) 20 workers, (400, 0) 30 workers. At 15 minutes' walk (1,125 m) the straight
line covers all 60 workers and the network 50 (P is 1,300 and 1,400 m from the stations on foot): 100 % vs 83.3 %.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely.geometry
from pyproj import Geod

from conftest import HOSTILE_ID, fixture_stations
from stations import network as N
from stations.network.synthetic import ExtractWriter

GEOD = Geod(ellps="WGS84")
B_ID = "YN-T-000"


def river_town() -> ExtractWriter:
    w = ExtractWriter(label="test data: river with one footbridge (web tests)")
    south = [w.node(x, 0) for x in (-1300, -700, 0, 550, 700)]
    north = [w.node(x, 300) for x in (-700, 0, 550, 700)]
    w.way(south, highway="residential", name="南岸路（测试）")
    w.way(north, highway="residential", name="北岸路（测试）")
    mid = w.node(550, 20)
    w.way([south[3], mid], highway="steps")
    w.way([mid, north[2]], highway="footway", bridge="yes")
    w.way([south[2], north[1]], highway="motorway", bridge="yes", name="快速路（测试）")
    return w


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """(writer, registry URL, var dir with the built network, empty var dir)."""
    from stations.registry import Registry

    tmp = tmp_path_factory.mktemp("netweb")
    w = river_town()
    df = fixture_stations()
    df = df[df["id"].isin([HOSTILE_ID, B_ID, "YN-T-LJ", "YN-T-JH", "YN-T-REAL"])].copy()
    for sid, (x, y) in ((HOSTILE_ID, (0, 300)), (B_ID, (-1300, 0))):
        lon, lat = w.lonlat(x, y)
        df.loc[df["id"] == sid, ["lon", "lat", "opening_hours", "status"]] = [round(lon, 7), round(lat, 7), "24小时", "open"]
    from conftest import _hours_json

    df["hours_json"] = [_hours_json(t) for t in df["opening_hours"]]
    url = f"sqlite:///{tmp / 'town.sqlite'}"
    Registry(url).replace_all(df)
    var = tmp / "var"
    N.build_network(w.write(tmp / "town.osm.pbf"), out=var / "network" / "network.npz")
    empty = tmp / "empty-var"
    empty.mkdir()
    return w, url, var, empty


def _demand(w):
    from stations.demand import demand_from_points

    pts = [w.lonlat(0, 0), w.lonlat(-300, 300), w.lonlat(400, 0)]
    return demand_from_points([p[0] for p in pts], [p[1] for p in pts], [10, 20, 30])


def _app(url, var, monkeypatch, w):
    from webmap import create_app

    monkeypatch.setenv("YIZHAN_VAR_DIR", str(var))
    N.clear_cache()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "TILES": "none", "JOBS": "inline", "RATE_LIMITS": False,
                      "PLANNER_DEMAND": _demand(w)})
    return app.test_client()


@pytest.fixture()
def net_client(town, monkeypatch):
    w, url, var, _ = town
    yield _app(url, var, monkeypatch, w)
    N.clear_cache()


@pytest.fixture()
def bare_client(town, monkeypatch):
    w, url, _, empty = town
    yield _app(url, empty, monkeypatch, w)
    N.clear_cache()


# ------------------------------------------------------------------------------------------ without a network


def test_without_a_network_everything_says_straight_line(bare_client):
    c = bare_client
    body = c.get("/api/network?lang=zh").get_json()
    assert body["loaded"] is False and body["distance_kind"] == "straight"
    assert body["status"] == "直线距离：未加载街道网络"
    assert c.get("/api/network?lang=en").get_json()["status"] == "straight-line distances: no street network loaded"
    for path in ("/api/route?from=102.7,25.04&to=" + HOSTILE_ID, "/api/isochrones?id=" + HOSTILE_ID,
                 "/api/isochrones.gpkg?id=" + HOSTILE_ID, "/api/coverage?distance=network", "/api/gaps?distance=network",
                 "/api/recommend?distance=network&n=1"):
        r = c.get(path + "&lang=zh")
        assert r.status_code == 409, (path, r.data)
        err = r.get_json()["error"]
        assert "未加载街道网络" in err["message"] and "yizhan network build" in err["message"]
    r = c.post("/api/whatif?lang=en", json={"add": [[102.71, 25.04]], "distance": "network"})
    assert r.status_code == 409 and "no street network is loaded" in r.get_json()["error"]["message"]
    # straight lines work as before, and say so
    cov = c.get("/api/coverage").get_json()
    assert cov["distance"] == "straight" and cov["side_by_side"] is None and cov["radius"] == 1000
    w = c.get("/api/nearest", query_string={"lat": 25.0406, "lon": 102.7129, "k": 2}).get_json()
    assert w["distance_kind"] == "straight" and "straight line" in w["distance"]
    assert all("walk_m" not in f["properties"] for f in w["features"])
    assert c.get("/api/coverage?distance=walk").status_code == 400


# ------------------------------------------------------------------------------------------ with a network


def test_status_names_the_network_and_its_attribution(net_client):
    body = net_client.get("/api/network?lang=en").get_json()
    assert body["loaded"] is True and body["distance_kind"] == "network"
    m = body["manifest"]
    assert m["source"] == "town.osm.pbf" and len(m["sha256"]) == 64 and m["nodes"] > 0
    assert m["synthetic"] is True and "SYNTHETIC" in body["status"]
    assert "no OpenStreetMap data" in m["attribution"]  # test data does not claim to be OpenStreetMap's
    assert "© OpenStreetMap contributors" in N.ATTRIBUTION


def test_route_over_the_only_bridge(net_client, town):
    w = town[0]
    p = w.lonlat(0, 0)
    r = net_client.get(f"/api/route?from={p[0]},{p[1]}&to={HOSTILE_ID}")
    assert r.status_code == 200, r.data
    f = r.get_json()
    assert f["geometry"]["type"] == "LineString"
    props = f["properties"]
    assert props["straight_m"] == pytest.approx(300, abs=1)
    assert props["length_m"] == pytest.approx(1400, abs=1)  # 550 east, 300 over the footbridge, 550 back west
    assert props["minutes"] == pytest.approx(1400 / 75, abs=0.1) and props["distance_kind"] == "network"
    # the line passes the footbridge at 550 m east, not the motorway bridge
    xs = [GEOD.inv(p[0], p[1], x, y)[2] for x, y in f["geometry"]["coordinates"]]
    assert max(xs) == pytest.approx(GEOD.inv(p[0], p[1], *w.lonlat(550, 300))[2], abs=1)
    bad = net_client.get(f"/api/route?from={p[0]},{p[1]}&to=NOPE")
    assert bad.status_code == 404 and bad.get_json()["error"]["parameter"] == "to"
    far = net_client.get(f"/api/route?from=100.2,26.8&to={HOSTILE_ID}")
    assert far.status_code == 400 and far.get_json()["error"]["parameter"] == "from"
    assert net_client.get(f"/api/route?from=abc&to={HOSTILE_ID}").status_code == 400


def test_isochrones_of_a_station_and_of_an_hour_and_downloads(net_client, tmp_path):
    r = net_client.get(f"/api/isochrones?id={HOSTILE_ID}&minutes=5,10,15")
    assert r.status_code == 200, r.data
    fc = r.get_json()
    assert [f["properties"]["minutes"] for f in fc["features"]] == [5, 10, 15]
    areas = [f["properties"]["area_km2"] for f in fc["features"]]
    assert areas[0] < areas[1] < areas[2]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in fc["features"])
    assert fc["attribution"] and all(f["properties"]["attribution"] for f in fc["features"])
    allh = net_client.get("/api/isochrones?hour=22&minutes=15").get_json()
    assert allh["features"][0]["properties"]["stations"] == 2  # S and B reach the street; the far ones do not
    for fmt in ("geojson", "gpkg"):
        d = net_client.get(f"/api/isochrones.{fmt}?id={HOSTILE_ID}")
        assert d.status_code == 200 and f'isochrones-{HOSTILE_ID}.{fmt}' in d.headers["Content-Disposition"]
        path = tmp_path / f"iso.{fmt}"
        path.write_bytes(d.data)
        g = gpd.read_file(path)
        assert len(g) == 3 and "attribution" in g.columns
    assert net_client.get("/api/isochrones?minutes=5").status_code == 400  # neither id nor hour
    assert net_client.get("/api/isochrones?id=NOPE").status_code == 404
    assert net_client.get(f"/api/isochrones?id={HOSTILE_ID}&minutes=90").status_code == 400


def test_isochrones_of_an_hour_are_budgeted(net_client, monkeypatch):
    from stations import limits

    small = limits.Limit("isochrone_nodes", 1, 3, "nodes", None, "test")
    monkeypatch.setitem(limits.LIMITS, "isochrone_nodes", small)
    r = net_client.get("/api/isochrones?hour=22")
    assert r.status_code == 413 and "isochrone_nodes" in r.get_json()["error"]["message"]


def test_coverage_on_the_network_beside_straight_lines(net_client):
    c = net_client
    st = c.get("/api/coverage?by=county").get_json()
    net = c.get("/api/coverage?by=county&distance=network").get_json()
    assert st["distance"] == "straight" and net["distance"] == "network"
    assert net["radius"] == pytest.approx(1125)  # 15 minutes at 4.5 km/h unless a radius is given
    s_sum, n_sum = st["summary"], net["summary"]
    assert n_sum["workers_covered"] == pytest.approx(50) and n_sum["covered_pct"] == pytest.approx(83.3, abs=0.1)
    assert n_sum["covered_pct"] <= s_sum["covered_pct"]
    assert sum(r["workers"] for r in net["side_by_side"]) == pytest.approx(60)  # two districts of 昆明
    prov = c.get("/api/coverage?by=province&distance=network").get_json()["side_by_side"]
    assert len(prov) == 1
    row = prov[0]
    assert row["covered_pct_straight"] == pytest.approx(100) and row["covered_pct_network"] == pytest.approx(83.33, abs=0.01)
    assert row["overstatement_pp"] == pytest.approx(16.67, abs=0.01)
    # the straight-line answer carries the side-by-side table too when a network exists
    assert st["side_by_side"] and st["side_by_side"][0].keys() == net["side_by_side"][0].keys()
    # every county: network coverage never above the straight line at the same distance
    for r in net["side_by_side"]:
        if r["workers"]:
            assert r["covered_pct_network"] <= r["covered_pct_straight"] + 1e-9
    gaps = c.get("/api/gaps?distance=network").get_json()
    assert gaps["distance"] == "network"
    assert sum(f["properties"]["uncovered_workers"] for f in gaps["features"]) == pytest.approx(10)
    assert c.get("/api/gaps").get_json()["features"] == []
    d = c.get("/planner/download/coverage.csv?distance=network&by=county")
    assert d.status_code == 200 and "-walk.csv" in d.headers["Content-Disposition"]
    layer = c.get("/api/coverage/layer?distance=network")  # the area within walking reach
    assert layer.status_code == 200
    walk_area = shapely.geometry.shape(layer.get_json()["features"][0]["geometry"])
    straight_area = shapely.geometry.shape(c.get("/api/coverage/layer?radius=1125").get_json()["features"][0]["geometry"])
    assert 0 < walk_area.area < straight_area.area
    assert c.get("/api/access?distance=network").status_code == 200


def test_recommend_and_whatif_on_foot(net_client, town):
    w = town[0]
    r = net_client.get("/api/recommend?distance=network&n=1")
    assert r.status_code == 200, r.data
    body = r.get_json()
    assert body["distance"] == "network" and len(body["features"]) == 1
    assert body["before"]["covered_pct"] == pytest.approx(83.33, abs=0.01)
    assert body["after"]["covered_pct"] == pytest.approx(100)
    p = w.lonlat(0, 0)
    wi = net_client.post("/api/whatif", json={"add": [[p[0], p[1]]], "distance": "network"}).get_json()
    assert wi["before"]["covered_pct"] == pytest.approx(83.33, abs=0.01)
    assert wi["after"]["covered_pct"] == pytest.approx(100)
    straight = net_client.post("/api/whatif", json={"add": [[p[0], p[1]]]}).get_json()
    assert straight["before"]["covered_pct"] == pytest.approx(100)


def test_nearest_ranks_by_walking(net_client, town):
    w = town[0]
    p = w.lonlat(0, 0)
    body = net_client.get("/api/nearest", query_string={"lon": p[0], "lat": p[1], "k": 2}).get_json()
    assert body["distance_kind"] == "network" and body["ranking_exact"] is True
    ids = [f["properties"]["id"] for f in body["features"]]
    assert ids == [B_ID, HOSTILE_ID]  # the straight line would say S (300 m) first
    b, s = (f["properties"] for f in body["features"])
    assert b["walk_m"] == pytest.approx(1300, abs=1) and b["distance_kind"] == "network"
    assert s["walk_m"] == pytest.approx(1400, abs=1)
    assert s["distance_m"] == pytest.approx(300, abs=1) and s["walk_min"] == 19  # 1,400 m at 75 m/min, rounded up
    assert body["attribution"]
    json.dumps(body)  # plain JSON



def test_nearest_on_foot_keeps_the_filters_and_still_gives_k(net_client, town):
    """open_24h with a network: the walking candidates are drawn from the stations open 24 hours, so the answer has
    k of them (not the few 24-hour ones among the nearest candidates of all stations)."""
    p = town[0].lonlat(0, 0)
    ids24 = set(net_client.get("/api/stations", query_string={"fields": "ids", "open_24h": 1, "limit": 10000})
                .get_json()["ids"])
    assert len(ids24) >= 3  # the test registry has stations open 24 hours
    for k in range(1, len(ids24) + 1):  # the 3k nearest candidates of all stations hold fewer than k of them
        body = net_client.get("/api/nearest", query_string={"lon": p[0], "lat": p[1], "k": k, "open_24h": 1}).get_json()
        assert body["distance_kind"] == "network"
        got = [f["properties"]["id"] for f in body["features"]]
        assert len(got) == k and set(got) <= ids24 and body["numberReturned"] == k, (k, got)

# ------------------------------------------------------------------------------------------ command line and print


@pytest.fixture()
def cli_env(town, monkeypatch, tmp_path):
    w, url, var, empty = town
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(var))
    N.clear_cache()
    demand = tmp_path / "demand.csv"
    pts = [w.lonlat(0, 0), w.lonlat(-300, 300), w.lonlat(400, 0)]
    demand.write_text("lon,lat,workers\n" + "".join(f"{x:.7f},{y:.7f},{n}\n" for (x, y), n in zip(pts, (10, 20, 30))))
    yield w, demand, var, empty
    N.clear_cache()


def _cli(*args):
    from click.testing import CliRunner

    from webmap.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_coverage_gaps_recommend_on_foot(cli_env, monkeypatch, tmp_path):
    w, demand, var, empty = cli_env
    r = _cli("coverage", "--demand", str(demand), "--by", "province", "--distance", "network")
    assert r.exit_code == 0, r.output
    assert "50 of 60 workers covered (83.3%)" in r.output and "1125 m on foot (15 minutes" in r.output
    assert "straight line vs on foot" in r.output and "16.7" in r.output  # the side-by-side table
    r = _cli("coverage", "--demand", str(demand), "--by", "province")
    assert r.exit_code == 0 and "60 of 60 workers covered (100.0%)" in r.output and "straight line vs on foot" in r.output
    r = _cli("gaps", "--demand", str(demand), "--distance", "network")
    assert r.exit_code == 0 and "10 uncovered workers" in r.output
    out = tmp_path / "sites.csv"
    r = _cli("recommend", "-n", "1", "--demand", str(demand), "--distance", "network", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "(83.33%)" in r.output and "(100.00%) with 1 new sites" in r.output
    # no network: a clear error, not straight lines
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(empty))
    N.clear_cache()
    from click.testing import CliRunner

    from webmap.cli import main

    for args in (["coverage", "--distance", "network"], ["gaps", "--distance", "network"],
                 ["recommend", "-n", "1", "--distance", "network", "--out", str(out)],
                 ["print", "--distance", "network", "--out", str(tmp_path / "x.png")]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        assert "未加载街道网络" in r.output and "yizhan network build" in r.output
    r = _cli("coverage", "--demand", str(demand), "--by", "province")
    assert r.exit_code == 0 and "straight-line distances: no street network loaded" in r.output


@pytest.mark.filterwarnings("ignore:Glyph")
def test_print_sheet_on_foot(cli_env, town, monkeypatch):
    from stations import cartography, sheet_layers

    net = N.load_network()
    ctx = sheet_layers.context(network=net)
    an = ctx.analysis(1125.0, ("outlines", "stations", "coverage"))
    assert an.distance_label == "15分钟步行（街道网络）"
    assert any("合成路网" in n or "OpenStreetMap" in n for n in an.notes)  # the network's attribution on the sheet
    req = cartography.validate("530102", "A4", "portrait", "outlines,stations,coverage", "1125", "status")
    fig, info = cartography.build_sheet(req, ctx)
    texts = [t.get_text() for t in fig.texts]
    assert any(t.startswith("15分钟步行（街道网络）") for t in texts)
    import matplotlib.pyplot as plt

    plt.close(fig)
    # the web sheet: distance=network draws on foot and names the file so; without a network a 409
    w, url, var, empty = town
    c = _app(url, var, monkeypatch, w)
    r = c.get("/print/sheet.png?area=530102&distance=network&dpi=50&download=1")
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "image/png" and "-walk.png" in r.headers["Content-Disposition"]
    c = _app(url, empty, monkeypatch, w)
    r = c.get("/print/sheet.png?area=530102&distance=network&lang=zh")
    assert r.status_code == 409 and "未加载街道网络" in r.get_json()["error"]["message"]
