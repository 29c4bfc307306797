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

Parameters are parsed by :mod:`webmap.params` (bad ones get HTTP 400 with ``{"error": {"parameter": NAME,
"message": ...}}``). Demand, geography and the cached results (per registry snapshot and question) are the
shared planner state of :mod:`webmap.state`, which the recommendations use too.

Labels: English msgids through Flask-Babel's gettext (``t()``); the Chinese is in the shared catalogue
``webmap/translations/zh/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import shapely
from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext

from stations import coverage as C
from stations.errors import InputError
from stations.limits import LIMITS
from webmap import jobs, network_state, openapi, state
from webmap.params import Params, choice
from webmap.responses import DOWNLOAD_TYPES, attachment, dumps, gaps_geojson, geojson, json_text, table_rows

log = logging.getLogger(__name__)

bp = Blueprint("planner", __name__)

HEAT_RESOLUTION = 7
MAX_UPLOAD_BYTES = int(LIMITS["demand_upload_bytes"].hi)
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".geojson", ".json", ".gpkg", ".tif", ".tiff")


def t(msg: str) -> str:
    """The planner's labels: English msgids translated through the shared Flask-Babel catalogue."""
    return gettext(msg)


def coverage_args(params: Params) -> state.CoverageArgs:
    """The coverage question of a request (:meth:`webmap.params.Params.coverage`) with its accepted scenario
    (``scenario=<id>`` of :func:`webmap.state.add_scenario`; absent: the registry's stations)."""
    args = params.coverage()
    token = params.text("scenario")
    if token in (None, ""):
        return args
    if not state.has_scenario(token):
        raise InputError(f"unknown scenario {str(token)[:40]!r}: accept the scenario again (scenarios are kept for "
                         f"the session that accepted them, its latest {state.MAX_SCENARIOS})", param="scenario")
    return dataclasses.replace(args, scenario=token)


def _gaps_limit(params: Params, default=int(LIMITS["gaps"].default)) -> int | None:
    return params.integer("limit", LIMITS["gaps"], default=default)


# ------------------------------------------------------------------------------------------- API


@bp.get("/api/coverage")
def api_coverage():
    params = Params.query()
    args = coverage_args(params)
    by = params.choice("by", C.LEVELS, "county")
    t0 = state.table(args, by)
    prov = state.table(args, "province")
    res = state.coverage(args)
    body = {
        "demand": args.demand,
        "radius": args.radius,
        "rural_radius": args.rural,
        "hour": args.hour,
        "weekday": args.weekday,
        "by": by,
        "scenario": args.scenario,
        "stations_active": int(len(res.stations)),
        "demo": state.is_demo(),
        "summary": table_rows(prov)[0] if len(prov) else None,
        "rows": table_rows(t0),
        "distance": args.distance,  # straight | network; with a network, both side by side (issue 13)
        "side_by_side": network_state.side_by_side(args, by),
    }
    return jsonify(body)


@bp.get("/api/gaps")
def api_gaps():
    params = Params.query()
    args = coverage_args(params)
    limit = _gaps_limit(params)
    from stations.sheet_layers import name_gaps  # county and nearest town, as the sheets name them

    body = gaps_geojson(name_gaps(state.gaps(args).head(limit)))
    body.update({"radius": args.radius, "rural_radius": args.rural, "hour": args.hour, "weekday": args.weekday,
                 "limit": limit, "distance": args.distance, "scenario": args.scenario})
    return geojson(body)


@bp.get("/api/coverage/layer")
def api_layer():
    args = coverage_args(Params.query())
    res = state.coverage(args)

    def build():
        wgs = C.display_layer(res, simplify_m=25.0, grid_deg=1e-5)  # valid at every radius (issue 14 §4)
        return json.dumps(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"radius": args.radius},
                                                        "geometry": json.loads(shapely.to_geojson(wgs))}]},
            separators=(",", ":"),
        )

    return geojson(state.cached(("planner-layer", *args.key), build, args.private))


