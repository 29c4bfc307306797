"""Issue 14 §1: every request has a budget.

Each row of the issue's table is rebuilt here as the hostile input it was (a 200-byte polygon covering Yunnan,
GeoTIFF headers of 16 M and 900 M pixels, a zip-bomb XLSX, the radius-20000 recommendation, the A3 sheet with the
recommended layer at 20000) and must be refused early (HTTP 413 naming the limit, before the big allocation) or
bounded. The estimates themselves (:mod:`stations.budget`) are checked against the work they guard; the caches
(:mod:`webmap.caches`) against their byte budgets and their rule that nobody's new entry pushes out another
session's live ones. The server's own memory is measured in ``tests/test_server_memory.py``.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from stations import budget
from stations.errors import InputError, LimitError, TimeLimitError
from stations.limits import LIMITS, Limit

ROOT = Path(__file__).resolve().parent.parent
YUNNAN_BOX = [[97.5, 21.1], [106.2, 21.1], [106.2, 29.3], [97.5, 29.3], [97.5, 21.1]]


# ----------------------------------------------------------------------------------------- hostile files
def yunnan_polygon() -> bytes:
    """One polygon over the whole of Yunnan with a weight: about 200 bytes."""
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"workers": 1000},
                                                      "geometry": {"type": "Polygon", "coordinates": [YUNNAN_BOX]}}]}
    return json.dumps(doc, separators=(",", ":")).encode()


def sparse_tiff(path: Path, width: int, height: int) -> Path:
    """A GeoTIFF over Yunnan of ``width`` x ``height`` pixels in which only one 256 x 256 tile is written: the
    file holds a few kilobytes (tiles never written are not stored), its header says the full size."""
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.windows import Window

    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="float32", crs="EPSG:4326",
                   transform=from_bounds(97.5, 21.1, 106.2, 29.3, width, height), compress="deflate", tiled=True,
                   blockxsize=256, blockysize=256, sparse_ok=True, nodata=0)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((1, 256, 256), dtype="float32"), window=Window(0, 0, 256, 256))
    return path


_CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                  'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                  'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                  'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                  'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                  '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
         'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
         'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
             '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
             '<sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
               'spreadsheetml/2006/main"><dimension ref="{ref}"/><sheetData>')


def xlsx_package(path: Path, rows, ref: str) -> Path:
    """A minimal XLSX whose first sheet declares ``<dimension ref=ref>`` and holds ``rows`` (an iterable of
    XML chunks of ``<row>`` elements), streamed into the zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(_SHEET_HEAD.format(ref=ref).encode())
            for chunk in rows:
                fh.write(chunk)
            fh.write(b"</sheetData></worksheet>")
    return path


def _cells(r: int) -> str:
    return (f'<row r="{r}"><c r="A{r}"><v>102.7</v></c><c r="B{r}"><v>25.0</v></c></row>')


def zip_bomb_xlsx(path: Path, xml_mb: int = 400) -> Path:
    """A workbook that says it is two rows but whose sheet expands to ``xml_mb`` MB of identical rows (the
    issue's 1.4 MB bomb kept openpyxl busy for 516 s before the row limit was checked)."""
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>lon</t></is></c><c r="B1" t="inlineStr"><is><t>lat</t></is></c></row>'
    block = b"<row><c><v>102.7</v></c><c><v>25.0</v></c></row>" * 20000  # ~1 MB
    return xlsx_package(path, [header] + [block] * xml_mb, "A1:B2")


# ----------------------------------------------------------------------------------------- the limits table
def test_readme_limits_table_is_the_limits_table():
    from stations.limits import markdown_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README's Limits section must be stations.limits.markdown_table()"


def test_every_budget_has_help_that_says_why():
    for name in ("coverage_pairs", "raster_pixels", "demand_cells", "xlsx_cells", "xlsx_xml_bytes", "zip_ratio",
                 "memo_bytes", "memo_owner_bytes", "upload_bytes", "upload_session_bytes", "analysis_seconds"):
        assert len(LIMITS[name].help) > 40


