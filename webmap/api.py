"""The finder's JSON API (blueprint ``api``): stations, nearest, places, outlines, health and the OpenAPI
document (built by :mod:`webmap.openapi` from every blueprint's ``OPENAPI_PATHS``).

Parameters are parsed by :mod:`webmap.params`; a bad one gets HTTP 400 with ``{"error": {"parameter": NAME,
"message": TEXT}}`` (the app-wide handler of :mod:`webmap.errors`); unknown paths and ids get a JSON 404.
Distances are geodesic metres on the WGS-84 ellipsoid (:mod:`stations.nearest`); coordinates in and out are
WGS-84 (lon, lat).
"""

from __future__ import annotations

import json
import logging
import math
import time
from urllib.parse import urlencode

import numpy as np
from flask import Blueprint, current_app, jsonify, request, url_for
from shapely.geometry import mapping

from stations import config, geo
from stations.errors import InputError
from stations.limits import LIMITS
from stations.places import search
from stations.schema import DEMO_SOURCE, STATUSES
from webmap import get_store, openapi
from webmap.features import WALK_KMH, WALK_MAX_M, feature, open_24h_flags, open_flags
from webmap.i18n import lang
from webmap.params import Params
from webmap.finder_json import finder_json
from webmap.network_finder import walk_ranked
from webmap.responses import dumps, geojson

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

OUTLINE_LEVELS = {
    # level -> (loader name in stations.geo, simplification tolerance in degrees, extra properties).
    # 0.003-0.004 degrees is 300-400 m: invisible at the zooms the outlines matter (no tiles, overview).
    "province": ("load_province", 0.004, ()),
    "prefectures": ("load_prefectures", 0.003, ("parent_adcode",)),
    "counties": ("load_counties", 0.003, ("prefecture_adcode",)),
}


# --------------------------------------------------------------------------------------- endpoints
@bp.get("/stations")
def stations():
    """GeoJSON of stations, filtered and paged."""
    q = Params.query()
    bbox = q.bbox()
    prefecture = q.adcode("prefecture")
    county = q.adcode("county")
    services = q.services()
    want_open = q.boolean("open_now")
    statuses = q.statuses()
    limit = q.integer("limit", LIMITS["stations_page"], default=int(LIMITS["stations_page"].default))
    offset = q.integer("offset", LIMITS["stations_offset"], default=0)
    fields = q.choice("fields", ("full", "compact", "columns", "ids"), "full")
    at = q.at()
    open_at = q.open_at(at)
    want_24h = q.boolean("open_24h")

    snap = get_store().snapshot()
    gdf = snap.gdf
    n = len(gdf)
    mask = np.ones(n, dtype=bool)
    if n:
        lon = gdf["lon"].to_numpy(dtype=float)
        lat = gdf["lat"].to_numpy(dtype=float)
        if bbox:
            mask &= (lon >= bbox[0]) & (lat >= bbox[1]) & (lon <= bbox[2]) & (lat <= bbox[3])
        if prefecture:
            mask &= (gdf["prefecture_adcode"].astype(str) == prefecture).to_numpy()
        if county:
            mask &= (gdf["county_adcode"].astype(str) == county).to_numpy()
        if services:
            mask &= snap.index.service_mask(services)
        if statuses:
            mask &= gdf["status"].astype(str).isin(statuses).to_numpy()
    opened = open_flags(snap, at) if n else np.zeros(0, dtype=bool)
    if want_open and n:
        mask &= opened
    if open_at is not None and n:
        mask &= open_flags(snap, open_at)
    if want_24h and n:
        mask &= open_24h_flags(snap)
    matched = np.flatnonzero(mask)
    page = matched[offset: offset + limit]

    if fields == "ids":  # the map's filter for "open at 22:00": ids only
        ids = gdf["id"].astype(str).to_numpy() if n else []
        return geojson({"numberMatched": int(matched.size), "ids": [ids[p] for p in page],
                        "at": at.isoformat(timespec="minutes"),
                        "open_at": open_at.isoformat(timespec="minutes") if open_at is not None else None},
                       max_age=60)
    if fields == "columns":
        return geojson(_columns(snap, page, opened, matched.size, limit, offset, at), max_age=60)
    if fields == "compact":
        names = gdf["name"].astype(str).to_numpy()
        ids = gdf["id"].astype(str).to_numpy()
        demo = (gdf["source"].astype(str) == DEMO_SOURCE).to_numpy() if "source" in gdf else np.zeros(n, bool)
        lons = np.round(gdf["lon"].to_numpy(dtype=float), 6) if n else []
        lats = np.round(gdf["lat"].to_numpy(dtype=float), 6) if n else []
        features = [
            {"type": "Feature", "id": ids[p],
             "geometry": {"type": "Point", "coordinates": [float(lons[p]), float(lats[p])]},
             "properties": {"name": names[p], "open_now": bool(opened[p]), "demo": bool(demo[p]),
                            "sv": int(snap.service_bits[p])}}
            for p in page
        ]
    else:
        features = [feature(snap, p, bool(opened[p])) for p in page]
    payload = {
        "type": "FeatureCollection",
        "numberMatched": int(matched.size),
        "numberReturned": len(features),
        "limit": limit,
        "offset": offset,
        "at": at.isoformat(timespec="minutes"),
        "features": features,
        "links": [],
    }
    if offset + limit < matched.size:
        args = request.args.to_dict(flat=False)
        args["offset"] = [str(offset + limit)]
        payload["links"].append({"rel": "next", "type": "application/geo+json",
                                 "href": url_for("api.stations", _external=False) + "?" + urlencode(args, doseq=True)})
    return geojson(payload, max_age=60)


