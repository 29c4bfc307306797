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
    g = geo.geography()
    if value in g.prefecture_names or value in g.county_names:
        return value
    raise PrintError(
        f"area: unknown adcode {value}; not Yunnan (530000), one of its 16 prefectures "
        f"({', '.join(sorted(g.prefecture_names))}) or one of its {len(g.county_names)} counties",
        param="area",
    )


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
