"""Candidate sites for new stations: the default town cells, or a user's file of candidate hosts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import coverage as C
from .. import geo
from ..coords import CRS_NAMES
from ..errors import CandidateFileError
from ..importer import map_columns
from ..limits import LIMITS
from ..tables import read_table
from ..validation import check_lonlat

__all__ = ["MAX_DEFAULT_CANDIDATES", "MAX_CANDIDATE_ROWS", "default_candidates", "candidates_from_frame", "read_candidates"]

MAX_DEFAULT_CANDIDATES = 20_000
MAX_CANDIDATE_ROWS = int(LIMITS["candidate_rows"].hi)


def default_candidates(demand: pd.DataFrame, max_candidates: int = MAX_DEFAULT_CANDIDATES) -> pd.DataFrame:
    """Default candidate sites: the centres of the demand cells in towns (``area_class == "town"``: within
    the built-up footprint of a county seat or GeoNames town in the demand model). Without an
    ``area_class`` column (user demand), the heaviest demand points, at most ``max_candidates``."""
    d = demand
    if "area_class" in d.columns and (d["area_class"] == "town").any():
        sel = np.flatnonzero((d["area_class"] == "town").to_numpy() & (d["workers"].to_numpy(float) > 0))
        kind = "town cell"
    else:
        w = d["workers"].to_numpy(float)
        sel = np.flatnonzero(w > 0)
        if len(sel) > max_candidates:
            sel = sel[np.argsort(-w[sel], kind="stable")[:max_candidates]]
            sel.sort()
        kind = "demand point"
    lon, lat = C._lonlat(d.iloc[sel])
    ids = d["h3"].astype(str).to_numpy()[sel] if "h3" in d.columns else np.array([f"D{i}" for i in sel])
    out = pd.DataFrame({
        "candidate_id": ids,
        "name": [f"{kind} {i}" for i in ids],
        "lon": lon,
        "lat": lat,
        "county_adcode": d["county_adcode"].to_numpy(dtype=object)[sel] if "county_adcode" in d.columns else None,
        "prefecture_adcode": d["prefecture_adcode"].to_numpy(dtype=object)[sel] if "prefecture_adcode" in d.columns else None,
    })
    return out.reset_index(drop=True)


def _locate(lon, lat) -> np.ndarray:
    """County adcodes of WGS-84 points (None outside Yunnan): :func:`stations.geo.locate_counties`."""
    return np.asarray(geo.locate_counties(np.asarray(lon, float), np.asarray(lat, float)), dtype=object)


def candidates_from_frame(lon, lat, ids=None, names=None, county_adcode=None) -> pd.DataFrame:
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    if county_adcode is None:
        county_adcode = _locate(lon, lat)
    codes = pd.Series(county_adcode, dtype=object).to_numpy()
    pref = np.array([None if c is None or (isinstance(c, float) and np.isnan(c)) else str(c)[:4] + "00" for c in codes], dtype=object)
    n = len(lon)
    return pd.DataFrame({
        "candidate_id": list(ids) if ids is not None else [f"C{i + 1}" for i in range(n)],
        "name": list(names) if names is not None else [""] * n,
        "lon": lon,
        "lat": lat,
        "county_adcode": codes,
        "prefecture_adcode": pref,
    })


def read_candidates(path, crs: str = "wgs84", max_rows: int = MAX_CANDIDATE_ROWS, deadline=None) -> pd.DataFrame:
    """Candidate host sites from a table (CSV / TSV / TXT in any encoding and delimiter, or XLSX, read by
    :func:`stations.tables.read_table`; lon/lat or 经度/纬度 columns), GeoJSON or GeoPackage (points).
    ``crs`` is the datum of the coordinates: ``wgs84``, ``gcj02`` (Amap/Tencent) or ``bd09`` (Baidu); they
    are converted to WGS-84. Optional ``id`` and ``name`` columns (any header the station importer knows:
    编号, 名称 ...). Raises :class:`CandidateFileError` naming the rows at fault (header = row 1 for tables;
    features from 1 for GeoJSON/GeoPackage): empty file, no coordinate columns, too many rows, and every
    coordinate :func:`stations.validation.check_lonlat` refuses (missing or non-numeric, not degrees,
    swapped longitude/latitude, outside Yunnan)."""
    path = Path(path)
    if str(crs).strip().lower().replace("-", "").replace("_", "") not in CRS_NAMES:
        raise CandidateFileError(f"unknown coordinate system {crs!r}: expected one of 'wgs84', 'gcj02' "
                                 "(Amap/Tencent), 'bd09' (Baidu)", param="crs")
    # rows counted (XLSX: its dimension and zip directory read) before parsing: HTTP 413; ``deadline`` bounds reading
    table, meta = read_table(path, error=CandidateFileError, max_rows=max_rows, deadline=deadline)
    if len(table) == 0:
        raise CandidateFileError(f"{meta.name}: no candidate rows (header only?)")
    if len(table) > max_rows:
        raise CandidateFileError(f"{meta.name}: {len(table):,} rows; at most {max_rows:,} candidates per file", status=413)
    fields, _ = map_columns([c for c in table.columns if not str(c).startswith("__")])
    if meta.is_vector:
        xcol, ycol, names = "__lon", "__lat", ("lon", "lat")
    else:
        xcol, ycol = fields.get("lon"), fields.get("lat")
        if xcol is None or ycol is None:
            raise CandidateFileError(f"{meta.name}: need longitude and latitude columns (lon/lat, lng, 经度/纬度); "
                                     f"found {list(table.columns)}")
        names = (xcol, ycol)
    check = check_lonlat(table[xcol], table[ycol], table.index, names, crs=crs,
                         not_a_number="{axis} '{value}' is missing or not a number")  # the API's wording
    if check.problems:
        errors = check.errors
        raise CandidateFileError(f"{meta.name}: {len({e.row for e in errors})} bad rows", errors)
    ids = None
    if "id" in fields:
        raw = table[fields["id"]].astype(str).str.strip()
        if (raw != "").all() and raw.is_unique:
            ids = raw.tolist()
    names = table[fields["name"]].astype(str).str.strip().tolist() if "name" in fields else None
    return candidates_from_frame(check.lon, check.lat, ids=ids, names=names, county_adcode=check.county)