#: the map's coordinates are sent as whole numbers of 1e-5 degree (about 1 m), each the difference from the previous
COLUMN_SCALE = 100_000


def _columns(snap, page, opened, matched: int, limit: int, offset: int, at) -> dict:
    """The finder map's stations as columns (issue 11 §5, a cheap phone on slow 3G): ids, coordinates as differences
    of whole 1e-5 degrees, and one-character flags; no names (the popup asks for the station). A third of the
    compact GeoJSON's gzip bytes."""
    gdf = snap.gdf
    if len(gdf):
        ids = gdf["id"].astype(str).to_numpy()[page]
        lon = np.rint(gdf["lon"].to_numpy(dtype=float)[page] * COLUMN_SCALE).astype(np.int64)
        lat = np.rint(gdf["lat"].to_numpy(dtype=float)[page] * COLUMN_SCALE).astype(np.int64)
        demo = (gdf["source"].astype(str) == DEMO_SOURCE).to_numpy()[page] if "source" in gdf else np.zeros(len(page), bool)
        h24 = open_24h_flags(snap)[page]
        sv = snap.service_bits[page]
    else:
        ids, lon, lat, demo, h24, sv = [], np.zeros(0, np.int64), np.zeros(0, np.int64), [], [], []

    def flags(values) -> str:
        return "".join("1" if v else "0" for v in values)

    return {"numberMatched": int(matched), "numberReturned": len(ids), "limit": limit, "offset": offset,
            "at": at.isoformat(timespec="minutes"), "scale": COLUMN_SCALE, "ids": [str(i) for i in ids],
            "dlon": np.diff(lon, prepend=0).tolist(), "dlat": np.diff(lat, prepend=0).tolist(),
            "open": flags(opened[page]) if len(gdf) else "", "h24": flags(h24), "demo": flags(demo),
            "sv": [int(v) for v in sv]}


@bp.get("/stations/<station_id>")
def station(station_id: str):
    """One station as a GeoJSON Feature; with ``lat``/``lon`` also ``distance_m`` and walking links."""
    q = Params.query()
    lat = q.lat()
    lon = q.lon()
    if (lat is None) != (lon is None):
        raise InputError("lat and lon must be given together", param="lat" if lat is None else "lon")
    at = q.at()
    snap = get_store().snapshot()
    pos = snap.position.get(station_id)
    if pos is None:
        raise InputError(f"no station with id {station_id[:80]!r}", param="id", status=404)
    origin = (lon, lat) if lat is not None else None
    distance = None
    if origin is not None:
        distance = float(snap.index.distances_m(lon, lat, np.array([pos]))[0])
    opened = open_flags(snap, at)
    return geojson(feature(snap, pos, bool(opened[pos]), fid=station_id, origin=origin, distance_m=distance), max_age=60)


