"""stations.geo and data/geo: counts, codes, names, validity, tiling, areas, census joins, spatial lookups,
and the proof that the boundaries are WGS-84 (not GCJ-02) against an independent OSM-derived border."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Geod

from stations import config, geo

DATA = config.data_dir()
GEOD = Geod(ellps="WGS84")

PREFECTURES = {
    "530100": "昆明市", "530300": "曲靖市", "530400": "玉溪市", "530500": "保山市", "530600": "昭通市",
    "530700": "丽江市", "530800": "普洱市", "530900": "临沧市", "532300": "楚雄彝族自治州",
    "532500": "红河哈尼族彝族自治州", "532600": "文山壮族苗族自治州", "532800": "西双版纳傣族自治州",
    "532900": "大理白族自治州", "533100": "德宏傣族景颇族自治州", "533300": "怒江傈僳族自治州", "533400": "迪庆藏族自治州",
}


@pytest.fixture(scope="module")
def province():
    return geo.load_province()


@pytest.fixture(scope="module")
def prefectures():
    return geo.load_prefectures()


@pytest.fixture(scope="module")
def counties():
    return geo.load_counties()


@pytest.fixture(scope="module")
def census_counties():
    return pd.read_csv(DATA / "county_population_2020.csv", dtype={"adcode": str, "prefecture_adcode": str}, encoding="utf-8")


# --- counts, codes, names, columns ---------------------------------------------------------------------------
def test_counts_codes_and_columns(province, prefectures, counties):
    assert len(province) == 1 and len(prefectures) == 16 and len(counties) == 129
    assert province["adcode"].tolist() == ["530000"]
    assert province["name_zh"].tolist() == ["云南省"] and province["name_en"].tolist() == ["Yunnan"]
    assert list(province.columns) == ["adcode", "name_zh", "name_en", "geometry"]
    assert list(prefectures.columns) == ["adcode", "name_zh", "name_en", "parent_adcode", "population_2020", "urban_pct", "geometry"]
    assert list(counties.columns) == ["adcode", "name_zh", "name_en", "prefecture_adcode", "parent_adcode", "population_2020", "geometry"]
    assert dict(zip(prefectures["adcode"], prefectures["name_zh"])) == PREFECTURES
    assert set(prefectures["parent_adcode"]) == {"530000"} and set(counties["parent_adcode"]) == {"530000"}
    assert set(counties["prefecture_adcode"]) == set(PREFECTURES)
    assert counties["adcode"].is_unique and counties["adcode"].str.fullmatch(r"53\d{4}").all()
    assert (counties["adcode"].str[:4] == counties["prefecture_adcode"].str[:4]).all()


def test_stored_geojson_columns_match_the_contract():
    def props(name):
        with open(DATA / name, encoding="utf-8") as fh:
            fc = json.load(fh)
        return [list(f["properties"]) for f in fc["features"]]

    assert props("province.geojson") == [["adcode", "name_zh", "name_en"]]
    assert {tuple(p) for p in props("prefectures.geojson")} == {("adcode", "name_zh", "name_en", "parent_adcode")}
    assert {tuple(p) for p in props("counties.geojson")} == {("adcode", "name_zh", "name_en", "prefecture_adcode", "parent_adcode")}


def test_counties_match_the_census_county_list(counties, census_counties):
    assert len(census_counties) == 129
    assert set(counties["adcode"]) == set(census_counties["adcode"])
    merged = counties.merge(census_counties, on="adcode", suffixes=("", "_census"))
    assert (merged["name_zh"] == merged["name_zh_census"]).all()
    assert (merged["prefecture_adcode"] == merged["prefecture_adcode_census"]).all()
    lufeng = counties.set_index("adcode").loc["532302"]
    assert lufeng["name_zh"] == "禄丰市" and lufeng["prefecture_adcode"] == "532300"
    assert "532331" not in set(counties["adcode"])  # 禄丰's pre-2021 code


def test_english_names(prefectures, counties):
    pe = dict(zip(prefectures["name_zh"], prefectures["name_en"]))
    ce = dict(zip(counties["name_zh"], counties["name_en"]))
    assert pe["昆明市"] == "Kunming" and pe["普洱市"] == "Pu'er"
    assert pe["楚雄彝族自治州"] == "Chuxiong Yi Autonomous Prefecture"
    assert pe["红河哈尼族彝族自治州"] == "Honghe Hani and Yi Autonomous Prefecture"
    assert pe["迪庆藏族自治州"] == "Diqing Tibetan Autonomous Prefecture"
    assert ce["盘龙区"] == "Panlong District" and ce["宣威市"] == "Xuanwei City" and ce["会泽县"] == "Huize County"
    assert ce["金平苗族瑶族傣族自治县"] == "Jinping Miao, Yao and Dai Autonomous County"
    assert ce["香格里拉市"] == "Shangri-La City" and ce["绿春县"] == "Lüchun County" and ce["云县"] == "Yun County"
    assert all(n and n.isascii() or "ü" in n for n in ce.values())
    assert prefectures["name_en"].is_unique


# --- geometry -------------------------------------------------------------------------------------------------
def test_polygons_valid_and_in_wgs84(province, prefectures, counties):
    for gdf in (province, prefectures, counties):
        assert gdf.crs == CRS.from_epsg(4326)
        assert gdf.is_valid.all() and not gdf.is_empty.any()
        assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    minx, miny, maxx, maxy = province.total_bounds
    # Yunnan: about 97.5-106.2 E, 21.1-29.25 N
    assert 97.3 < minx < 97.8 and 105.9 < maxx < 106.4 and 21.0 < miny < 21.3 and 29.1 < maxy < 29.4


def test_province_area(province):
    km2 = province.to_crs(geo.EQUAL_AREA_CRS).area.iloc[0] / 1e6
    assert km2 == pytest.approx(383_000, rel=0.01)  # the official 394,100 km² is not what the polygons give
    # the Albers CRS is really equal-area: same as the geodesic area on the ellipsoid
    geodesic = abs(GEOD.geometry_area_perimeter(province.geometry.iloc[0])[0]) / 1e6
    assert km2 == pytest.approx(geodesic, rel=1e-4)


def _coverage_errors(parts: gpd.GeoDataFrame, whole) -> tuple[float, float]:
    ea = parts.to_crs(geo.EQUAL_AREA_CRS)
    whole_ea = gpd.GeoSeries([whole], crs=parts.crs).to_crs(geo.EQUAL_AREA_CRS).iloc[0]
    union = shapely.union_all(ea.geometry.values)
    gaps = whole_ea.difference(union).area + union.difference(whole_ea).area
    overlaps = ea.area.sum() - union.area
    return gaps / whole_ea.area, overlaps / whole_ea.area


def test_prefectures_tile_the_province(province, prefectures):
    gaps, overlaps = _coverage_errors(prefectures, province.geometry.iloc[0])
    assert gaps < 0.001 and abs(overlaps) < 0.001


def test_counties_tile_the_province(province, counties):
    gaps, overlaps = _coverage_errors(counties, province.geometry.iloc[0])
    assert gaps < 0.001 and abs(overlaps) < 0.001


def test_every_county_within_its_prefecture(prefectures, counties):
    pm = prefectures.to_crs(geo.EQUAL_AREA_CRS).set_index("adcode").geometry
    cm = counties.to_crs(geo.EQUAL_AREA_CRS)
    for code, parent, g in zip(cm["adcode"], cm["prefecture_adcode"], cm.geometry):
        share = g.intersection(pm[parent]).area / g.area
        assert share >= 0.999, (code, share)
    # and each prefecture is the union of its counties
    for code, g in pm.items():
        mine = shapely.union_all(cm[cm["prefecture_adcode"] == code].geometry.values)
        assert g.symmetric_difference(mine).area / g.area < 0.001, code


# --- census joins ---------------------------------------------------------------------------------------------
def test_census_tables(prefectures, counties):
    table = pd.read_csv(DATA / "prefecture_census_2020.csv", dtype={"adcode": str}, encoding="utf-8")
    assert list(table.columns) == ["adcode", "name_zh", "population_2020", "urban_pct", "source"]
    assert len(table) == 16 and table["source"].str.len().min() > 20
    assert table["population_2020"].sum() == 47_209_277
    km = prefectures.set_index("adcode").loc["530100"]
    assert km["population_2020"] == 8_460_088 and km["urban_pct"] == pytest.approx(79.67)
    dq = prefectures.set_index("adcode").loc["533400"]
    assert dq["population_2020"] == 387_511 and dq["urban_pct"] == pytest.approx(31.07)
    assert counties["population_2020"].sum() == 47_209_277
    by_pref = counties.groupby("prefecture_adcode")["population_2020"].sum()
    assert (by_pref.reindex(prefectures["adcode"]).to_numpy() == prefectures["population_2020"].to_numpy()).all()
    assert counties.set_index("adcode").loc["530103", "population_2020"] == 987_955  # 盘龙区
    county_csv = pd.read_csv(DATA / "county_population_2020.csv", encoding="utf-8")
    assert list(county_csv.columns) == ["adcode", "name_zh", "prefecture_adcode", "prefecture_zh", "population_2020", "source"]
    assert county_csv["source"].notna().all()


# --- CRS constants ------------------------------------------------------------------------------------------
def test_crs_constants_are_usable_and_as_documented(province):
    assert CRS(geo.WGS84).to_epsg() == 4326
    def params(crs):
        op = CRS(crs).coordinate_operation
        return op.method_name, {p.name: p.value for p in op.params}

    for crs, method in ((geo.METRIC_CRS, "Lambert Conic Conformal (2SP)"), (geo.EQUAL_AREA_CRS, "Albers Equal Area")):
        name, p = params(crs)
        assert name == method
        assert p["Latitude of 1st standard parallel"] == 22.5 and p["Latitude of 2nd standard parallel"] == 27.5
        assert p["Longitude of false origin"] == 101.5
        assert CRS(crs).ellipsoid.name == "WGS 84" and CRS(crs).axis_info[0].unit_name == "metre"
    assert province.to_crs(geo.METRIC_CRS).crs.is_projected


@pytest.mark.parametrize("lat", [21.5, 22.5, 25.0, 27.5, 29.0])
@pytest.mark.parametrize("lon", [97.8, 101.5, 106.0])
def test_metric_crs_scale_error_below_0_2_percent(lon, lat):
    lons, lats = [lon, lon + 0.05, lon], [lat, lat, lat + 0.05]
    pts = gpd.GeoSeries(gpd.points_from_xy(lons, lats), crs=geo.WGS84).to_crs(geo.METRIC_CRS)
    for j in (1, 2):
        planar = pts.iloc[0].distance(pts.iloc[j])
        geodesic = GEOD.inv(lons[0], lats[0], lons[j], lats[j])[2]
        assert abs(planar / geodesic - 1) < 0.002


# --- spatial lookups ------------------------------------------------------------------------------------------
KNOWN_POINTS = [
    ((100.2334, 26.8721), "530702"),  # 丽江古城 -> 古城区
    ((100.7970, 22.0070), "532801"),  # 景洪
    ((100.1590, 25.6940), "532901"),  # 大理古城 -> 大理市
    ((103.7170, 27.3380), "530602"),  # 昭通 -> 昭阳区
    ((101.5460, 25.0330), "532301"),  # 楚雄
    ((104.0950, 26.2350), "530381"),  # 宣威
]


def test_locate_counties_known_points():
    lon = [p[0][0] for p in KNOWN_POINTS]
    lat = [p[0][1] for p in KNOWN_POINTS]
    assert geo.locate_counties(lon, lat).tolist() == [c for _, c in KNOWN_POINTS]
    assert geo.locate_counties(102.7129, 25.0406)[0][:4] == "5301"  # 昆明 东风广场: a 昆明 district
    out = geo.locate_counties([105.85, 104.07, 121.47, np.nan], [21.03, 30.67, 31.23, 25.0])  # Hanoi, Chengdu, Shanghai, NaN
    assert out.tolist() == [None, None, None, None]
    assert geo.in_province([102.7129, 105.85, np.nan], [25.0406, 21.03, 25.0]).tolist() == [True, False, False]
    assert len(geo.locate_counties([], [])) == 0 and len(geo.in_province([], [])) == 0
    with pytest.raises(ValueError):
        geo.locate_counties([1, 2], [3])


def test_locate_counties_agrees_with_polygons(counties, province):
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = province.total_bounds
    lon, lat = rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)
    got = geo.locate_counties(lon, lat)
    inside = geo.in_province(lon, lat)
    assert ((got != None) == inside).all()  # noqa: E711
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=geo.WGS84)
    ref = gpd.sjoin(pts, counties[["adcode", "geometry"]], predicate="within", how="left")
    ref = ref[~ref.index.duplicated()]["adcode"].to_numpy(dtype=object)
    ref = np.where(pd.isna(ref), None, ref)
    assert (got == ref).all()
    # representative points of all counties are located in that county
    rp = counties.geometry.representative_point()
    assert (geo.locate_counties(rp.x, rp.y) == counties["adcode"].to_numpy()).all()


def test_loaders_are_cached():
    assert geo.load_counties() is geo.load_counties()
    assert geo.load_places() is geo.load_places()


# --- places ---------------------------------------------------------------------------------------------------
def test_places_table(counties):
    places = geo.load_places()
    assert list(places.columns) == ["geonameid", "name_en", "name_zh", "lon", "lat", "feature_code", "county_adcode", "prefecture_adcode", "geometry"]
    assert 380 <= len(places) <= 388 and places["geonameid"].is_unique
    assert "population" not in places.columns
    assert (places["name_zh"] != "").sum() >= 300
    assert (geo.locate_counties(places["lon"], places["lat"]) == places["county_adcode"].to_numpy()).all()
    pref_of = dict(zip(counties["adcode"], counties["prefecture_adcode"]))
    assert (places["county_adcode"].map(pref_of) == places["prefecture_adcode"]).all()
    kunming = places[places["name_en"] == "Kunming"].iloc[0]
    assert kunming["name_zh"] == "昆明" and kunming["prefecture_adcode"] == "530100"


# --- the CRS proof --------------------------------------------------------------------------------------------
def _wgs84_to_gcj02(lon, lat):
    from stations.coords import wgs84_to_gcj02

    return wgs84_to_gcj02(lon, lat)


class _Border:
    """The independent OSM-derived WGS-84 border as segments in METRIC_CRS, with an STRtree."""

    def __init__(self):
        ref = gpd.read_file(DATA / "reference" / "osm_china_border_yunnan.geojson").to_crs(geo.METRIC_CRS)
        lines = shapely.get_parts(shapely.union_all(ref.geometry.values))
        segs = []
        for line in lines:
            c = shapely.get_coordinates(line)
            segs.append(np.stack([c[:-1], c[1:]], axis=1))
        self.segs = np.concatenate(segs)
        self.tree = shapely.STRtree(shapely.linestrings(self.segs))

    def distances(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance in m, index of the nearest segment) for each metric point."""
        (_, idx), dist = self.tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
        return dist, idx

    def fit_translation(self, xy: np.ndarray, trim: float = 600.0) -> np.ndarray:
        """The translation (dx, dy) in metres that best moves the points onto the border: iterated
        point-to-line least squares (ICP), ignoring residuals above ``trim`` metres."""
        t = np.zeros(2)
        for _ in range(30):
            p = xy + t
            _, idx = self.distances(p)
            a, b = self.segs[idx, 0], self.segs[idx, 1]
            ab = b - a
            n = np.stack([-ab[:, 1], ab[:, 0]], axis=1) / np.hypot(ab[:, 0], ab[:, 1])[:, None]
            r = ((p - a) * n).sum(axis=1)
            keep = np.abs(r) < trim
            step = np.linalg.lstsq(n[keep], -r[keep], rcond=None)[0]
            t += step
            if np.hypot(*step) < 0.5:
                break
        return t


