"""Recommendations and what-if for the planner (blueprint ``recommend``, issue 5).

``GET /api/recommend``            ``?n=|target_pct=&radius=&rural_radius=&hour=&weekday=&demand=ID&candidates=default|ID&exact=0|1``
                                  -> GeoJSON FeatureCollection of the sites in the order chosen (``rank``,
                                  ``gain_workers`` ...), plus ``before`` / ``after`` covered totals and pct, the
                                  before/after rows by prefecture, ``method``, ``greedy_objective`` and, when the
                                  exact solver ran, ``exact_objective`` and ``gap``
``POST /api/candidates``          multipart ``file`` (CSV / XLSX / GeoJSON / GeoPackage, at most
                                  :data:`MAX_UPLOAD_BYTES`), optional ``crs`` = wgs84 | gcj02 | bd09 -> ``{"id", "count"}``;
                                  kept in memory (the last :data:`MAX_CANDIDATE_SETS` sets)
``POST /api/whatif``              JSON ``{"add": [[lon, lat] | [lon, lat, "hours text"], ...], "close": [station ids],
                                  "radius", "rural_radius", "hour", "weekday", "gaps_limit", "demand"}`` -> totals before/after, rows by prefecture
                                  and the gaps recomputed. Nothing is written to the registry.
``GET /recommend/download/sites.<fmt>``  the sites (csv | xlsx | geojson | gpkg), same parameters as the API
``GET /recommend/curve.<png|svg>``       the coverage-versus-N curve

Limits: ``n`` <= :data:`MAX_N`; a greedy run stops at :data:`MAX_SECONDS`; the exact solver gets
:data:`EXACT_TIME_LIMIT` seconds. Past a limit: HTTP 400 ``{"error": {"parameter", "message"}}``.

Demand, geography and the registry snapshot are the planner's (:mod:`webmap.planner`), so the figures agree
with ``/api/coverage``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request

from stations import coverage as C
from stations import siting as S
from stations.cartography.charts import coverage_curve
from webmap import planner as P
from webmap.api import ApiError, add_openapi_paths

log = logging.getLogger(__name__)

bp = Blueprint("recommend", __name__)

MAX_N = 500
DEFAULT_N = 10
MAX_SECONDS = 30.0
EXACT_TIME_LIMIT = 20.0
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_CANDIDATE_SETS = 20
MAX_WHATIF_ADD = 500
MAX_WHATIF_CLOSE = 5000
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".geojson", ".json", ".gpkg")
SITE_PROPS = ("rank", "gain_workers", "cumulative_covered", "cumulative_pct", "candidate_id", "name", "county_adcode",
              "prefecture_adcode", "lon", "lat", "lon_gcj02", "lat_gcj02", "nearest_station_id", "nearest_station_m")

_LOCK = threading.Lock()


class RecommendError(ApiError):
    """A bad recommend/what-if request (``rows`` for bad candidate files), answered by the API's handler."""


def _state() -> dict:
    return current_app.extensions.setdefault("recommend", {"candidates": OrderedDict()})


# ------------------------------------------------------------------------------------------- parameters


def _params():
    radius, rural, hour, weekday = P._params()
    raw_n = P._one("n")
    n = None
    if raw_n is not None:
        try:
            v = float(raw_n)
        except ValueError:
            v = None
        if v is not None and math.isfinite(v) and v > MAX_N:
            raise RecommendError("n", f"n must be at most {MAX_N} sites per request, got {raw_n}")
        n = P._number("n", 0, MAX_N, integer=True)
    target = P._number("target_pct", 0.01, 100)
    if n is not None and target is not None:
        raise RecommendError("target_pct", "give n (number of sites) or target_pct (coverage target), not both")
    if n is None and target is None:
        n = DEFAULT_N
    cand = P._one("candidates") or "default"
    if cand != "default" and cand not in _state()["candidates"]:
        raise RecommendError("candidates", f"no uploaded candidate set {cand!r} (upload with POST /api/candidates; "
                                           f"sets are kept in memory, the last {MAX_CANDIDATE_SETS})")
    exact_raw = (P._one("exact") or "0").lower()
    if exact_raw not in ("0", "1", "true", "false", "no", "yes"):
        raise RecommendError("exact", f"exact must be 0 or 1, got {exact_raw!r}")
    exact = exact_raw in ("1", "true", "yes")
    demand_id = P._demand_id()  # an uploaded demand set (POST /api/coverage/demand), as on the planner page
    return dict(radius=radius, rural=rural, hour=hour, weekday=weekday, n=n, target=target, candidates=cand, exact=exact,
                demand=demand_id)