@bp.get("/api/coverage/stations")
def api_stations():
    """The active stations of the question (the registry's or the accepted scenario's, open at the hour) for the
    planner's station layer: ``{"stations": [[id, lon, lat, name, added], ...]}`` (``added``: 1 for a
    scenario's hypothetical station)."""
    args = coverage_args(Params.query())
    res = state.coverage(args)

    def build():
        st = res.stations
        ids = st["id"].astype(str).to_numpy()
        names = st["name"].astype(str).to_numpy() if "name" in st.columns else ids
        added = (st["source"].astype(str) == "hypothetical").to_numpy() if "source" in st.columns else np.zeros(len(st), bool)
        rows = [[i, round(float(x), 6), round(float(y), 6), n, int(a)]
                for i, x, y, n, a in zip(ids, st["lon"].to_numpy(float), st["lat"].to_numpy(float), names, added)]
        return dumps({"scenario": args.scenario, "hour": args.hour, "stations": rows})

    return json_text(state.cached(("planner-stations", *args.key), build, args.private))


@bp.get("/api/coverage/demand")
def api_demand():
    dem = Params.query().demand_id()

    def build():
        d = state.demand(dem)
        parents = [h3.cell_to_parent(c, HEAT_RESOLUTION) if isinstance(c, str) and h3.is_valid_cell(c) else None
                   for c in d["h3"]]
        df = pd.DataFrame({"p": parents, "w": d["workers"].to_numpy(float)}).dropna()
        agg = df.groupby("p")["w"].sum()
        ll = np.array([h3.cell_to_latlng(c) for c in agg.index]).reshape(-1, 2)
        return json.dumps(
            {"resolution": HEAT_RESOLUTION,
             "points": [[round(x, 4), round(y, 4), round(float(w), 1)] for (y, x), w in zip(ll, agg.to_numpy())]},
            separators=(",", ":"),
        )

    return json_text(state.per_demand(dem, "heat", build))


@bp.get("/api/coverage/counties")
def api_counties():
    def build():
        c = state.geography().counties.to_crs(4326)
        geoms = shapely.set_precision(shapely.simplify(c.geometry.to_numpy(), 0.003, preserve_topology=True), 1e-4)
        feats = [
            {"type": "Feature", "properties": {"adcode": a, "name": n, "name_en": e},
             "geometry": json.loads(shapely.to_geojson(g))}
            for a, n, e, g in zip(c["adcode"].astype(str), c["name_zh"], c.get("name_en", c["name_zh"]), geoms)
        ]
        return dumps({"type": "FeatureCollection", "features": feats})

    resp = geojson(state.per_app("counties", build))
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.get("/planner/download/<what>.<fmt>")
def download(what: str, fmt: str):
    if what not in ("coverage", "gaps"):
        raise InputError(f"download must be coverage or gaps, got {what!r}", param="what")
    choice("format", fmt, DOWNLOAD_TYPES)
    params = Params.query()
    args = coverage_args(params)
    suffix = (f"r{int(args.radius)}" + (f"-h{args.hour:02d}" if args.hour is not None else "")
              + ("-own-demand" if args.demand else "") + ("-walk" if args.distance == "network" else ""))
    prefix = f"scenario-{args.scenario}-" if args.scenario else ""  # a scenario's file says so (name and column)
    with tempfile.TemporaryDirectory() as tmp:
        if what == "coverage":
            by = params.choice("by", C.LEVELS, "county")
            out = C.export_table(scenario_column(state.table(args, by), args.scenario), Path(tmp) / f"x.{fmt}", fmt,
                                 state.geography())
            name = f"{prefix}coverage-{by}-{suffix}.{fmt}"
        else:
            limit = _gaps_limit(params, default=None)
            g = state.gaps(args)
            out = C.export_gaps(scenario_column(g if limit is None else g.head(limit), args.scenario),
                                Path(tmp) / f"x.{fmt}", fmt)
            name = f"{prefix}gaps-{suffix}.{fmt}"
        data = out.read_bytes()
    return attachment(data, fmt, name)


def scenario_column(frame, scenario: str | None):
    """``frame`` with a first column ``scenario`` (the accepted scenario's id) when a scenario is asked, so a
    downloaded file of a scenario says that it is one (GeoJSON: a property of every feature)."""
    if not scenario:
        return frame
    out = frame.copy()  # keeps attrs (the rounding that keeps totals)
    out.insert(0, "scenario", scenario)
    return out