@pytest.fixture(scope="module")
def border_samples(province):
    """Points every 250 m along Yunnan's boundary that lie on its international border (within 5 km of
    the reference border; the provincial boundaries with Tibet, Sichuan, Guizhou and Guangxi are tens of
    km or more away from it), in METRIC_CRS, and the same points shifted to GCJ-02."""
    border = _Border()
    outline = province.to_crs(geo.METRIC_CRS).geometry.iloc[0].boundary
    pts = shapely.line_interpolate_point(outline, np.arange(0, outline.length, 250.0))
    xy = shapely.get_coordinates(pts)
    dist, _ = border.distances(xy)
    xy = xy[dist < 5000]
    wgs = gpd.GeoSeries(shapely.points(xy), crs=geo.METRIC_CRS).to_crs(geo.WGS84)
    glon, glat = _wgs84_to_gcj02(wgs.x.to_numpy(), wgs.y.to_numpy())
    gxy = shapely.get_coordinates(gpd.GeoSeries(gpd.points_from_xy(glon, glat), crs=geo.WGS84).to_crs(geo.METRIC_CRS).values)
    return border, xy, gxy


def test_crs_proof_boundary_is_wgs84_not_gcj02(border_samples):
    border, xy, gxy = border_samples
    # Yunnan's land border with Myanmar, Laos and Vietnam: about 4,060 km officially; at 250 m spacing on
    # these generalised lines we find 2,700-2,800 km of it
    assert 2_400_000 < len(xy) * 250 < 3_200_000
    d, _ = border.distances(xy)
    dg, _ = border.distances(gxy)
    med, p90 = np.median(d), np.percentile(d, 90)
    gmed, gp90 = np.median(dg), np.percentile(dg, 90)
    # point by point the generalised Tianditu line lies about 170 m (median) from the OSM line ...
    assert med < 200 and p90 < 500
    # ... and the GCJ-02 copy, moved 300-450 m, is clearly further away
    shift = np.hypot(*(gxy - xy).T)
    assert 280 < np.median(shift) < 460
    assert gmed > med + 30 and gp90 > p90 + 50
    # the systematic offset (the translation that best fits the border) is what a datum error shows up as:
    # close to zero for the data, about the GCJ-02 shift for the shifted copy
    t = border.fit_translation(xy)
    tg = border.fit_translation(gxy)
    assert np.hypot(*t) < 75, t
    assert np.hypot(*tg) > 250, tg
    assert np.hypot(*(tg + (gxy - xy).mean(axis=0))) < 120  # the fit undoes the GCJ shift