# ----------------------------------------------------------------------------------------- siting pairs
def _random_points(n, seed, lon=(102.5, 103.0), lat=(24.8, 25.3)):
    rng = np.random.default_rng(seed)
    return rng.uniform(*lon, n), rng.uniform(*lat, n)


@pytest.mark.parametrize("radius", [300.0, 2500.0, "per-point"])
def test_pair_estimate_is_the_coverage_matrix_nonzeros(radius):
    from stations.proximity import coverage_matrix

    dlon, dlat = _random_points(3000, 1)
    slon, slat = _random_points(700, 2)
    r = np.where(np.arange(3000) % 3 == 0, 800.0, 1500.0) if radius == "per-point" else radius
    A = coverage_matrix(slon, slat, dlon, dlat, r)
    assert budget.estimate_coverage_pairs(dlon, dlat, slon, slat, r) == A.nnz > 0


def test_coverage_matrix_in_chunks_is_the_whole_matrix():
    """The chunked, 32-bit construction gives exactly what one query over all points gives."""
    from scipy.spatial import cKDTree

    from stations.proximity import coverage_matrix, ecef

    dlon, dlat = _random_points(2000, 3)
    slon, slat = _random_points(500, 4)
    A = coverage_matrix(slon, slat, dlon, dlat, 1200.0, chunk=97)
    hits = cKDTree(ecef(slon, slat)).query_ball_point(ecef(dlon, dlat), 1200.0 * (1 + 1e-12))
    want = {(i, j) for j, h in enumerate(hits) for i in h}
    rows, cols = A.nonzero()
    assert set(zip(rows.tolist(), cols.tolist())) == want
    assert A.indices.dtype == np.int32


def test_pair_budget_refuses_and_suggests_a_radius():
    dlon, dlat = _random_points(3000, 5)
    slon, slat = _random_points(700, 6)
    at_500 = budget.estimate_coverage_pairs(dlon, dlat, slon, slat, 500.0)
    with pytest.raises(LimitError) as info:
        budget.check_coverage_pairs(dlon, dlat, slon, slat, 5000.0, at_500 + 1)
    e = info.value
    assert e.status == 413 and e.param == "radius"
    assert "a radius of at most 500 m" in str(e) and "fewer candidate sites" in str(e)
    assert budget.check_coverage_pairs(dlon, dlat, slon, slat, 500.0, at_500) == at_500


def test_siting_model_is_refused_before_its_matrix_is_built(monkeypatch):
    import stations.coverage as C
    from stations import siting as S

    def never(*a, **k):
        raise AssertionError("the coverage matrix was built")

    monkeypatch.setattr(C, "coverage_matrix", never)
    dlon, dlat = _random_points(2000, 7)
    import geopandas as gpd

    demand = gpd.GeoDataFrame({"lon": dlon, "lat": dlat, "workers": np.ones(2000)},
                              geometry=gpd.points_from_xy(dlon, dlat), crs="EPSG:4326")
    with pytest.raises(LimitError, match="coverage_pairs"):
        S.MaxCover.from_geodataframes(demand, None, None, 20000.0, max_pairs=LIMITS["coverage_pairs"].hi // 1000)


# ----------------------------------------------------------------------------------------- demand files
@pytest.mark.parametrize(("width", "height"), [(4000, 4000), (30000, 30000)])
def test_tiny_geotiff_of_millions_of_pixels_is_refused_from_its_header(tmp_path, monkeypatch, width, height):
    """The issue's 29 KB GeoTIFF of 16 M pixels (74 s, 2.6 GB) and 1 MB one of 900 M pixels ("Unable to allocate
    6.71 GiB"): refused from the header, before a pixel is read."""
    import rasterio.io

    from stations.demand import load_demand_file

    path = sparse_tiff(tmp_path / "pop.tif", width, height)
    assert path.stat().st_size < 1_100_000  # the were 29 KB and 1 MB
    reads = []
    monkeypatch.setattr(rasterio.io.DatasetReader, "read", lambda *a, **k: reads.append(1) or 1 / 0)
    t0 = time.perf_counter()
    with pytest.raises(LimitError) as info:
        load_demand_file(path)
    assert time.perf_counter() - t0 < 2 and not reads
    assert info.value.status == 413 and "raster_pixels" in str(info.value) and f"{width * height:,}" in str(info.value)
    assert "gdalwarp" in str(info.value)


def test_raster_with_more_positive_pixels_than_demand_cells_is_summed_in_blocks(tmp_path, monkeypatch):
    import rasterio
    from rasterio.transform import from_bounds

    from stations.demand import load_demand_file

    monkeypatch.setitem(LIMITS, "demand_cells", Limit("demand_cells", 1, 2500, "cells", None, "test"))
    w = h = 200  # 40,000 positive pixels of 1 worker: more than the 2,500 allowed points
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_bounds(102.0, 24.5, 103.0, 25.5, w, h)) as dst:
        dst.write(np.ones((1, h, w), dtype="float32"))
    d = load_demand_file(path)
    assert len(d) <= 2500
    assert d["workers"].sum() == pytest.approx(40000.0)  # every pixel's weight is kept
    assert d["lon"].min() > 102.0 and d["lon"].max() < 103.0 and d["lat"].min() > 24.5 and d["lat"].max() < 25.5