def _model(p):
    snap = P._snapshot()
    key = ("siting-model", p["radius"], p["rural"], p["hour"], p["weekday"], p["candidates"], p["demand"])

    def build():
        cands = None if p["candidates"] == "default" else _state()["candidates"][p["candidates"]]["frame"]
        return S.MaxCover.from_geodataframes(P.demand(p["demand"]), cands, snap.gdf, P._radius_spec(p["radius"], p["rural"]),
                                             p["hour"], p["weekday"])

    return snap.cached(key, build, size=64)


def recommendation(p) -> S.Recommendation:
    snap = P._snapshot()
    key = ("siting-rec", p["radius"], p["rural"], p["hour"], p["weekday"], p["candidates"], p["n"], p["target"], p["exact"],
           p["demand"])

    def build():
        model = _model(p)
        deadline = time.perf_counter() + float(current_app.config.get("RECOMMEND_MAX_SECONDS", MAX_SECONDS))
        try:
            return S.recommend(snap.gdf, P.demand(p["demand"]), n=p["n"], target_pct=p["target"],
                               radius=P._radius_spec(p["radius"], p["rural"]), hour=p["hour"], weekday=p["weekday"],
                               exact="auto" if p["exact"] else False,
                               time_limit=float(current_app.config.get("RECOMMEND_EXACT_SECONDS", EXACT_TIME_LIMIT)),
                               deadline=deadline, max_sites=MAX_N, model=model)
        except TimeoutError as exc:
            raise RecommendError("n" if p["n"] is not None else "target_pct",
                                 f"run-time limit of {MAX_SECONDS:g} s reached ({exc}); ask for fewer sites") from None
        except S.SitingError as exc:
            raise RecommendError("n", str(exc)) from None

    rec = snap.cached(key, build, size=32)
    if rec.mode == "set-cover" and not rec.solution.extra.get("reached"):
        raise RecommendError("target_pct", f"target {p['target']:g} % not reached: {rec.solution.status} "
                                           f"(at most {MAX_N} sites per request)")
    return rec


def _clean(v):
    return P._clean(v.item() if isinstance(v, np.generic) else v)


