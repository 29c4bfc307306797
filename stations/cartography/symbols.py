"""Map symbols: the station classes and their markers, the colours of the layers and boundaries, and the
rows of the legend.

Stations are drawn by status (``symbols="status"``: open 24 h / open / temporarily closed / closed) or, for
open stations, by service level (``symbols="services"``: how many of the four hardships of outdoor work,
water 饮水, microwave 热饭, toilet 如厕 and seating 休息, a station answers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stations.schema import STATUSES

from .layout import fmt_int
from .request import DEFAULT_SYMBOLS

#: the four hardships (饮水、热饭、如厕、休息) the service grading counts
HARDSHIP_KEYS: tuple[str, ...] = ("water", "microwave", "toilet", "seating")

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

# Boundaries: 国界 is a dash-dot dark line on a light violet band (省界 brown, #7a5230)
NATIONAL_BORDER_STYLE = dict(color="#3b2f4a", linestyle=(0, (7, 1.6, 1.2, 1.6)))
NATIONAL_BAND = "#d9b8e6"


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


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def open_all_day(stations) -> pd.Series:
    """Whether each station's parsed opening hours are all day, every day (:attr:`OpeningHours.is_24h`):
    from ``hours_json`` (the registry's parsed form) where present, else by parsing ``opening_hours``.
    Unreadable or missing hours are not 24 h. Each distinct value is parsed once."""
    from stations.hours import OpeningHours, parse_hours

    none = pd.Series(None, index=stations.index, dtype=object)
    parsed = stations["hours_json"] if "hours_json" in stations else none
    text = stations["opening_hours"] if "opening_hours" in stations else none
    memo: dict[str, bool] = {}

    def all_day(value: str) -> bool:
        if value not in memo:
            try:
                hours = OpeningHours.from_json(value) if value.startswith("{") else parse_hours(value)
                memo[value] = hours.is_24h
            except ValueError:  # HoursParseError: not known to be open all day
                memo[value] = False
        return memo[value]

    values = [_text(j) or _text(t) for j, t in zip(parsed, text)]
    return pd.Series([bool(v) and all_day(v) for v in values], index=stations.index, dtype=bool)


def station_classes(stations) -> pd.Series:
    """Symbol class per station: open_24h (open, and open all day every day by its parsed hours), open,
    temp_closed, closed (any other status counts as closed)."""
    status = stations["status"].astype(str)
    cls = status.where(status.isin(["open", "temp_closed", "closed"]), "closed")
    return cls.where(~((cls == "open") & open_all_day(stations)), "open_24h")


def legend_rows(req, level: str, counts: dict[str, int], analysis, towns_drawn: bool = False,
                borders_split: bool = False, lakes_drawn: bool = False):
    """Legend rows: (kind, style, text) with kind in header | note | marker | patch | border | line."""
    rows: list[tuple[str, dict, str]] = []
    if "stations" in req.layers:
        if req.symbols == "services":
            rows.append(("header", {}, "开放驿站服务等级（个数）"))
            rows.append(("note", {}, "按饮水、热饭、如厕、休息四项计"))
        else:
            rows.append(("header", {}, "工会驿站（本图范围内个数）"))
        for key, (label, marker, face, edge, factor, _z) in symbol_styles(req.symbols).items():
            rows.append(("marker", dict(marker=marker, face=face, edge=edge, factor=factor), f"{label}（{fmt_int(counts.get(key, 0))}）"))
    layer_rows = []
    if "coverage" in req.layers and analysis.coverage is not None:
        reach = analysis.distance_label or f"半径 {req.radius:g} 米"
        layer_rows.append(("patch", dict(fc="#41ab5d", alpha=0.35, ec="#238b45"), f"服务范围（{reach}）"))
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