@bp.get("/nearest")
def nearest():
    """The k nearest stations to (lat, lon), each with ``distance_m`` (geodesic, WGS-84): the nearest station open at
    ``at`` first (``nearest_open_id``), then the others nearest first. ``open_at`` (``22:00``: the next such time)
    and ``open_24h`` keep only the stations open then / open all day every day."""
    q = Params.query()
    lat = q.lat(required=True)
    lon = q.lon(required=True)
    k = q.integer("k", LIMITS["nearest_k"], default=int(LIMITS["nearest_k"].default))
    services = q.services()
    want_open = q.boolean("open_now")
    max_km = q.number("max_km", LIMITS["max_km"])
    at = q.at()
    open_at = q.open_at(at)
    want_24h = q.boolean("open_24h")

    t0 = time.perf_counter()
    snap = get_store().snapshot()
    opened = open_flags(snap, at)
    where = None
    if open_at is not None:
        where = open_flags(snap, open_at)
    if want_24h:
        where = open_24h_flags(snap) if where is None else where & open_24h_flags(snap)
    # issue 13 §3: with a street network, the straight-line candidates (same filters) ranked by their walks
    walked = walk_ranked(snap, lon, lat, k, services, at if want_open else None, max_km, opened, where)
    if walked is None:
        hits = snap.index.query(lon, lat, k=k, services=services,
                                open_at=at if want_open else None, max_km=max_km, where=where)
        hits, first_open = _nearest_open_first(snap, hits, opened, lon, lat, k, services, at, max_km, where)
        first_id = None if first_open is None else str(snap.records[first_open.position]["id"])
    else:
        hits = []  # the walking ranking brings its own features and count
        walked, first_id = _walked_for_the_phone(snap, walked, opened)
    payload = {
        "type": "FeatureCollection",
        "query": {"lat": lat, "lon": lon, "k": k, "service": services, "open_now": want_open,
                  "max_km": max_km, "at": at.isoformat(timespec="minutes"),
                  "open_at": open_at.isoformat(timespec="minutes") if open_at is not None else None,
                  "open_24h": want_24h},
        "distance": "geodesic metres on the WGS-84 ellipsoid (straight line, not a route)",
        "walk_kmh": WALK_KMH,
        "walk_max_m": WALK_MAX_M,
        "nearest_open_id": first_id,
        "numberReturned": len(hits),
        "distance_kind": "straight",
    }
    if walked is not None:  # a street network is loaded: ranked by walks, the exact (slow) path
        payload.update(walked)
        body = payload
    elif current_app.config.get("FINDER_FRAGMENTS", True):
        # the same text as below, from per-station fragments serialised once per snapshot (webmap.finder_json)
        frags, language = finder_json(snap), lang()
        features = frags.features(hits, language, opened, (lon, lat))
        body = dumps(payload)[:-1] + ',"features":[' + ",".join(features) + "]}"
    else:
        payload["features"] = [feature(snap, h.position, bool(opened[h.position]), origin=(lon, lat),
                                       distance_m=h.distance_m) for h in hits]
        body = payload
    resp = geojson(body)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Server-Timing"] = f"nearest;dur={(time.perf_counter() - t0) * 1000:.1f}"
    return resp


def _walked_for_the_phone(snap, walked: dict, opened) -> tuple[dict, str | None]:
    """The walking ranking (:func:`webmap.network_finder.walk_ranked`, whose candidates already passed the
    filters) held to the finder's rules (issue 11 §3): the nearest open walk first, and walking minutes only within
    :data:`WALK_MAX_M` of walking; with the id of that nearest open station (None when none is open)."""
    feats = walked.get("features", [])
    first = next((f for f in feats if opened[snap.position[str(f["id"])]]), None)
    if first is not None and first is not feats[0]:
        feats = [first] + [f for f in feats if f is not first]
    for f in feats:
        props = f["properties"]
        if (props.get("walk_m") or props.get("distance_m", 0)) > WALK_MAX_M:
            props.pop("walk_min", None)
    return {**walked, "features": feats, "numberReturned": len(feats)}, None if first is None else str(first["id"])


def _nearest_open_first(snap, hits, opened, lon, lat, k, services, at, max_km, where):
    """``hits`` with the nearest station open at ``at`` moved to the front (looked up beyond the k nearest when
    none of them is open; then the farthest of the k gives it its place) and that hit, or None when no station
    that passes the filters is open."""
    first_open = next((h for h in hits if opened[h.position]), None)
    if first_open is None and hits:
        more = snap.index.query(lon, lat, k=1, services=services, open_at=at, max_km=max_km, where=where)
        if not more:
            return hits, None
        first_open = more[0]
        return [first_open] + (hits if len(hits) < k else hits[: k - 1]), first_open
    if first_open is None or first_open is hits[0]:
        return hits, first_open
    return [first_open] + [h for h in hits if h is not first_open], first_open


def _place_dict(item: dict) -> dict:
    """A gazetteer entry (:func:`stations.places.search`) with JSON values and a ``label`` in the page's language."""
    out = {}
    for key, value in item.items():
        if isinstance(value, (np.generic,)):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        if isinstance(value, (str, int, float, bool, type(None), list)):
            out[key] = value
    zh = out.get("name_zh") or out.get("name")
    en = out.get("name_en") or out.get("pinyin") or zh
    english = lang() == "en"
    # the Chinese page never shows an English-only name: a place without a Chinese name shows its pinyin, marked
    out["label"] = (en if english else (zh or en)) or ""
    out["label_note"] = "拼音" if not english and not zh and en else None
    out["kind_label"] = out.get("kind_en" if english else "kind_zh") or None
    return out


