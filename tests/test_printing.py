"""Map sheets and the atlas (issue 6): validation, fonts, text extraction, rendering, scale bar, routes, CLI.

Needs the Debian packages poppler-utils (pdfinfo, pdftotext, pdftoppm, pdffonts) and fonts-noto-cjk
(installed by ``make test``).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod, Transformer

from stations import cartography, geo, sheet_layers
from stations.cartography import PrintError, fonts

GEOD = Geod(ellps="WGS84")

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed (make test installs it)")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=True)


def pdf_pages(path: Path) -> int:
    out = _run("pdfinfo", str(path)).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return _run(*args, str(path), "-").stdout


def render_png(pdf: Path, dpi: int = 40) -> np.ndarray:
    """The first page as an RGB float array (pdftoppm)."""
    from matplotlib.image import imread

    stem = pdf.with_suffix("")
    _run("pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", "1", "-l", "1", str(pdf), str(stem))
    img = imread(str(stem) + ".png")
    return img[..., :3]


def map_frame(img: np.ndarray, paper: str, orientation: str) -> np.ndarray:
    """Crop the map frame of a rendered sheet (inset by 3 % to drop the frame line)."""
    lay = cartography.layout_for(paper, orientation)
    pw, ph = lay.page
    h, w = img.shape[:2]
    x, y, mw, mh = lay.map
    x0, x1 = int((x + mw * 0.03) / pw * w), int((x + mw * 0.97) / pw * w)
    y0, y1 = int((ph - (y + mh * 0.97)) / ph * h), int((ph - (y + mh * 0.03)) / ph * h)
    return img[y0:y1, x0:x1]


@pytest.fixture(scope="module")
def demo_stations(demo_db_url):
    from stations.registry import Registry

    return Registry(demo_db_url).load()


@pytest.fixture(scope="module")
def ctx(demo_stations):
    return sheet_layers.context(demo_stations)


@pytest.fixture(scope="module")
def sheets(ctx, tmp_path_factory):
    """Kunming (530100) and Qujing (530300) on A4 portrait, Wuhua (530102) on A3 landscape, as PDFs."""
    out = tmp_path_factory.mktemp("sheets")
    result = {}
    for area, paper, orientation in (("530100", "A4", "portrait"), ("530300", "A4", "portrait"), ("530102", "A3", "landscape")):
        path = out / f"{area}-{paper}-{orientation}.pdf"
        t0 = time.perf_counter()
        layers = "outlines,stations,coverage,gaps" + (",recommended" if area == "530102" else "")
        info = cartography.make_sheet(area, paper, orientation, layers, 1000, path, context=ctx)
        result[area] = (path, info, time.perf_counter() - t0)
    return result


# ------------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs, param, fragment",
    [
        ({"area": "539999"}, "area", "unknown adcode 539999"),
        ({"area": "kunmin"}, "area", "unknown area 'kunmin'; did you mean 昆明市 (530100)?"),
        ({"area": "大理"}, "area", "'大理' could be 大理白族自治州 (532900), 大理市 (532901"),
        ({"area": "110000"}, "area", "unknown adcode 110000"),
        ({"paper": "A5"}, "paper", "unknown paper size 'A5'; choose from A4, A3"),
        ({"orientation": "sideways"}, "orientation", "unknown orientation 'sideways'"),
        ({"layers": "outlines,roads"}, "layers", "unknown layer 'roads'"),
        ({"layers": ""}, "layers", "empty"),
        ({"radius": "abc"}, "radius", "not a number"),
        ({"radius": -5}, "radius", "out of range"),
        ({"symbols": "hosts"}, "symbols", "unknown station symbolisation 'hosts'; choose from status, services"),
    ],
)
def test_bad_arguments_raise_precise_errors(kwargs, param, fragment):
    args = {"area": "yunnan", "paper": "A4", "orientation": "portrait", "layers": None, "radius": 1000, **kwargs}
    with pytest.raises(PrintError) as err:
        cartography.validate(**args)
    assert err.value.param == param
    assert fragment in str(err.value)
    assert isinstance(err.value, ValueError)


def test_validation_normalises():
    req = cartography.validate("Yunnan", "a3", "Landscape", "stations, outlines", "500")
    assert req == cartography.SheetRequest("530000", "A3", "landscape", ("outlines", "stations"), 500.0)
    assert cartography.validate("530102").area == "530102"
    assert cartography.validate("530102").symbols == "status"
    assert cartography.validate("530102", symbols=" Services ").symbols == "services"
    with pytest.raises(PrintError, match="dpi"):
        cartography.parse_dpi(5)


def test_make_sheet_rejects_unknown_output_format(tmp_path, ctx):
    with pytest.raises(PrintError, match=r"out: unsupported output format 'svg'"):
        cartography.make_sheet("530100", out=tmp_path / "x.svg", context=ctx)
    assert not (tmp_path / "x.svg").exists()


def test_missing_cjk_font_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(fonts, "_FONTS", None)
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", (("/nonexistent/font.ttc", None),))
    with pytest.raises(cartography.CJKFontError, match="fonts-noto-cjk"):
        cartography.find_cjk_font()
    monkeypatch.setenv("YIZHAN_CJK_FONT", "/nonexistent/other.ttf")
    with pytest.raises(cartography.CJKFontError, match="YIZHAN_CJK_FONT"):
        cartography.find_cjk_font()


# ------------------------------------------------------------------------------------------------ cartography


def test_nice_scales_and_lengths():
    assert cartography.nice_scale(1_430_000) == 1_500_000
    assert cartography.nice_scale(5_100_000) == 5_500_000
    assert cartography.nice_scale(280_000) == 300_000
    assert cartography.nice_length_km(230) == 200
    assert cartography.nice_length_km(60) == 50
    assert cartography.nice_length_km(3.1) == 2.5


@pytest.mark.parametrize("area", ["yunnan", "530100", "533400", "530102"])
def test_scale_bar_is_true_ground_distance_at_the_map_centre(area, ctx, tmp_path):
    info = cartography.make_sheet(area, "A4", "portrait", "outlines", 1000, tmp_path / "s.png", dpi=50, context=ctx)
    x0, x1, y0, y1 = info.map_extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    inv = Transformer.from_crs(info.crs, "EPSG:4326", always_xy=True)
    half = info.scalebar_map_m / 2
    lon_a, lat_a = inv.transform(cx - half, cy)
    lon_b, lat_b = inv.transform(cx + half, cy)
    _, _, ground_m = GEOD.inv(lon_a, lat_a, lon_b, lat_b)
    assert ground_m == pytest.approx(info.scalebar_km * 1000, rel=0.002)
    # the stated scale matches the frame: frame width (mm) x denominator == extent width (m)
    lay = cartography.layout_for("A4", "portrait")
    assert (x1 - x0) == pytest.approx(lay.map[2] / 1000 * info.scale_denominator, rel=1e-6)
    # projected, never lon/lat degrees
    assert info.crs.is_projected
    # the bar is a round length and a sensible share of the frame
    assert 0.08 < info.scalebar_map_m / (x1 - x0) < 0.3


def test_north_arrow_points_to_true_north():
    # LCC: meridians converge; west of the central meridian (101.5 E) north leans east (clockwise)
    gamma = cartography.north_angle(geo.METRIC_CRS, 98.5, 25.0)
    expected = -math.degrees(math.sin(math.radians(25.0)) * math.radians(3.0))
    assert gamma == pytest.approx(expected, abs=0.05)
    assert cartography.north_angle(geo.METRIC_CRS, 101.5, 25.0) == pytest.approx(0, abs=1e-6)
    # a Transverse Mercator centred on the area: true north is up at its centre
    from shapely.geometry import box

    crs = cartography.area_crs(box(102.5, 24.8, 103.0, 25.3), "county", geo.METRIC_CRS)
    c = box(102.5, 24.8, 103.0, 25.3).centroid
    assert cartography.north_angle(crs, c.x, c.y) == pytest.approx(0, abs=0.05)


def test_labels_do_not_pile_up_at_province_scale(ctx, tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401

    req = cartography.validate("yunnan", "A4", "portrait", "outlines,stations")
    with cartography.font_context():
        fig, info = cartography.build_sheet(req, ctx)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        names = set(ctx.geo.prefecture_names.values())
        labels = [t for t in ax.texts if t.get_text() in names and t.get_color() != "white"]  # not the halo copies
        boxes = [t.get_window_extent(renderer) for t in labels]
    assert len(boxes) == 16  # every prefecture named, none dropped
    overlaps = [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]
    assert overlaps == []


# ------------------------------------------------------------------------------------------------ PDF output


@needs_poppler
def test_sheet_pdf_has_extractable_chinese_title_and_legend(sheets):
    path, info, _ = sheets["530100"]
    assert pdf_pages(path) == 1
    text = pdf_text(path)
    assert info.title == "昆明市工会驿站分布图"
    assert "昆明市工会驿站分布图" in text
    for word in ("图例", "工会驿站", "开放", "暂停开放", "服务范围", "省界", "统计", "比例尺", "北"):
        assert word in text, word
    assert "示例数据 / demo data (synthetic)" in text
    assert "服务半径 1 公里" in text
    assert "天地图" in text and "GeoNames" in text and "CC BY 4.0" in text and "2020" in text
    assert re.search(r"打印日期：\d{4}-\d{2}-\d{2}", text)
    assert "五华区" in text  # county labels on a prefecture sheet
    assert "滇池" in text and "湖泊、水库" in text  # lakes, named
    assert "西山区" in text and "103°E" in text  # map labels are text too (halos are separate outlines)
    # once as a map label (its halo is an outline, not text), plus any gap the statistics box names there
    assert text.count("西山区") == 1 + len(re.findall(r"^\s*\d\. [^\n]*西山区", text, re.M))
    assert not re.search(r"^国界$", text, re.M)  # Kunming has no foreign border: no 国界 row in its legend


@needs_poppler
def test_sheet_pdf_embeds_a_truetype_cjk_font(sheets):
    path, _, _ = sheets["530100"]
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True)
    assert "CJK" in fonts.stdout
    rows = [line for line in fonts.stdout.splitlines()[2:] if line.strip()]
    assert rows and all(" yes " in row for row in rows)  # embedded
    assert "Type 3" not in fonts.stdout
    assert "CID TrueType" in fonts.stdout
    # a CFF font in a TrueType slot would make poppler complain
    assert "Mismatch" not in fonts.stderr


@needs_poppler
def test_rendered_map_frame_is_not_blank_and_differs_between_prefectures(sheets):
    a = map_frame(render_png(sheets["530100"][0]), "A4", "portrait")
    b = map_frame(render_png(sheets["530300"][0]), "A4", "portrait")
    assert a.shape == b.shape
    for img in (a, b):
        dark = (img.mean(axis=2) < 0.9).mean()
        assert dark > 0.03, "map frame nearly blank"
        assert img.std() > 0.05
        red = ((img[..., 0] > 0.6) & (img[..., 1] < 0.35) & (img[..., 2] < 0.35)).sum()
        assert red > 20, "no station symbols"
    assert np.abs(a - b).mean() > 0.02


@needs_poppler
def test_county_sheet_on_a3_landscape(sheets):
    path, info, _ = sheets["530102"]
    text = pdf_text(path)
    assert "五华区工会驿站分布图" in text
    assert info.level == "county"
    # every optional layer was available: coverage, gaps and the recommended sites of stations.siting (the
    # lakes' outlines are too coarse for a county's scale and left out, which the sheet says)
    assert info.notes == ["湖泊轮廓数据过于概略，本比例尺下未绘出"]
    assert "覆盖缺口" in text and "建议新增站点" in text
    assert info.covered_pct is not None and 0 <= info.covered_pct <= 100
    out = _run("pdfinfo", str(path)).stdout
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", out).groups())
    assert (round(w / 72 * 25.4), round(h / 72 * 25.4)) == (420, 297)


def test_service_levels_count_the_four_hardships():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "water": [True, True, True, True, False, True],
            "microwave": [True, True, False, False, False, True],
            "toilet": [True, False, True, False, False, True],
            "seating": [True, False, False, False, False, True],
            "charging": [False, True, True, True, True, True],  # not one of the four
            "status": ["open", "open", "open", "open", "open", "closed"],
            "opening_hours": ["08:00-20:00"] * 6,
        }
    )
    assert cartography.service_counts(frame).tolist() == [4, 2, 2, 1, 0, 4]
    assert cartography.service_levels(frame).tolist() == ["full", "partial", "partial", "basic", "basic", "full"]
    # closed stations keep their status symbol, whatever they offer
    assert cartography.symbol_classes(frame, "services").tolist() == ["full", "partial", "partial", "basic", "basic", "closed"]
    assert cartography.symbol_classes(frame, "status").tolist() == ["open"] * 5 + ["closed"]


def test_open_24h_comes_from_the_parsed_hours():
    """A station is drawn and counted as open 24 h when its parsed hours are all day every day: not a
    weekday-only "周一至周五 24小时", but "24/7" too. hours_json (the registry's parsed form) decides; without
    it the text is parsed; unreadable hours are not 24 h."""
    import pandas as pd

    from stations.hours import parse_hours

    texts = ["周一至周五 24小时", "24/7", "24小时", "08:00-20:00", "全天", "Mo-Su 00:00-24:00", "24小时", "24小时"]
    frame = pd.DataFrame({"status": ["open"] * 6 + ["temp_closed", "closed"], "opening_hours": texts})
    expected = ["open", "open_24h", "open_24h", "open", "open_24h", "open_24h", "temp_closed", "closed"]
    assert cartography.station_classes(frame).tolist() == expected  # text only
    frame["hours_json"] = [parse_hours(t).to_json() for t in texts]
    assert cartography.station_classes(frame).tolist() == expected
    # the parsed form wins over the text; rows without it fall back to the text; unreadable text is not 24 h
    mixed = pd.DataFrame({"status": ["open"] * 4, "opening_hours": ["24小时", "24/7", "随便", "24小时"],
                          "hours_json": [parse_hours("09:00-17:00").to_json(), None, None, ""]})
    assert cartography.station_classes(mixed).tolist() == ["open", "open_24h", "open", "open_24h"]


@needs_poppler
def test_sheet_symbolised_by_service_level(ctx, demo_stations, tmp_path):
    out = tmp_path / "services.pdf"
    cartography.make_sheet("530100", "A4", "portrait", "outlines,stations", 1000, out, context=ctx, symbols="services")
    text = pdf_text(out)
    area = demo_stations[demo_stations["prefecture_adcode"].astype(str) == "530100"]
    cls = cartography.symbol_classes(area, "services").value_counts()
    assert "开放驿站服务等级" in text and "饮水、热饭、如厕、休息" in text
    for label, key in (("四项齐全（4 项）", "full"), ("部分（2–3 项）", "partial"), ("基本（0–1 项）", "basic"),
                       ("暂停开放", "temp_closed")):
        assert f"{label}（{int(cls.get(key, 0)):,}）" in text, label
    assert sum(int(cls.get(k, 0)) for k in ("full", "partial", "basic")) == int(area["status"].eq("open").sum())
    assert not re.search(r"^开放（24小时）（", text, re.M)  # the status legend is not drawn


def _text_sizes(fig) -> list[tuple[float, str]]:
    """(size in pt, text) of every visible, non-empty Text artist of a figure (tables and annotations too)."""
    from matplotlib.text import Text

    return [(t.get_fontsize(), t.get_text()) for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("paper", ["A4", "A3"])
@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_no_text_below_the_minimum_size_with_all_layers(ctx, paper, orientation):
    """Every text on a sheet (legend, statistics box, footer, graticule, locator ...) is at least 6.5 pt, with
    all five layers on (the fullest legend and statistics box), for the province and a prefecture."""
    assert cartography.MIN_FONT_PT == 6.5
    for area, symbols in (("yunnan", "status"), ("530100", "services")):
        req = cartography.validate(area, paper, orientation, ",".join(cartography.LAYERS), 1000, symbols)
        with cartography.font_context():
            fig, info = cartography.build_sheet(req, ctx)
            sizes = _text_sizes(fig)
            fig.canvas.draw()
            renderer = fig.canvas.get_renderer()
            assert [t.get_text() for t in fig.axes[1].texts][:1] == ["图例"] and fig.axes[2].texts[0].get_text() == "统计"
            for panel in fig.axes[1:3]:  # legend and statistics box: every text inside, none on another
                frame = panel.get_window_extent(renderer)
                boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in panel.texts if t.get_text().strip()]
                outside = [text for text, bb in boxes if bb.x0 < frame.x0 - 1 or bb.x1 > frame.x1 + 1 or bb.y0 < frame.y0 - 1 or bb.y1 > frame.y1 + 1]
                assert outside == [], f"{area} {paper} {orientation}: {outside}"
                clashes = [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:] if ba.overlaps(bb)]
                assert clashes == [], f"{area} {paper} {orientation}: {clashes[:5]}"
        assert [n for n in info.notes if "湖泊" not in n] == []  # every layer really drawn (coarse lakes may be left out)
        small = sorted({(round(size, 2), text) for size, text in sizes if size < 6.5 - 1e-6})
        assert not small, f"{area} {paper} {orientation}: {small[:10]}"
        texts = {text for _, text in sizes}
        assert "统计" in texts and "图例" in texts
        # the statistics box keeps its essential rows
        assert {"驿站总数", "最大覆盖缺口（未覆盖劳动者）"} <= texts and any(t.startswith("户外劳动者覆盖率") for t in texts)
    if paper == "A4" and orientation == "portrait":
        from datetime import date

        with cartography.font_context():
            cover = cartography.cover_page("A4", ctx, 17, date(2026, 11, 29), 1000.0, cartography.DEFAULT_LAYERS)
            assert min(size for size, _ in _text_sizes(cover)) >= 6.5


def test_png_sheet(ctx, tmp_path):
    out = tmp_path / "sheet.png"
    cartography.make_sheet("533400", "A4", "landscape", "outlines,stations", 1000, out, dpi=60, context=ctx)
    from matplotlib.image import imread

    img = imread(str(out))
    h, w = img.shape[:2]
    assert abs(h - 210 / 25.4 * 60) <= 1 and abs(w - 297 / 25.4 * 60) <= 1


@pytest.mark.slow
@needs_poppler
def test_atlas_has_cover_and_16_prefecture_sheets(ctx, tmp_path):
    out = tmp_path / "atlas.pdf"
    info = cartography.make_atlas("A4", out, progress=False, context=ctx)  # its time is measured in bench/bench_atlas.py
    assert info.pages == 17
    assert pdf_pages(out) == 17
    cover = pdf_text(out, 1, 1)
    assert "云南省工会驿站分布图集" in cover
    for name in ctx.geo.prefecture_names.values():
        assert name in cover
    assert "第 1 页 / 共 17 页" in cover and "生成日期" in cover
    page2 = pdf_text(out, 2, 2)
    assert "昆明市工会驿站分布图" in page2 and "第 2 页 / 共 17 页" in page2
    last = pdf_text(out, 17, 17)
    assert "迪庆藏族自治州工会驿站分布图" in last and "第 17 页 / 共 17 页" in last


# ------------------------------------------------------------------------------------------------ web and CLI


def test_print_page_and_sheet_route(client):
    page = client.get("/print")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "打印工会驿站分布图" in html and 'value="530100"' in html and "sheet.pdf" in html
    assert re.search(r'id="demo-banner"[^>]*role="note"\s*>', html)  # the fixture is synthetic: banner shown
    assert 'name="symbols" value="services"' in html
    resp = client.get("/print/sheet.pdf?area=530100&paper=A4&orientation=landscape&layers=outlines,stations&radius=800&symbols=services")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.data[:5] == b"%PDF-"


@pytest.mark.parametrize(
    "query, param",
    [
        ("area=999999", "area"),
        ("paper=Letter", "paper"),
        ("orientation=diagonal", "orientation"),
        ("layers=stations,roads", "layers"),
        ("radius=-1", "radius"),
        ("dpi=2000", "dpi"),
        ("symbols=colour", "symbols"),
        ("symbols=status&symbols=services", "symbols"),
    ],
)
def test_sheet_route_bad_input_is_400_naming_the_parameter(client, query, param):
    resp = client.get(f"/print/sheet.pdf?{query}")
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"]["parameter"] == param
    assert body["error"]["message"].startswith(param)


def test_sheet_route_unknown_file_type_is_404_naming_the_format(client):
    resp = client.get("/print/sheet.svg?area=530100")
    assert resp.status_code == 404
    assert resp.get_json() == {"error": {"parameter": "format",
                                         "message": "format: unknown file type 'svg'; use sheet.pdf or sheet.png"}}


def test_sheet_route_without_a_cjk_font_is_a_500_naming_the_fix(client, monkeypatch):
    monkeypatch.setattr(fonts, "_FONTS", None)
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", (("/nonexistent/font.ttc", None),))
    resp = client.get("/print/sheet.pdf?area=530100&layers=outlines")
    assert resp.status_code == 500
    body = resp.get_json()
    assert body["error"]["parameter"] is None and "fonts-noto-cjk" in body["error"]["message"]


def test_cli_print_and_atlas_bad_arguments(tmp_path):
    from click.testing import CliRunner

    from webmap.cli import main

    runner = CliRunner()
    cases = [
        (["print", "--area", "539999", "--out", str(tmp_path / "a.pdf")], "unknown adcode 539999"),
        (["print", "--paper", "A5", "--out", str(tmp_path / "a.pdf")], "unknown paper size 'A5'"),
        (["print", "--orientation", "up", "--out", str(tmp_path / "a.pdf")], "unknown orientation 'up'"),
        (["print", "--layers", "rivers", "--out", str(tmp_path / "a.pdf")], "unknown layer 'rivers'"),
        (["print", "--out", str(tmp_path / "a.svg")], "must end in .pdf or .png"),
        (["print", "--dpi", "9999", "--out", str(tmp_path / "a.png")], "dpi"),
        (["print", "--symbols", "hosts", "--out", str(tmp_path / "a.pdf")], "unknown station symbolisation 'hosts'"),
        (["atlas", "--symbols", "x", "--out", str(tmp_path / "atlas.pdf")], "symbols: unknown station symbolisation"),
        (["atlas", "--paper", "B4", "--out", str(tmp_path / "atlas.pdf")], "unknown paper size 'B4'"),
        (["atlas", "--out", str(tmp_path / "atlas.png")], "must end in .pdf"),
    ]
    for args, fragment in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert fragment in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert not any(tmp_path.iterdir())


def test_cli_print_png(tmp_path, fixture_db_url, monkeypatch):
    from click.testing import CliRunner

    from webmap.cli import main

    monkeypatch.setenv("DATABASE_URL", fixture_db_url)
    out = tmp_path / "wuhua.png"
    result = CliRunner().invoke(main, ["print", "--area", "530102", "--layers", "outlines,stations", "--dpi", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "五华区工会驿站分布图" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _wait_for(predicate, timeout=10.0, step=0.02):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def _write(out, data: bytes) -> None:
    """What a fake make_atlas writes: to a path (which must end in .pdf, as the real one checks) or a file."""
    if isinstance(out, (str, Path)):
        assert str(out).endswith(".pdf"), out
        Path(out).write_bytes(data)
    else:
        out.write(data)


@pytest.fixture()
def atlas_jobs(monkeypatch, tmp_path):
    """A clean table of atlas jobs and var/ in a temporary folder."""
    from webmap import print_views

    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(print_views, "_ATLAS_JOBS", {})
    return print_views


def test_atlas_route_is_a_background_job(client, monkeypatch, atlas_jobs, tmp_path):
    import threading

    calls = []
    gate, gate2 = threading.Event(), threading.Event()  # the fake atlas waits for the test twice
    half = threading.Event()

    def fake_atlas(paper, out, progress=True, *, on_page=None, **kwargs):
        calls.append((paper, kwargs["radius"], kwargs["symbols"]))
        on_page(1, 17)
        assert gate.wait(10)
        for i in range(2, 10):
            on_page(i, 17)
        half.set()
        assert gate2.wait(10)
        for i in range(10, 18):
            on_page(i, 17)
        _write(out, b"%PDF-1.4 fake atlas")

    monkeypatch.setattr(cartography, "make_atlas", fake_atlas)
    bad = client.get("/print/atlas.pdf?paper=B5")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "paper"
    bad = client.get("/print/atlas/status?paper=A4&symbols=rainbow")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "symbols"
    query = "paper=A3&radius=800"
    idle = client.get(f"/print/atlas/status?{query}").get_json()
    assert idle["state"] == "idle" and idle["download_url"] is None

    first = client.get(f"/print/atlas.pdf?{query}")
    assert first.status_code == 202
    assert first.headers["Retry-After"] == "2"
    body = first.get_json()
    assert body["state"] == "running" and body["pages_total"] == 17 and body["paper"] == "A3"
    assert first.headers["Location"] == body["status_url"] and "/print/atlas/status?" in body["status_url"]
    _wait_for(lambda: client.get(f"/print/atlas/status?{query}").get_json()["pages_done"] == 1)

    again = client.get(f"/print/atlas.pdf?{query}")  # a second request joins the running job
    assert again.status_code == 202 and again.get_json()["state"] == "running"
    other = client.get("/print/atlas.pdf?paper=A3&radius=500")  # one job at a time per paper size
    assert other.status_code == 409 and other.get_json()["busy"] is True and "Retry-After" in other.headers

    gate.set()
    assert half.wait(10)
    status = client.get(f"/print/atlas/status?{query}")
    assert status.get_json()["state"] == "running" and 9 <= status.get_json()["pages_done"] <= 17
    assert status.headers["Retry-After"] == "2"
    gate2.set()

    done = _wait_for(lambda: (b := client.get(f"/print/atlas/status?{query}").get_json())["state"] == "done" and b)
    assert done["pages_done"] == 17 and done["error"] is None and done["seconds"] >= 0
    assert done["download_url"].startswith("/print/atlas.pdf?") and "paper=A3" in done["download_url"]
    resp = client.get(done["download_url"])
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    assert calls == [("A3", 800.0, "status")]
    kept = list((tmp_path / "print").glob("atlas-A3-*.pdf"))
    assert len(kept) == 1 and not list((tmp_path / "print").glob("*.part"))
    # kept: the next download is served at once, no new job
    assert client.get(f"/print/atlas.pdf?{query}").status_code == 200 and len(calls) == 1


def test_atlas_job_errors_are_reported_in_the_status(client, monkeypatch, atlas_jobs, tmp_path):
    attempts = []

    def failing_atlas(paper, out, progress=True, *, on_page=None, **kwargs):
        attempts.append(paper)
        on_page(1, 17)
        _write(out, b"%PDF-1.4 half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(cartography, "make_atlas", failing_atlas)
    assert client.get("/print/atlas.pdf?paper=A4&symbols=services").status_code == 202
    status = _wait_for(lambda: (b := client.get("/print/atlas/status?paper=A4&symbols=services").get_json())["state"] == "error" and b)
    assert status["error"] == "RuntimeError: disk full" and status["download_url"] is None
    assert not list((tmp_path / "print").glob("*"))  # the half-written file is removed
    # asking again starts a new job
    assert client.get("/print/atlas.pdf?paper=A4&symbols=services").status_code == 202
    _wait_for(lambda: len(attempts) == 2)


def test_a_finished_atlas_replaces_the_older_ones_of_its_paper_size(client, monkeypatch, atlas_jobs, tmp_path):
    import os

    folder = tmp_path / "print"
    folder.mkdir()
    older = {
        "atlas-A4-0123456789abcdef.pdf": b"%PDF-1.4 A4, an older registry snapshot",
        "atlas-A4-fedcba9876543210.pdf": b"%PDF-1.4 A4, another radius",
        "atlas-A3-0123456789abcdef.pdf": b"%PDF-1.4 A3",
    }
    hour_ago = time.time() - 3600
    for name, data in older.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (hour_ago, hour_ago))

    def fake_atlas(paper, out, progress=True, *, on_page=None, **kwargs):
        on_page(17, 17)
        _write(out, b"%PDF-1.4 the latest atlas")

    monkeypatch.setattr(cartography, "make_atlas", fake_atlas)
    assert client.get("/print/atlas.pdf?paper=A4").status_code == 202
    _wait_for(lambda: client.get("/print/atlas/status?paper=A4").get_json()["state"] == "done")
    a4 = list(folder.glob("atlas-A4-*.pdf"))
    assert [p.read_bytes() for p in a4] == [b"%PDF-1.4 the latest atlas"]  # the older A4 atlases are deleted
    assert (folder / "atlas-A3-0123456789abcdef.pdf").exists()  # other paper sizes are kept
    resp = client.get("/print/atlas.pdf?paper=A4")
    assert resp.status_code == 200 and resp.data == b"%PDF-1.4 the latest atlas"


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed at /usr/bin/chromium")
def test_print_page_shows_atlas_progress_then_the_link(browser, live, monkeypatch, atlas_jobs, tmp_path, artifacts_dir):
    seen = []

    def slow_atlas(paper, out, progress=True, *, on_page=None, **kwargs):
        for i in range(1, 18):
            time.sleep(0.15)
            on_page(i, 17)
        _write(out, b"%PDF-1.4 fake atlas")

    monkeypatch.setattr(cartography, "make_atlas", slow_atlas)
    ctx = browser.new_context(viewport={"width": 1000, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    try:
        page.goto(live.url + "/print", wait_until="load")
        box = page.locator('.atlas-job[data-paper="A4"]')
        link = box.locator(".atlas-link")
        assert link.is_hidden()
        box.locator(".atlas-start").click()
        box.locator("progress").wait_for(state="visible", timeout=10000)
        page.wait_for_function(
            "() => /第 \\d+ 页 \\/ 共 17 页/.test(document.querySelector('.atlas-job[data-paper=\"A4\"] .atlas-state').textContent)",
            timeout=10000,
        )
        seen.append(box.locator(".atlas-state").text_content())
        link.wait_for(state="visible", timeout=20000)
        assert "已完成" in box.locator(".atlas-state").text_content()
        href = link.get_attribute("href")
        assert href.startswith("/print/atlas.pdf?") and "paper=A4" in href and "download=1" in href
        page.screenshot(path=str(Path(artifacts_dir) / "print-atlas-ready.png"), full_page=True)
        resp = page.request.get(live.url + href)
        assert resp.status == 200 and resp.body().startswith(b"%PDF")
        assert box.locator(".atlas-progress").is_hidden()
    finally:
        ctx.close()
    assert seen and "正在绘制图集" in seen[0]


def test_province_outline_is_split_into_national_and_provincial_borders():
    from shapely.geometry import Point
    from shapely.ops import nearest_points

    g = geo.geography()
    national, provincial = g.borders
    assert national is not None, "data/geo/reference/osm_china_border_yunnan.geojson missing"
    metric = g.metric_crs
    nat = national.to_crs(metric).iloc[0]
    prov = provincial.to_crs(metric).iloc[0]
    assert 2000e3 < nat.length < 4500e3  # Yunnan's land border (4,060 km officially; shorter on a generalised line)
    outline = g.province.to_crs(metric).boundary.union_all()
    to_metric = Transformer.from_crs("EPSG:4326", metric, always_xy=True)

    def on_outline(lon, lat):
        return nearest_points(outline, Point(*to_metric.transform(lon, lat)))[0]

    for lon, lat in [(97.85, 24.02), (103.95, 22.50), (101.6, 21.2)]:  # Ruili, Hekou, Mohan: foreign neighbours
        p = on_outline(lon, lat)
        assert nat.distance(p) < 100 and prov.distance(p) > 1000, (lon, lat)
    for lon, lat in [(104.6, 25.9), (101.8, 26.5), (105.6, 24.2)]:  # Guizhou, Sichuan (Panzhihua), Guangxi
        p = on_outline(lon, lat)
        assert prov.distance(p) < 100 and nat.distance(p) > 1000, (lon, lat)


def _fake_recommendation():
    """What coverage_curve reads of a siting Recommendation: 3 sites taking coverage from 40 % to 70 %."""
    from types import SimpleNamespace

    solution = SimpleNamespace(cumulative=lambda: np.array([40.0, 55.0, 65.0, 70.0]), total=100.0, n=3, extra={})
    return SimpleNamespace(solution=solution, exact=None, mode="max-cover", model=SimpleNamespace(radius=1000.0))


def test_coverage_curve_is_drawn_under_the_render_lock_without_pyplot(tmp_path, monkeypatch):
    """Server threads draw the curve while others draw sheets: it must not use pyplot's global figures and
    must wait for the render lock (rcParams are process-global)."""
    import threading

    import matplotlib.pyplot as plt

    from stations.cartography.charts import coverage_curve

    def no_pyplot(*args, **kwargs):
        raise AssertionError("pyplot used")

    monkeypatch.setattr(plt, "subplots", no_pyplot)
    monkeypatch.setattr(plt, "figure", no_pyplot)
    written, errors = [], []

    def draw():
        try:
            written.extend(coverage_curve(_fake_recommendation(), tmp_path / "curve.png"))
        except Exception as exc:  # reported below
            errors.append(exc)

    with fonts.RENDER_LOCK:
        worker = threading.Thread(target=draw)
        worker.start()
        worker.join(1.0)
        waited = worker.is_alive()
    worker.join(30)
    assert not errors, errors
    assert waited, "the curve was drawn while another thread held the render lock"
    assert [p.name for p in written] == ["curve.png", "curve.svg"]
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "curve.svg").read_text()


def test_cartography_gets_its_analysis_as_data():
    """stations.cartography never imports the coverage or siting computations (their layers come through
    Context(analysis_provider=...)); without a provider, station buffers stand in and the sheet says so."""
    import sys

    code = ("import sys, stations.cartography; "
            "print(sorted(m for m in sys.modules if m in ('stations.coverage', 'stations.siting', 'stations.sheet_layers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"
    import pandas as pd

    stations = pd.DataFrame({"lon": [102.7129], "lat": [25.0406], "status": ["open"]})
    layers = cartography.Context(stations=stations).analysis(1000, ["coverage", "gaps"])
    assert layers.coverage_source == "buffers" and layers.coverage is not None and layers.table is None
    assert layers.notes == ["覆盖率计算模块不可用，统计框不含覆盖率", "覆盖缺口图层不可用"]


def test_footer_wrapping_keeps_punctuation_and_width():
    text = cartography.SOURCES_TEXT + "投影：横轴墨卡托投影（中央经线 102.66°E，WGS-84）。" + cartography.DISCLAIMER_TEXT
    for width in (120, 184, 271):
        lines = cartography.wrap_text(text, width, 6.2)
        assert "".join(lines) == text
        assert all(cartography.text_width_mm(line, 6.2) <= width + 3 for line in lines)
        assert not any(line[0] in "。，；、）" for line in lines[1:])
