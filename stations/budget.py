"""Budgets: the size of a piece of work, estimated before it starts, and refused when it exceeds a limit.

Every heavy computation of yizhan grows with something a user chooses (a radius, a file). The functions here
measure that something cheaply, before anything big is allocated, so that a request that would take
gigabytes or minutes is refused in milliseconds with a message saying which limit it exceeds and what to
ask instead. The limits themselves are in :mod:`stations.limits` (one table, also in the README).

- :func:`estimate_coverage_pairs` -- demand points x candidate sites within the radius: the non-zeros of the
  siting model's coverage matrix, counted exactly by a dual-tree k-d tree count (``cKDTree.count_neighbors``:
  no pair is materialised; 0.7 s for the 23 M pairs of the province at 20 km) in earth-centred metres, as
  :func:`stations.proximity.coverage_matrix` measures them;
- :func:`raster_size` -- width, height and bands of a GeoTIFF from its header (rasterio reads no pixel);
- :func:`polygon_cells` -- the H3 cells polygons will be spread over: equal-area area / the average cell area
  of the resolution (:data:`stations.geo.EQUAL_AREA_CRS`), at least one cell per polygon;
- :func:`xlsx_dimensions` -- rows and columns of a workbook's first sheet from the sheet's own ``<dimension>``
  element, and the uncompressed sizes and compression ratios of its parts from the zip directory, read with
  :mod:`zipfile` before openpyxl parses anything (a 1.4 MB zip bomb expands to gigabytes of XML);
- :func:`count_lines` -- rows of delimited text before the CSV parser makes Python objects of them;
- :class:`Deadline` -- a wall-clock limit passed into long loops, raising :class:`TimeLimitError`;
- :func:`nbytes` -- the memory an object holds (numpy ``.nbytes``, pandas ``memory_usage(deep=True)``,
  sparse matrices' data + indices + indptr, shapely geometries by their coordinates), for the byte budgets
  of the web app's caches.

The ``check_*`` functions raise :class:`stations.errors.LimitError` (HTTP 413) naming the parameter, the limit
and what to do. Nothing here imports Flask.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping
from xml.etree import ElementTree

import numpy as np

from .errors import LimitError, TimeLimitError
from .limits import LIMITS, Limit

__all__ = [
    "RADIUS_LADDER_M", "estimate_coverage_pairs", "check_coverage_pairs",
    "RasterSize", "raster_size", "check_raster",
    "polygon_cells", "demand_resolution",
    "XlsxSize", "xlsx_dimensions", "check_xlsx",
    "count_lines", "check_rows",
    "Deadline", "nbytes",
]

#: radii (m) offered when a radius is refused: the largest one within the limit is suggested
RADIUS_LADDER_M = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000, 7500, 10000, 15000, 20000)
#: a part of an XLSX file must be at least this large (uncompressed) before its compression ratio counts
RATIO_MIN_BYTES = 1024 * 1024


def _hi(limit: Limit | int | float) -> float:
    return float(limit.hi) if isinstance(limit, Limit) else float(limit)


def _name(limit: Limit | int | float, default: str) -> str:
    return limit.name if isinstance(limit, Limit) else default


def _n(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.1f}"


# ---------------------------------------------------------------------------------------------------------
# siting: demand x candidate pairs within the radius


def _radius_array(n: int, radius) -> np.ndarray:
    if isinstance(radius, Mapping):
        raise TypeError("give the radius per demand point as an array (stations.coverage.radius_per_demand)")
    return np.broadcast_to(np.asarray(radius, float), (n,))


def estimate_coverage_pairs(demand_lon, demand_lat, site_lon, site_lat, radius) -> int:
    """The number of (site, demand point) pairs within ``radius`` metres (a scalar, or one radius per demand
    point): exactly the non-zeros :func:`stations.proximity.coverage_matrix` would hold, counted without
    building it (a dual-tree count over two k-d trees in earth-centred metres; memory grows with the points,
    never with the pairs)."""
    from scipy.spatial import cKDTree

    from .proximity import ecef

    dlon, dlat = np.asarray(demand_lon, float), np.asarray(demand_lat, float)
    if len(dlon) == 0 or len(site_lon) == 0:
        return 0
    r = _radius_array(len(dlon), radius)
    sites = cKDTree(ecef(site_lon, site_lat))
    xyz = ecef(dlon, dlat)
    total = 0
    for rv in np.unique(r):
        sel = r == rv
        # the matrix compares chord <= radius * (1 + 1e-12); so does the count
        total += int(cKDTree(xyz[sel]).count_neighbors(sites, float(rv) * (1 + 1e-12)))
    return total


def _suggest_radius(dlon, dlat, site_lon, site_lat, radius: float, limit: float) -> float | None:
    """The largest radius of :data:`RADIUS_LADDER_M` below ``radius`` whose pairs stay within ``limit`` (one
    dual-tree count for every rung), or None when even the smallest does not."""
    from scipy.spatial import cKDTree

    from .proximity import ecef

    ladder = np.array([r for r in RADIUS_LADDER_M if r < radius], dtype=float)
    if not len(ladder):
        return None
    counts = cKDTree(ecef(dlon, dlat)).count_neighbors(cKDTree(ecef(site_lon, site_lat)), ladder * (1 + 1e-12))
    ok = np.flatnonzero(np.asarray(counts) <= limit)
    return float(ladder[ok[-1]]) if len(ok) else None


def check_coverage_pairs(demand_lon, demand_lat, site_lon, site_lat, radius, limit: Limit | int = LIMITS["coverage_pairs"],
                         *, candidates_param: str = "candidates") -> int:
    """:func:`estimate_coverage_pairs`, or :class:`LimitError` (``param="radius"``) when it exceeds ``limit``:
    the message gives the count, the limit, the largest radius of :data:`RADIUS_LADDER_M` within it (for a
    single radius) and the other way out, fewer candidate sites."""
    pairs = estimate_coverage_pairs(demand_lon, demand_lat, site_lon, site_lat, radius)
    hi = _hi(limit)
    if pairs <= hi:
        return pairs
    r = _radius_array(len(demand_lon), radius)
    single = len(r) and float(r.min()) == float(r.max())
    hint = "a smaller radius"
    if single:
        best = _suggest_radius(demand_lon, demand_lat, site_lon, site_lat, float(r[0]), hi)
        if best is not None:
            hint = f"a radius of at most {best:g} m"
    where = f"{float(r[0]):g} m" if single else "the radii"
    raise LimitError(
        f"siting model too large: {pairs:,} pairs of demand points and candidate sites within {where}, more than "
        f"the limit of {_n(hi)} ({_name(limit, 'coverage_pairs')}); ask for {hint}, or give fewer candidate sites "
        f"({candidates_param})", param="radius", status=413)


# ---------------------------------------------------------------------------------------------------------
# rasters


@dataclass(frozen=True)
class RasterSize:
    """A raster's size from its header: ``width`` x ``height`` pixels, ``count`` bands of ``dtype``."""

    width: int
    height: int
    count: int
    dtype: str

    @property
    def pixels(self) -> int:
        return int(self.width) * int(self.height)

    @property
    def band_bytes(self) -> int:
        """Bytes of one band read as float64 (what the demand reader allocates)."""
        return self.pixels * 8