def _site_features(sites) -> list[dict]:
    feats = []
    for rec in sites[list(SITE_PROPS)].to_dict(orient="records"):
        p = {k: _clean(v) for k, v in rec.items()}
        for k, nd in (("gain_workers", 2), ("cumulative_covered", 1), ("cumulative_pct", 3), ("lon", 6), ("lat", 6),
                      ("lon_gcj02", 6), ("lat_gcj02", 6), ("nearest_station_m", 1)):
            if p.get(k) is not None:
                p[k] = round(p[k], nd)
        feats.append({"type": "Feature", "properties": p,
                      "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]}})
    return feats


def _totals(res: C.CoverageResult) -> dict:
    return {"workers": round(res.workers, 1), "workers_covered": round(res.workers_covered, 1),
            "covered_pct": round(res.covered_pct, 3), "stations": int(len(res.stations))}


def _compare_rows(before: C.CoverageResult, after: C.CoverageResult, by: str = "prefecture") -> list[dict]:
    geo = P.geography()
    b = C.round_table(C.coverage_table(before, by, geo))
    a = C.round_table(C.coverage_table(after, by, geo))
    rows = []
    for rb, ra in zip(b.to_dict(orient="records"), a.to_dict(orient="records")):
        rows.append({"adcode": rb["adcode"], "name": rb["name"], "name_en": rb["name_en"], "workers": _clean(rb["workers"]),
                     "stations_before": _clean(rb["stations"]), "stations_after": _clean(ra["stations"]),
                     "covered_before": _clean(rb["workers_covered"]), "covered_after": _clean(ra["workers_covered"]),
                     "covered_pct_before": _clean(rb["covered_pct"]), "covered_pct_after": _clean(ra["covered_pct"])})
    return rows


# ------------------------------------------------------------------------------------------- API


@bp.get("/api/recommend")
def api_recommend():
    p = _params()
    t0 = time.perf_counter()
    rec = recommendation(p)
    s = rec.summary()
    body = {
        "type": "FeatureCollection",
        "features": _site_features(rec.sites),
        "mode": rec.mode,
        "method": rec.solution.method,
        "n": p["n"], "target_pct": p["target"], "radius": p["radius"], "rural_radius": p["rural"], "hour": p["hour"],
        "weekday": p["weekday"], "demand": p["demand"], "candidates": p["candidates"], "candidates_count": int(rec.model.n_candidates),
        "before": _totals(rec.before), "after": _totals(rec.after),
        "greedy_objective": s["greedy_objective"], "greedy_upper_bound": s["greedy_upper_bound"],
        "greedy_time_s": s["greedy_time_s"],
        "prefectures": P._snapshot().cached(("siting-pref", id(rec)), lambda: _compare_rows(rec.before, rec.after)),
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
    if rec.exact is not None and rec.mode == "set-cover":
        body.update({k: s.get(k) for k in ("greedy_sites", "exact_sites", "exact_status", "exact_lower_bound_sites",
                                          "exact_time_s", "gap_sites")})
    elif rec.exact is not None:
        body.update(exact_objective=s["exact_objective"], exact_status=s["exact_status"],
                    exact_upper_bound=s["exact_upper_bound"], exact_time_s=s["exact_time_s"], gap=s["gap"])
    elif p["exact"]:
        body.update(exact_objective=None, exact_status="not run: instance too large for the exact solver", gap=None)
        if rec.mode == "set-cover":
            body.update(exact_sites=None)
    body["guarantee"] = s.get("guarantee")
    if rec.mode == "set-cover":
        body.update({k: s.get(k) for k in ("reached", "bound_ratio", "lower_bound_sites", "greedy_sites")})
    return current_app.response_class(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                                      mimetype="application/geo+json")


@bp.post("/api/candidates")
def api_candidates():
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES + 64 * 1024:
        raise RecommendError("file", f"file too large: at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", status=413)
    f = request.files.get("file")
    if f is None or not f.filename:
        raise RecommendError("file", "send the candidate file as multipart/form-data field 'file'")
    suffix = Path(f.filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise RecommendError("file", f"unsupported file type {suffix or '(none)'!r}; use CSV, XLSX, GeoJSON or GeoPackage")
    data = f.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise RecommendError("file", f"file too large: at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", status=413)
    crs = (request.form.get("crs") or "wgs84").strip().lower()
    if crs not in ("wgs84", "gcj02", "bd09"):
        raise RecommendError("crs", f"crs must be wgs84, gcj02 or bd09, got {crs!r}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"candidates{suffix}"
        path.write_bytes(data)
        try:
            frame = S.read_candidates(path, crs=crs)
        except S.CandidateFileError as exc:
            rows = [{"row": e.row, "column": e.column, "reason": e.reason} for e in exc.errors[:200]]
            message = str(exc).replace(str(path), f.filename).replace(path.name, f.filename)  # no server paths
            raise RecommendError("file", message, rows=rows) from None
    cid = hashlib.sha256(data + crs.encode()).hexdigest()[:12]
    sets = _state()["candidates"]
    with _LOCK:
        sets[cid] = {"frame": frame, "name": f.filename, "crs": crs, "count": len(frame)}
        sets.move_to_end(cid)
        while len(sets) > MAX_CANDIDATE_SETS:
            sets.popitem(last=False)
    return jsonify({"id": cid, "count": int(len(frame)), "name": f.filename, "crs": crs}), 201


def _finite(v) -> bool:
    """A JSON number that is a finite float (a 400-digit integer overflows ``math.isfinite``)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _json_number(body, name, lo, hi, default=None, integer=False):
    v = body.get(name, default)
    if v is None or v == "":
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v) or not (lo <= v <= hi):
        raise RecommendError(name, f"{name} must be a number between {lo:g} and {hi:g}, got {v!r:.40}")
    if integer:
        if v != int(v):
            raise RecommendError(name, f"{name} must be a whole number, got {v!r}")
        return int(v)
    return float(v)


@bp.post("/api/whatif")
def api_whatif():
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # [[[[... nested deeper than the JSON decoder's recursion limit
        body = None
    if not isinstance(body, dict):
        raise RecommendError(None, 'send a JSON object: {"add": [[lon, lat, "hours"], ...], "close": [station ids]}')
    add = body.get("add") or []
    close = body.get("close") or []
    if not isinstance(add, list) or len(add) > MAX_WHATIF_ADD:
        raise RecommendError("add", f"add must be a list of at most {MAX_WHATIF_ADD} [lon, lat] or [lon, lat, hours] entries")
    from stations.hours import HoursParseError, parse_hours

    pts, hours = [], []
    for k, pt in enumerate(add):
        if (not isinstance(pt, (list, tuple)) or len(pt) not in (2, 3)
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and _finite(x) for x in pt[:2])):
            raise RecommendError("add", f"add[{k}] must be [lon, lat] or [lon, lat, \"hours\"] (WGS-84 degrees), got {pt!r:.80}")
        lon, lat = float(pt[0]), float(pt[1])
        if not (97.0 <= lon <= 106.5 and 20.8 <= lat <= 29.5):
            raise RecommendError("add", f"add[{k}] ({lon:g}, {lat:g}) is outside Yunnan (WGS-84 lon, lat)")
        h = pt[2] if len(pt) == 3 else None
        if h is not None:
            if not isinstance(h, str) or len(h) > 200:
                raise RecommendError("add", f"add[{k}][2] (opening hours) must be text of at most 200 characters, got {h!r:.80}")
            h = h.strip() or None
        if h is not None:
            try:
                parse_hours(h)
            except HoursParseError as exc:
                raise RecommendError("add", f"add[{k}]: cannot read the opening hours {h!r}: {exc}") from None
        pts.append((lon, lat))
        hours.append(h)
    if not isinstance(close, list) or len(close) > MAX_WHATIF_CLOSE or not all(isinstance(c, str) for c in close):
        raise RecommendError("close", f"close must be a list of at most {MAX_WHATIF_CLOSE} station ids (strings)")
    radius = _json_number(body, "radius", P.MIN_RADIUS_M, P.MAX_RADIUS_M, C.DEFAULT_RADIUS_M)
    rural = _json_number(body, "rural_radius", P.MIN_RADIUS_M, P.MAX_RADIUS_M)
    hour = _json_number(body, "hour", 0, 23, integer=True)
    weekday = _json_number(body, "weekday", 0, 6, 2, integer=True)
    limit = _json_number(body, "gaps_limit", 0, P.MAX_GAPS, 300, integer=True)
    demand_id = body.get("demand")
    if demand_id is not None and (not isinstance(demand_id, str) or demand_id not in P._uploads()):
        raise RecommendError("demand", f"unknown demand set {str(demand_id)[:40]!r}: upload the file again "
                                       f"(POST /api/coverage/demand)")
    snap = P._snapshot()
    known = snap.position
    unknown = [c for c in close if c not in known]
    if unknown:
        raise RecommendError("close", f"unknown station id(s): {', '.join(unknown[:10])}")
    t0 = time.perf_counter()
    before = P.result(radius, rural, hour, weekday, demand_id)
    scenario = S.with_added_sites(snap.gdf, [p[0] for p in pts], [p[1] for p in pts], close=close, hours=hours)
    after = C.compute_coverage(scenario, P.demand(demand_id), P._radius_spec(radius, rural), hour, weekday)
    out = {
        "add": [[p[0], p[1], h or "24小时"] for p, h in zip(pts, hours)], "close": close, "radius": radius,
        "rural_radius": rural, "hour": hour, "weekday": weekday, "demand": demand_id,
        "before": _totals(before), "after": _totals(after),
        "delta_workers_covered": round(after.workers_covered - before.workers_covered, 1),
        "prefectures": _compare_rows(before, after),
        "gaps": P._gaps_geojson(C.find_gaps(after, limit=limit)) if limit else {"type": "FeatureCollection", "features": []},
        "written": False,
        "elapsed_s": None,
    }
    out["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return current_app.response_class(json.dumps(out, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")


@bp.get("/recommend/download/sites.<fmt>")
def download(fmt: str):
    if fmt not in P.DOWNLOAD_TYPES:
        raise RecommendError("format", f"format must be one of {', '.join(P.DOWNLOAD_TYPES)}, got {fmt!r}")
    p = _params()
    rec = recommendation(p)
    with tempfile.TemporaryDirectory() as tmp:
        out = rec.export(Path(tmp) / f"sites.{fmt}", fmt, P.geography())[0]
        data = out.read_bytes()
    tag = f"n{p['n']}" if p["n"] is not None else f"t{p['target']:g}"
    resp = Response(data, mimetype=P.DOWNLOAD_TYPES[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="recommended-sites-{tag}-r{int(p["radius"])}.{fmt}"'
    return resp


@bp.get("/recommend/curve.<fmt>")
def curve(fmt: str):
    if fmt not in ("png", "svg"):
        raise RecommendError("format", f"format must be png or svg, got {fmt!r}")
    from webmap.i18n import lang

    p = _params()
    rec = recommendation(p)
    with tempfile.TemporaryDirectory() as tmp:
        coverage_curve(rec, Path(tmp) / f"curve.{fmt}", lang=lang())
        data = (Path(tmp) / f"curve.{fmt}").read_bytes()
    return Response(data, mimetype="image/png" if fmt == "png" else "image/svg+xml")


# ------------------------------------------------------------------------------------------- OpenAPI

_Q = P._P
_ERR = P._ERR
_REC_PARAMS = [
    {"name": "n", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_N, "default": DEFAULT_N},
     "description": "number of new sites (maximal covering); not with target_pct"},
    {"name": "target_pct", "in": "query", "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
     "description": "coverage target in % of all workers: the fewest new sites reaching it (greedy set cover)"},
    _Q["radius"], _Q["rural_radius"], _Q["hour"], _Q["weekday"], _Q["demand"],
    {"name": "candidates", "in": "query", "schema": {"type": "string", "default": "default"},
     "description": "default (centres of the demand cells in towns) or the id of a set from POST /api/candidates"},
    {"name": "exact", "in": "query", "schema": {"type": "integer", "enum": [0, 1], "default": 0},
     "description": f"also solve the integer program (HiGHS, {EXACT_TIME_LIMIT:g} s limit) when the reduced instance is "
                    f"small enough: with n, the maximal covering optimum and the greedy's gap; with target_pct, the "
                    f"fewest sites (exact_sites beside greedy_sites, exact_status, exact_lower_bound_sites)"},
]
OPENAPI_PATHS = {
    "/api/recommend": {"get": {
        "summary": "Recommended new station sites (maximal covering / set covering), in the order chosen",
        "parameters": _REC_PARAMS,
        "responses": {"200": {"description": "GeoJSON FeatureCollection; features carry rank, gain_workers (marginal), "
                                             "cumulative_covered, county_adcode, lon/lat (WGS-84), lon_gcj02/lat_gcj02, "
                                             "nearest_station_id, nearest_station_m; top level: before, after "
                                             "(workers_covered, covered_pct), prefectures, method, greedy_objective, "
                                             "exact_objective and gap when exact=1",
                              "content": {"application/geo+json": {"schema": {"type": "object"}}}},
                      "400": {**_ERR, "description": f"bad parameter, n > {MAX_N}, target not reachable, "
                                                      f"or the {MAX_SECONDS:g} s run-time limit reached"}}}},
    "/api/candidates": {"post": {
        "summary": "Upload candidate host sites (CSV lon/lat, XLSX, GeoJSON or GeoPackage points); kept in memory",
        "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "crs": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84"}}}}}},
        "responses": {"201": {"description": "{id, count, name, crs}"},
                      "400": {**_ERR, "description": "bad file; error.rows lists {row, column, reason}"},
                      "413": {"description": f"file larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"}}}},
    "/api/whatif": {"post": {
        "summary": "Coverage with hypothetical stations added and stations closed (never written to the registry)",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "add": {"type": "array", "maxItems": MAX_WHATIF_ADD,
                    "description": "hypothetical stations: [lon, lat] (open 24 hours) or [lon, lat, opening-hours text] "
                                   "(e.g. \"08:00-20:00\", \"周一至周五 09:00-17:00\"; unreadable hours: 400 naming add)",
                    "items": {"type": "array", "minItems": 2, "maxItems": 3,
                              "prefixItems": [{"type": "number"}, {"type": "number"}, {"type": "string", "maxLength": 200}]}},
            "close": {"type": "array", "items": {"type": "string"}},
            "radius": {"type": "number"}, "rural_radius": {"type": "number"}, "hour": {"type": "integer"},
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "default": 2}, "gaps_limit": {"type": "integer", "default": 300},
            "demand": {"type": "string", "description": "id of an uploaded demand set (POST /api/coverage/demand)"}}}}}},
        "responses": {"200": {"description": "{before, after, delta_workers_covered, prefectures: [...], gaps: FeatureCollection}"},
                      "400": _ERR}}},
    "/recommend/download/sites.{fmt}": {"get": {
        "summary": "Download the recommended sites (CSV UTF-8 with BOM, XLSX with before/after sheets, GeoJSON, GeoPackage)",
        "parameters": [{"name": "fmt", "in": "path", "required": True, "schema": {"type": "string", "enum": list(P.DOWNLOAD_TYPES)}},
                       *_REC_PARAMS],
        "responses": {"200": {"description": "the file"}, "400": _ERR}}},
    "/recommend/curve.{fmt}": {"get": {
        "summary": "Coverage-versus-N curve of the recommendation (PNG or SVG)",
        "parameters": [{"name": "fmt", "in": "path", "required": True, "schema": {"type": "string", "enum": ["png", "svg"]}},
                       *_REC_PARAMS],
        "responses": {"200": {"description": "the picture"}, "400": _ERR}}},
}


add_openapi_paths(bp, OPENAPI_PATHS)