@bp.get("/places")
def places():
    """Offline gazetteer (:func:`stations.places.search`): prefectures, counties, townships, towns and old towns by
    Chinese characters, pinyin, initials or other names; ``label`` and ``kind_label`` in the page's language."""
    params = Params.query()
    q = params.text("q")
    if q is None:
        raise InputError("q is required", param="q")
    most = int(LIMITS["place_query_chars"].hi)
    if len(q) > most:
        raise InputError(f"q is longer than {most} characters", param="q")
    limit = params.integer("limit", LIMITS["places"], default=int(LIMITS["places"].default))
    results = [_place_dict(p) for p in search(q, limit=limit)]
    resp = jsonify({"query": q, "places": results})
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


def _round_coords(obj, nd: int = 4):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), nd) for v in obj]
        return [_round_coords(v, nd) for v in obj]
    return obj


def outline_geojson(level: str) -> bytes:
    """Simplified outlines of ``level`` as GeoJSON bytes (cached per process)."""
    cache = current_app.extensions.setdefault("yizhan_outlines", {})
    if level in cache:
        return cache[level]
    loader, tolerance, extra = OUTLINE_LEVELS[level]
    gdf = getattr(geo, loader)()
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    features = []
    for _idx, row in gdf.iterrows():
        geom = row.geometry.simplify(tolerance, preserve_topology=True)
        if geom.is_empty:
            continue
        gj = mapping(geom)
        props = {"adcode": str(row.get("adcode", "")), "name_zh": str(row.get("name_zh", "")),
                 "name_en": str(row.get("name_en", ""))}
        for col in extra:
            props[col] = str(row.get(col, ""))
        rp = row.geometry.representative_point()
        props["label_point"] = [round(rp.x, 4), round(rp.y, 4)]
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": gj["type"], "coordinates": _round_coords(gj["coordinates"], 3)}})
    body = json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode()
    cache[level] = body
    return body


def outlines_available() -> list[str]:
    """The outline levels this installation can serve (their file is in the data directory)."""
    return [level for level in OUTLINE_LEVELS if (config.data_dir() / f"{level}.geojson").exists()]


