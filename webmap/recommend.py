"""Recommendations and what-if for the planner (blueprint ``recommend``, issue 5).

``GET /api/recommend``            ``?n=|target_pct=&radius=&rural_radius=&hour=&weekday=&demand=ID&candidates=default|ID&exact=0|1``
                                  -> GeoJSON FeatureCollection of the sites in the order chosen (``rank``,
                                  ``gain_workers`` ...), plus ``before`` / ``after`` covered totals and pct, the
                                  before/after rows by prefecture, ``method`` (``greedy+swap``: the greedy improved
                                  by swaps; ``exact`` when the exact solver covers more), ``greedy_objective``,
                                  ``swap_objective``, ``improvement_workers`` / ``improvement_pct`` and, when the
                                  exact solver ran, ``exact_objective``, ``gap`` (the greedy's) and ``swap_gap``;
                                  each site has ``place_zh`` / ``place_en`` (county and nearest town or seat)
``GET /api/access``               ``?radius=&rural_radius=&hour=&weekday=&demand=ID`` -> load and 2SFCA
                                  (:mod:`stations.access`): the accessibility layer on H3 resolution 7 and the
                                  most loaded stations
``POST /api/candidates``          multipart ``file`` (CSV / XLSX / GeoJSON / GeoPackage, at most
                                  :data:`MAX_UPLOAD_BYTES`), optional ``crs`` = wgs84 | gcj02 | bd09 -> ``{"id", "count"}``;
                                  kept in memory for the session that uploaded it (its last :data:`MAX_CANDIDATE_SETS`)
``POST /api/whatif``              JSON ``{"add": [[lon, lat] | [lon, lat, "hours text"], ...], "close": [station ids],
                                  "radius", "rural_radius", "hour", "weekday", "gaps_limit", "demand"}`` -> totals before/after, rows by prefecture
                                  and the gaps recomputed. Nothing is written to the registry.
``GET /recommend/download/sites.<fmt>``  the sites (csv | xlsx | geojson | gpkg), same parameters as the API
``GET /recommend/curve.<png|svg>``       the coverage-versus-N curve

Limits (:data:`stations.limits.LIMITS`): ``n`` <= :data:`MAX_N`; a greedy run stops at the app's
``RECOMMEND_MAX_SECONDS``; the exact solver gets ``RECOMMEND_EXACT_SECONDS``. Past a limit: HTTP 400
``{"error": {"parameter", "message"}}``.

Demand, geography, uploaded sets, the registry snapshot and the cached results are the shared planner state of
:mod:`webmap.state`, so the figures agree with ``/api/coverage``.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from flask import Blueprint, Response, jsonify, request

from stations import access as S_access
from stations import coverage as C
from stations import siting as S
from stations.cartography.charts import coverage_curve
from stations.errors import CandidateFileError, InputError
from stations.limits import LIMITS
from stations.validation import in_bbox
from webmap import jobs, openapi, state
from webmap.network_common import default_radius, distance_kind
from webmap.network_state import scenario_coverage
from webmap.params import Params, choice, finite
from webmap.planner import SCENARIO, coverage_args
from webmap.responses import DOWNLOAD_TYPES, attachment, clean, dumps, gaps_geojson, geojson, json_text

log = logging.getLogger(__name__)

bp = Blueprint("recommend", __name__)

MAX_N = state.MAX_N
DEFAULT_N = int(LIMITS["sites_n"].default)
MAX_UPLOAD_BYTES = int(LIMITS["candidate_upload_bytes"].hi)
MAX_CANDIDATE_SETS = state.MAX_CANDIDATE_SETS
MAX_WHATIF_ADD = int(LIMITS["whatif_add"].hi)
MAX_WHATIF_CLOSE = int(LIMITS["whatif_close"].hi)
MAX_HOURS_CHARS = int(LIMITS["whatif_hours_chars"].hi)
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".geojson", ".json", ".gpkg")
SITE_PROPS = ("rank", "gain_workers", "cumulative_covered", "cumulative_pct", "candidate_id", "name", "place_zh", "place_en",
              "county_adcode", "prefecture_adcode", "lon", "lat", "lon_gcj02", "lat_gcj02", "nearest_station_id", "nearest_station_m")
_SITE_DIGITS = (("gain_workers", 2), ("cumulative_covered", 1), ("cumulative_pct", 3), ("lon", 6), ("lat", 6),
                ("lon_gcj02", 6), ("lat_gcj02", 6), ("nearest_station_m", 1))


# ------------------------------------------------------------------------------------------- parameters


def _args() -> state.RecommendArgs:
    """The recommendation question of the query string (``n`` or ``target_pct``, candidates, exact, coverage)."""
    params = Params.query()
    cov = coverage_args(params)  # distance, radius, rural_radius, hour, weekday, demand and the accepted scenario
    n = params.integer("n", LIMITS["sites_n"], over="{name} must be at most {hi} sites per request, got {got}")
    target = params.number("target_pct", LIMITS["target_pct"])
    if n is not None and target is not None:
        raise InputError("give n (number of sites) or target_pct (coverage target), not both", param="target_pct")
    if n is None and target is None:
        n = DEFAULT_N
    cand = params.text("candidates", "default")
    if cand != "default" and not state.has_candidate_set(cand):
        raise InputError(f"no uploaded candidate set {cand!r} (upload with POST /api/candidates; "
                         f"sets are kept in memory for the session that uploaded them)", param="candidates")
    exact = params.boolean("exact", hint="0 or 1")
    budget = params.number("exact_seconds", LIMITS["exact_seconds"]) if exact else None  # the page's time budget
    return state.RecommendArgs(cov, n, target, cand, exact, budget)


def _site_features(sites) -> list[dict]:
    feats = []
    for rec in sites[list(SITE_PROPS)].to_dict(orient="records"):
        p = {k: clean(v) for k, v in rec.items()}
        for k, nd in _SITE_DIGITS:
            if p.get(k) is not None:
                p[k] = round(p[k], nd)
        feats.append({"type": "Feature", "properties": p,
                      "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]}})
    return feats


def _totals(res: C.CoverageResult) -> dict:
    return {"workers": round(res.workers, 1), "workers_covered": round(res.workers_covered, 1),
            "covered_pct": round(res.covered_pct, 3), "stations": int(len(res.stations))}


# ------------------------------------------------------------------------------------------- API


@bp.get("/api/recommend")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def api_recommend():
    args = _args()
    c = args.coverage
    t0 = time.perf_counter()
    rec = state.recommendation(args)
    s = rec.summary()
    body = {
        "type": "FeatureCollection",
        "features": _site_features(rec.sites),
        "mode": rec.mode,
        "method": rec.solution.method,
        "n": args.n, "target_pct": args.target, "radius": c.radius, "rural_radius": c.rural, "hour": c.hour,
        "weekday": c.weekday, "demand": c.demand, "scenario": c.scenario, "candidates": args.candidates,
        "distance": c.distance,
        "candidates_count": int(rec.model.n_candidates),
        "before": _totals(rec.before), "after": _totals(rec.after),
        "greedy_objective": s["greedy_objective"], "greedy_upper_bound": s["greedy_upper_bound"],
        "greedy_time_s": s["greedy_time_s"],
        **{k: s[k] for k in ("swap_objective", "improvement_workers", "improvement_pct", "swaps", "pair_swaps",
                             "swap_time_s", "swap_local_optimum", "swap_status") if k in s},
        "prefectures": state.recommendation_rows(args, rec),
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
    if rec.exact is not None and rec.mode == "set-cover":
        body.update({k: s.get(k) for k in ("greedy_sites", "exact_sites", "exact_status", "exact_lower_bound_sites",
                                          "exact_time_s", "gap_sites")})
    elif rec.exact is not None:
        body.update(exact_objective=s["exact_objective"], exact_status=s["exact_status"],
                    exact_upper_bound=s["exact_upper_bound"], exact_time_s=s["exact_time_s"], gap=s["gap"],
                    swap_gap=s.get("swap_gap"))
    elif args.exact:
        body.update(exact_objective=None, exact_status="not run: instance too large for the exact solver", gap=None)
        if rec.mode == "set-cover":
            body.update(exact_sites=None)
    body["guarantee"] = s.get("guarantee")
    if rec.mode == "set-cover":
        body.update({k: s.get(k) for k in ("reached", "bound_ratio", "lower_bound_sites", "greedy_sites")})
    return geojson(body)


ACCESS_RESOLUTION = 7  # H3 resolution of the 2SFCA layer (as the demand heat layer)
TOP_LOADED = 20


@bp.get("/api/access")
def api_access():
    """Load and 2SFCA (:mod:`stations.access`) for the coverage question: the accessibility layer (demand cells
    aggregated to H3 resolution 7: worker-weighted mean stations per 1,000 workers in reach) and the most
    loaded stations."""
    import h3

    args = coverage_args(Params.query())

    def build():
        acc = state.access(args)
        d = state.coverage(args).demand
        cells = d["h3"].astype(str).to_numpy() if "h3" in d.columns else np.full(len(d), "")
        parents = [h3.cell_to_parent(c, ACCESS_RESOLUTION) if h3.is_valid_cell(c) else None for c in cells]
        w = d["workers"].to_numpy(float)
        df = pd.DataFrame({"p": parents, "w": w, "wa": w * acc.access_per_1000, "a": acc.access_per_1000}).dropna(subset=["p"])
        g = df.groupby("p").agg(w=("w", "sum"), wa=("wa", "sum"), a=("a", "mean"))
        score = np.where(g["w"] > 0, g["wa"] / g["w"].where(g["w"] > 0, 1.0), g["a"])
        ll = np.array([h3.cell_to_latlng(c) for c in g.index]).reshape(-1, 2)
        top = S_access.top_loaded(acc, TOP_LOADED)
        names = state.stations(args.scenario).set_index("id")
        rows = []
        for r in top.to_dict(orient="records"):
            rows.append({"id": r["id"], "name": clean(names["name"].get(r["id"])) if "name" in names.columns else None,
                         "county_adcode": clean(r["county_adcode"]), "lon": round(float(r["lon"]), 6),
                         "lat": round(float(r["lat"]), 6), "load_workers": round(float(r["load_workers"]), 1),
                         "load_cells": int(r["load_cells"]), "catchment_workers": round(float(r["catchment_workers"]), 1),
                         "ratio_per_1000": round(float(r["ratio_per_1000"]), 3)})
        s = acc.stations
        return {
            "radius": args.radius, "rural_radius": args.rural, "hour": args.hour, "weekday": args.weekday,
            "demand": args.demand, "scenario": args.scenario, "unit": "stations per 1,000 workers within the service radius (2SFCA)",
            "resolution": ACCESS_RESOLUTION,
            "points": [[round(x, 4), round(y, 4), round(float(a), 3), round(float(wk), 1)]
                       for (y, x), a, wk in zip(ll, score, g["w"].to_numpy())],
            "stations": int(len(s)), "load_workers": round(float(s["load_workers"].sum()), 1),
            "load_mean": round(float(s["load_workers"].mean()), 1) if len(s) else None,
            "top_loaded": rows,
            # every active station's load, for the load layer: [lon, lat, load_workers]
            "load": [[round(float(x), 5), round(float(y), 5), round(float(v), 1)]
                     for x, y, v in zip(s["lon"], s["lat"], s["load_workers"])],
        }

    return json_text(state.cached(("planner-access", *args.key), lambda: dumps(build()), args.private))


@bp.post("/api/candidates")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def api_candidates():
    too_large = f"file too large: at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES + 64 * 1024:
        raise InputError(too_large, param="file", status=413)
    f = request.files.get("file")
    if f is None or not f.filename:
        raise InputError("send the candidate file as multipart/form-data field 'file'", param="file")
    suffix = Path(f.filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputError(f"unsupported file type {suffix or '(none)'!r}; use CSV, XLSX, GeoJSON or GeoPackage", param="file")
    data = f.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(too_large, param="file", status=413)
    crs = (request.form.get("crs") or "wgs84").strip().lower()
    if crs not in ("wgs84", "gcj02", "bd09"):
        raise InputError(f"crs must be wgs84, gcj02 or bd09, got {crs!r}", param="crs")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"candidates{suffix}"
        path.write_bytes(data)
        try:  # rows and XLSX dimensions are checked before parsing (413), reading within analysis_seconds
            frame = S.read_candidates(path, crs=crs, deadline=state.upload_deadline(f.filename))
        except CandidateFileError as exc:
            message = str(exc).replace(str(path), f.filename).replace(path.name, f.filename)  # no server paths
            raise InputError(message, param="file", errors=exc.errors[:200], status=exc.status) from None
        except InputError as exc:
            message = str(exc).replace(str(path), f.filename).replace(path.name, f.filename)
            raise InputError(message, param=exc.param or "file", status=exc.status) from None
    cid = hashlib.sha256(data + crs.encode()).hexdigest()[:12]
    state.add_candidate_set(cid, frame, f.filename, crs)
    return jsonify({"id": cid, "count": int(len(frame)), "name": f.filename, "crs": crs}), 201


def _edits_body() -> tuple[dict, list[tuple[float, float]], list[str | None], list[str]]:
    """The JSON body of a what-if or of a scenario to accept: the object itself, the added sites (positions and
    hours, :func:`_added_sites`) and the ids of the stations to close."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # [[[[... nested deeper than the JSON decoder's recursion limit
        body = None
    if not isinstance(body, dict):
        raise InputError('send a JSON object: {"add": [[lon, lat, "hours"], ...], "close": [station ids]}')
    pts, hours = _added_sites(body.get("add") or [])
    close = body.get("close") or []
    if not isinstance(close, list) or len(close) > MAX_WHATIF_CLOSE or not all(isinstance(c, str) for c in close):
        raise InputError(f"close must be a list of at most {MAX_WHATIF_CLOSE} station ids (strings)", param="close")
    return body, pts, hours, close


