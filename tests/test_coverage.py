"""stations.coverage on hand-worked fixtures, metric radii at 22 N and 28 N, and properties."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from stations import coverage as C

GEOD = Geod(ellps="WGS84")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _hours(text: str) -> str:
    hours = pytest.importorskip("stations.hours")
    return hours.parse_hours(text).to_json()


def _box(x0, y0, x1, y1):
    return shapely.box(x0, y0, x1, y1)


@pytest.fixture(scope="module")
def geography() -> C.Geography:
    """Two prefectures: 530100 with counties 530102 (west) and 530103 (east) around 25 N;
    530300 with 530302 around 28 N and 530303 around 22 N (disjoint boxes are fine for the fixture)."""
    counties = gpd.GeoDataFrame(
        {
            "adcode": ["530102", "530103", "530302", "530303"],
            "name_zh": ["西县", "东县", "北县", "南县"],
            "name_en": ["West", "East", "North", "South"],
            "prefecture_adcode": ["530100", "530100", "530300", "530300"],
            "population_2020": [100_000, 300_000, 200_000, 50_000],
        },
        geometry=[
            _box(101.9, 24.9, 102.05, 25.1),
            _box(102.05, 24.9, 102.3, 25.1),
            _box(101.9, 27.8, 102.3, 28.2),
            _box(101.9, 21.8, 102.3, 22.2),
        ],
        crs="EPSG:4326",
    )
    prefectures = gpd.GeoDataFrame(
        {
            "adcode": ["530100", "530300"],
            "name_zh": ["甲市", "乙州"],
            "name_en": ["Jia", "Yi"],
            "population_2020": [400_000, 250_000],
            "urban_pct": [50.0, 40.0],
        },
        geometry=[
            shapely.union_all(counties.geometry[:2].to_numpy()),
            shapely.union_all(counties.geometry[2:].to_numpy()),
        ],
        crs="EPSG:4326",
    )
    province = gpd.GeoDataFrame(
        {"adcode": ["530000"], "name_zh": ["云南省"], "name_en": ["Yunnan"]},
        geometry=[shapely.union_all(counties.geometry.to_numpy())],
        crs="EPSG:4326",
    )
    return C.Geography(province, prefectures, counties)


def _station(id_, lon, lat, status="open", hours="24小时"):
    return {"id": id_, "lon": lon, "lat": lat, "status": status, "hours_json": _hours(hours)}


def _stations(rows):
    df = pd.DataFrame(rows)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def _at(lon, lat, az, dist):
    x, y, _ = GEOD.fwd(lon, lat, az, dist)
    return float(x), float(y)


@pytest.fixture(scope="module")
def fixture():
    """Three stations at 25 N -- A open 24 h, B open 08:00-18:00, C closed -- and twelve demand points.

    =====  ===============================  =======  =========  ===========  =============
    point  where                            workers  covered    at 22:00     nearest open
    =====  ===============================  =======  =========  ===========  =============
    p1     A +  500 m N                     10       yes        yes          A 500
    p2     A +  999 m E                     20       yes        yes          A 999
    p3     A + 1001 m S                     30       no         no           A 1001
    p4     A + 1500 m W                     40       no         no           A 1500
    p5     B +  300 m N                     50       yes        no (B shut)  B 300
    p6     B +  900 m E                     60       yes        no           B 900
    p7     B + 1200 m S                     70       no         no           B 1200
    p8     C +  100 m N (C closed)          80       no         no           B ~10 km
    p9     C +  800 m E                     90       no         no           B ~11 km
    p10    A + 5000 m N                     100      no         no           A 5000
    p11    A + 1000 m N (on the radius)     5        yes        yes          A 1000
    p12    B + 999.5 m W                    15       yes        no           B 999.5
    =====  ===============================  =======  =========  ===========  =============

    Covered in the day: 10+20+50+60+5+15 = 160 of 570; at 22:00: 10+20+5 = 35 of 570.
    """
    a, b, c = (102.0, 25.0), (102.1, 25.0), (102.2, 25.0)
    stations = _stations(
        [
            _station("A", *a),
            _station("B", *b, hours="08:00-18:00"),
            _station("C", *c, status="closed"),
        ]
    )
    spec = [
        (a, 0, 500, 10),
        (a, 90, 999, 20),
        (a, 180, 1001, 30),
        (a, 270, 1500, 40),
        (b, 0, 300, 50),
        (b, 90, 900, 60),
        (b, 180, 1200, 70),
        (c, 0, 100, 80),
        (c, 90, 800, 90),
        (a, 0, 5000, 100),
        (a, 0, 1000, 5),
        (b, 270, 999.5, 15),
    ]
    pts = [_at(o[0], o[1], az, d) for o, az, d, _ in spec]
    lon = np.array([p[0] for p in pts])
    lat = np.array([p[1] for p in pts])
    county = np.where(lon < 102.05, "530102", "530103")
    demand = gpd.GeoDataFrame(
        {
            "h3": [__import__("h3").latlng_to_cell(y, x, 9) for x, y in zip(lon, lat)],
            "lon": lon,
            "lat": lat,
            "workers": [w for *_, w in spec],
            "county_adcode": county,
            "prefecture_adcode": "530100",
            "area_class": ["town"] * 9 + ["rural", "town", "town"],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    return stations, demand


def test_hand_worked_daytime(fixture):
    stations, demand = fixture
    r = C.compute_coverage(stations, demand, radius=1000)
    assert list(r.stations["id"]) == ["A", "B"]  # C is closed
    assert r.demand["covered"].tolist() == [True, True, False, False, True, True, False, False, False, False, True, True]
    assert r.workers == 570
    assert r.workers_covered == pytest.approx(160)
    assert r.covered_pct == pytest.approx(100 * 160 / 570)
    expected = [500, 999, 1001, 1500, 300, 900, 1200, None, None, 5000, 1000, 999.5]
    for got, exp in zip(r.demand["distance_m"], expected):
        if exp is not None:
            assert got == pytest.approx(exp, abs=0.01)
    # p8/p9 are served by B, about 10 km west (C does not count)
    assert r.demand["nearest_station"].tolist()[7:9] == ["B", "B"]
    assert r.demand["distance_m"].iloc[7] == pytest.approx(GEOD.inv(102.1, 25.0, *demand.iloc[7][["lon", "lat"]])[2], abs=0.01)


def test_hand_worked_at_night(fixture):
    stations, demand = fixture
    r = C.compute_coverage(stations, demand, radius=1000, hour=22)
    assert list(r.stations["id"]) == ["A"]
    assert r.workers_covered == pytest.approx(35)
    # B's points now fall back to A, 10 km away
    assert (r.demand["distance_m"].iloc[4:7] > 9000).all()
    day = C.compute_coverage(stations, demand, radius=1000, hour=10)
    assert day.workers_covered == pytest.approx(160)


def test_temp_closed_excluded(fixture):
    stations, demand = fixture
    s = stations.copy()
    s.loc[s["id"] == "B", "status"] = "temp_closed"
    r = C.compute_coverage(s, demand, radius=1000)
    assert list(r.stations["id"]) == ["A"]
    assert r.workers_covered == pytest.approx(35)


def test_radius_by_area_class(fixture):
    stations, demand = fixture
    # p10 (rural, 5 km from A) is covered with a 5 km rural radius; town radius stays 1 km
    r = C.compute_coverage(stations, demand, radius={"town": 1000, "rural": 5000.5})
    assert r.workers_covered == pytest.approx(260)
    assert r.demand["radius_m"].tolist()[9] == 5000.5


def test_no_stations(fixture):
    _, demand = fixture
    r = C.compute_coverage(_stations([_station("Z", 102.0, 25.0, status="closed")]), demand)
    assert r.workers_covered == 0
    assert np.isinf(r.demand["distance_m"]).all()


def test_bad_radius(fixture):
    stations, demand = fixture
    for bad in (0, -5, 1e9):
        with pytest.raises(ValueError, match="radius"):
            C.compute_coverage(stations, demand, radius=bad)


@pytest.mark.parametrize("lat", [22.0, 25.0, 28.0])
def test_one_km_is_one_km_on_the_ground(lat):
    """At 22 N and 28 N alike, 999 m away is covered and 1001 m away is not, in every direction,
    and the buffer in the coverage layer is a 1 km disc (area pi km²)."""
    lon = 102.1
    stations = _stations([_station("S", lon, lat)])
    pts = [_at(lon, lat, az, d) for az in (0, 45, 90, 135, 180, 225, 270, 315) for d in (999.0, 1001.0)]
    demand = gpd.GeoDataFrame(
        {
            "h3": ["x"] * len(pts),
            "lon": [p[0] for p in pts],
            "lat": [p[1] for p in pts],
            "workers": 1.0,
            "county_adcode": None,
        },
        geometry=gpd.points_from_xy([p[0] for p in pts], [p[1] for p in pts]),
        crs="EPSG:4326",
    )
    r = C.compute_coverage(stations, demand, radius=1000)
    assert r.demand["covered"].tolist() == [True, False] * 8
    # the same by the sparse matrix builder
    m = C.coverage_matrix([lon], [lat], demand["lon"], demand["lat"], 1000)
    assert m.toarray()[0].tolist() == [True, False] * 8
    layer = C.coverage_layer(r)
    assert len(layer) == 1
    # the buffer polygon has the disc's area (its radius is scaled so that the 32-gon's area is pi r²)
    assert layer["area_km2"].iloc[0] == pytest.approx(math.pi, rel=0.003)
    # the disc reaches 1 km north and 1 km east on the ground (polygon vertices: 3.2 m beyond the circle)
    poly = layer.geometry.iloc[0]
    minx, miny, maxx, maxy = poly.bounds
    assert GEOD.inv(lon, lat, lon, maxy)[2] == pytest.approx(1000, abs=6)
    assert GEOD.inv(lon, lat, maxx, lat)[2] == pytest.approx(1000, abs=6)


def test_table_levels_add_up(fixture, geography):
    stations, demand = fixture
    r = C.compute_coverage(stations, demand, radius=1000)
    prov = C.coverage_table(r, "province", geography)
    pref = C.coverage_table(r, "prefecture", geography)
    cty = C.coverage_table(r, "county", geography)
    assert list(prov.columns) == list(C.TABLE_COLUMNS)
    assert len(prov) == 1 and len(pref) == 2 and len(cty) == 4
    for col in ("stations", "workers", "workers_covered", "area_km2", "area_covered_km2", "urban_residents"):
        assert prov[col].iloc[0] == pytest.approx(pref[col].sum())
        for code, grp in cty.groupby("parent_adcode"):
            assert pref.set_index("adcode").loc[code, col] == pytest.approx(grp[col].sum())
    row = prov.iloc[0]
    assert row["stations"] == 2  # A and B; C is closed
    assert row["workers"] == 570 and row["workers_covered"] == pytest.approx(160)
    assert row["covered_pct"] == pytest.approx(100 * 160 / 570)
    # urban residents: 400k*50% + 250k*40%
    assert row["urban_residents"] == pytest.approx(300_000)
    assert row["stations_per_10k_urban"] == pytest.approx(2 / 30)
    # two disjoint 1 km discs, both wholly inside the counties
    assert row["area_covered_km2"] == pytest.approx(2 * math.pi, rel=0.01)
    # weighted median: cumulative workers by distance 300:50 500:60 900:120 999:140 999.5:155 1000:160
    # 1001:190 1200:260 1500:300 -- half of 570 is 285, reached at 1500 m
    assert row["median_distance_m"] == pytest.approx(1500, abs=0.5)
    # 90th percentile: 513 of 570; 5000 m reaches 400, p8 (~10 km, C + 100 m N) 480, p9 (~11 km) 570
    assert row["p90_distance_m"] == pytest.approx(r.demand["distance_m"].iloc[8], abs=0.5)
    west = cty.set_index("adcode").loc["530102"]
    # west county: A's points p1..p4, p10, p11 (lon < 102.05)
    assert west["workers"] == 10 + 20 + 30 + 40 + 100 + 5
    assert west["workers_covered"] == 35
    assert west["stations"] == 1
    # median of 500(10) 999(20) 1000(5) 1001(30) 1500(40) 5000(100): half of 205 is 102.5 -> 1500
    assert west["median_distance_m"] == pytest.approx(1500, abs=0.5)
    assert west["p90_distance_m"] == pytest.approx(5000, abs=0.5)
    assert cty.set_index("adcode").loc["530302", "workers"] == 0


def test_gaps(fixture, geography):
    stations, demand = fixture
    r = C.compute_coverage(stations, demand, radius=1000)
    gaps = C.find_gaps(r)
    assert gaps["uncovered_workers"].sum() == pytest.approx(570 - 160)
    assert gaps["uncovered_workers"].is_monotonic_decreasing
    assert gaps["rank"].tolist() == list(range(1, len(gaps) + 1))
    assert set(gaps.columns) >= {"uncovered_workers", "county_adcode", "nearest_station_m", "geometry"}
    assert gaps.geometry.is_valid.all()
    top = gaps.iloc[0]
    assert top["uncovered_workers"] == 100  # p10 alone, 5 km north of A
    assert top["county_adcode"] == "530102"
    assert top["nearest_station_m"] == pytest.approx(5000, abs=0.5)
    assert C.find_gaps(r, limit=2).shape[0] == 2


def test_gaps_are_contiguous_components():
    """Uncovered cells that touch form one gap; separate clusters form separate gaps."""
    import h3

    origin = h3.latlng_to_cell(25.0, 102.0, 8)
    cluster = h3.grid_disk(origin, 1)  # 7 touching cells
    far = h3.latlng_to_cell(25.3, 102.3, 8)
    cells = list(cluster) + [far]
    ll = np.array([h3.cell_to_latlng(c) for c in cells])
    demand = gpd.GeoDataFrame(
        {"h3": cells, "lon": ll[:, 1], "lat": ll[:, 0], "workers": [1.0] * 7 + [3.0], "county_adcode": "530102"},
        geometry=gpd.points_from_xy(ll[:, 1], ll[:, 0]),
        crs="EPSG:4326",
    )
    stations = _stations([_station("Far", 101.0, 24.0)])
    gaps = C.find_gaps(C.compute_coverage(stations, demand))
    assert gaps["cells"].tolist() == [7, 1]
    assert gaps["uncovered_workers"].tolist() == [7.0, 3.0]
    assert gaps.geometry.iloc[0].geom_type == "Polygon"
    # a county border splits a contiguous patch: the centre cell in another county is its own gap
    demand.loc[demand["h3"] == origin, "county_adcode"] = "530103"
    split = C.find_gaps(C.compute_coverage(stations, demand))
    assert sorted(split["cells"].tolist()) == [1, 1, 6]
    assert set(split["county_adcode"]) == {"530102", "530103"}


def test_exports(tmp_path, fixture, geography):
    stations, demand = fixture
    r = C.compute_coverage(stations, demand)
    t = C.coverage_table(r, "county", geography)
    csv = C.export_table(t, tmp_path / "c.csv")
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "西县" in csv.read_text(encoding="utf-8-sig")
    x = C.export_table(t, tmp_path / "c.xlsx")
    assert pd.read_excel(x)["adcode"].astype(str).tolist() == t["adcode"].tolist()
    for ext in ("geojson", "gpkg"):
        out = C.export_table(t, tmp_path / f"c.{ext}", geography=geography)
        back = gpd.read_file(out)
        assert len(back) == 4 and back.crs.to_epsg() == 4326
    gaps = C.find_gaps(r)
    for ext in ("csv", "xlsx", "geojson", "gpkg"):
        out = C.export_gaps(gaps, tmp_path / f"g.{ext}")
        assert out.exists() and out.stat().st_size > 0
    assert len(gpd.read_file(tmp_path / "g.gpkg")) == len(gaps)
    with pytest.raises(ValueError, match="format"):
        C.export_table(t, tmp_path / "c.shp")


# ------------------------------------------------------------------------------ properties

coords = st.tuples(st.floats(102.0, 102.05), st.floats(25.0, 25.05))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stations=st.lists(coords, min_size=0, max_size=8),
    extra=coords,
    demand=st.lists(st.tuples(coords, st.floats(0, 100)), min_size=1, max_size=30),
    radius=st.floats(100, 3000),
)
def test_coverage_properties(stations, extra, demand, radius):
    lon = np.array([p[0][0] for p in demand])
    lat = np.array([p[0][1] for p in demand])
    w = np.array([p[1] for p in demand])
    d = gpd.GeoDataFrame(
        {"h3": ["c"] * len(lon), "lon": lon, "lat": lat, "workers": w, "county_adcode": "530102"},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )

    def st_frame(pts):
        df = pd.DataFrame({"id": [str(i) for i in range(len(pts))], "lon": [p[0] for p in pts], "lat": [p[1] for p in pts], "status": "open"})
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")

    before = C.compute_coverage(st_frame(stations), d, radius=radius)
    after = C.compute_coverage(st_frame(stations + [extra]), d, radius=radius)
    assert 0 <= before.covered_pct <= 100 + 1e-9
    assert after.workers_covered >= before.workers_covered - 1e-9
    assert (after.demand["distance_m"].to_numpy() <= before.demand["distance_m"].to_numpy() + 1e-6).all()
    # the sparse matrix agrees with the nearest-distance test
    m = C.coverage_matrix([p[0] for p in stations + [extra]], [p[1] for p in stations + [extra]], lon, lat, radius)
    assert (np.asarray(m.sum(axis=0)).ravel() > 0).tolist() == after.demand["covered"].tolist()
    mask = C.covered_mask(lon, lat, [p[0] for p in stations + [extra]], [p[1] for p in stations + [extra]], radius)
    assert mask.tolist() == after.demand["covered"].tolist()


def test_ecef_matches_pyproj():
    from pyproj import Transformer

    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(70, 135, 200), rng.uniform(15, 55, 200)
    x, y, z = Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True).transform(lon, lat, np.zeros(200))
    assert np.abs(C.ecef(lon, lat) - np.column_stack([x, y, z])).max() < 1e-6


def test_nearest_distance_is_geodesic_within_a_centimetre():
    rng = np.random.default_rng(7)
    lon0, lat0 = rng.uniform(98, 106, 300), rng.uniform(21, 29, 300)
    az, dist = rng.uniform(0, 360, 300), np.geomspace(10, 300_000, 300)
    lon1, lat1, _ = GEOD.fwd(lon0, lat0, az, dist)
    for i in range(0, 300, 30):  # one station at a time: its distance to each demand point
        d, idx = C.nearest_station(lon1[i : i + 1], lat1[i : i + 1], lon0[i : i + 1], lat0[i : i + 1])
        assert idx[0] == 0
        assert d[0] == pytest.approx(dist[i], abs=0.01)


def test_gap_mean_distance(fixture):
    stations, demand = fixture
    gaps = C.find_gaps(C.compute_coverage(stations, demand, radius=1000))
    top = gaps.iloc[0]
    assert top["mean_distance_m"] == pytest.approx(5000, abs=0.5)  # p10 alone
    assert shapely.contains_xy(gaps.geometry.iloc[0], top["lon"], top["lat"])
    assert (gaps["mean_distance_m"] >= gaps["nearest_station_m"] - 1e-6).all()


def test_station_on_a_county_border_counts_where_locate_counties_puts_it():
    """One point-in-county join: a station exactly on the border of 五华区 and 盘龙区 counts in the county
    :func:`stations.geo.locate_counties` gives it (the lowest adcode), not in none of them."""
    from stations import geo
    from stations.demand import demand_from_points

    counties = geo.load_counties().set_index("adcode")
    a, b = counties.loc["530102"].geometry, counties.loc["530103"].geometry
    p = next(pt for part in shapely.get_parts(a) for pt in map(shapely.Point, part.exterior.coords) if b.intersects(pt))
    stations = _stations([_station("S", p.x, p.y)])
    demand = demand_from_points([p.x], [p.y], [1.0], county_adcode=["530102"])
    table = C.coverage_table(C.compute_coverage(stations, demand, radius=1000), "county").set_index("adcode")
    expected = geo.locate_counties(p.x, p.y)[0]
    assert expected == "530102"
    assert table["stations"].sum() == 1 and table.loc[expected, "stations"] == 1


# ------------------------------------------------------------------------------------------- tables add up after rounding


def test_largest_remainder_by_hand():
    from stations.rounding import largest_remainder

    # three thirds of 1: floors 0, 0, 0; one unit left, to the first of the equal remainders
    assert largest_remainder([1 / 3, 1 / 3, 1 / 3], 1).tolist() == [1.0, 0.0, 0.0]
    # 1.6 + 2.7 + 3.7 = 8.0: floors 1, 2, 3 (6); two units to the largest remainders .7 and .7
    assert largest_remainder([1.6, 2.7, 3.7], 8).tolist() == [1.0, 3.0, 4.0]
    # rounding each on its own would give 2 + 3 + 4 = 9
    assert sum(round(x) for x in (1.6, 2.7, 3.7)) == 9
    # decimals, and NaN left alone
    assert largest_remainder([0.125, 0.125, np.nan, 0.25], 0.5, 2).tolist()[:2] == [0.13, 0.12]
    assert np.isnan(largest_remainder([1.0, np.nan], 1)[1])


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40), st.integers(0, 2))
def test_largest_remainder_keeps_the_total(values, digits):
    from stations.rounding import largest_remainder, round_half_up

    total = round_half_up(sum(values), digits)
    r = largest_remainder(values, total, digits)
    assert sum(r) == pytest.approx(total, abs=10.0 ** -digits / 100)
    unit = 10.0 ** -digits
    assert all(abs(a - b) < unit * (1 + 1e-9) for a, b in zip(r, values))  # each to its floor or ceiling


def test_round_table_without_the_hierarchy_adds_up_within_itself():
    t = pd.DataFrame({"adcode": ["1", "2", "3", "4"], "parent_adcode": ["A", "A", "B", "B"],
                      "workers": [1.6, 2.7, 3.7, 0.4]})
    shown = C.round_table(t)
    assert shown["workers"].sum() == 8  # round(8.4)
    assert shown["workers"].tolist() == [1.0, 3.0, 4.0, 0.0]  # A: 4.3 -> 4 (1 + 3), B: 4.1 -> 4 (4 + 0)


@pytest.mark.slow
def test_demo_tables_add_up_after_rounding(demo_db_url, tmp_path):
    """The demo registry and the bundled demand (1,000,000 workers): every rounded table, as shown and as
    downloaded, has counties adding up to their prefecture and prefectures to the province, for every additive
    column; rounded on their own the counties' workers add up to 1,000,004."""
    from stations.demand import load_demand
    from stations.registry import Registry

    r = C.compute_coverage(Registry(demo_db_url).load(), load_demand(), radius=1000)
    exact = {by: C.coverage_table(r, by) for by in C.LEVELS}
    assert exact["county"]["workers"].round(0).sum() != exact["province"]["workers"].round(0).iloc[0]  # the old way
    shown = {by: C.round_table(t) for by, t in exact.items()}
    C.export_table(exact["county"], tmp_path / "c.csv")
    downloaded = pd.read_csv(tmp_path / "c.csv", encoding="utf-8-sig", dtype={"adcode": str, "parent_adcode": str})
    prov = shown["province"].iloc[0]
    pref = shown["prefecture"].set_index("adcode")
    assert prov["workers"] == 1_000_000
    for col, nd in C.ADDITIVE_DIGITS:
        assert pref[col].sum() == pytest.approx(prov[col], abs=1e-6), col
        for county in (shown["county"], downloaded):
            assert county[col].sum() == pytest.approx(prov[col], abs=1e-6), col
            sums = county.groupby("parent_adcode")[col].sum()
            assert np.allclose(sums.reindex(pref.index).to_numpy(), pref[col].to_numpy(), atol=1e-6), col
            assert np.allclose(county[col], county[col].round(nd))
        # every shown value is its exact value's floor or ceiling
        diff = (shown["county"][col] - exact["county"][col]).abs()
        assert (diff < 10.0 ** -nd + 1e-9).all(), col
    # the JSON rows of the planner are the same rounding
    from webmap.responses import table_rows

    rows = table_rows(exact["county"])
    assert sum(row["workers"] for row in rows) == 1_000_000