def raster_size(path) -> RasterSize:
    """The size of a raster from its header: rasterio (GDAL) opens the file and reads no pixel. Raises what
    rasterio raises for a file it cannot open."""
    import rasterio

    with rasterio.open(path) as src:
        return RasterSize(int(src.width), int(src.height), int(src.count), str(src.dtypes[0] if src.count else ""))


def check_raster(path, limit: Limit | int = LIMITS["raster_pixels"], param: str = "file") -> RasterSize:
    """:func:`raster_size`, or :class:`LimitError` when width x height exceeds ``limit``."""
    size = raster_size(path)
    hi = _hi(limit)
    if size.pixels > hi:
        raise LimitError(
            f"{Path(path).name}: the raster has {size.width:,} x {size.height:,} = {size.pixels:,} pixels, more than "
            f"the limit of {_n(hi)} ({_name(limit, 'raster_pixels')}); resample it to coarser pixels first (Yunnan at "
            f"1 km is about 1 M pixels: gdalwarp -tr 0.01 0.01 -r sum in.tif out.tif) or crop it to the area you need",
            param=param, status=413)
    return size


# ---------------------------------------------------------------------------------------------------------
# polygons -> H3 cells


def polygon_cells(geoms: Iterable, resolution: int) -> float:
    """The H3 cells (of ``resolution``) that polygons in WGS-84 would be spread over: each polygon's area in
    :data:`stations.geo.EQUAL_AREA_CRS` divided by the average cell area, at least one cell each (a polygon
    smaller than a cell keeps its representative point). An estimate within a few per cent for polygons much
    larger than a cell; cheap (one projection, no cell is listed)."""
    import h3
    import shapely

    geoms = np.asarray(list(geoms), dtype=object)
    if not len(geoms):
        return 0.0
    tr = _equal_area_transformer()
    # made valid first: a self-intersecting "bow tie" has a signed area near zero but covers both its lobes
    projected = shapely.transform(shapely.make_valid(geoms), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    area_km2 = np.nan_to_num(shapely.area(projected) / 1e6, nan=0.0, posinf=0.0)
    cell_km2 = h3.average_hexagon_area(resolution, unit="km^2")
    return float(np.maximum(area_km2 / cell_km2, 1.0).sum())


@functools.lru_cache(maxsize=1)
def _equal_area_transformer():
    from pyproj import Transformer

    from .geo import EQUAL_AREA_CRS

    return Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)