def test_pixel_blocks_keep_sums_and_weighted_positions():
    from stations.demand import _pixel_blocks

    weights = np.zeros((5, 7))
    weights[0, 0], weights[1, 1], weights[4, 6] = 1.0, 3.0, 2.0
    w, rows, cols = _pixel_blocks(weights, 10)
    assert sorted(zip(w, rows, cols)) == [(1.0, 0.0, 0.0), (2.0, 4.0, 6.0), (3.0, 1.0, 1.0)]
    w, rows, cols = _pixel_blocks(weights, 2)  # 3 pixels, at most 2 points: blocks of 2 x 2
    got = sorted(zip(w.tolist(), rows.tolist(), cols.tolist()))
    assert got == [(2.0, 4.0, 6.0), (4.0, 0.75, 0.75)]


def test_polygon_covering_yunnan_is_spread_over_coarser_cells(tmp_path):
    """The issue's 220-byte polygon (131 s, 4.4 GB at resolution 9: 7 M cells) is bounded: its cells are
    estimated from its area first and it is spread over resolution 7 (5 km² cells) within demand_cells."""
    from stations.demand import load_demand_file

    raw = yunnan_polygon()
    assert len(raw) <= 220
    path = tmp_path / "all.geojson"
    path.write_bytes(raw)
    res, est = budget.demand_resolution([__import__("shapely").Polygon(YUNNAN_BOX)])
    assert res == 7 and est <= LIMITS["demand_cells"].hi
    t0 = time.perf_counter()
    d = load_demand_file(path)
    assert time.perf_counter() - t0 < 30
    assert 0.8 * est < len(d) <= LIMITS["demand_cells"].hi
    assert d["workers"].sum() == pytest.approx(1000.0)
    import h3

    assert {h3.get_resolution(c) for c in d["h3"].head(50)} == {7}


def test_polygons_too_large_even_for_coarse_cells_are_refused(tmp_path, monkeypatch):
    from stations.demand import load_demand_file

    monkeypatch.setitem(LIMITS, "demand_cells", Limit("demand_cells", 1, 1000, "cells", None, "test"))
    path = tmp_path / "all.geojson"
    path.write_bytes(yunnan_polygon())
    with pytest.raises(LimitError) as info:
        load_demand_file(path)
    assert info.value.status == 413 and "demand_cells" in str(info.value) and "resolution 7" in str(info.value)


def test_self_intersecting_polygon_is_estimated_by_the_area_it_covers():
    import shapely

    bowtie = shapely.Polygon([(100, 23), (104, 27), (104, 23), (100, 27), (100, 23)])  # signed area ~ 0
    assert abs(bowtie.area) < 1e-9
    assert budget.polygon_cells([bowtie], 7) > 10000


