"""The planner: coverage of outdoor-worker demand (blueprint ``planner``).

Pages and endpoints:

``GET /planner``                        county choropleth of coverage %, layers, inputs, table, downloads
``GET /api/coverage``                   ``?radius=&rural_radius=&hour=&weekday=&by=province|prefecture|county``
                                        -> ``{"rows": [...], "summary": {...}, ...}``
``GET /api/gaps``                       ``?radius=&rural_radius=&hour=&weekday=&limit=`` -> GeoJSON, largest first
``GET /api/coverage/layer``             the dissolved coverage buffers (GeoJSON, WGS-84, simplified for display)
``GET /api/coverage/demand``            the demand grid aggregated to H3 resolution 7 for the heat layer
``GET /api/coverage/counties``          county outlines (simplified) for the choropleth
``GET /planner/download/<what>.<fmt>``  ``what`` = coverage | gaps, ``fmt`` = csv | xlsx | geojson | gpkg

Bad parameters get HTTP 400 with ``{"error": {"parameter": NAME, "message": ...}}``. Results are cached per
registry snapshot and (radius, rural radius, hour, weekday).

Configuration: ``PLANNER_DEMAND`` (a demand GeoDataFrame or a path to a demand file; default the bundled
model of :mod:`stations.demand`), ``PLANNER_GEOGRAPHY`` (a :class:`stations.coverage.Geography`; default
:mod:`stations.geo`).

Labels: English msgids through Flask-Babel's gettext (``t()``); the Chinese is in the shared catalogue
``webmap/translations/zh/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import shapely
from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext

from stations import coverage as C
from webmap.api import ApiError, add_openapi_paths

log = logging.getLogger(__name__)

bp = Blueprint("planner", __name__)

MIN_RADIUS_M = 50.0
MAX_RADIUS_M = 20_000.0
MAX_GAPS = 5000
DEFAULT_GAPS = 100
HEAT_RESOLUTION = 7



def t(msg: str) -> str:
    """The planner's labels: English msgids translated through the shared Flask-Babel catalogue."""
    return gettext(msg)


class BadParam(ApiError):
    """A bad planner parameter: HTTP 400 through the API's error handler."""

    def __init__(self, parameter: str, message: str):
        super().__init__(parameter, message, 400)


# ------------------------------------------------------------------------------------------- parameters