def demand_resolution(geoms, limit: Limit | int = LIMITS["demand_cells"], finest: int = 9, coarsest: int = 7,
                      param: str = "file") -> tuple[int, float]:
    """The finest H3 resolution from ``finest`` down to ``coarsest`` at which the polygons make at most
    ``limit`` cells, with the estimate; :class:`LimitError` when even ``coarsest`` makes more."""
    geoms = list(geoms)
    hi = _hi(limit)
    est = 0.0
    for res in range(finest, coarsest - 1, -1):
        est = polygon_cells(geoms, res)
        if est <= hi:
            return res, est
    raise LimitError(
        f"the polygons cover about {est:,.0f} H3 cells even at resolution {coarsest} (about "
        f"{_cell_km(coarsest)} km across), more than the limit of {_n(hi)} demand points ({_name(limit, 'demand_cells')}); "
        f"send smaller polygons (the area that matters, inside Yunnan) or points",
        param=param, status=413)


def _cell_km(resolution: int) -> str:
    import h3

    return f"{2 * h3.average_hexagon_edge_length(resolution, unit='km'):.1f}"


# ---------------------------------------------------------------------------------------------------------
# workbooks

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*\bref\s*=\s*[\"']([A-Za-z0-9:$]+)[\"']")
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_SMALL_PART = 4 * 1024 * 1024  # workbook.xml and its relationships are read whole only below this size
_HEAD = 64 * 1024  # the <dimension> element sits at the start of a sheet's XML