@bp.get("/outlines/<level>")
def outlines(level: str):
    """Province / prefecture / county outlines, simplified for the web (~100 m), cached."""
    level = level.removesuffix(".geojson")
    if level not in OUTLINE_LEVELS:
        raise InputError(f"level must be one of {', '.join(OUTLINE_LEVELS)}", param="level", status=404)
    try:
        body = outline_geojson(level)
    except OSError as exc:  # the data directory lacks the file
        log.warning("outlines %s unavailable: %s", level, exc)
        raise InputError("the geography is not available", param="level", status=503) from None
    resp = current_app.response_class(body, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    resp.add_etag()
    return resp.make_conditional(request)


@bp.get("/health")
def health():
    """A trivial endpoint: liveness and the number of stations loaded (the benchmark's baseline)."""
    snap = get_store().snapshot()
    resp = jsonify({"status": "ok", "stations": len(snap.gdf)})
    resp.headers["Cache-Control"] = "no-store"
    return resp




@bp.get("/openapi.json", endpoint="openapi")
def openapi_document():
    """The OpenAPI document of every registered blueprint (:mod:`webmap.openapi`)."""
    return jsonify(openapi.document(current_app))


# --------------------------------------------------------------------------------------- OpenAPI
_P = openapi.param
_NUM = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
_BBOX_PATTERN = f"^{_NUM},{_NUM},{_NUM},{_NUM}$"
_LAT = _P("lat", schema={"type": "number", "minimum": LIMITS["lat"].lo, "maximum": LIMITS["lat"].hi})
_LON = _P("lon", schema={"type": "number", "minimum": LIMITS["lon"].lo, "maximum": LIMITS["lon"].hi})
_OPEN_AT = _P("open_at", schema={"type": "string", "pattern": "^\\s*\\d{1,2}[:：]\\d{2}\\s*$"},
              description="only stations open at this time: HH:MM is the next such time after `at` (a night shift "
                          "asks 22:00), an ISO 8601 date and time that moment")
_OPEN_24H = _P("open_24h", schema={"type": "boolean"}, description="only stations open 24 hours every day")

OPENAPI_PATHS = {
    "/api/stations": {"get": {
        "summary": "Stations as GeoJSON, filtered and paged",
        "parameters": [
            _P("bbox", schema={"type": "string", "pattern": _BBOX_PATTERN},
               description="min_lon,min_lat,max_lon,max_lat (WGS-84 degrees, minimum <= maximum)"),
            _P("prefecture", schema={"type": "string", "pattern": "^\\d{6}$"}, description="prefecture adcode"),
            _P("county", schema={"type": "string", "pattern": "^\\d{6}$"}, description="county adcode"),
            openapi.SERVICE, openapi.OPEN_NOW, openapi.AT,
            _P("status", schema={"type": "array", "items": {"type": "string", "enum": list(STATUSES)}}, explode=True),
            openapi.limited("limit", LIMITS["stations_page"], "integer"),
            openapi.limited("offset", LIMITS["stations_offset"], "integer"),
            _P("fields", schema={"type": "string", "enum": ["full", "compact", "columns", "ids"], "default": "full"},
               description="compact: feature id; properties name, open_now, demo and sv, "
                           "the services as a bitmask (bit j = j-th service of the service enum); columns (the finder's map, not GeoJSON): "
                           "ids, dlon/dlat (whole 1/scale degrees, each the difference from the previous one), "
                           "open/h24 (open 24 hours every day)/demo as strings of 0 and 1, sv; ids: {numberMatched, ids} only"),
            _OPEN_AT, _OPEN_24H,
            openapi.LANG,
        ],
        "responses": {"200": {"description": "FeatureCollection with numberMatched, numberReturned and a next link",
                              **openapi.GEOJSON}, "400": openapi.ERROR},
    }},
    "/api/stations/{id}": {"get": {
        "summary": "One station",
        "parameters": [_P("id", "path", required=True), {**_LAT, "description": "with lon: add distance_m"}, _LON,
                       openapi.AT, openapi.LANG],
        "responses": {"200": {"description": "Feature", **openapi.GEOJSON}, "400": openapi.ERROR,
                      "404": {"description": "no such station"}},
    }},
    "/api/nearest": {"get": {
        "summary": "The k nearest stations, nearest first, with distance_m (geodesic) and walk_min (4.5 km/h)",
        "parameters": [
            {**_LAT, "required": True}, {**_LON, "required": True},
            openapi.limited("k", LIMITS["nearest_k"], "integer"),
            openapi.SERVICE, openapi.OPEN_NOW, openapi.AT,
            openapi.limited("max_km", LIMITS["max_km"], description="only stations within"),
            _OPEN_AT, _OPEN_24H,
            openapi.LANG,
        ],
        "responses": {"200": {"description": "FeatureCollection: the nearest station open at `at` first "
                                             "(nearest_open_id, null when none), then the others by distance_m; "
                                             "walk_min only within walk_max_m (3 km)", **openapi.GEOJSON},
                      "400": openapi.ERROR},
    }},
    "/api/places": {"get": {
        "summary": "Offline gazetteer (prefectures, counties, townships, towns, old towns; Chinese, pinyin, initials or "
                   "other names such as 版纳, by prefix; exact before prefix, divisions first)",
        "description": "Each place: name_zh, name_en, label (page language; pinyin marked label_note 拼音 when no Chinese "
                       "name), kind (prefecture/county/town/landmark), type (district, county_city, subdistrict, township ...), "
                       "kind_label (州/市/县/区/街道/镇/乡/居民点/景区 or English), adcode, lon, lat "
                       "(WGS-84), county_* and prefecture_* (the divisions it lies in), group (the id of the answer it "
                       "is a sub-answer of), match, matched, id, geonameid, nbs_code, name_zh_source, point_source.",
        "parameters": [_P("q", required=True, schema={"type": "string", "minLength": 1,
                                                      "maxLength": int(LIMITS["place_query_chars"].hi), "pattern": "\\S"}),
                       openapi.limited("limit", LIMITS["places"], "integer"), openapi.LANG],
        "responses": {"200": {"description": "{query, places: [...]}"}, "400": openapi.ERROR},
    }},
    "/api/health": {"get": {
        "summary": "Liveness and the number of stations loaded",
        "responses": {"200": {"description": "{status: ok, stations: n}"}},
    }},
    "/api/outlines/{level}": {"get": {
        "summary": "Simplified outlines (province, prefectures, counties) as GeoJSON",
        "parameters": [_P("level", "path", required=True, schema={"type": "string", "enum": list(OUTLINE_LEVELS)})],
        "responses": {"200": {"description": "FeatureCollection", **openapi.GEOJSON},
                      "404": {**openapi.ERROR, "description": "unknown level"}},
    }},
}