@bp.post("/api/coverage/demand")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def upload_demand():
    """Upload a demand file (multipart field ``file``, optional field ``weight``: the weight column).

    Answers ``{"demand": ID, ...}``; pass ``demand=ID`` to the coverage, gaps, layer and download endpoints.
    The set is kept in memory for the session that uploaded it (its latest :data:`webmap.state.MAX_DEMAND_SETS`,
    within the byte budgets of :mod:`webmap.state`; nothing is written to the registry). Files over a budget
    (rows, raster pixels, polygon cells) are refused with 413 before they are parsed."""
    from stations.demand import load_demand_file

    if request.content_length and request.content_length > MAX_UPLOAD_BYTES:
        raise InputError(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", param="file")
    f = request.files.get("file")
    if f is None or not f.filename:
        raise InputError("no file: send the demand file as multipart field 'file'", param="file")
    suffix = Path(f.filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputError(f"unsupported demand file type {suffix or '(none)'!r}: use .csv, .geojson, .gpkg or .tif",
                         param="file")
    weight = (request.form.get("weight") or request.args.get("weight") or "").strip() or None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"demand{suffix}"
        f.save(path)
        try:  # budgets (rows, pixels, cells) are checked before parsing, reading within analysis_seconds
            d = load_demand_file(path, weight=weight, deadline=state.upload_deadline(f.filename))
        except InputError as exc:
            message = str(exc).replace(str(path), f.filename).replace(path.name, f.filename)  # no server paths
            raise InputError(message, param=exc.param or "file", row=exc.row, column=exc.column,
                             status=exc.status) from None
    token = state.add_demand_set(d, f.filename)
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
    out = {k: t(k) for k in keys}
    out.update(_new_strings())
    return out


def _new_strings() -> dict[str, str]:
    """The labels of the layers, the scenario and the exact solver (issue 12 §1), for planner.js and whatif.js:
    literal ``t()`` calls, so that ``pybabel extract`` finds them."""
    return {
        "stations_layer": t("Stations (zoom in)"), "zoom_in": t("Zoom in to see the stations"),
        "access_unit": t("stations per 1,000 workers"), "load_unit": t("workers whose nearest station it is"),
        "scenario": t("Scenario"), "baseline": t("Back to the registry baseline"),
        "scenario_text": t("the page shows the accepted scenario: %(added)s added, %(closed)s closed (%(id)s)"),
        "per_station": t("Workers per station"), "access_col": t("Stations per 1,000 workers"),
        "site": t("Recommended site"), "added_station": t("Added station"), "closed_station": t("Closed station"),
        "exact_box": t("Exact solver"), "exact_budget": t("time budget (s)"),
        "solving": t("Solving exactly… %(s)s of at most %(max)s s"),
        "heuristic": t("greedy + swaps"), "exact": t("exact"), "opt_gap": t("optimality gap"),
        "proven": t("proven optimal"), "bound_gap": t("from the bound"), "not_run": t("exact solver not run"),
        "accepted": t("Scenario accepted: the figures, map, table, gaps and downloads now follow it"),
        "back": t("Back to the registry's stations"), "closed_now": t("Closed"), "added_now": t("Added"),
        "load_tip": t("Load"), "access_tip": t("Accessibility"), "time_limit": t("stopped at the time budget"),
    }


def _weekdays() -> list[str]:
    """Short day names, Monday first (周一 … 周日 / Mon … Sun)."""
    return [t("Mon"), t("Tue"), t("Wed"), t("Thu"), t("Fri"), t("Sat"), t("Sun")]


@bp.get("/planner")
def page():
    from webmap.i18n import lang

    state.ensure_session()  # the page's uploads and analyses belong to this browser (issue 14 §1)
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
            "stations": url_for("planner.api_stations"),
            "access": url_for("recommend.api_access"),
            "scenario": url_for("recommend.api_scenario"),
            "download": url_for("planner.download", what="__WHAT__", fmt="__FMT__"),
            "upload": url_for("planner.upload_demand"),
        },
        "strings": _strings(),
        "weekdays": _weekdays(),
    }
    try:
        demo = state.is_demo()
    except Exception:  # registry unavailable: the page still renders, the API says why
        demo = False
    html = render_template("planner.html", t=t, config=config, show_demo_banner=demo, formats=list(DOWNLOAD_TYPES),
                           weekdays=config["weekdays"])
    resp = current_app.make_response(html)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


