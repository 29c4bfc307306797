"""JSON, GeoJSON and file responses shared by the blueprints, and the plain-Python values they carry.

Coordinates in GeoJSON are WGS-84 (lon, lat). JSON text is compact UTF-8 (``ensure_ascii=False``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import shapely
from flask import Response, current_app

from stations import coverage as C

#: download format -> MIME type, for the planner's and the recommendations' downloads
DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}


def clean(v):
    """A JSON-ready value: numpy scalars become Python ones, NaN and infinities become None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return v


def table_rows(df: pd.DataFrame) -> list[dict]:
    """A coverage table (:func:`stations.coverage.coverage_table`) as rounded JSON rows."""
    df = C.round_table(df)
    return [{k: clean(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


_GAP_DIGITS = (("uncovered_workers", 1), ("nearest_station_m", 0), ("mean_distance_m", 0), ("area_km2", 3),
               ("lon", 6), ("lat", 6))


def gaps_geojson(g) -> dict:
    """Gaps (:func:`stations.coverage.find_gaps`, WGS-84) as a GeoJSON FeatureCollection, figures rounded."""
    props = [c for c in g.columns if c != "geometry"]
    feats = []
    for rec, geom in zip(g[props].to_dict(orient="records"), g.geometry):
        p = {k: clean(v) for k, v in rec.items()}
        for k, nd in _GAP_DIGITS:
            if p.get(k) is not None:
                p[k] = round(p[k], nd)
        feats.append({"type": "Feature", "properties": p,
                      "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6)))})
    return {"type": "FeatureCollection", "features": feats}


def dumps(body) -> str:
    """Compact UTF-8 JSON text."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def json_text(body, mimetype: str = "application/json") -> Response:
    """``body`` as compact JSON text (``dict`` or already-serialised ``str``)."""
    return current_app.response_class(body if isinstance(body, str) else dumps(body), mimetype=mimetype)


def geojson(body, max_age: int | None = None) -> Response:
    """``body`` as ``application/geo+json``; with ``max_age`` a public ``Cache-Control``."""
    resp = json_text(body, "application/geo+json")
    if max_age is not None:
        resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp


def attachment(data: bytes, fmt: str, filename: str) -> Response:
    """A download of ``data`` in ``fmt`` (a key of :data:`DOWNLOAD_TYPES`) named ``filename``."""
    resp = Response(data, mimetype=DOWNLOAD_TYPES[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