def test_demand_table_rows_are_counted_before_parsing(tmp_path, monkeypatch):
    import csv

    from stations.demand import load_demand_file

    monkeypatch.setitem(LIMITS, "demand_rows", Limit("demand_rows", 1, 100, "rows", None, "test"))
    path = tmp_path / "d.csv"
    path.write_text("lon,lat,workers\n" + "102.7,25.0,1\n" * 150, encoding="utf-8")
    monkeypatch.setattr(csv, "reader", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    with pytest.raises(InputError) as info:
        load_demand_file(path)
    assert info.value.status == 413 and "at most 100" in str(info.value)


# ----------------------------------------------------------------------------------------- workbooks
def test_zip_bomb_xlsx_is_refused_from_the_zip_directory(tmp_path, monkeypatch):
    import openpyxl

    from stations import siting as S

    path = zip_bomb_xlsx(tmp_path / "sites.xlsx")
    assert path.stat().st_size < 2 * 1024 * 1024
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    size = budget.xlsx_dimensions(path)
    assert size.rows == 2 and size.cols == 2 and size.xml_bytes > 300 * 1024 * 1024 and size.ratio > 200
    t0 = time.perf_counter()
    with pytest.raises(S.CandidateFileError) as info:
        S.read_candidates(path)
    assert time.perf_counter() - t0 < 2
    assert info.value.status == 413 and "zip bomb" in str(info.value) and "zip_ratio" in str(info.value)


def test_xlsx_declaring_millions_of_cells_is_refused(tmp_path):
    path = xlsx_package(tmp_path / "big.xlsx", [_cells(r).encode() for r in range(1, 4)], "A1:Z1000000")
    with pytest.raises(LimitError, match="26,000,000 cells") as info:
        budget.check_xlsx(path)
    assert info.value.status == 413 and "xlsx_cells" in str(info.value)


def test_xlsx_whose_dimension_lies_is_stopped_while_rows_are_read(tmp_path):
    from stations.tables import read_table

    path = xlsx_package(tmp_path / "liar.xlsx", [_cells(r).encode() for r in range(1, 2502)], "A1:B2")
    assert budget.xlsx_dimensions(path).rows == 2
    with pytest.raises(InputError) as info:
        read_table(path, max_rows=1000)
    assert info.value.status == 413 and "rows read so far" in str(info.value)


def test_xlsx_over_the_uncompressed_budget_is_refused(tmp_path):
    rows = [_cells(r).encode() for r in range(1, 200)]
    path = xlsx_package(tmp_path / "x.xlsx", rows, "A1:B199")
    with pytest.raises(LimitError, match="xlsx_xml_bytes"):
        budget.check_xlsx(path, max_xml_bytes=1000)
    assert budget.check_xlsx(path).rows == 199


def test_not_a_zip_is_the_readers_own_error(tmp_path):
    from stations.errors import CandidateFileError

    path = tmp_path / "x.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(CandidateFileError, match="not a readable XLSX workbook"):
        budget.check_xlsx(path, error=CandidateFileError)


# ----------------------------------------------------------------------------------------- deadlines
def test_deadline_names_the_work_the_limit_and_what_to_do():
    d = budget.Deadline(0, "the gaps", hint="ask for a larger radius", param="radius")
    time.sleep(0.001)
    with pytest.raises(TimeLimitError) as info:
        d.check("12 of 300 polygons")
    assert str(info.value) == "the gaps stopped at its run-time limit of 0 s (12 of 300 polygons); ask for a larger radius"
    assert info.value.param == "radius" and info.value.status == 400
    budget.Deadline.never().check()


def test_gaps_stop_at_their_deadline():
    from stations import coverage as C
    from stations.demand import demand_from_points

    lon, lat = _random_points(500, 9)
    demand = demand_from_points(lon, lat, np.ones(500))
    import geopandas as gpd
    import pandas as pd

    stations = gpd.GeoDataFrame(pd.DataFrame({"id": ["a"], "lon": [102.0], "lat": [24.0], "status": ["open"]}),
                                geometry=gpd.points_from_xy([102.0], [24.0]), crs="EPSG:4326")
    res = C.compute_coverage(stations, demand, 1000.0)
    assert len(C.find_gaps(res, deadline=budget.Deadline(60))) > 0
    late = budget.Deadline(0, "the gaps")
    time.sleep(0.001)
    with pytest.raises(TimeLimitError, match="the gaps stopped"):
        C.find_gaps(res, deadline=late)


def test_table_reading_stops_at_its_deadline(tmp_path):
    from stations.tables import read_table

    path = tmp_path / "t.csv"
    path.write_text("lon,lat\n" + "102.7,25.0\n" * 5000, encoding="utf-8")
    late = budget.Deadline(0, "reading t.csv", hint="send a smaller file")
    time.sleep(0.001)
    with pytest.raises(TimeLimitError, match=r"reading t.csv stopped .*rows read\); send a smaller file"):
        read_table(path, deadline=late)


# ----------------------------------------------------------------------------------------- sizes
def test_nbytes_counts_arrays_frames_sparse_and_skips_shared():
    import pandas as pd
    from scipy import sparse

    a = np.zeros(1_000_000)
    assert budget.nbytes(a) == 8_000_000
    m = sparse.random(1000, 1000, density=0.01, format="csr", random_state=1)
    assert budget.nbytes(m) == m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
    df = pd.DataFrame({"x": np.arange(100_000, dtype=float), "s": [f"名称{i}" for i in range(100_000)]})
    assert budget.nbytes(df) >= df.memory_usage(deep=True).sum() - 1000
    holder = {"mine": a, "theirs": df}
    assert 8_000_000 <= budget.nbytes(holder, shared=[df]) < 8_100_000
    assert budget.nbytes([a, a]) < 8_100_000  # counted once


# ----------------------------------------------------------------------------------------- the cache rule
class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _cache(**kw):
    from webmap.caches import OwnedCache

    clock = _Clock()
    kw.setdefault("idle_seconds", 100)
    return OwnedCache(kw.pop("max_bytes", 100), kw.pop("owner_bytes", 60), clock=clock, sizeof=lambda v: v, **kw), clock


def test_an_owner_pushes_out_only_its_own_entries():
    c, clock = _cache()
    assert c.put("a1", 30, "A") and c.put("b1", 30, "B")
    assert c.put("a2", 40, "A")  # A over its 60: its own a1 goes
    assert "a1" not in c and "b1" in c and c.total == 70
    assert not c.put("c1", 40, "C")  # room only by pushing out A's or B's live entries: not kept
    assert "a2" in c and "b1" in c and c.refused == 1
    clock.t = 150  # now A's and B's entries are idle: anyone may push them out, least recently used first
    assert c.put("c1", 40, "C") and "b1" not in c and "a2" in c
    assert c.total <= c.max_bytes


def test_an_entry_larger_than_an_owners_share_is_not_kept():
    c, _ = _cache()
    assert not c.put("big", 61, "A") and "big" not in c and c.total == 0


def test_an_entry_used_by_two_owners_is_shared_and_leaves_only_when_idle():
    from webmap.caches import SHARED

    c, clock = _cache()
    c.put("default", 30, "A")
    assert c.get("default", owner="B") == 30 and c.owner_of("default") == SHARED
    assert c.put("a2", 50, "A") and "default" in c  # A's budget no longer holds it
    assert not c.put("a3", 60, "A") or "default" in c
    clock.t = 500
    assert c.put("c1", 60, "C") and "default" not in c


def test_owner_entry_count():
    c, _ = _cache(owner_entries=2)
    for k in range(4):
        c.put(k, 1, "A")
    assert list(c) == [2, 3]


# ----------------------------------------------------------------------------------------- the web app
@pytest.fixture()
def bc(app):
    """A client of the app over the fixture registry and the bundled demand model."""
    return app.test_client()


def _err(r):
    body = r.get_json()
    assert body and "error" in body, r.data[:300]
    return body["error"]


def test_recommend_at_radius_20000_is_refused_before_the_matrix(bc, monkeypatch):
    """The issue's /api/recommend?n=1&radius=20000 (38 s, 4.1 GB, 555 MB kept per radius): 23 M pairs."""
    import stations.coverage as C

    monkeypatch.setattr(C, "coverage_matrix", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    for radius in (20000, 19999, 19998, 19997):
        t0 = time.perf_counter()
        r = bc.get(f"/api/recommend?n=1&radius={radius}")
        assert time.perf_counter() - t0 < 10
        assert r.status_code == 413
        err = _err(r)
        assert err["parameter"] == "radius" and "coverage_pairs" in err["message"]
        assert "a radius of at most" in err["message"]
    for url in ("/recommend/curve.png?n=3&radius=20000", "/recommend/download/sites.csv?n=3&radius=20000"):
        assert bc.get(url).status_code == 413
    from webmap import get_store

    assert not [k for k in get_store(bc.application).snapshot()._cache if k[0].startswith("siting")]


def test_print_sheet_with_recommended_layer_at_20000_is_refused_before_drawing(bc, monkeypatch):
    from stations import cartography

    monkeypatch.setattr(cartography, "make_sheet", lambda *a, **k: (_ for _ in ()).throw(AssertionError("drawn")))
    t0 = time.perf_counter()
    r = bc.get("/print/sheet.png?paper=A3&layers=outlines,stations,recommended&radius=20000")
    assert time.perf_counter() - t0 < 10
    assert r.status_code == 413
    err = _err(r)
    assert err["parameter"] == "radius" and "coverage_pairs" in err["message"] and "layers" in err["message"]
    r = bc.get("/print/atlas.pdf?paper=A3&layers=outlines,stations,recommended&radius=20000")
    assert r.status_code == 413


def test_coverage_layer_at_the_largest_radius_is_valid(demo_db_url):
    """The issue's /api/coverage/layer?radius=20000: HTTP 500 (GEOS TopologyException) on the demo registry."""
    import shapely

    from webmap import create_app

    client = create_app({"TESTING": True, "DATABASE_URL": demo_db_url, "TILES": "none"}).test_client()
    for radius in (1000, 20000):
        r = client.get(f"/api/coverage/layer?radius={radius}")
        assert r.status_code == 200, r.data[:300]
        geom = shapely.geometry.shape(r.get_json()["features"][0]["geometry"])
        assert geom.is_valid and not geom.is_empty


def test_dissolved_layer_parts_are_disjoint_at_every_radius(demo_db_url):
    import shapely

    from stations import coverage as C
    from stations.registry import Registry

    stations = Registry(demo_db_url).load()
    for radius in (50, 1000, 5000, 19000, 20000):
        layer = C.compute_coverage(stations, radius=radius).layer_metric()
        assert shapely.is_valid(layer), (radius, shapely.is_valid_reason(layer))
        assert C.display_layer(C.compute_coverage(stations, radius=radius)).is_valid


def _upload(client, name: str, data: bytes, url="/api/coverage/demand"):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_of_tiny_huge_geotiffs_is_413(bc, tmp_path):
    for w in (4000, 30000):
        data = sparse_tiff(tmp_path / f"p{w}.tif", w, w).read_bytes()
        t0 = time.perf_counter()
        r = _upload(bc, "人口.tif", data)
        assert time.perf_counter() - t0 < 3
        assert r.status_code == 413
        err = _err(r)
        assert err["parameter"] == "file" and "人口.tif" in err["message"] and "raster_pixels" in err["message"]
        assert "/tmp" not in err["message"] and "demand.tif" not in err["message"]


def test_upload_of_a_polygon_covering_yunnan_is_bounded(bc):
    t0 = time.perf_counter()
    r = _upload(bc, "yunnan.geojson", yunnan_polygon())
    assert time.perf_counter() - t0 < 30
    assert r.status_code == 201, r.data[:300]
    assert r.get_json()["points"] <= LIMITS["demand_cells"].hi


def test_zip_bomb_candidates_are_413(bc, tmp_path):
    data = zip_bomb_xlsx(tmp_path / "c.xlsx").read_bytes()
    t0 = time.perf_counter()
    r = _upload(bc, "候选.xlsx", data, url="/api/candidates")
    assert time.perf_counter() - t0 < 3
    assert r.status_code == 413
    err = _err(r)
    assert "候选.xlsx" in err["message"] and "zip bomb" in err["message"]


def test_uploads_and_analyses_stop_at_the_wall_clock_limit(bc):
    bc.application.config["ANALYSIS_SECONDS"] = 0.0
    r = bc.get("/api/gaps?radius=777")
    assert r.status_code == 400
    err = _err(r)
    assert err["parameter"] == "radius" and "run-time limit of 0 s" in err["message"]
    csv = ("lon,lat,workers\n" + "102.7,25.0,1\n" * 3000).encode()
    err = _err(_upload(bc, "d.csv", csv))
    assert err["parameter"] == "file" and "reading d.csv stopped at its run-time limit of 0 s" in err["message"]


def _session(app):
    c = app.test_client()
    assert c.get("/planner").status_code == 200
    return c


def test_uploaded_sets_belong_to_their_session(app):
    csv = b"lon,lat,workers\n102.71,25.04,10\n102.72,25.05,5\n"
    alice, bob = _session(app), _session(app)
    anon = app.test_client(use_cookies=False)
    token = _upload(alice, "a.csv", csv).get_json()["demand"]
    assert alice.get(f"/api/coverage?demand={token}").status_code == 200
    for other in (bob, anon):
        r = other.get(f"/api/coverage?demand={token}")
        assert r.status_code == 400 and _err(r)["parameter"] == "demand"
    # requests without a session share one owner: their sets are theirs together
    t2 = _upload(anon, "b.csv", csv).get_json()["demand"]
    assert app.test_client(use_cookies=False).get(f"/api/coverage?demand={t2}").status_code == 200
    assert alice.get(f"/api/coverage?demand={t2}").status_code == 400


def test_anonymous_uploads_never_push_out_a_sessions_sets(app):
    from webmap import state

    app.config["RATE_LIMITS"] = False  # 14 uploads in a row: this test is about memory, not the upload rate limit

    csv = b"lon,lat,workers\n" + b"".join(f"102.{i:03d},25.0,1\n".encode() for i in range(200))
    alice = _session(app)
    token = _upload(alice, "a.csv", csv).get_json()["demand"]
    with app.app_context():
        uploads = state._state().uploads
        size = uploads.bytes_of(uploads.owner_of(("demand", uploads.keys()[0][1], token)))
        uploads.max_bytes = int(size * 3.5)  # room for alice's set and two or three more
    anon = app.test_client(use_cookies=False)
    codes = [_upload(anon, f"x{i}.csv", csv).status_code for i in range(12)]
    assert codes.count(201) >= 2
    assert alice.get(f"/api/coverage?demand={token}").status_code == 200  # still there
    bob = _session(app)
    with app.app_context():
        uploads.owner_bytes = int(size * 1.5)
        uploads.max_bytes = uploads.total + int(size * 0.5)  # full of live sets of others
    r = _upload(bob, "b.csv", csv)
    assert r.status_code == 413 and "upload_bytes" in _err(r)["message"]
    assert alice.get(f"/api/coverage?demand={token}").status_code == 200


def test_memo_is_bounded_by_bytes_and_keeps_other_sessions_entries(app, monkeypatch):
    from webmap import get_store

    snap = get_store(app).snapshot()
    alice = _session(app)
    assert alice.get("/api/coverage?radius=1234").status_code == 200
    key = next(k for k in snap._cache if k[0] == "planner" and k[1] == 1234.0)
    one = snap._cache._entries[key].size
    snap._cache.owner_bytes = int(one * 2.5)
    snap._cache.max_bytes = int(one * 6)
    anon = app.test_client(use_cookies=False)
    for radius in range(1300, 2300, 100):
        assert anon.get(f"/api/coverage?radius={radius}&by=province").status_code == 200
    stats = snap._cache.stats()
    assert stats["bytes"] <= snap._cache.max_bytes
    assert stats["owners"].get("anonymous", 0) <= snap._cache.owner_bytes
    assert key in snap._cache  # alice's coverage survived ten anonymous radii


def test_secret_key_from_the_environment_or_generated_once(tmp_path, monkeypatch):
    import os
    import stat

    from stations import config

    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("YIZHAN_SECRET_KEY", raising=False)
    first = config.secret_key()
    path = tmp_path / "secret_key"
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert config.secret_key() == first  # sessions survive a restart
    monkeypatch.setenv("YIZHAN_SECRET_KEY", "from-the-environment")
    assert config.secret_key() == "from-the-environment"
    assert config.settings().public()["YIZHAN_SECRET_KEY"] == "***"