def _added_sites(add) -> tuple[list[tuple[float, float]], list[str | None]]:
    """The ``add`` entries of a what-if: positions (WGS-84 lon, lat inside Yunnan) and opening hours (None: 24 h)."""
    from stations.hours import HoursParseError, parse_hours

    if not isinstance(add, list) or len(add) > MAX_WHATIF_ADD:
        raise InputError(f"add must be a list of at most {MAX_WHATIF_ADD} [lon, lat] or [lon, lat, hours] entries",
                         param="add")
    pts, hours = [], []
    for k, pt in enumerate(add):
        if (not isinstance(pt, (list, tuple)) or len(pt) not in (2, 3)
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and finite(x) for x in pt[:2])):
            raise InputError(f"add[{k}] must be [lon, lat] or [lon, lat, \"hours\"] (WGS-84 degrees), got {pt!r:.80}",
                             param="add")
        lon, lat = float(pt[0]), float(pt[1])
        if not in_bbox(lon, lat):
            raise InputError(f"add[{k}] ({lon:g}, {lat:g}) is outside Yunnan (WGS-84 lon, lat)", param="add")
        h = pt[2] if len(pt) == 3 else None
        if h is not None:
            if not isinstance(h, str) or len(h) > MAX_HOURS_CHARS:
                raise InputError(f"add[{k}][2] (opening hours) must be text of at most {MAX_HOURS_CHARS} characters, "
                                 f"got {h!r:.80}", param="add")
            h = h.strip() or None
        if h is not None:
            try:
                parse_hours(h)
            except HoursParseError as exc:
                raise InputError(f"add[{k}]: cannot read the opening hours {h!r}: {exc}", param="add") from None
        pts.append((lon, lat))
        hours.append(h)
    return pts, hours


