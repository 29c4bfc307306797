"""The arguments of a sheet and of the atlas: their vocabulary, parsing and validation.

Every ``parse_*`` function accepts what a user typed (web query parameter, CLI option) and returns the
normalised value or raises :class:`PrintError` naming the parameter (``param=``). Ranges come from
:mod:`stations.limits` (radius in metres, PNG resolution in dpi).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from stations import geo
from stations.errors import PrintError
from stations.limits import LIMITS

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
#: the layers that come from an analysis (coverage, gaps, recommended sites), not from the registry
ANALYSIS_LAYERS: tuple[str, ...] = ("coverage", "gaps", "recommended")
#: station symbolisation -> Chinese name: by status (open / 24 h / temporarily closed / closed) or, for open
#: stations, by how many of the four hardships of outdoor work they answer (see ``symbols.service_levels``)
SYMBOLS: dict[str, str] = {"status": "按开放状态", "services": "按服务等级"}
DEFAULT_SYMBOLS = "status"
#: service radius: default and range in metres (the one radius limit of every page and command)
DEFAULT_RADIUS_M = float(LIMITS["radius_m"].default)
RADIUS_RANGE_M = (LIMITS["radius_m"].lo, LIMITS["radius_m"].hi)
#: PNG resolution: default and range in dpi (command line; the web allows less, see ``web_sheet_dpi``)
DEFAULT_DPI = int(LIMITS["sheet_dpi"].default)
DPI_RANGE = (int(LIMITS["sheet_dpi"].lo), int(LIMITS["sheet_dpi"].hi))
PROVINCE_ADCODE = geo.PROVINCE_ADCODE
PROVINCE_ALIASES = ("yunnan", "530000", "云南", "云南省", "province")


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
    """A service radius in metres (:data:`RADIUS_RANGE_M`); empty means :data:`DEFAULT_RADIUS_M`."""
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


def parse_dpi(dpi: int | str | None, max_dpi: int | None = None) -> int:
    """A PNG resolution in dpi (:data:`DPI_RANGE`, or up to ``max_dpi``); empty means :data:`DEFAULT_DPI`."""
    if dpi is None or (isinstance(dpi, str) and not dpi.strip()):
        return DEFAULT_DPI
    try:
        value = int(dpi)
    except (TypeError, ValueError):
        raise PrintError(f"dpi: {dpi!r} is not an integer", param="dpi") from None
    lo, hi = DPI_RANGE
    if not lo <= value <= hi:
        raise PrintError(f"dpi: {value} is out of range; give {lo} to {hi}", param="dpi")
    if max_dpi is not None and value > max_dpi:
        raise PrintError(f"dpi: {value} is out of range; give {lo} to {max_dpi}", param="dpi")
    return value


#: the messages of an area name that matches no area or several (templates the web layer translates)
AREA_AMBIGUOUS = "area: %(value)s could be %(matches)s; give the full name or the 6-digit adcode"
AREA_UNKNOWN = ("area: unknown area %(value)s; did you mean %(matches)s? Give yunnan, a prefecture or county name "
                "(昆明市, 五华区, kunming) or its 6-digit adcode")
AREA_UNKNOWN_NO_MATCH = ("area: unknown area %(value)s; give yunnan, a prefecture or county name "
                         "(昆明市, 五华区, kunming) or its 6-digit adcode")
AREA_NOT_ATLAS = ("area: an atlas covers the province or a prefecture (one sheet per county); %(county)s is a "
                  "county, give its prefecture %(prefecture)s")
_AUTONOMOUS = re.compile(r"(?:(?:哈尼|景颇|傈僳|拉祜|纳西|布朗|独龙|普米|彝|傣|藏|白|壮|苗|瑶|回|佤|怒)族)+自治(州|县)$")
_EN_SUFFIX = re.compile(r"\s+(?:(?:[A-Z][a-z'’]+,?\s+(?:and\s+)?)*Autonomous\s+(?:Prefecture|County)|City|County|District)$")


def _norm(text: str) -> str:
    """What is compared: NFKC, lower case, no spaces, apostrophes, hyphens, dots or middle dots; ü as v."""
    import unicodedata

    t = unicodedata.normalize("NFKC", str(text)).strip().lower().replace("ü", "v")
    return re.sub(r"[\s'’‘`\-·・.,，。]+", "", t)


def area_keys(name_zh: str, name_en: str) -> set[str]:
    """The names an area answers to: its Chinese name, without its 市/县/区/州 or its ethnic groups and 自治州/
    自治县 (昆明, 五华, 大理, 大理州, 巍山县), and its English name with and without ``District`` / ``County`` /
    ``City`` / ``... Autonomous Prefecture`` (wuhua, wuhuadistrict, kunming, dali), all :func:`_norm`-ed."""
    keys = {name_zh}
    stem = None
    m = _AUTONOMOUS.search(name_zh)
    if m:
        stem = name_zh[: m.start()]
        keys |= {stem, stem + m.group(1)}
    elif len(name_zh) >= 3 and name_zh[-1] in "市县区州":
        stem = name_zh[:-1]
        keys.add(stem)
    if name_en:
        keys.add(name_en)
        bare = _EN_SUFFIX.sub("", name_en)
        keys.add(bare)
        if name_zh.endswith("市"):
            keys.add(bare + " City")
    return {_norm(k) for k in keys if k}


def _area_index(g) -> dict[str, set[str]]:
    """key -> the adcodes of the prefectures and counties answering to it (kept in the geography)."""

    def build():
        index: dict[str, set[str]] = {}
        for frame in (g.prefectures, g.counties):
            en = frame["name_en"] if "name_en" in frame else [""] * len(frame)
            for code, zh, e in zip(frame["adcode"].astype(str), frame["name_zh"].astype(str), en):
                for key in area_keys(zh, e if isinstance(e, str) else ""):
                    index.setdefault(key, set()).add(code)
        return index

    return g.cached("cartography.area_index", build)


def area_label(adcode: str, g=None) -> str:
    """``昆明市 (530100)``, ``五华区 (530102, 昆明市)``."""
    g = g or geo.geography()
    if adcode == PROVINCE_ADCODE:
        return f"云南省 ({PROVINCE_ADCODE})"
    if adcode in g.prefecture_names:
        return f"{g.prefecture_names[adcode]} ({adcode})"
    pref = g.prefecture_names.get(g.county_prefecture.get(adcode, ""), "")
    return f"{g.county_names[adcode]} ({adcode}{', ' + pref if pref else ''})"


def _close_matches(value: str, g) -> list[str]:
    """Adcodes of areas whose names come close to ``value``: names starting with it (the gazetteer's prefix
    search, :func:`stations.places.search`), then near spellings (difflib)."""
    import difflib

    from stations import places

    found: list[str] = []
    try:
        hits = places.search(value, limit=20)
    except Exception:  # noqa: BLE001 - suggestions are a courtesy; the error stands without them
        hits = []
    for hit in hits:
        code = str(hit.get("adcode", ""))
        if hit.get("kind") in ("prefecture", "county") and code not in found:
            found.append(code)
    index = _area_index(g)
    for key in difflib.get_close_matches(_norm(value), list(index), n=6, cutoff=0.75):
        for code in sorted(index[key]):
            if code not in found:
                found.append(code)
    return found[:6]


def parse_area(area: str | int | None) -> str:
    """``yunnan`` / ``530000``, a prefecture or county adcode, or a name (昆明市, 昆明, 五华区, kunming, wuhua,
    大理州; see :func:`area_keys`) -> the 6-digit adcode. An unknown name raises :class:`PrintError` listing
    close matches; a name of several areas (大理: 大理白族自治州 and 大理市) lists them."""
    value = str(area if area is not None else "yunnan").strip()
    if value.lower() in PROVINCE_ALIASES or _norm(value) in ("yunnansheng", "yunnanprovince"):
        return PROVINCE_ADCODE
    g = geo.geography()
    if re.fullmatch(r"\d{6}", value):
        if value in g.prefecture_names or value in g.county_names:
            return value
        raise PrintError(
            f"area: unknown adcode {value}; not Yunnan (530000), one of its 16 prefectures "
            f"({', '.join(sorted(g.prefecture_names))}) or one of its {len(g.county_names)} counties",
            param="area",
        )
    codes = sorted(_area_index(g).get(_norm(value), ())) if _norm(value) else []
    if len(codes) == 1:
        return codes[0]
    shown = repr(value)
    if codes:
        raise PrintError(AREA_AMBIGUOUS, param="area", value=shown, matches=", ".join(area_label(c, g) for c in codes))
    close = _close_matches(value, g) if _norm(value) else []
    if close:
        raise PrintError(AREA_UNKNOWN, param="area", value=shown, matches=", ".join(area_label(c, g) for c in close))
    raise PrintError(AREA_UNKNOWN_NO_MATCH, param="area", value=shown)


def parse_atlas_area(area: str | int | None) -> str:
    """The area of an atlas: the province (the 17-page atlas of the prefectures) or a prefecture (its county
    atlas); names as :func:`parse_area`. A county raises :class:`PrintError` naming its prefecture."""
    code = parse_area(area)
    g = geo.geography()
    if code != PROVINCE_ADCODE and code not in g.prefecture_names:
        pref = g.county_prefecture.get(code, "")
        raise PrintError(
            AREA_NOT_ATLAS, param="area", county=area_label(code, g),
            prefecture=area_label(pref, g) if pref else "",
        )
    return code


def parse_format(out, fmt: str | None) -> str:
    """``pdf`` or ``png``: ``fmt`` when given, else the suffix of the path ``out`` (a file object: pdf)."""
    if fmt:
        value = fmt.lower().lstrip(".")
    elif isinstance(out, (str, os.PathLike)):
        value = Path(out).suffix.lower().lstrip(".")
    else:
        value = "pdf"
    if value not in ("pdf", "png"):
        raise PrintError(f"out: unsupported output format {value!r}; use a .pdf or .png file", param="out")
    return value


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
