"""The walking network on small hand-made street maps with hand-worked answers.

Every extract here is TEST DATA written by the test itself (``stations.network.synthetic.ExtractWriter``):
a few streets placed at Kunming's 东风广场, labelled ``yizhan-synthetic (test data ...)`` in the file header
and on every way. None of it is a real street.

The river map (metres east, north of the origin)::

    north bank street  (-700,300) ---- (0,300) S ------------- (550,300) ---- (700,300)
                                          |  motorway bridge        |  footway bridge
    ~~~~~~~~~~~~~~~~~~ river ~~~~~~~~~~~~~|~~~~~~~~~~~~~~~~~~~~~~~~~|~~~~~~~~~~~~~~~~~~~~
                                          |                         |  steps (550,0)-(550,20)
    south bank street  (-700,0) ------ (0,0) P ---------------- (550,0) ------ (700,0)

The station S is 300 m from the worker P as the crow flies; on foot the only way is east to the footbridge
and back: 550 + 300 + 550 = 1,400 m, beyond 15 minutes (1,125 m) although within 1 km in a straight line.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from stations import network as N
from stations.errors import NetworkError
from stations.network.synthetic import ExtractWriter

GEOD = Geod(ellps="WGS84")


@pytest.fixture()
def var_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path / "var"))
    N.clear_cache()
    yield tmp_path / "var"
    N.clear_cache()


def river_map(motorway_bridge=True, steps=True) -> ExtractWriter:
    w = ExtractWriter(label="test data: river with one footbridge")
    south = [w.node(x, 0) for x in (-700, 0, 550, 700)]
    north = [w.node(x, 300) for x in (-700, 0, 550, 700)]
    w.way(south, highway="residential", name="南岸路（测试）")
    w.way(north, highway="residential", name="北岸路（测试）")
    mid = w.node(550, 20)
    w.way([south[2], mid], highway="steps" if steps else "construction")
    w.way([mid, north[2]], highway="footway", bridge="yes")
    if motorway_bridge:
        w.way([south[1], north[1]], highway="motorway", bridge="yes", name="快速路（测试）")
    return w


@pytest.fixture()
def river(var_dir, tmp_path):
    w = river_map()
    N.build_network(w.write(tmp_path / "river.osm.pbf"))
    return w, N.load_network()


def frame(points, ids=None, **cols) -> gpd.GeoDataFrame:
    lon = [p[0] for p in points]
    lat = [p[1] for p in points]
    df = pd.DataFrame({"lon": lon, "lat": lat, **cols})
    if ids is not None:
        df["id"] = ids
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def stations(points, status=None):
    n = len(points)
    return frame(points, ids=[f"S{i}" for i in range(n)], status=status or ["open"] * n)


def demand(points, workers=None):
    n = len(points)
    return frame(points, workers=workers or [1.0] * n, county_adcode=["530102"] * n, h3=[f"c{i}" for i in range(n)])


# ------------------------------------------------------------------------------------------ hand-worked answers


def test_river_with_one_bridge_makes_300_m_a_1400_m_walk(river):
    w, net = river
    p, s = w.lonlat(0, 0), w.lonlat(0, 300)
    r = net.route(*p, *s)
    assert r.straight_m == pytest.approx(300.0, abs=0.05)
    assert r.length_m == pytest.approx(1400.0, abs=0.5)
    assert r.minutes == pytest.approx(1400 / 75, abs=0.01)
    # the route goes over the footbridge at 550 m east, not over the motorway bridge at 0 m
    line = r.linestring()
    bridge = shapely.points(*w.lonlat(550, 150))
    assert shapely.distance(line, bridge) < 1e-6
    assert r.to_geojson()["geometry"]["type"] == "LineString"
    assert r.to_geojson()["properties"]["length_m"] == pytest.approx(1400.0, abs=0.5)
    assert net.distances_from_point(*p, [s[0]], [s[1]], 3000)[0] == pytest.approx(1400.0, abs=0.5)


def test_beyond_fifteen_minutes_uncovered_although_within_one_km(river):
    w, net = river
    st = stations([w.lonlat(0, 300)])
    d = demand([w.lonlat(0, 0), w.lonlat(-300, 300), w.lonlat(400, 0)])
    res = N.network_coverage(net, st, d)  # default: 15 minutes at 4.5 km/h = 1,125 m
    out = res.demand
    assert res.radius == pytest.approx(1125.0)
    # P: 300 m straight, 1,400 m on foot
    assert out["straight_m"].iloc[0] == pytest.approx(300.0, abs=0.05)
    assert bool(out["covered_straight"].iloc[0]) is True
    assert bool(out["covered"].iloc[0]) is False
    assert np.isinf(out["distance_m"].iloc[0])
    # 300 m along the north bank: covered both ways, same distance
    assert bool(out["covered"].iloc[1]) and out["distance_m"].iloc[1] == pytest.approx(300.0, abs=0.5)
    assert out["nearest_station"].iloc[1] == "S0"
    # (400, 0): 150 + 300 + 550 = 1,000 m on foot, 500 m straight
    assert out["distance_m"].iloc[2] == pytest.approx(1000.0, abs=0.5)
    assert res.covered_pct == pytest.approx(200 / 3)
    assert res.covered_pct_straight == pytest.approx(100.0)
    # a longer limit reaches P
    far = N.network_coverage(net, st, d, distance=1500)
    assert far.demand["distance_m"].iloc[0] == pytest.approx(1400.0, abs=0.5)


def test_steps_and_footways_count_motorways_do_not(var_dir, tmp_path):
    # without the steps (under construction instead) the footbridge is cut off from the south bank, and the
    # motorway bridge must not stand in for it: no walk at all
    w = river_map(steps=False)
    N.build_network(w.write(tmp_path / "nosteps.osm.pbf"))
    net = N.load_network()
    assert net.route(*w.lonlat(0, 0), *w.lonlat(0, 300)) is None
    # the motorway's nodes are not in the graph at all, and the steps were counted in the first map
    m = N.read_manifest()
    assert m["edge_classes"]["steps"] == 0
    w2 = river_map()
    N.build_network(w2.write(tmp_path / "steps.osm.pbf"))
    assert N.read_manifest()["edge_classes"]["steps"] == 1
    assert N.load_network().route(*w2.lonlat(0, 0), *w2.lonlat(0, 300)).length_m == pytest.approx(1400, abs=0.5)


@pytest.mark.parametrize("tags, kept", [
    ({"highway": "footway"}, True),
    ({"highway": "steps"}, True),
    ({"highway": "residential", "sidewalk": "no"}, True),
    ({"highway": "motorway"}, False),
    ({"highway": "motorway", "foot": "yes"}, False),
    ({"highway": "trunk", "motorroad": "yes"}, False),
    ({"highway": "trunk", "motorroad": "yes", "foot": "yes"}, True),
    ({"highway": "residential", "foot": "no"}, False),
    ({"highway": "service", "access": "private"}, False),
    ({"highway": "service", "access": "private", "foot": "yes"}, True),
    ({"highway": "service", "access": "delivery"}, True),
    ({"highway": "pedestrian", "area": "yes"}, False),
    ({"highway": "cycleway"}, False),
    ({"highway": "cycleway", "foot": "designated"}, True),
    ({"highway": "cycleway", "sidewalk": "right"}, True),
    ({"highway": "primary", "foot": "use_sidepath"}, False),
    ({"highway": "construction"}, False),
    ({"route": "ferry"}, False),
    ({"building": "yes"}, False),
])
def test_pedestrian_filter_table(tags, kept):
    from stations.network.filter import walkable

    assert walkable(tags) is kept


def test_private_and_foot_no_ways_are_not_shortcuts(var_dir, tmp_path):
    # a private lane and a foot=no road would each shorten the walk; neither is used
    w = river_map(motorway_bridge=False)
    a, b = w.node(-100, 0), w.node(-100, 300)
    c, d = w.node(100, 0), w.node(100, 300)
    w.way([a, b], highway="service", access="private", bridge="yes")
    w.way([c, d], highway="primary", foot="no", bridge="yes")
    w.way([w.node(-50, 600), w.node(50, 600), w.node(50, 700), w.node(-50, 600)], highway="pedestrian", area="yes")
    N.build_network(w.write(tmp_path / "private.osm"))  # OSM XML this time
    net = N.load_network()
    assert N.read_manifest()["source_kind"] == "xml"
    # the private / foot=no bridges share no node with the banks, so they are separate fragments anyway:
    # the river map's walk stays 1,400 m
    assert net.route(*w.lonlat(0, 0), *w.lonlat(0, 300)).length_m == pytest.approx(1400, abs=0.5)
    assert N.read_manifest()["walkable_ways"] == 4


def test_snapping_distance_is_counted_and_unreachable_points_are_reported(river):
    w, net = river
    st = stations([w.lonlat(-200, 300)])
    # 40 m north of the north bank street, 200 m from the station along it: 40 + 200 = 240 m
    # 900 m south of the south bank: beyond the 500 m snapping limit, it cannot reach the network
    d = demand([w.lonlat(0, 340), w.lonlat(0, -900)], workers=[3.0, 5.0])
    res = N.network_coverage(net, st, d)
    out = res.demand
    assert out["snap_m"].iloc[0] == pytest.approx(40.0, abs=0.05)
    assert out["distance_m"].iloc[0] == pytest.approx(240.0, abs=0.5)
    assert bool(out["on_network"].iloc[1]) is False and bool(out["covered"].iloc[1]) is False
    assert len(res.unreachable) == 1
    assert res.workers_unreachable == 5.0
    assert res.workers == 8.0 and res.workers_covered == 3.0


def test_snaps_to_the_middle_of_a_long_segment_not_to_a_far_node(river):
    w, net = river
    # (275, 10): 10 m above the south bank street whose nodes are 275 m away on either side
    sn = net.snap(*map(np.array, zip(w.lonlat(275, 10))))
    assert sn.dist_m[0] == pytest.approx(10.0, abs=0.05)
    assert sn.off_u[0] + sn.off_v[0] == pytest.approx(550.0, abs=0.05)


def test_a_station_on_the_same_street_is_walked_to_directly(river):
    w, net = river
    st = stations([w.lonlat(100, 0)])
    d = demand([w.lonlat(300, 0)])
    assert N.network_coverage(net, st, d).demand["distance_m"].iloc[0] == pytest.approx(200.0, abs=0.5)
    r = net.route(*w.lonlat(300, 0), *w.lonlat(100, 0))
    assert r.length_m == pytest.approx(200.0, abs=0.5)


def test_closed_stations_and_stations_closed_at_the_hour_do_not_count(river):
    w, net = river
    st = stations([w.lonlat(0, 300), w.lonlat(0, 0)], status=["open", "closed"])
    d = demand([w.lonlat(0, 0)])
    res = N.network_coverage(net, st, d)
    assert list(res.stations["id"]) == ["S0"]
    assert not res.demand["covered"].iloc[0]


def test_coverage_matrix_matches_pairwise_walks(river):
    w, net = river
    sites = [w.lonlat(0, 300), w.lonlat(600, 0), w.lonlat(-650, 0)]
    cells = [w.lonlat(0, 0), w.lonlat(-300, 300), w.lonlat(400, 0), w.lonlat(700, 300), w.lonlat(0, -900)]
    A = N.network_coverage_matrix(net, [s[0] for s in sites], [s[1] for s in sites],
                                  [c[0] for c in cells], [c[1] for c in cells], 1125)
    assert A.shape == (3, 5)
    for i, s in enumerate(sites):
        for j, c in enumerate(cells):
            try:
                r = net.route(*s, *c)
            except NetworkError:
                r = None
            expect = r is not None and r.length_m <= 1125
            assert bool(A[i, j]) == expect, (i, j, None if r is None else r.length_m)
    # (0,300) -> (0,0) is 1,400 m: not covered although 300 m apart
    assert not A[0, 0]
    # per-point distances: the same walk is covered at 1,500 m for that one cell only
    r = np.array([1500, 1125, 1125, 1125, 1125])
    B = N.network_coverage_matrix(net, [sites[0][0]], [sites[0][1]], [c[0] for c in cells], [c[1] for c in cells], r)
    assert B[0, 0]


def test_route_end_too_far_from_streets_is_an_error(river):
    w, net = river
    with pytest.raises(NetworkError) as exc:
        net.route(*w.lonlat(0, 0), *w.lonlat(0, -1200))
    assert exc.value.param == "to"


# ------------------------------------------------------------------------------------------ isochrones


def test_isochrones_are_nested_and_follow_the_streets(river, tmp_path):
    w, net = river
    s = w.lonlat(0, 300)
    iso = N.isochrones(net, [s[0]], [s[1]], minutes="5,10,15", label="S0")
    assert list(iso["minutes"]) == [5.0, 10.0, 15.0]
    assert list(iso["distance_m"]) == [375.0, 750.0, 1125.0]
    geoms = iso.geometry.to_numpy()
    metric = iso.geometry.to_crs(N.coverage.C.metric_crs()).to_numpy()
    for inner, outer in ((0, 1), (1, 2)):  # nested, up to floating-point slivers on shared boundaries
        assert shapely.area(shapely.difference(metric[inner], metric[outer])) < 1.0  # m²
    assert (np.diff(iso["area_km2"]) > 0).all()
    # 5 minutes = 375 m along the north bank street: (350, 300) is in, (450, 300) and the south bank are out
    inside = lambda e, n, k: bool(shapely.intersects(geoms[k], shapely.points(*w.lonlat(e, n))))  # noqa: E731
    assert inside(350, 300, 0) and not inside(450, 300, 0)
    # across the river 300 m straight, but 1,400 m on foot: outside every band
    assert not inside(0, 0, 2)
    # the footbridge (550 + 300 = 850 m away) is inside 15 minutes, the south bank at (550, 0) too
    assert inside(550, 150, 2) and inside(550, 0, 2) and not inside(550, 0, 1)
    # 15 minutes: a street strip, not a circle: far less than the 1,125 m disc
    assert iso["area_km2"].iloc[2] < 0.5 * np.pi * 1.125 ** 2
    assert iso["attribution"].iloc[0].startswith("SYNTHETIC street network")
    assert "SYNTHETIC" in iso["network"].iloc[0]
    for suffix in ("geojson", "gpkg"):
        path = N.export_isochrones(iso, tmp_path / f"iso.{suffix}")
        back = gpd.read_file(path)
        assert len(back) == 3 and list(back["minutes"]) == [5.0, 10.0, 15.0]
    with pytest.raises(NetworkError):
        N.export_isochrones(iso, tmp_path / "iso.csv")


@pytest.mark.parametrize("text", ["", "abc", "0", "5,90", "1,2,3,4,5,6,7"])
def test_bad_isochrone_minutes(text):
    with pytest.raises(NetworkError) as exc:
        N.parse_minutes(text)
    assert exc.value.param == "minutes"


def test_network_coverage_layer_is_the_walkable_area(river):
    w, net = river
    st = stations([w.lonlat(0, 300)])
    res = N.network_coverage(net, st, demand([w.lonlat(0, 0)]))
    layer = res.layer_metric()
    iso = N.isochrones(net, *map(np.array, zip(w.lonlat(0, 300))), minutes=[15])
    ea = gpd.GeoSeries([layer], crs=N.coverage.C.metric_crs()).to_crs(N.coverage.C.equal_area_crs()).area.iloc[0] / 1e6
    assert ea == pytest.approx(iso["area_km2"].iloc[0], rel=1e-3)


# ------------------------------------------------------------------------------------------ tables


def test_side_by_side_table_shows_how_much_straight_lines_overstate(river):
    w, net = river
    st = stations([w.lonlat(0, 300)])
    d = demand([w.lonlat(0, 0), w.lonlat(-300, 300)], workers=[10.0, 30.0])
    res = N.network_coverage(net, st, d)
    t = N.side_by_side_table(res, "county")
    row = t.set_index("adcode").loc["530102"]
    assert row["workers"] == 40.0
    assert row["covered_pct_straight"] == pytest.approx(100.0)
    assert row["covered_pct_network"] == pytest.approx(75.0)
    assert row["overstatement_pp"] == pytest.approx(25.0)
    assert row["median_network_m"] == pytest.approx(300.0, abs=0.5)
    assert row["stations"] == 1
    prov = N.side_by_side_table(res, "province")
    assert len(prov) == 1 and prov["workers"].iloc[0] == 40.0
    assert set(N.side_by_side_table(res, "prefecture")["adcode"]) >= {"530100"}


def test_network_coverage_without_a_network_says_so():
    with pytest.raises(NetworkError, match="no street network"):
        N.network_coverage(None, stations([(102.7, 25.0)]), demand([(102.7, 25.0)]))


def test_distance_limit():
    assert N.distance_limit() == 1125.0
    assert N.distance_limit(minutes=10) == 750.0
    assert N.distance_limit(distance_m=800) == 800.0
    for kw in ({"minutes": -1}, {"distance_m": 10}, {"distance_m": 1, "minutes": 1}, {"minutes": 1000}):
        with pytest.raises(NetworkError):
            N.distance_limit(**kw)


def test_manifest_is_readable_json_beside_the_graph(river, var_dir):
    m = json.loads((var_dir / "network" / "manifest.json").read_text(encoding="utf-8"))
    assert m == N.read_manifest()
    assert m["synthetic"] is True and m["generator"].startswith("yizhan-synthetic")
    assert "no OpenStreetMap data" in m["attribution"] and "合成路网" in m["attribution_zh"]
    from stations.network.build import attribution

    assert attribution(False) == N.ATTRIBUTION and "© OpenStreetMap contributors" in N.ATTRIBUTION
    assert "ODbL" in N.ATTRIBUTION and "OpenStreetMap 贡献者" in attribution(False, "zh")
    assert m["nodes"] == 9 and m["reader"].startswith("pyosmium")


# ------------------------------------------------------------------------------------------ finder


def test_finder_ranks_candidates_by_walking(river):
    w, net = river
    user = w.lonlat(0, 0)
    # straight-line order: across the river (300 m), then along the south bank (450 m)
    cands = [w.lonlat(0, 300), w.lonlat(-450, 0)]
    straight = [GEOD.inv(*user, *c)[2] for c in cands]
    rk = N.rank_by_walk(net, *user, [c[0] for c in cands], [c[1] for c in cands], straight, k=2)
    assert list(rk.order) == [1, 0]
    assert rk.walk_m[1] == pytest.approx(450.0, abs=0.5) and rk.walk_m[0] == pytest.approx(1400.0, abs=0.5)
    assert rk.minutes[1] == pytest.approx(6.0, abs=0.01)
    # the second walk (1,400 m) is longer than the farthest candidate's straight line (450 m): a station
    # outside the candidates could be nearer on foot, so the ranking does not claim to be exact
    assert rk.exact is False
    # the nearest walk alone (450 m) is shorter than the farthest candidate's straight line (700 m):
    # nothing outside the candidates can beat it
    far = w.lonlat(-700, 0)
    one = N.rank_by_walk(net, *user, [cands[1][0], far[0]], [cands[1][1], far[1]], [straight[1], 700.0], k=1)
    assert one.exact is True and one.order[0] == 0


def test_network_result_fits_the_straight_line_tables(river):
    """The later integration is a switch: stations.coverage.coverage_table takes the network result as it is,
    and its covered area is the walkable area (not the 1,125 m disc)."""
    from stations.coverage import coverage_table

    w, net = river
    st = stations([w.lonlat(0, 300)])
    d = demand([w.lonlat(0, 0), w.lonlat(-300, 300)], workers=[10.0, 30.0])
    t = coverage_table(N.network_coverage(net, st, d), "county").set_index("adcode").loc["530102"]
    assert t["workers"] == 40.0 and t["workers_covered"] == 30.0 and t["covered_pct"] == pytest.approx(75.0)
    disc = np.pi * 1.125 ** 2
    assert 0 < t["area_covered_km2"] < 0.5 * disc


@pytest.mark.parametrize("seg", [
    (39500.0, 5003.0, 40500.0, 5003.0),  # east-west, across a raster tile border (40 km)
    (19000.0, 19000.0, 21000.0, 21003.0),  # diagonal, across a tile corner
    (-503.0, 2.0, -497.0, 1800.0),  # north-south, across the projection's origin column
])
def test_dissolved_street_area_matches_the_exact_buffer(seg):
    """The raster dissolve behind isochrones: within a cell's half-diagonal of the exact 50 m buffer of a
    street, area within 1 %, one polygon even where raster tiles meet."""
    from stations.network.isochrones import RASTER_CELL_M, _polygon

    line = shapely.linestrings(np.array(seg).reshape(2, 2))
    exact = shapely.buffer(line, 50.0, quad_segs=64)
    got = _polygon(np.array([seg]), 50.0)
    assert got.geom_type == "Polygon"
    assert shapely.hausdorff_distance(got, exact) <= RASTER_CELL_M * np.sqrt(0.5) + 1e-6
    assert got.area == pytest.approx(exact.area, rel=0.01)