@dataclass(frozen=True)
class XlsxSize:
    """What a workbook's zip directory and its first sheet's ``<dimension>`` say, before any parsing:
    ``rows`` and ``cols`` (None when the sheet does not say), the total uncompressed ``xml_bytes``, the largest
    compression ``ratio`` of a part above :data:`RATIO_MIN_BYTES` and that part's name."""

    rows: int | None
    cols: int | None
    xml_bytes: int
    ratio: float
    ratio_part: str | None
    sheet: str | None

    @property
    def cells(self) -> int | None:
        return None if self.rows is None or self.cols is None else self.rows * self.cols


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _first_sheet(z: zipfile.ZipFile) -> str | None:
    """The zip member of the workbook's first sheet (workbook order, as openpyxl and pandas read it)."""
    names = set(z.namelist())
    try:
        wb_info = z.getinfo("xl/workbook.xml")
        rel_info = z.getinfo("xl/_rels/workbook.xml.rels")
        if wb_info.file_size <= _SMALL_PART and rel_info.file_size <= _SMALL_PART:
            wb = ElementTree.fromstring(z.read(wb_info))
            rels = ElementTree.fromstring(z.read(rel_info))
            first = wb.find("m:sheets/m:sheet", _NS)
            rid = first.get(f"{{{_NS['r']}}}id") if first is not None else None
            for rel in rels.findall("rel:Relationship", _NS):
                if rel.get("Id") == rid:
                    target = rel.get("Target", "")
                    path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                    return path if path in names else None
    except (KeyError, ElementTree.ParseError):
        pass
    sheets = sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
    return sheets[0] if sheets else None


