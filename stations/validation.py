"""Checking the longitude and latitude in users' files: one rule for stations, demand points and candidates.

:func:`check_lonlat` takes the two coordinate columns of a table (text or numbers) and says, row by row,
what is wrong, as :class:`~stations.errors.RowError` (row as a spreadsheet shows it, column as headed in
the file), in this order:

1. missing, or not a number;
2. latitude and longitude swapped (the pair lies in :data:`YUNNAN_BBOX` once swapped back);
3. not degrees: numbers beyond ±1,000 are metres of a projected CRS, others beyond ±180 / ±90 out of range;
4. outside Yunnan: after conversion to WGS-84 (from GCJ-02 or BD-09 when the file is in one of them),
   the point lies in no county of :func:`stations.geo.locate_counties` (the one point-in-county join;
   a point on a county border belongs to the lowest adcode).

The result also carries the WGS-84 coordinates and the county of every usable row, so callers join once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from . import geo
from .coords import convert_to_wgs84
from .errors import RowError

__all__ = ["YUNNAN_BBOX", "DEGREES_HINT", "NOT_A_NUMBER", "in_bbox", "parse_number", "LonLatCheck", "check_lonlat"]

#: Yunnan's bounding box (west, south, east, north) in WGS-84 degrees, with a margin around the province
#: (which spans about 97.53-106.20 E, 21.14-29.25 N). The quick test for "could this be Yunnan", and for
#: recognising swapped latitude/longitude; "inside Yunnan" proper is the county polygons.
YUNNAN_BBOX = (97.0, 20.8, 106.5, 29.5)
#: numbers beyond this (in absolute value) are metres of a projected CRS, not degrees
PROJECTED_ABOVE = 1000.0
#: what to do about coordinates that are not degrees, for station and candidate files
DEGREES_HINT = "give WGS-84, GCJ-02 or BD-09 longitude and latitude in degrees"
#: the reason for a cell that is not a number (``{axis}``: longitude / latitude, ``{value}``: the cell)
NOT_A_NUMBER = "{axis} is missing or not a number: '{value}'"


def in_bbox(lon, lat) -> np.ndarray:
    """Boolean array: is each (lon, lat) in :data:`YUNNAN_BBOX` (degrees, edges included)?"""
    x0, y0, x1, y1 = YUNNAN_BBOX
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def parse_number(value) -> float | None:
    """A finite number from a cell (text as typed in a spreadsheet: surrounding space, a full-width
    comma for the decimal point, a degree sign), or None."""
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        f = float(value)
        return f if math.isfinite(f) else None
    s = str(value).strip().replace("，", ".").replace("°", "")
    if not s:
        return None
    try:
        f = float(s)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _text(value) -> str:
    """A cell as the user wrote it (numbers compactly)."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value).strip()


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


@dataclass
class LonLatCheck:
    """What :func:`check_lonlat` found.

    ``lon``, ``lat``: WGS-84 degrees of each row (NaN where the numbers are unusable: missing, swapped,
    not degrees); ``county``: the county adcode (None outside Yunnan or unusable); ``usable``: the numbers
    are degrees in the right order; ``outside``: usable but in no county of Yunnan; ``problems``: ``(kind,
    RowError)`` in row order, kind one of ``number``, ``swapped``, ``projected``, ``range``, ``outside``.
    """

    lon: np.ndarray
    lat: np.ndarray
    county: np.ndarray
    usable: np.ndarray
    outside: np.ndarray
    problems: list[tuple[str, RowError]] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        return [e for _, e in self.problems]

    @property
    def ok(self) -> np.ndarray:
        """Rows with nothing wrong: usable and (when checked) inside Yunnan."""
        return self.usable & ~self.outside


def check_lonlat(lon: Iterable, lat: Iterable, rows: Sequence[int] | None = None,
                 columns: tuple[str, str] = ("lon", "lat"), *, crs: str = "wgs84", hint: str = DEGREES_HINT,
                 inside: bool = True, not_a_number: str = NOT_A_NUMBER) -> LonLatCheck:
    """Check longitude / latitude cells (text or numbers, one pair per row); see the module docstring.

    ``rows``: the row numbers to report (default 1, 2, ...); ``columns``: the two headers as written in the
    file (errors about both name ``lon/lat``); ``crs``: the datum of the numbers (``wgs84``, ``gcj02`` or
    ``bd09``), converted to WGS-84 before the inside-Yunnan test; ``hint``: appended to "not degrees"
    messages; ``inside``: test that points lie in Yunnan (off for polygon bounds and rasters);
    ``not_a_number``: the wording for a cell that is not a number (a template, see :data:`NOT_A_NUMBER`).
    """
    xs, ys = list(lon), list(lat)
    if len(xs) != len(ys):
        raise ValueError(f"lon and lat differ in length: {len(xs)} vs {len(ys)}")
    n = len(xs)
    rows = list(range(1, n + 1)) if rows is None else [int(r) for r in rows]
    xcol, ycol = (str(c) for c in columns)
    both = f"{xcol}/{ycol}"
    raw_lon = np.full(n, np.nan)
    raw_lat = np.full(n, np.nan)
    usable = np.zeros(n, dtype=bool)
    found: list[tuple[int, int, str, RowError]] = []  # (position, order within the row, kind, error)

    for i, (xv, yv) in enumerate(zip(xs, ys)):
        row = rows[i]
        x, y = parse_number(xv), parse_number(yv)
        bad = False
        for value, parsed, axis, col, k in ((xv, x, "longitude", xcol, 0), (yv, y, "latitude", ycol, 1)):
            if parsed is None:
                reason = f"{axis} is missing" if _blank(value) else not_a_number.format(axis=axis, value=_text(value))
                found.append((i, k, "number", RowError(row, col, reason)))
                bad = True
        if bad:
            continue
        xt, yt = _text(xv), _text(yv)
        if bool(in_bbox(y, x)):
            found.append((i, 2, "swapped", RowError(row, both, f"latitude and longitude appear swapped (longitude {xt}, latitude {yt})")))
        elif abs(x) > PROJECTED_ABOVE or abs(y) > PROJECTED_ABOVE:
            found.append((i, 2, "projected", RowError(
                row, both, f"({xt}, {yt}) are not longitude/latitude degrees: the numbers look like a projected "
                           f"coordinate system (metres; wrong CRS?); {hint}")))
        elif abs(x) > 180 or abs(y) > 90:
            found.append((i, 2, "range", RowError(
                row, ycol if abs(y) > 90 else xcol,
                f"coordinate out of range: longitude {xt}, latitude {yt} are not degrees (wrong CRS?); {hint}")))
        else:
            raw_lon[i], raw_lat[i] = x, y
            usable[i] = True

    wlon = np.full(n, np.nan)
    wlat = np.full(n, np.nan)
    county = np.full(n, None, dtype=object)
    outside = np.zeros(n, dtype=bool)
    if usable.any():
        cx, cy = convert_to_wgs84(raw_lon[usable], raw_lat[usable], crs)
        wlon[usable], wlat[usable] = cx, cy
        if inside:
            county[usable] = geo.locate_counties(wlon[usable], wlat[usable])
            outside = usable & np.array([c is None for c in county], dtype=bool)
            for i in np.flatnonzero(outside):
                found.append((int(i), 3, "outside", RowError(
                    rows[i], both, f"point ({raw_lon[i]:.6f}, {raw_lat[i]:.6f}) lies outside Yunnan")))
    found.sort(key=lambda t: (t[0], t[1]))
    return LonLatCheck(wlon, wlat, county, usable, outside, [(kind, e) for _, _, kind, e in found])
