"""stations.tables (one reader for users' table files) and stations.validation (one coordinate check)."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest

from stations import geo
from stations.errors import CandidateFileError, ImportFileError
from stations.tables import decode_text, read_table, sniff_delimiter
from stations.validation import YUNNAN_BBOX, check_lonlat, in_bbox

ROWS = "名称,经度,纬度\n东风广场,102.7129,25.0406\n翠湖,102.7036,25.0467\n"


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("utf-16-be", None), ("gbk", "gb18030"),
    ("gb18030", "gb18030"), ("big5", "big5"),
])
def test_decode_text(encoding, expected):
    text = ROWS if encoding != "big5" else ROWS.replace("名称", "名稱").replace("东风广场", "東風廣場").replace("经度", "經度").replace("纬度", "緯度")
    raw = text.encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw  # a big-endian byte-order mark
    got, enc = decode_text(raw)
    assert got.lstrip("\ufeff") == text
    assert enc == (expected or "utf-16")


def test_decode_text_short_gbk_is_not_taken_for_western_or_korean():
    assert decode_text("名称\n驿站\n".encode("gbk"))[0] == "名称\n驿站\n"
    assert decode_text("经度,纬度,人数\n102.5,25.0,3\n".encode("gbk"))[0] == "经度,纬度,人数\n102.5,25.0,3\n"


@pytest.mark.parametrize("text, sep", [
    ("a,b,c\n1,2,3\n", ","),
    ("a\tb\tc\n1,5\t2\t3\n", "\t"),
    ("a;b;c\n1,5;2,5;3\n", ";"),
    ("a|b\n1|2\n", "|"),
    ("名称,服务\n甲,饮水;充电\n乙,饮水;热饭\n", ","),  # semicolons inside the fields of a comma file
    ('名称,地址\n甲,"昆明,五华"\n', ","),
    ("onecolumn\n1\n", ","),
    ("a\tb\n", "\t"),  # a header alone
])
def test_sniff_delimiter(text, sep):
    assert sniff_delimiter(text) == sep


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("名称,经度,纬度,\n甲,102.7,25.0,\n\n,,,\n乙,102.8,25.1,\n", encoding="utf-8")
    table, meta = read_table(f)
    assert list(table.index) == [2, 5] and list(table.columns) == ["名称", "经度", "纬度"]
    assert table.loc[5, "名称"] == "乙" and meta.kind == "csv" and meta.delimiter == ","


def test_headers_like_pandas_and_extra_cells(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("a,a,,b\n1,2,3,4,5\n", encoding="utf-8")
    table, _ = read_table(f)
    assert list(table.columns) == ["a", "a.1", "Unnamed: 2", "b", "Unnamed: 4"]
    assert table.loc[2].tolist() == ["1", "2", "3", "4", "5"]


def test_xlsx_rows_and_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "经度", "纬度", "电话"])
    ws.append(["甲", 102.71, 25, 13800000000])
    ws.append([None, None, None, None])
    ws.append(["乙", 102.8, 25.5, None])
    wb.create_sheet("second")
    wb.save(tmp_path / "t.xlsx")
    table, meta = read_table(tmp_path / "t.xlsx")
    assert meta.kind == "xlsx" and list(table.index) == [2, 4]
    assert table.loc[2].tolist() == ["甲", "102.71", "25", "13800000000"]
    assert table.loc[4, "电话"] == ""


def test_bytes_need_a_name_and_errors_are_the_callers_class(tmp_path):
    table, meta = read_table("lon\tlat\n102.7\t25.0\n".encode("utf-16"), name="c.txt")
    assert table.loc[2, "lat"] == "25.0" and meta.encoding == "utf-16" and meta.delimiter == "\t"
    with pytest.raises(CandidateFileError, match="the file is empty") as exc:
        read_table(b"  \n", name="c.csv", error=CandidateFileError)
    assert exc.value.param == "file"
    with pytest.raises(ImportFileError, match="unsupported file type '.doc'"):
        read_table(b"x", name="c.doc")
    with pytest.raises(ImportFileError, match="no such file"):
        read_table(tmp_path / "missing.csv")


# ---------------------------------------------------------------------------------------- validation


def test_check_lonlat_each_kind_in_row_order():
    lon = ["102.7129", "", "abc", "25.0406", "572000.5", "102.7", "116.39", "102.7036°"]
    lat = ["25.0406", "25.0", "25.0", "102.7129", "2770000.2", "95.5", "39.91", "25.0467"]
    chk = check_lonlat(lon, lat, rows=range(2, 10), columns=("经度", "纬度"))
    assert [(k, e.row, e.column) for k, e in chk.problems] == [
        ("number", 3, "经度"), ("number", 4, "经度"), ("swapped", 5, "经度/纬度"), ("projected", 6, "经度/纬度"),
        ("range", 7, "纬度"), ("outside", 8, "经度/纬度"),
    ]
    assert chk.ok.tolist() == [True, False, False, False, False, False, False, True]
    assert chk.county[0] == geo.locate_counties(102.7129, 25.0406)[0] and chk.county[7] is not None
    assert chk.errors[1].reason == "longitude is missing or not a number: 'abc'"


def test_check_lonlat_converts_before_the_inside_test():
    from stations.coords import wgs84_to_gcj02

    x, y = wgs84_to_gcj02(102.7129, 25.0406)
    chk = check_lonlat([x], [y], crs="gcj02")
    assert chk.problems == [] and chk.lon[0] == pytest.approx(102.7129, abs=1e-7)


def test_one_bbox():
    x0, y0, x1, y1 = YUNNAN_BBOX
    minx, miny, maxx, maxy = geo.load_province().total_bounds
    assert x0 < minx and y0 < miny and maxx < x1 and maxy < y1
    assert in_bbox([102.7, 25.0], [25.0, 102.7]).tolist() == [True, False]
    assert not np.any(in_bbox([96.9, 106.6], [25.0, 25.0]))