def _one(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadParam(name, f"{name} given more than once")
    v = values[0].strip() if values else None
    return v or None


def _number(name: str, lo: float, hi: float, default=None, integer=False):
    raw = _one(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadParam(name, f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or not (lo <= value <= hi):
        raise BadParam(name, f"{name} must be between {lo:g} and {hi:g}, got {raw}")
    if integer:
        if value != int(value):
            raise BadParam(name, f"{name} must be a whole number, got {raw}")
        return int(value)
    return value


def _params():
    radius = _number("radius", MIN_RADIUS_M, MAX_RADIUS_M, default=C.DEFAULT_RADIUS_M)
    rural = _number("rural_radius", MIN_RADIUS_M, MAX_RADIUS_M)
    hour = _number("hour", 0, 23, integer=True)
    weekday = _number("weekday", 0, 6, default=2, integer=True)
    return radius, rural, hour, weekday


def _params_d():
    """:func:`_params` plus the uploaded demand set's id (``demand=``; None: the model)."""
    return (*_params(), _demand_id())


def _demand_id() -> str | None:
    """``demand=`` names an uploaded demand set (``POST /api/coverage/demand``); omitted: the model."""
    token = _one("demand")
    if token is None:
        return None
    if token not in _uploads():
        raise BadParam("demand", f"unknown demand set {token!r}: upload the file again")
    return token


def _by() -> str:
    by = _one("by") or "county"
    if by not in C.LEVELS:
        raise BadParam("by", f"by must be one of {', '.join(C.LEVELS)}, got {by!r}")
    return by


def _limit() -> int:
    return _number("limit", 1, MAX_GAPS, default=DEFAULT_GAPS, integer=True)


# ------------------------------------------------------------------------------------------- the model


_LOCK = threading.Lock()
_COMPUTE = threading.RLock()


def _state() -> dict:
    app = current_app
    st = app.extensions.setdefault("planner", {})
    return st


def geography() -> C.Geography:
    st = _state()
    if "geography" not in st:
        with _LOCK:
            if "geography" not in st:
                st["geography"] = current_app.config.get("PLANNER_GEOGRAPHY") or C.Geography.load()
    return st["geography"]


def _uploads() -> OrderedDict:
    return _state().setdefault("uploads", OrderedDict())


def demand(demand_id: str | None = None):
    """The demand in use: an uploaded set by id, or the configured / bundled model."""
    if demand_id is not None:
        return _uploads()[demand_id]["demand"]
    st = _state()
    if "demand" not in st:
        with _LOCK:
            if "demand" not in st:
                given = current_app.config.get("PLANNER_DEMAND")
                if given is None:
                    from stations.demand import load_demand

                    st["demand"] = load_demand()
                elif isinstance(given, (str, Path)):
                    from stations.demand import load_demand_file

                    st["demand"] = load_demand_file(given)
                else:
                    st["demand"] = given
    return st["demand"]


def _snapshot():
    from webmap import get_store

    return get_store().snapshot()


def _radius_spec(radius: float, rural: float | None):
    return radius if rural is None else {"town": radius, "rural": rural, "default": radius}


def result(radius: float, rural: float | None, hour: int | None, weekday: int = 2, demand_id: str | None = None) -> C.CoverageResult:
    """The coverage for these parameters, cached per registry snapshot (siting can reuse it)."""
    snap = _snapshot()
    key = ("planner", radius, rural, hour, weekday, demand_id)
    with _COMPUTE:  # the page asks for the same figures in parallel: compute once
        return snap.cached(
            key, lambda: C.compute_coverage(snap.gdf, demand(demand_id), _radius_spec(radius, rural), hour, weekday), size=64
        )


def table(radius, rural, hour, weekday, by, demand_id=None) -> pd.DataFrame:
    snap = _snapshot()
    res = result(radius, rural, hour, weekday, demand_id)
    with _COMPUTE:
        return snap.cached(("planner-table", radius, rural, hour, weekday, demand_id, by), lambda: C.coverage_table(res, by, geography()))


def gaps(radius, rural, hour, weekday, demand_id=None):
    snap = _snapshot()
    res = result(radius, rural, hour, weekday, demand_id)
    with _COMPUTE:
        return snap.cached(("planner-gaps", radius, rural, hour, weekday, demand_id), lambda: C.find_gaps(res))


def _is_demo() -> bool:
    gdf = _snapshot().gdf
    return bool(len(gdf)) and "source" in gdf.columns and bool((gdf["source"] == "synthetic-demo").any())


def _clean(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    return v


def _rows(df: pd.DataFrame) -> list[dict]:
    df = C.round_table(df)
    return [{k: _clean(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


# ------------------------------------------------------------------------------------------- API


@bp.get("/api/coverage")
def api_coverage():
    radius, rural, hour, weekday, dem = _params_d()
    by = _by()
    t0 = table(radius, rural, hour, weekday, by, dem)
    prov = table(radius, rural, hour, weekday, "province", dem)
    res = result(radius, rural, hour, weekday, dem)
    body = {
        "demand": dem,
        "radius": radius,
        "rural_radius": rural,
        "hour": hour,
        "weekday": weekday,
        "by": by,
        "stations_active": int(len(res.stations)),
        "demo": _is_demo(),
        "summary": _rows(prov)[0] if len(prov) else None,
        "rows": _rows(t0),
    }
    return jsonify(body)


def _gaps_geojson(g) -> dict:
    g = g.copy()
    props = [c for c in g.columns if c != "geometry"]
    feats = []
    for rec, geom in zip(g[props].to_dict(orient="records"), g.geometry):
        p = {k: _clean(v) for k, v in rec.items()}
        for k, nd in (("uncovered_workers", 1), ("nearest_station_m", 0), ("mean_distance_m", 0), ("area_km2", 3), ("lon", 6), ("lat", 6)):
            if p.get(k) is not None:
                p[k] = round(p[k], nd)
        feats.append({"type": "Feature", "properties": p, "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6)))})
    return {"type": "FeatureCollection", "features": feats}


@bp.get("/api/gaps")
def api_gaps():
    radius, rural, hour, weekday, dem = _params_d()
    limit = _limit()
    g = gaps(radius, rural, hour, weekday, dem).head(limit)
    body = _gaps_geojson(g)
    body.update({"radius": radius, "rural_radius": rural, "hour": hour, "weekday": weekday, "limit": limit})
    return current_app.response_class(json.dumps(body, ensure_ascii=False, separators=(",", ":")), mimetype="application/geo+json")


@bp.get("/api/coverage/layer")
def api_layer():
    radius, rural, hour, weekday, dem = _params_d()
    snap = _snapshot()
    res = result(radius, rural, hour, weekday, dem)

    def build():
        geom = shapely.simplify(res.layer_metric(), 25.0)
        tr = C.transformer(C.metric_crs(), "EPSG:4326")
        wgs = shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        wgs = shapely.set_precision(wgs, 1e-5)
        return json.dumps(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"radius": radius}, "geometry": json.loads(shapely.to_geojson(wgs))}]},
            separators=(",", ":"),
        )

    body = snap.cached(("planner-layer", radius, rural, hour, weekday, dem), build, size=16)
    return current_app.response_class(body, mimetype="application/geo+json")


@bp.get("/api/coverage/demand")
def api_demand():
    dem = _demand_id()
    st = _uploads()[dem] if dem is not None else _state()
    if "heat" not in st:
        d = demand(dem)
        parents = [h3.cell_to_parent(c, HEAT_RESOLUTION) if isinstance(c, str) and h3.is_valid_cell(c) else None for c in d["h3"]]
        df = pd.DataFrame({"p": parents, "w": d["workers"].to_numpy(float)}).dropna()
        agg = df.groupby("p")["w"].sum()
        ll = np.array([h3.cell_to_latlng(c) for c in agg.index]).reshape(-1, 2)
        st["heat"] = json.dumps(
            {"resolution": HEAT_RESOLUTION, "points": [[round(x, 4), round(y, 4), round(float(w), 1)] for (y, x), w in zip(ll, agg.to_numpy())]},
            separators=(",", ":"),
        )
    return current_app.response_class(st["heat"], mimetype="application/json")


@bp.get("/api/coverage/counties")
def api_counties():
    st = _state()
    if "counties" not in st:
        c = geography().counties.to_crs(4326)
        geoms = shapely.set_precision(shapely.simplify(c.geometry.to_numpy(), 0.003, preserve_topology=True), 1e-4)
        feats = [
            {"type": "Feature", "properties": {"adcode": a, "name": n, "name_en": e}, "geometry": json.loads(shapely.to_geojson(g))}
            for a, n, e, g in zip(c["adcode"].astype(str), c["name_zh"], c.get("name_en", c["name_zh"]), geoms)
        ]
        st["counties"] = json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False, separators=(",", ":"))
    resp = current_app.response_class(st["counties"], mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}


@bp.get("/planner/download/<what>.<fmt>")
def download(what: str, fmt: str):
    if what not in ("coverage", "gaps"):
        raise BadParam("what", f"download must be coverage or gaps, got {what!r}")
    if fmt not in DOWNLOAD_TYPES:
        raise BadParam("format", f"format must be one of {', '.join(DOWNLOAD_TYPES)}, got {fmt!r}")
    radius, rural, hour, weekday, dem = _params_d()
    suffix = f"r{int(radius)}" + (f"-h{hour:02d}" if hour is not None else "") + ("-own-demand" if dem else "")
    with tempfile.TemporaryDirectory() as tmp:
        if what == "coverage":
            by = _by()
            out = C.export_table(table(radius, rural, hour, weekday, by, dem), Path(tmp) / f"x.{fmt}", fmt, geography())
            name = f"coverage-{by}-{suffix}.{fmt}"
        else:
            limit = _number("limit", 1, MAX_GAPS, default=None, integer=True)
            g = gaps(radius, rural, hour, weekday, dem)
            out = C.export_gaps(g if limit is None else g.head(limit), Path(tmp) / f"x.{fmt}", fmt)
            name = f"gaps-{suffix}.{fmt}"
        data = out.read_bytes()
    resp = Response(data, mimetype=DOWNLOAD_TYPES[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


MAX_UPLOADS = 8
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".geojson", ".json", ".gpkg", ".tif", ".tiff")


@bp.post("/api/coverage/demand")
def upload_demand():
    """Upload a demand file (multipart field ``file``, optional field ``weight``: the weight column).

    Answers ``{"demand": ID, ...}``; pass ``demand=ID`` to the coverage, gaps, layer and download endpoints.
    The last :data:`MAX_UPLOADS` sets are kept in memory (nothing is written to the registry)."""
    from stations.demand import DemandFileError, load_demand_file

    if request.content_length and request.content_length > MAX_UPLOAD_BYTES:
        raise BadParam("file", f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    f = request.files.get("file")
    if f is None or not f.filename:
        raise BadParam("file", "no file: send the demand file as multipart field 'file'")
    suffix = Path(f.filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise BadParam("file", f"unsupported demand file type {suffix or '(none)'!r}: use .csv, .geojson, .gpkg or .tif")
    weight = (request.form.get("weight") or request.args.get("weight") or "").strip() or None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"demand{suffix}"
        f.save(path)
        try:
            d = load_demand_file(path, weight=weight)
        except DemandFileError as exc:
            raise BadParam("weight" if exc.column is not None and exc.column == weight else "file",
                           str(exc).replace(str(path), f.filename).replace(path.name, f.filename)) from None
    token = uuid.uuid4().hex[:12]
    uploads = _uploads()
    with _LOCK:
        uploads[token] = {"demand": d, "name": f.filename}
        while len(uploads) > MAX_UPLOADS:
            uploads.popitem(last=False)
    inside = d["county_adcode"].notna()
    return jsonify({
        "demand": token,
        "name": f.filename,
        "points": int(len(d)),
        "workers": float(d["workers"].sum()),
        "points_outside_counties": int((~inside).sum()),
    }), 201


# ------------------------------------------------------------------------------------------- page


def _strings() -> dict[str, str]:
    keys = [
        "Area", "Stations", "Per 10k urban", "Workers", "Covered", "Covered %", "Area km²", "Covered km²", "Median m",
        "P90 m", "Uncovered workers", "Nearest station", "County", "Computing…", "Could not compute coverage", "of",
        "workers covered", "stations open", "no data", "All day (status only)", "at", "Sort", "workers",
        "m on average to the nearest station", "Uploading…", "Could not use the file", "points",
        "Estimated outdoor workers (model)",
    ]
    return {k: t(k) for k in keys}


def _weekdays() -> list[str]:
    """Short day names, Monday first (周一 … 周日 / Mon … Sun)."""
    return [t("Mon"), t("Tue"), t("Wed"), t("Thu"), t("Fri"), t("Sat"), t("Sun")]


@bp.get("/planner")
def page():
    from webmap.i18n import lang

    locale = lang()
    config = {
        "lang": locale,
        "radius": C.DEFAULT_RADIUS_M,
        "api": {
            "coverage": url_for("planner.api_coverage"),
            "gaps": url_for("planner.api_gaps"),
            "layer": url_for("planner.api_layer"),
            "demand": url_for("planner.api_demand"),
            "counties": url_for("planner.api_counties"),
            "download": url_for("planner.download", what="__WHAT__", fmt="__FMT__"),
            "upload": url_for("planner.upload_demand"),
        },
        "strings": _strings(),
        "weekdays": _weekdays(),
    }
    try:
        demo = _is_demo()
    except Exception:  # registry unavailable: the page still renders, the API says why
        demo = False
    html = render_template("planner.html", t=t, config=config, show_demo_banner=demo, formats=list(DOWNLOAD_TYPES),
                           weekdays=config["weekdays"])
    resp = current_app.make_response(html)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


# ------------------------------------------------------------------------------------------- OpenAPI

_P = {
    "radius": {"name": "radius", "in": "query", "schema": {"type": "number", "minimum": MIN_RADIUS_M, "maximum": MAX_RADIUS_M, "default": 1000},
               "description": "service radius in metres (geodesic); for towns when rural_radius is given"},
    "rural_radius": {"name": "rural_radius", "in": "query", "schema": {"type": "number", "minimum": MIN_RADIUS_M, "maximum": MAX_RADIUS_M},
                     "description": "service radius in metres for rural demand cells (area class rural)"},
    "hour": {"name": "hour", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 23},
             "description": "count only stations open at this hour (Asia/Shanghai); omitted: status only"},
    "weekday": {"name": "weekday", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 6, "default": 2},
                "description": "day of week for hour (0 = Monday)"},
    "by": {"name": "by", "in": "query", "schema": {"type": "string", "enum": list(C.LEVELS), "default": "county"}},
    "demand": {"name": "demand", "in": "query", "schema": {"type": "string"},
               "description": "id of an uploaded demand set (POST /api/coverage/demand); omitted: the bundled model"},
    "limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_GAPS, "default": DEFAULT_GAPS}},
}
_ERR = {"description": "bad parameter (named in error.parameter)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ROW = {"type": "object", "properties": {c: {} for c in C.TABLE_COLUMNS}}

OPENAPI_PATHS = {
    "/api/coverage": {"get": {
        "summary": "Coverage of estimated outdoor workers by open stations, by province, prefecture or county",
        "parameters": [_P["radius"], _P["rural_radius"], _P["hour"], _P["weekday"], _P["by"], _P["demand"]],
        "responses": {"200": {"description": "rows carry adcode, name, stations, workers, workers_covered, covered_pct, "
                                             "area_km2, area_covered_km2, median_distance_m, p90_distance_m",
                              "content": {"application/json": {"schema": {"type": "object", "properties": {
                                  "rows": {"type": "array", "items": _ROW}, "summary": _ROW}}}}},
                      "400": _ERR}}},
    "/api/gaps": {"get": {
        "summary": "Contiguous uncovered demand as polygons, largest first (uncovered_workers, county_adcode, nearest_station_m)",
        "parameters": [_P["radius"], _P["rural_radius"], _P["hour"], _P["weekday"], _P["limit"], _P["demand"]],
        "responses": {"200": {"description": "GeoJSON FeatureCollection", "content": {"application/geo+json": {"schema": {"type": "object"}}}},
                      "400": _ERR}}},
    "/api/coverage/layer": {"get": {
        "summary": "The dissolved coverage buffers (GeoJSON, WGS-84, simplified to 25 m)",
        "parameters": [_P["radius"], _P["rural_radius"], _P["hour"], _P["weekday"], _P["demand"]],
        "responses": {"200": {"description": "GeoJSON FeatureCollection"}, "400": _ERR}}},
    "/api/coverage/demand": {
        "get": {
            "summary": "Estimated outdoor workers aggregated to H3 resolution 7: points [lon, lat, workers]",
            "parameters": [_P["demand"]],
            "responses": {"200": {"description": "JSON"}, "400": _ERR}},
        "post": {
            "summary": "Upload a demand file (CSV lon/lat + weight, GeoJSON, GeoPackage, GeoTIFF); returns its id",
            "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}, "weight": {"type": "string"}}}}}},
            "responses": {"201": {"description": "{demand: id, points, workers, points_outside_counties}"},
                          "400": _ERR}}},
    "/planner/download/{what}.{fmt}": {"get": {
        "summary": "Download the coverage table or the gaps (CSV UTF-8 with BOM, XLSX, GeoJSON, GeoPackage)",
        "parameters": [
            {"name": "what", "in": "path", "required": True, "schema": {"type": "string", "enum": ["coverage", "gaps"]}},
            {"name": "fmt", "in": "path", "required": True, "schema": {"type": "string", "enum": list(DOWNLOAD_TYPES)}},
            _P["radius"], _P["rural_radius"], _P["hour"], _P["weekday"], _P["by"], _P["limit"], _P["demand"]],
        "responses": {"200": {"description": "the file"}, "400": _ERR}}},
}


add_openapi_paths(bp, OPENAPI_PATHS)
