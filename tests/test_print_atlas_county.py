"""The county atlas of a prefecture (issue 12 §4): a cover with the table of its counties, then each county's
sheet followed by the table of its stations (name, address, hours, services, status, last change), paginated.

Needs poppler-utils (pdfinfo, pdftotext, pdffonts) and fonts-noto-cjk (installed by ``make test``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from stations import cartography, sheet_layers
from stations.cartography import county_atlas

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
NAME = re.compile(r"(?<![：\S])[^\s：]+?（示例）")  # a demo station's name (not the producer line "制图：…（示例）")


def _run(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def pdf_pages(path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(path)), re.M).group(1))


def pdf_text(path: Path, first: int, last: int | None = None) -> str:
    return _run("pdftotext", "-enc", "UTF-8", "-f", str(first), "-l", str(last or first), str(path), "-")


def flat(text: str) -> str:
    """Without white space (pdftotext keeps or drops the spaces between Chinese and figures)."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def demo_stations(demo_db_url):
    from stations.registry import Registry

    return Registry(demo_db_url).load()


@pytest.fixture(scope="module")
def ctx(demo_stations):
    return sheet_layers.context(demo_stations)


def test_pagination_by_hand():
    per = cartography.rows_per_page("A4")
    assert 25 <= per <= 45  # two-line rows on an A4 page
    assert cartography.table_pages(0, "A4") == 1  # one page saying the county has none
    assert cartography.table_pages(1, "A4") == 1
    assert cartography.table_pages(per, "A4") == 1
    assert cartography.table_pages(per + 1, "A4") == 2
    assert cartography.table_pages(181, "A4") == -(-181 // per)
    assert cartography.rows_per_page("A3") >= per  # A3's type is larger, its page more so


@pytest.fixture(scope="module")
def nujiang_atlas(ctx, tmp_path_factory):
    out = tmp_path_factory.mktemp("county-atlas") / "nujiang.pdf"
    pages = []
    info = cartography.make_atlas("A4", out, progress=False, area="怒江州", context=ctx, print_date=date(2026, 12, 2),
                                  layers="outlines,stations,coverage,gaps", on_page=lambda d, t: pages.append((d, t)))
    return out, info, pages


@needs_poppler
def test_county_atlas_page_count_and_order(nujiang_atlas, demo_stations):
    path, info, progress = nujiang_atlas
    counties = ["533301", "533323", "533324", "533325"]  # 泸水市, 福贡县, 贡山独龙族怒族自治县, 兰坪白族普米族自治县
    per = cartography.rows_per_page("A4")
    counts = [int((demo_stations["county_adcode"] == c).sum()) for c in counties]
    expected = 1 + sum(1 + max(1, -(-n // per)) for n in counts)
    assert info.pages == expected == pdf_pages(path)
    assert progress[-1] == (expected, expected) and [d for d, _ in progress] == list(range(1, expected + 1))
    cover = flat(pdf_text(path, 1))
    assert "怒江傈僳族自治州工会驿站分布图集" in cover
    assert f"第1页/共{expected}页" in cover
    # the sheet of each county, then its table, on the pages the cover gives
    page = 2
    g = cartography.Context(stations=demo_stations).geo
    for code, n in zip(counties, counts):
        name = g.county_names[code]
        assert f"{name}工会驿站分布图" in flat(pdf_text(path, page)), (code, page)
        assert f"{name}第{page}页" in cover  # the cover's map names each county with its page
        table = flat(pdf_text(path, page + 1))
        assert f"{name}工会驿站名录" in table and f"共{n}个驿站" in table
        assert f"第{page + 1}页/共{expected}页" in table
        page += 1 + max(1, -(-n // per))


@needs_poppler
def test_county_atlas_station_table_lists_every_station_of_the_county(nujiang_atlas, demo_stations):
    path, info, _ = nujiang_atlas
    lushui = demo_stations[demo_stations["county_adcode"] == "533301"]
    text = pdf_text(path, 3)  # 泸水市's table follows its sheet on page 2
    for header in ("序号", "名称", "地址", "开放时间", "服务", "状态", "最近更新"):
        assert header in text
    found = set(NAME.findall(text))
    assert found == set(lushui["name"]), found ^ set(lushui["name"])
    from stations.hours import OpeningHours

    row = lushui.sort_values("name").iloc[0]
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", row["address"]) in flat
    assert re.sub(r"\s+", "", OpeningHours.from_json(row["hours_json"]).describe("zh")) in flat  # hours, described
    assert "饮水" in text and "开放" in text
    assert str(row["updated_at"])[:10] in text  # the last change


@needs_poppler
def test_county_atlas_embeds_the_cjk_font(nujiang_atlas):
    path, _, _ = nujiang_atlas
    fonts = _run("pdffonts", str(path))
    cjk = [line for line in fonts.splitlines() if "CJK" in line or "Noto" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts


@needs_poppler
def test_a_county_with_hundreds_of_stations_is_paginated(ctx, demo_stations, tmp_path):
    """五华区 has 181 stations in the demo registry: its table runs over several pages, every station once, in
    name order, the headers on every page."""
    from matplotlib.backends.backend_pdf import PdfPages

    wuhua = demo_stations[demo_stations["county_adcode"] == "530102"]
    rows = county_atlas.station_rows(wuhua)
    per = cartography.rows_per_page("A4")
    parts = cartography.table_pages(len(rows), "A4")
    assert len(rows) == len(wuhua) and parts >= 4
    assert [r[1] for r in rows] == sorted(wuhua["name"], key=county_atlas.natural_key)
    assert county_atlas.natural_key("驿站2号") < county_atlas.natural_key("驿站10号")
    out = tmp_path / "wuhua-table.pdf"
    with cartography.font_context(), PdfPages(out) as pdf:
        for part in range(1, parts + 1):
            pdf.savefig(county_atlas.station_table_page(
                "A4", "五华区", "昆明市", rows, (part - 1) * per, part, parts, len(rows), page_label=f"第 {part} 页",
                generated=date(2026, 12, 2), as_of="2026-12-02", demo=True))
    assert pdf_pages(out) == parts
    seen = []
    for part in range(1, parts + 1):
        text = pdf_text(out, part)
        assert "最近更新" in text and f"第{part}/{parts}页" in flat(text)
        mine = [r[1] for r in rows[(part - 1) * per: part * per]]
        assert len(mine) == (per if part < parts else len(rows) - per * (parts - 1))
        for name in mine:  # every station of this page, whatever its name (the hostile test station too)
            assert flat(name) in flat(text), name
        demo_names = NAME.findall(text)
        assert sorted(demo_names) == sorted(n for n in mine if n.endswith("（示例）"))
        seen += mine
    assert sorted(seen) == sorted(wuhua["name"])


def test_cover_table_adds_up(ctx):
    """The cover's county rows add up to the prefecture's total row, stations and workers (rounded to keep totals)."""
    pages = cartography.atlas_pages(ctx, "530100", "A4")
    rows, total = county_atlas.county_index_rows(ctx, "530100", pages, 1000.0, ("outlines", "stations"))
    assert [r.adcode for r in rows] == sorted(pages)
    assert sum(r.stations for r in rows) == total.stations
    assert sum(r.open for r in rows) == total.open
    assert sum(r.workers for r in rows) == total.workers
    assert all(float(r.workers).is_integer() for r in rows)
    # pages: each county's sheet comes after the previous county's table pages
    page = 2
    for code in sorted(pages):
        assert pages[code][0] == page
        page += 1 + pages[code][1]


# ------------------------------------------------------------------------------------------------ the web


@pytest.fixture()
def atlas_jobs(monkeypatch, tmp_path):
    from webmap import print_views

    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(print_views, "_ATLAS_JOBS", {})
    return print_views


def _wait_for(predicate, timeout=10.0):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_county_atlas_on_the_web_is_a_job_of_its_own(client, monkeypatch, atlas_jobs, tmp_path):
    calls = []
    gate = threading.Event()

    def fake_atlas(paper, out, progress=True, *, on_page=None, area=None, **kwargs):
        calls.append((paper, area))
        on_page(1, 5)
        assert gate.wait(10)
        for i in range(2, 6):
            on_page(i, 5)
        out.write(b"%PDF-1.4 fake county atlas")

    monkeypatch.setattr(cartography, "make_atlas", fake_atlas)
    bad = client.get("/print/atlas.pdf?paper=A4&area=wuhua")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "area"
    assert "请给出其所属州（市）昆明市 (530100)" in bad.get_json()["error"]["message"]  # in the page's language
    idle = client.get("/print/atlas/status?paper=A4&area=530100").get_json()
    assert idle["state"] == "idle"
    # the page count is known before drawing: the cover, and each county's sheet and table pages
    from webmap import get_store

    with client.application.app_context():
        stations = get_store().snapshot().gdf
    counts = stations.groupby("county_adcode").size()
    counties = sorted(c for c, p in cartography.Context(stations=stations).geo.county_prefecture.items() if p == "530100")
    per = cartography.rows_per_page("A4")
    assert idle["pages_total"] == 1 + sum(1 + max(1, -(-int(counts.get(c, 0)) // per)) for c in counties)
    first = client.get("/print/atlas.pdf?paper=A4&area=kunming")  # a name is taken
    assert first.status_code == 202
    body = first.get_json()
    assert body["state"] == "running" and "area=530100" in body["status_url"]
    # the province's atlas of the same paper is not blocked by it
    province = client.get("/print/atlas/status?paper=A4").get_json()
    assert province["state"] == "idle" and not province.get("busy")
    gate.set()
    done = _wait_for(lambda: (b := client.get(body["status_url"]).get_json())["state"] == "done" and b)
    assert done["pages_done"] == done["pages_total"] and "area=530100" in done["download_url"]
    resp = client.get(done["download_url"] + "&download=1")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert "atlas-530100-A4.pdf" in resp.headers["Content-Disposition"]
    assert calls == [("A4", "530100")]
    assert list((tmp_path / "print").glob("county-atlas-530100-A4-*.pdf"))


def test_print_page_offers_the_county_atlas_and_no_inline_code(client):
    html = client.get("/print").get_data(as_text=True)
    assert 'id="county-atlas-area"' in html and 'data-area-from="county-atlas-area"' in html
    assert re.search(r'<option value="530100">昆明市</option>', html)
    # CSP-ready: no inline style, no inline script other than JSON data, no on* handlers
    assert "<style" not in html
    for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        attrs, body = m.groups()
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs
    assert not re.search(r"\son[a-z]+\s*=", html)
    # layers in words, not keys; paper and orientation in groups of their own; the atlas links are main buttons
    assert '<code class="key' not in html
    assert "纸张大小" in html and "方向" in html and "210 × 297 mm" in html
    assert re.search(r'class="button primary atlas-start"', html)
    assert "print_sheet.js" in html and "print_page.css" in html


@needs_poppler
def test_station_text_is_printed_as_written(ctx, demo_stations, tmp_path):
    """Names and addresses are the registry's text: dollar signs are no math, odd characters are kept."""
    from matplotlib.backends.backend_pdf import PdfPages

    one = demo_stations.iloc[:1].copy()
    one["name"] = "价格$5和$6驿站 <b>&"
    one["address"] = "示例路$x^2$号"
    rows = county_atlas.station_rows(one)
    out = tmp_path / "odd.pdf"
    with cartography.font_context(), PdfPages(out) as pdf:
        pdf.savefig(county_atlas.station_table_page("A4", "五华区", "昆明市", rows, 0, 1, 1, 1, page_label="第 1 页",
                                                    generated=date(2026, 12, 2), as_of="2026-12-02"))
    text = flat(pdf_text(out, 1))
    assert "价格$5和$6驿站<b>&" in text and "示例路$x^2$号" in text