# --- the cached geography -------------------------------------------------------------------------------------
def test_one_cached_geography_per_data_directory(tmp_path, monkeypatch):
    import shutil

    g = geo.geography()
    assert geo.geography() is g and g.data_dir == config.data_dir()
    assert geo.load_counties() is g.counties and geo.load_places() is g.places
    copy = tmp_path / "geo"
    shutil.copytree(DATA, copy)
    with monkeypatch.context() as m:
        m.setenv("YIZHAN_DATA_DIR", str(copy))
        other = geo.geography()
        assert other is not g and other.data_dir == copy
        assert geo.load_counties() is other.counties and other.counties is not g.counties
        assert other.county_names == g.county_names
    assert geo.geography() is g  # back to the first directory: nothing re-read


def test_clear_cache_forgets_everything_derived_from_the_geography():
    from stations import coverage, places

    g = geo.geography()
    counties = geo.load_counties()
    assert places.search("kunming")[0]["adcode"] == "530100"
    index = places._index()
    ea, tree = coverage._county_areas(counties)
    assert coverage._county_areas(counties)[1] is tree  # kept between calls
    assert geo.geography().county_equal_area[1] is tree  # the geography's own part
    geo.clear_cache()
    fresh = geo.geography()
    assert fresh is not g and not fresh.has("counties")
    assert geo.load_counties() is not counties
    assert places._index() is not index
    assert coverage._county_areas(geo.load_counties())[1] is not tree
    assert places.search("kunming")[0]["adcode"] == "530100"


def test_a_synthetic_geography_keeps_its_own_tables():
    from stations import coverage

    g = geo.geography()
    small = coverage.Geography(g.province, g.prefectures, g.counties.iloc[:3].copy())
    assert len(small.counties) == 3 and small.prefectures is g.prefectures
    ea, tree = coverage._county_areas(small.counties)
    assert len(ea) == 3
    assert coverage._county_areas(small.counties)[1] is tree
    assert coverage._county_areas(g.counties)[1] is g.county_equal_area[1]
    assert coverage.Geography.load() is g


def test_census_is_read_from_the_tables(census_counties):
    census = geo.geography().census
    pref = pd.read_csv(DATA / "prefecture_census_2020.csv", dtype={"adcode": str})
    expected = dict(zip(pref["adcode"], pref["population_2020"].astype(int)))
    expected.update(zip(census_counties["adcode"], census_counties["population_2020"].astype(int)))
    expected["530000"] = int(pref["population_2020"].sum())
    assert census == expected
    assert census["530000"] == 47_209_277  # Yunnan at the 2020 census
