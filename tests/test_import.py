"""Importing station files: formats, headers, coordinate systems and every kind of bad row."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Geod

from stations import coords
from stations.importer import ImportFileError, read_stations
from stations.registry import Registry
from webmap.cli import main

GEOD = Geod(ellps="WGS84")

HEADER = "编号,站点名称,地址,经度,纬度,开放时间,服务项目,联系电话,承建单位\n"
GOOD = [
    "A1,东风广场驿站,昆明市五华区东风西路,102.7129,25.0406,24小时,饮水、充电、热饭,0871-0012345,市总工会",
    "A2,翠湖驿站,昆明市五华区翠湖南路,102.7036,25.0467,08:00-22:00,饮水、充电、如厕,0871-0012346,建设银行翠湖支行",
    "A3,大理古城驿站,大理市复兴路,100.1627,25.6934,周一至周五 09:00-17:00,饮水;休息,0872-0012347,中国石化",
]


def write_csv(path, lines, encoding="utf-8", header=HEADER):
    path.write_bytes((header + "\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'reg.sqlite'}"


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_good_csv_reads_with_chinese_headers(tmp_path):
    res = read_stations(write_csv(tmp_path / "ok.csv", GOOD))
    assert res.errors == []
    v = res.valid.set_index("id")
    assert v.loc["A1", "county_adcode"] == "530102"  # 五华区, from the spatial join
    assert v.loc["A1", "prefecture_adcode"] == "530100"
    assert v.loc["A3", "prefecture_adcode"] == "532900"
    assert bool(v.loc["A1", "microwave"]) and not bool(v.loc["A1", "toilet"])
    assert bool(v.loc["A2", "toilet"]) and v.loc["A2", "host"] == "bank"
    assert v.loc["A1", "host"] == "union" and v.loc["A3", "host"] == "petrol"
    assert bool(v.loc["A3", "seating"])


def test_gbk_csv_is_detected(tmp_path):
    res = read_stations(write_csv(tmp_path / "gbk.csv", GOOD, encoding="gbk"))
    assert res.errors == [] and len(res.valid) == 3
    assert res.valid.iloc[0]["name"] == "东风广场驿站"


def test_separate_yes_no_service_columns_and_english_headers(tmp_path):
    header = "id,name,address,lon,lat,opening_hours,water,toilet,微波炉\n"
    lines = ["B1,Station one,addr,102.7129,25.0406,Mo-Fr 09:00-17:00,yes,否,是"]
    res = read_stations(write_csv(tmp_path / "en.csv", lines, header=header))
    assert res.errors == []
    row = res.valid.iloc[0]
    assert row["water"] and not row["toilet"] and row["microwave"]


def test_every_bad_row_reported_with_row_and_column(tmp_path):
    bad = GOOD + [
        "B1,无坐标驿站,地址,,25.0,24小时,饮水,,",  # row 5: missing lon
        "B2,文字坐标驿站,地址,abc,25.0,24小时,饮水,,",  # row 6: non-numeric
        "B3,颠倒驿站,地址,25.0406,102.7129,24小时,饮水,,",  # row 7: swapped
        "B4,北京驿站,地址,116.39,39.91,24小时,饮水,,",  # row 8: outside Yunnan
        "A1,重复编号驿站,地址,102.80,25.05,24小时,饮水,,",  # row 9: duplicate id
        "B5,东风广场驿站,地址,102.7131,25.0407,24小时,饮水,,",  # row 10: near-duplicate of row 2
        "B6,时间乱写驿站,地址,102.72,25.03,看心情,饮水,,",  # row 11: hours
        "B7,未知服务驿站,地址,102.73,25.02,24小时,饮水、按摩,,",  # row 12: unknown service
    ]
    res = read_stations(write_csv(tmp_path / "bad.csv", bad))
    got = {(e.row, e.column): e.reason for e in res.errors}
    assert ("longitude is missing") in got[(5, "经度")]
    assert "not a number: 'abc'" in got[(6, "经度")]
    assert "swapped" in got[(7, "经度/纬度")]
    assert "outside Yunnan" in got[(8, "经度/纬度")]
    assert "duplicate id 'A1' (first used on row 2)" in got[(9, "编号")]
    assert "near-duplicate of row 2" in got[(10, "站点名称")]
    assert "cannot read opening hours '看心情'" in got[(11, "开放时间")]
    assert "unknown service '按摩'" in got[(12, "服务项目")]
    assert sorted(res.valid["id"]) == ["A1", "A2", "A3"]
    assert set(res.rejected["row"]) == set(range(5, 13))
    assert res.rejected["reason"].str.len().min() > 0


def test_gcj02_and_bd09_are_converted_on_import(tmp_path):
    lon, lat = 102.7129, 25.0406
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    blon, blat = coords.wgs84_to_bd09(lon, lat)
    for crs, (x, y) in (("gcj02", (glon, glat)), ("bd09", (blon, blat))):
        f = write_csv(tmp_path / f"{crs}.csv", [f"C1,东风广场驿站,地址,{x:.7f},{y:.7f},24小时,饮水,,"])
        row = read_stations(f, crs=crs).valid.iloc[0]
        _, _, d = GEOD.inv(row["lon"], row["lat"], lon, lat)
        assert d < 0.5, (crs, d)


def test_xlsx_geojson_and_gpkg(tmp_path):
    df = pd.read_csv(write_csv(tmp_path / "ok.csv", GOOD), dtype=str)
    df.to_excel(tmp_path / "ok.xlsx", index=False)
    assert len(read_stations(tmp_path / "ok.xlsx").valid) == 3
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["经度", "纬度"]),
        geometry=gpd.points_from_xy(df["经度"].astype(float), df["纬度"].astype(float)),
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "ok.geojson", driver="GeoJSON")
    gdf.to_file(tmp_path / "ok.gpkg", driver="GPKG")
    assert len(read_stations(tmp_path / "ok.geojson").valid) == 3
    # a layer in a projected CRS is reprojected from its declared CRS
    gdf.to_crs("EPSG:32648").to_file(tmp_path / "utm.gpkg", driver="GPKG")
    v = read_stations(tmp_path / "utm.gpkg").valid.set_index("id")
    assert v.loc["A1", "lon"] == pytest.approx(102.7129, abs=1e-6)


def test_projected_numbers_in_a_csv_are_called_out(tmp_path):
    f = write_csv(tmp_path / "proj.csv", ["P1,投影驿站,地址,572000.5,2770000.2,24小时,饮水,,"])
    res = read_stations(f)
    assert "projected coordinate system" in res.errors[0].reason


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"", "empty"),
        (HEADER.encode(), "no station rows"),
        ("名称,地址\n驿站,地址\n".encode(), "missing required column(s) 经度/lon, 纬度/lat"),
    ],
)
def test_bad_files(tmp_path, content, needle):
    f = tmp_path / "f.csv"
    f.write_bytes(content)
    with pytest.raises(ImportFileError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        read_stations(f)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(ImportFileError, match="no such file"):
        read_stations(tmp_path / "nope.csv")
    (tmp_path / "x.shp.zip").write_bytes(b"PK")
    with pytest.raises(ImportFileError, match="unsupported file type"):
        read_stations(tmp_path / "x.shp.zip")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        read_stations(tmp_path / "broken.xlsx")


def test_hostile_text_is_kept_as_text(tmp_path):
    f = write_csv(tmp_path / "x.csv", ['X1,"<img src=x onerror=alert(1)>",\'; DROP TABLE stations;--,102.7129,25.0406,24小时,饮水,,'])
    row = read_stations(f).valid.iloc[0]
    assert row["name"] == "<img src=x onerror=alert(1)>"


# ---- the command line -------------------------------------------------------------------------

def test_cli_import_refuses_file_with_bad_rows_and_writes_nothing(tmp_path, db):
    run("import", str(write_csv(tmp_path / "ok.csv", GOOD)), "--db", db)
    before = Registry(db).load()
    bad = write_csv(tmp_path / "bad.csv", [GOOD[0].replace("东风广场驿站", "新名字"), "B1,无坐标驿站,地址,,25.0,24小时,饮水,,"])
    r = CliRunner().invoke(main, ["import", str(bad), "--db", db])
    assert r.exit_code == 1
    assert "row 3, column 经度: longitude is missing" in r.output
    assert "nothing was written" in r.output
    after = Registry(db).load()
    pd.testing.assert_frame_equal(before.drop(columns="geometry"), after.drop(columns="geometry"))


def test_cli_skip_invalid_writes_good_rows_and_rejects(tmp_path, db):
    bad = write_csv(tmp_path / "bad.csv", GOOD + ["B1,无坐标驿站,地址,,25.0,24小时,饮水,,"])
    rej = tmp_path / "rejects.csv"
    r = run("import", str(bad), "--db", db, "--skip-invalid", str(rej))
    assert r.exit_code == 0, r.output
    assert Registry(db).count() == 3
    rejected = pd.read_csv(rej, encoding="utf-8-sig")
    assert list(rejected["row"]) == [5] and "longitude is missing" in rejected["reason"][0]
    assert rej.read_bytes().startswith(b"\xef\xbb\xbf")


def test_cli_import_twice_changes_nothing_and_dry_run_writes_nothing(tmp_path, db):
    f = write_csv(tmp_path / "ok.csv", GOOD)
    r = run("import", str(f), "--db", db, "--dry-run")
    assert "dry run" in r.output and Registry(db).count() == 0
    run("import", str(f), "--db", db)
    first = Registry(db).load()
    r = run("import", str(f), "--db", db)
    assert "0 added, 0 updated, 3 unchanged" in r.output
    pd.testing.assert_frame_equal(first.drop(columns="geometry"), Registry(db).load().drop(columns="geometry"))


def test_cli_bad_file_exit_code_and_no_traceback(tmp_path, db):
    r = CliRunner().invoke(main, ["import", str(tmp_path / "missing.csv"), "--db", db])
    assert r.exit_code == 2 and "no such file" in r.output and "Traceback" not in r.output


def test_cli_export_all_formats(tmp_path, db):
    run("import", str(write_csv(tmp_path / "ok.csv", GOOD)), "--db", db)
    for ext in ("gpkg", "geojson", "csv", "xlsx"):
        out = tmp_path / f"out.{ext}"
        r = run("export", "--out", str(out), "--db", db)
        assert r.exit_code == 0, r.output
        assert out.stat().st_size > 0
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    gj = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert "crs" not in gj and gj["features"][0]["geometry"]["type"] == "Point"
    assert len(gpd.read_file(tmp_path / "out.gpkg", layer="stations")) == 3
    x = pd.read_excel(tmp_path / "out.xlsx")
    assert "东风广场驿站" in set(x["name"])
    r = CliRunner().invoke(main, ["export", "--out", str(tmp_path / "out.shp"), "--db", db])
    assert r.exit_code == 2 and "cannot tell the format" in r.output


# ---- one reader for every table file (stations.tables) -------------------------------------------

BAD_ROW = "B3,颠倒驿站,地址,25.0406,102.7129,24小时,饮水,,"  # swapped coordinates


def _as(lines, sep):
    return [line.replace(",", sep) for line in lines]


def test_tsv_station_file_as_excel_writes_it(tmp_path):
    """Excel's "Text (Tab delimited)" on Chinese Windows: GBK, tabs, CRLF. It used to be refused for
    "missing columns" because only the demand reader looked for the delimiter."""
    text = HEADER.replace(",", "\t").replace("\n", "\r\n") + "\r\n".join(_as(GOOD + [BAD_ROW], "\t")) + "\r\n"
    f = tmp_path / "stations.txt"
    f.write_bytes(text.encode("gbk"))
    res = read_stations(f)
    assert sorted(res.valid["id"]) == ["A1", "A2", "A3"]
    assert res.valid.set_index("id").loc["A1", "name"] == "东风广场驿站"
    assert [(e.row, e.column) for e in res.errors] == [(5, "经度/纬度")]


def test_utf16_unicode_text_station_file(tmp_path):
    """Excel's "Unicode text": UTF-16 LE with a byte-order mark, tab-separated, CRLF."""
    text = HEADER.replace(",", "\t").replace("\n", "\r\n") + "\r\n".join(_as([BAD_ROW] + GOOD, "\t")) + "\r\n"
    f = tmp_path / "stations.txt"
    f.write_bytes(text.encode("utf-16"))
    res = read_stations(f)
    assert sorted(res.valid["id"]) == ["A1", "A2", "A3"]
    assert res.valid.set_index("id").loc["A3", "address"] == "大理市复兴路"
    assert [e.row for e in res.errors] == [2]


def test_utf8_bom_semicolon_station_file_keeps_row_numbers_past_blank_lines(tmp_path):
    lines = _as(GOOD[:2], ";") + [""] + _as([GOOD[2].replace("饮水;休息", "饮水、休息"), BAD_ROW], ";")
    f = tmp_path / "stations.csv"
    f.write_bytes(("\ufeff" + HEADER.replace(",", ";") + "\n".join(lines) + "\n").encode("utf-8"))
    res = read_stations(f)
    assert sorted(res.valid["id"]) == ["A1", "A2", "A3"]
    assert bool(res.valid.set_index("id").loc["A3", "seating"])
    # the blank line is row 4 in a spreadsheet: the bad row is row 6, not 5
    assert [e.row for e in res.errors] == [6]