# ------------------------------------------------------------------------------------------- OpenAPI

_ERR = openapi.PARAM_ERROR
SCENARIO = openapi.param("scenario", description="id of an accepted scenario (POST /api/scenario): the analysis uses its "
                                                  "stations; omitted: the registry's. Kept for the session that accepted it")
_BY = openapi.param("by", schema={"type": "string", "enum": list(C.LEVELS), "default": "county"})
_LIMIT = openapi.limited("limit", LIMITS["gaps"], "integer")
_ROW = {"type": "object", "properties": {c: {} for c in C.TABLE_COLUMNS}}

OPENAPI_PATHS = {
    "/api/coverage": {"get": {
        "summary": "Coverage of estimated outdoor workers by open stations, by province, prefecture or county",
        "parameters": [*openapi.COVERAGE, _BY, openapi.DEMAND, SCENARIO],
        "responses": {"200": {"description": "rows carry adcode, name, stations, workers, workers_covered, covered_pct, "
                                             "area_km2, area_covered_km2, median_distance_m, p90_distance_m",
                              "content": {"application/json": {"schema": {"type": "object", "properties": {
                                  "rows": {"type": "array", "items": _ROW}, "summary": _ROW}}}}},
                      "400": _ERR}}},
    "/api/gaps": {"get": {
        "summary": "Contiguous uncovered demand as polygons, largest first (uncovered_workers, county_adcode, nearest_station_m)",
        "parameters": [*openapi.COVERAGE, _LIMIT, openapi.DEMAND, SCENARIO],
        "responses": {"200": {"description": "GeoJSON FeatureCollection", **openapi.GEOJSON}, "400": _ERR}}},
    "/api/coverage/layer": {"get": {
        "summary": "The dissolved coverage buffers (GeoJSON, WGS-84, simplified to 25 m)",
        "parameters": [*openapi.COVERAGE, openapi.DEMAND, SCENARIO],
        "responses": {"200": {"description": "GeoJSON FeatureCollection"}, "400": _ERR}}},
    "/api/coverage/stations": {"get": {
        "summary": "The active stations of the question (the registry's or the accepted scenario's, open at the hour)",
        "parameters": [*openapi.COVERAGE, openapi.DEMAND, SCENARIO],
        "responses": {"200": {"description": "{stations: [[id, lon, lat, name, added (1: a scenario's site)]]}"},
                      "400": _ERR}}},
    "/api/coverage/demand": {
        "get": {
            "summary": "Estimated outdoor workers aggregated to H3 resolution 7: points [lon, lat, workers]",
            "parameters": [openapi.DEMAND],
            "responses": {"200": {"description": "JSON"}, "400": _ERR}},
        "post": {
            "summary": "Upload a demand file (CSV lon/lat + weight, GeoJSON, GeoPackage, GeoTIFF); returns its id",
            "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}, "weight": {"type": "string"}}}}}},
            "responses": {"201": {"description": "{demand: id, points, workers, points_outside_counties}"},
                          "400": _ERR, "413": openapi.OVER_BUDGET}}},
    "/planner/download/{what}.{fmt}": {"get": {
        "summary": "Download the coverage table or the gaps (CSV UTF-8 with BOM, XLSX, GeoJSON, GeoPackage)",
        "parameters": [
            openapi.param("what", "path", required=True, schema={"type": "string", "enum": ["coverage", "gaps"]}),
            openapi.param("fmt", "path", required=True, schema={"type": "string", "enum": list(DOWNLOAD_TYPES)}),
            *openapi.COVERAGE, _BY, _LIMIT, openapi.DEMAND, SCENARIO],
        "responses": {"200": {"description": "the file"}, "400": _ERR}}},
}