@bp.post("/api/whatif")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def api_whatif():
    body, pts, hours, close = _edits_body()
    params = Params.json(body)
    limit = params.integer("gaps_limit", LIMITS["whatif_gaps"], default=int(LIMITS["whatif_gaps"].default))
    args = coverage_args(params)  # distance; with "scenario": the what-if starts from that accepted scenario
    radius, rural, hour, weekday = args.radius, args.rural, args.hour, args.weekday
    base = state.stations(args.scenario)
    known = set(base["id"].astype(str))
    unknown = [c for c in close if c not in known]
    if unknown:
        raise InputError(f"unknown station id(s): {', '.join(unknown[:10])}", param="close")
    t0 = time.perf_counter()
    before = state.coverage(args)
    scenario = S.with_added_sites(base, [p[0] for p in pts], [p[1] for p in pts], close=close, hours=hours,
                                  ids=[f"NEW-{k + 1:03d}" for k in range(len(pts))])
    after = scenario_coverage(scenario, args)  # on foot with distance=network (issue 13)
    out = {
        "add": [[p[0], p[1], h or "24小时"] for p, h in zip(pts, hours)],
        "added": _added_names(scenario, len(pts)), "close": close, "radius": radius,
        "rural_radius": rural, "hour": hour, "weekday": weekday, "demand": args.demand, "scenario": args.scenario,
        "distance": args.distance,
        "before": _totals(before), "after": _totals(after),
        "delta_workers_covered": round(after.workers_covered - before.workers_covered, 1),
        "prefectures": state.compare_rows(before, after),
        "gaps": (gaps_geojson(C.find_gaps(after, limit=limit, deadline=state.analysis_deadline("the what-if's gaps")))
                 if limit else {"type": "FeatureCollection", "features": []}),
        "written": False,
        "elapsed_s": None,
    }
    out["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return json_text(out)


@bp.post("/api/scenario")
def api_scenario():
    """Accept a what-if scenario as the page's working baseline: JSON ``{"add": [[lon, lat(, hours)]], "close":
    [ids], "scenario": id}`` (``scenario``: an accepted scenario the edits are made on; its sites and closures
    are carried over). Answers ``{"scenario": id, "added": [...], "close": [...], "stations_active"}``: pass
    ``scenario=<id>`` to the planner's endpoints and downloads. Kept for the session that accepted it (its latest
    :data:`webmap.state.MAX_SCENARIOS`); nothing is written to the registry."""
    state.ensure_session()
    body, pts, hours, close = _edits_body()
    on = body.get("scenario")
    prev = {"add": [], "hours": [], "close": []}
    if on not in (None, ""):
        if not state.has_scenario(on):
            raise InputError(f"unknown scenario {str(on)[:40]!r}: accept the scenario again", param="scenario")
        prev = state.scenario(on)
    known = set(state.snapshot().position)
    prev_ids = {f"S{on[:6]}-{k + 1:03d}": k for k in range(len(prev["add"]))} if on else {}
    unknown = [c for c in close if c not in known and c not in prev_ids]
    if unknown:
        raise InputError(f"unknown station id(s): {', '.join(unknown[:10])}", param="close")
    # closing a site the earlier scenario added removes it; closing a registry station closes it
    dropped = {prev_ids[c] for c in close if c in prev_ids}
    keep = [k for k in range(len(prev["add"])) if k not in dropped]
    add = [prev["add"][k] for k in keep] + [list(p) for p in pts]
    hrs = [prev["hours"][k] for k in keep] + list(hours)
    if len(add) > MAX_WHATIF_ADD:
        raise InputError(f"a scenario holds at most {MAX_WHATIF_ADD} added sites", param="add")
    spec = state.scenario_spec(add, [*prev["close"], *[c for c in close if c in known]], hrs)
    token = state.add_scenario(spec)
    st = state.stations(token)
    new = st[st["id"].astype(str).str.startswith(f"S{token[:6]}-")]
    return jsonify({"scenario": token, "added": _added_names(new, len(new)), "close": spec["close"],
                    "stations_active": int((st["status"] == "open").sum())}), 201


def _added_names(scenario, k: int) -> list[dict]:
    """The hypothetical stations of a what-if with their place names (the last ``k`` rows of the scenario)."""
    if not k:
        return []
    new = scenario.iloc[len(scenario) - k:]
    return [{"id": r["id"], "lon": round(float(r["lon"]), 6), "lat": round(float(r["lat"]), 6), "place_zh": r["place_zh"],
             "place_en": r["place_en"], "county_adcode": clean(r["county_adcode"])}
            for r in new[["id", "lon", "lat", "place_zh", "place_en", "county_adcode"]].to_dict(orient="records")]


@bp.get("/recommend/download/sites.<fmt>")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def download(fmt: str):
    choice("format", fmt, DOWNLOAD_TYPES)
    args = _args()
    rec = state.recommendation(args)
    scen = args.coverage.scenario
    with tempfile.TemporaryDirectory() as tmp:
        out = rec.export(Path(tmp) / f"sites.{fmt}", fmt, state.geography(), scenario=scen)[0]
        data = out.read_bytes()
    tag = f"n{args.n}" if args.n is not None else f"t{args.target:g}"
    prefix = f"scenario-{scen}-" if scen else ""  # sites recommended on top of an accepted scenario say so
    return attachment(data, fmt, f"{prefix}recommended-sites-{tag}-r{int(args.coverage.radius)}.{fmt}")


@bp.get("/recommend/curve.<fmt>")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def curve(fmt: str):
    if fmt not in ("png", "svg"):
        raise InputError(f"format must be png or svg, got {fmt!r}", param="format")
    from webmap.i18n import lang

    rec = state.recommendation(_args())
    with tempfile.TemporaryDirectory() as tmp:
        coverage_curve(rec, Path(tmp) / f"curve.{fmt}", lang=lang())
        data = (Path(tmp) / f"curve.{fmt}").read_bytes()
    return Response(data, mimetype="image/png" if fmt == "png" else "image/svg+xml")


# ------------------------------------------------------------------------------------------- OpenAPI

_ERR = openapi.PARAM_ERROR
_REC_PARAMS = [
    openapi.limited("n", LIMITS["sites_n"], "integer",
                    description="number of new sites (maximal covering); not with target_pct"),
    openapi.param("target_pct", schema={"type": "number", "exclusiveMinimum": 0, "maximum": LIMITS["target_pct"].hi},
                  description="coverage target in % of all workers: the fewest new sites reaching it (greedy set cover)"),
    *openapi.COVERAGE, openapi.DEMAND, SCENARIO,
    openapi.param("candidates", schema={"type": "string", "default": "default"},
                  description="default (centres of the demand cells in towns) or the id of a set from POST /api/candidates"),
    openapi.param("exact", schema={"type": "integer", "enum": [0, 1], "default": 0},
                  description=f"also solve the integer program (HiGHS, {state.EXACT_SECONDS:g} s limit) when the reduced "
                              f"instance is small enough: with n, the maximal covering optimum and the greedy's gap; with "
                              f"target_pct, the fewest sites (exact_sites beside greedy_sites, exact_status, "
                              f"exact_lower_bound_sites)"),
    openapi.limited("exact_seconds", LIMITS["exact_seconds"], description="with exact=1: the exact solver's time budget "
                    "in seconds (within the app's RECOMMEND_EXACT_SECONDS)"),
]
OPENAPI_PATHS = {
    "/api/recommend": {"get": {
        "summary": "Recommended new station sites (maximal covering / set covering), in the order chosen",
        "parameters": _REC_PARAMS,
        "responses": {"200": {"description": "GeoJSON FeatureCollection; features carry rank, place_zh / place_en "
                                             "(county and nearest town or county seat), gain_workers (marginal), "
                                             "cumulative_covered, county_adcode, lon/lat (WGS-84), lon_gcj02/lat_gcj02, "
                                             "nearest_station_id, nearest_station_m; top level: before, after "
                                             "(workers_covered, covered_pct), prefectures, method (greedy+swap by "
                                             "default, exact when it covers more), greedy_objective, swap_objective, "
                                             "improvement_workers / improvement_pct (swaps over the greedy), swaps, "
                                             "pair_swaps, swap_time_s; exact_objective, gap (greedy) and swap_gap when "
                                             "exact=1", **openapi.GEOJSON},
                      "400": {**_ERR, "description": f"bad parameter, n > {MAX_N}, target not reachable, "
                                                      f"or the {state.MAX_SECONDS:g} s run-time limit reached"}}}},
    "/api/access": {"get": {
        "summary": "Load on stations and 2SFCA accessibility: the layer (H3 resolution 7) and the most loaded stations",
        "parameters": [*openapi.COVERAGE, openapi.DEMAND, SCENARIO],
        "responses": {"200": {"description": "{unit, resolution, points: [[lon, lat, access_per_1000, workers]], stations, "
                                             "load_workers, load_mean, top_loaded: [{id, name, county_adcode, lon, lat, "
                                             "load_workers, load_cells, catchment_workers, ratio_per_1000}], load: [[lon, lat, load_workers]] "
                                             "of every active station}"},
                      "400": _ERR}}},
    "/api/candidates": {"post": {
        "summary": "Upload candidate host sites (CSV lon/lat, XLSX, GeoJSON or GeoPackage points); kept in memory for the uploading session",
        "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "crs": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84"}}}}}},
        "responses": {"201": {"description": "{id, count, name, crs}"},
                      "400": {**_ERR, "description": "bad file; error.rows lists {row, column, reason}"},
                      "413": {**openapi.OVER_BUDGET, "description": f"file larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} "
                                                                   f"MB, or over a budget (rows, XLSX size, memory)"}}}},
    "/api/whatif": {"post": {
        "summary": "Coverage with hypothetical stations added and stations closed (never written to the registry)",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "add": {"type": "array", "maxItems": MAX_WHATIF_ADD,
                    "description": "hypothetical stations: [lon, lat] (open 24 hours) or [lon, lat, opening-hours text] "
                                   "(e.g. \"08:00-20:00\", \"周一至周五 09:00-17:00\"; unreadable hours: 400 naming add)",
                    "items": {"type": "array", "minItems": 2, "maxItems": 3,
                              "prefixItems": [{"type": "number"}, {"type": "number"},
                                              {"type": "string", "maxLength": MAX_HOURS_CHARS}]}},
            "close": {"type": "array", "items": {"type": "string"}},
            "radius": {"type": "number"}, "rural_radius": {"type": "number"}, "hour": {"type": "integer"},
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "default": 2},
            "gaps_limit": {"type": "integer", "default": int(LIMITS["whatif_gaps"].default)},
            "demand": {"type": "string", "description": "id of an uploaded demand set (POST /api/coverage/demand)"},
            "scenario": {"type": "string", "description": "id of an accepted scenario (POST /api/scenario) to start from"}}}}}},
        "responses": {"200": {"description": "{before, after, delta_workers_covered, added: [{id, lon, lat, place_zh, place_en, county_adcode}], prefectures: [...], gaps: FeatureCollection}"},
                      "400": _ERR}}},
    "/api/scenario": {"post": {
        "summary": "Accept a what-if scenario as the planner's working baseline (kept for this session; never written "
                   "to the registry); pass scenario=<id> to the planner's endpoints and downloads",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "add": {"type": "array", "maxItems": MAX_WHATIF_ADD, "items": {"type": "array", "minItems": 2, "maxItems": 3}},
            "close": {"type": "array", "items": {"type": "string"}},
            "scenario": {"type": "string", "description": "an accepted scenario the edits are made on"}}}}}},
        "responses": {"201": {"description": "{scenario: id, added: [{id, lon, lat, place_zh, place_en, county_adcode}], "
                                             "close: [ids], stations_active}"},
                      "400": _ERR, "413": openapi.OVER_BUDGET}}},
    "/recommend/download/sites.{fmt}": {"get": {
        "summary": "Download the recommended sites (CSV UTF-8 with BOM, XLSX with before/after sheets, GeoJSON, GeoPackage)",
        "parameters": [openapi.param("fmt", "path", required=True, schema={"type": "string", "enum": list(DOWNLOAD_TYPES)}),
                       *_REC_PARAMS],
        "responses": {"200": {"description": "the file"}, "400": _ERR, "413": openapi.OVER_BUDGET}}},
    "/recommend/curve.{fmt}": {"get": {
        "summary": "Coverage-versus-N curve of the recommendation (PNG or SVG)",
        "parameters": [openapi.param("fmt", "path", required=True, schema={"type": "string", "enum": ["png", "svg"]}),
                       *_REC_PARAMS],
        "responses": {"200": {"description": "the picture"}, "400": _ERR, "413": openapi.OVER_BUDGET}}},
}