def xlsx_dimensions(path) -> XlsxSize:
    """Read an XLSX file's size without parsing it: the uncompressed size and compression ratio of every part
    from the zip directory, and the first sheet's ``<dimension ref="A1:F5001">`` from the first 64 KB of its
    XML. Raises :class:`zipfile.BadZipFile` (or ``OSError``) for a file that is not a zip archive."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        xml_bytes = sum(max(0, i.file_size) for i in infos)
        ratio, ratio_part = 1.0, None
        for i in infos:
            if i.file_size >= RATIO_MIN_BYTES:
                r = i.file_size / max(i.compress_size, 1)
                if r > ratio:
                    ratio, ratio_part = r, i.filename
        sheet = _first_sheet(z)
        rows = cols = None
        if sheet is not None:
            with z.open(sheet) as fh:
                head = fh.read(_HEAD)
            m = _DIMENSION.search(head)
            if m:
                ref = m.group(1).decode("ascii", "replace").split(":")
                ends = [_CELL.match(part) for part in ref]
                if all(ends):
                    first, last = ends[0], ends[-1]
                    rows = int(last.group(2)) - int(first.group(2)) + 1 if len(ends) > 1 else int(first.group(2))
                    cols = (_col_number(last.group(1)) - _col_number(first.group(1)) + 1) if len(ends) > 1 else 1
                    if len(ends) == 1:  # ref="A1": an empty sheet, or a writer that does not say
                        rows = cols = None
    return XlsxSize(rows, cols, xml_bytes, ratio, ratio_part, sheet)


def check_xlsx(path, *, name: str | None = None, max_rows: Limit | int | None = None,
               max_cells: Limit | int = LIMITS["xlsx_cells"], max_xml_bytes: Limit | int = LIMITS["xlsx_xml_bytes"],
               max_ratio: Limit | int = LIMITS["zip_ratio"], error: type = LimitError, param: str = "file",
               refuse: type = LimitError) -> XlsxSize:
    """:func:`xlsx_dimensions`, or :class:`LimitError` (413) when the workbook's parts expand beyond
    ``max_xml_bytes``, a part is compressed more than ``max_ratio`` times (a zip bomb), or the first sheet's
    ``<dimension>`` declares more than ``max_cells`` cells or ``max_rows`` rows (as ``refuse``, a
    :class:`LimitError` unless told). A file that is not a zip archive raises ``error`` (the caller's "not a
    readable XLSX workbook")."""
    label = name or Path(path).name
    try:
        size = xlsx_dimensions(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise error(f"{label}: not a readable XLSX workbook: {exc}", param=param) from None
    if size.ratio > _hi(max_ratio):
        raise refuse(
            f"{label}: part {size.ratio_part} is compressed {size.ratio:,.0f} times (at most {_n(_hi(max_ratio))}: "
            f"{_name(max_ratio, 'zip_ratio')}); this looks like a zip bomb, not a spreadsheet. Save the sheet again "
            f"from Excel or WPS, or send it as CSV", param=param, status=413)
    if size.xml_bytes > _hi(max_xml_bytes):
        raise refuse(
            f"{label}: the workbook expands to {size.xml_bytes / 1048576:,.1f} MB of XML, more than the limit of "
            f"{_hi(max_xml_bytes) / 1048576:g} MB ({_name(max_xml_bytes, 'xlsx_xml_bytes')}); keep only the sheet and "
            f"columns needed, or send it as CSV", param=param, status=413)
    if size.cells is not None and size.cells > _hi(max_cells):
        raise refuse(
            f"{label}: the first sheet declares {size.rows:,} rows x {size.cols:,} columns = {size.cells:,} cells, "
            f"more than the limit of {_n(_hi(max_cells))} ({_name(max_cells, 'xlsx_cells')}); delete unused rows and "
            f"columns, or send it as CSV", param=param, status=413)
    if max_rows is not None and size.rows is not None:
        check_rows(size.rows - 1, max_rows, name=label, param=param, what="data rows in the first sheet", error=refuse)
    return size


# ---------------------------------------------------------------------------------------------------------
# delimited text


def count_lines(text: str | bytes) -> int:
    """Lines of a text (an upper bound on its CSV records: a quoted field may span lines)."""
    if not text:
        return 0
    nl = "\n" if isinstance(text, str) else b"\n"
    return text.count(nl) + (0 if text.endswith(nl) else 1)


def check_rows(rows: int, limit: Limit | int, *, name: str, param: str = "file", what: str = "rows",
               error: type = LimitError) -> None:
    """Raise ``error`` (:class:`LimitError` unless told; HTTP 413 either way) when a file has more than
    ``limit`` data ``rows``."""
    if rows > _hi(limit):
        raise error(f"{name}: {rows:,} {what}; at most {_n(_hi(limit))} are allowed ({_name(limit, 'rows')}): "
                    f"split the file or keep only the rows needed", param=param, status=413)


# ---------------------------------------------------------------------------------------------------------
# wall-clock limits


class Deadline:
    """A wall-clock limit for one piece of work, passed into its long loops.

    ``Deadline(25, "gaps", hint="ask for a larger radius")`` starts counting now; :meth:`check` raises
    :class:`TimeLimitError` once ``seconds`` have passed, naming the work, the limit and the hint;
    :attr:`at` is the ``time.perf_counter()`` value of the limit (what the greedy's ``deadline`` takes).
    ``Deadline.never()`` never expires (the command line's default)."""

    def __init__(self, seconds: float | None, what: str = "the computation", hint: str = "", param: str | None = None):
        self.seconds = None if seconds is None else float(seconds)
        self.what = what
        self.hint = hint
        self.param = param
        self.start = time.perf_counter()
        self.at = math.inf if self.seconds is None else self.start + self.seconds

    @classmethod
    def never(cls) -> "Deadline":
        return cls(None)

    @property
    def expired(self) -> bool:
        return time.perf_counter() > self.at

    def remaining(self) -> float:
        return max(0.0, self.at - time.perf_counter())

    def error(self, done: str = "") -> TimeLimitError:
        text = f"{self.what} stopped at its run-time limit of {self.seconds:g} s"
        if done:
            text += f" ({done})"
        if self.hint:
            text += f"; {self.hint}"
        return TimeLimitError(text, param=self.param)

    def check(self, done: str = "") -> None:
        """Raise :class:`TimeLimitError` when the limit has passed (``done`` says how far the work got)."""
        if time.perf_counter() > self.at:
            raise self.error(done)


def check_deadline(deadline: "Deadline | None", done: str = "") -> None:
    """``deadline.check(done)`` when a deadline is given."""
    if deadline is not None:
        deadline.check(done)


# ---------------------------------------------------------------------------------------------------------
# memory held by an object


def _geometry_bytes(values) -> int:
    import shapely

    arr = np.asarray(values, dtype=object)
    geoms = arr[[isinstance(g, shapely.Geometry) for g in arr]] if arr.size else arr
    if not len(geoms):
        return arr.nbytes
    # GEOS keeps 2-3 doubles per coordinate plus a header per geometry and part
    return arr.nbytes + int(shapely.get_num_coordinates(geoms).sum()) * 24 + int(shapely.get_num_geometries(geoms).sum()) * 120


def nbytes(obj, shared: Iterable = (), _seen: set | None = None, _depth: int = 0) -> int:
    """An estimate of the memory ``obj`` holds, following containers and object attributes: numpy arrays by
    ``.nbytes`` (object arrays by their items), pandas frames by ``memory_usage(deep=True)`` (geometry columns by
    their coordinates), scipy sparse matrices by their data, indices and pointers, shapely geometries by their
    coordinates, strings and bytes by ``sys.getsizeof``. Objects in ``shared`` (or whose ``id`` is in it) are
    not counted: they belong to someone else (the registry snapshot, a demand set) and are only referred to."""
    seen = _seen if _seen is not None else {id(o) if not isinstance(o, int) else o for o in shared}
    key = id(obj)
    if key in seen or obj is None or _depth > 12:
        return 0
    seen.add(key)
    import pandas as pd
    import shapely
    from scipy import sparse

    if isinstance(obj, (str, bytes, bytearray, int, float, bool)):
        return sys.getsizeof(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return _object_array_bytes(obj, seen, _depth)
        return int(obj.nbytes) if obj.base is None or id(obj.base) not in seen else 0
    if sparse.issparse(obj):
        return sum(int(getattr(obj, a).nbytes) for a in ("data", "indices", "indptr", "row", "col", "offsets")
                   if isinstance(getattr(obj, a, None), np.ndarray))
    if isinstance(obj, shapely.Geometry):
        return _geometry_bytes([obj])
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return _pandas_bytes(obj)
    if isinstance(obj, pd.Index):
        return int(obj.memory_usage(deep=True))
    if isinstance(obj, Mapping):
        return sys.getsizeof(obj) + sum(nbytes(k, (), seen, _depth + 1) + nbytes(v, (), seen, _depth + 1)
                                        for k, v in list(obj.items()))
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(nbytes(v, (), seen, _depth + 1) for v in list(obj))
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        return sys.getsizeof(obj) + sum(nbytes(v, (), seen, _depth + 1) for v in list(attrs.values()))
    slots = getattr(type(obj), "__slots__", ())
    if slots:
        return sys.getsizeof(obj) + sum(nbytes(getattr(obj, s, None), (), seen, _depth + 1) for s in slots)
    return sys.getsizeof(obj)


def _object_array_bytes(arr: np.ndarray, seen: set, depth: int) -> int:
    import shapely

    flat = arr.ravel()
    if not len(flat):
        return int(arr.nbytes)
    if isinstance(flat[0], shapely.Geometry):
        return _geometry_bytes(flat)
    if len(flat) > 10_000:  # a sample of the items, scaled
        idx = np.linspace(0, len(flat) - 1, 2000).astype(int)
        sample = sum(nbytes(flat[i], (), seen, depth + 1) for i in idx)
        return int(arr.nbytes + sample * len(flat) / len(idx))
    return int(arr.nbytes) + sum(nbytes(v, (), seen, depth + 1) for v in flat)


def _pandas_bytes(obj) -> int:
    import pandas as pd

    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    total = 0
    plain = []
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if str(col.dtype) == "geometry":
            total += _geometry_bytes(col.array)
        else:
            plain.append(j)
    if plain:
        total += int(frame.iloc[:, plain].memory_usage(deep=True, index=False).sum())
    total += int(frame.index.memory_usage(deep=True))
    return total
