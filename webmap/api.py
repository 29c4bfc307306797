"""The JSON API (blueprint ``api``), documented in ``/api/openapi.json``.

Every bad parameter gets HTTP 400 with ``{"error": {"parameter": NAME, "message": TEXT}}``; unknown
paths and ids get a JSON 404. Distances are geodesic metres on the WGS-84 ellipsoid
(:mod:`stations.nearest`); coordinates in and out are WGS-84 (lon, lat).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _

from stations.errors import InputError, RowError
from stations.schema import DEMO_SOURCE, HOSTS, SERVICE_KEYS, SERVICES, STATUSES
from webmap import get_store
from webmap.i18n import lang

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

TZ = ZoneInfo("Asia/Shanghai")
WALK_KMH = 4.5
MAX_K = 100
MAX_LIMIT = 10000
DEFAULT_LIMIT = 1000
OUTLINE_LEVELS = {
    # level -> (loader name in stations.geo, simplification tolerance in degrees, extra properties).
    # 0.003-0.004 degrees is 300-400 m: invisible at the zooms the outlines matter (no tiles, overview).
    "province": ("load_province", 0.004, ()),
    "prefectures": ("load_prefectures", 0.003, ("parent_adcode",)),
    "counties": ("load_counties", 0.003, ("prefecture_adcode",)),
}
_ADCODE = re.compile(r"^\d{6}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


# --------------------------------------------------------------------------------------- errors
class ApiError(InputError):
    """A bad request parameter, answered ``{"error": {"parameter", "message"[, "rows"]}}`` with ``status``
    by the app-wide handler of :mod:`webmap.errors` (as every :class:`stations.errors.InputError`)."""

    def __init__(self, parameter: str | None, message: str, status: int = 400, rows=None):
        super().__init__(message, param=parameter, status=status,
                         errors=[RowError(r["row"], r["column"], r["reason"]) for r in rows or ()])

    @property
    def parameter(self) -> str | None:
        return self.param


# --------------------------------------------------------------------------------------- parameters
def _one(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ApiError(name, f"{name} given more than once")
    return values[0] if values else None


def _number(name: str, lo: float, hi: float, *, required: bool = False, default=None) -> float | None:
    raw = _one(name)
    if raw is None or raw.strip() == "":
        if required:
            raise ApiError(name, f"{name} is required")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(name, f"{name} must be a number, got {raw[:40]!r}") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ApiError(name, f"{name} must be between {lo:g} and {hi:g}, got {raw[:40]}")
    return value


def _integer(name: str, lo: int, hi: int, default: int) -> int:
    raw = _one(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(name, f"{name} must be an integer, got {raw[:40]!r}") from None
    if not lo <= value <= hi:
        raise ApiError(name, f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _boolean(name: str) -> bool:
    raw = _one(name)
    if raw is None:
        return False
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ApiError(name, f"{name} must be true or false, got {raw[:40]!r}")


def _multi(name: str) -> list[str]:
    """A repeatable parameter that also accepts comma-separated values."""
    out: list[str] = []
    for raw in request.args.getlist(name):
        out.extend(v.strip() for v in raw.split(",") if v.strip())
    return out


def _services() -> list[str]:
    services = _multi("service")
    for s in services:
        if s not in SERVICES:
            raise ApiError("service", f"unknown service {s[:40]!r}; known: {', '.join(SERVICE_KEYS)}")
    return list(dict.fromkeys(services))


def _at() -> datetime:
    """The time for open-now questions: ``at`` (ISO 8601; naive = Asia/Shanghai) or now in Asia/Shanghai."""
    raw = _one("at")
    if raw is None or raw.strip() == "":
        return datetime.now(TZ).replace(tzinfo=None, second=0, microsecond=0)
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ApiError("at", f"at must be an ISO 8601 date-time, got {raw[:40]!r}") from None
    if at.tzinfo is not None:
        try:
            at = at.astimezone(TZ).replace(tzinfo=None)
        except OverflowError:  # 9999-12-31T23:00-12:00 is past year 9999 in Asia/Shanghai
            raise ApiError("at", f"at is out of range in Asia/Shanghai, got {raw[:40]!r}") from None
    return at.replace(second=0, microsecond=0)


def _adcode(name: str) -> str | None:
    raw = _one(name)
    if raw is None or raw == "":
        return None
    if not _ADCODE.match(raw):
        raise ApiError(name, f"{name} must be a 6-digit adcode, got {raw[:40]!r}")
    return raw


def _bbox() -> tuple[float, float, float, float] | None:
    raw = _one("bbox")
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise ApiError("bbox", "bbox must be min_lon,min_lat,max_lon,max_lat")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise ApiError("bbox", "bbox must be four numbers: min_lon,min_lat,max_lon,max_lat") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ApiError("bbox", "bbox numbers must be finite")
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise ApiError("bbox", "bbox is outside -180..180 / -90..90")
    if x0 > x1 or y0 > y1:
        raise ApiError("bbox", "bbox minimum is greater than its maximum")
    return x0, y0, x1, y1


def _statuses() -> list[str]:
    statuses = _multi("status")
    for s in statuses:
        if s not in STATUSES:
            raise ApiError("status", f"unknown status {s[:40]!r}; known: {', '.join(STATUSES)}")
    return statuses


def _fields() -> str:
    raw = _one("fields") or "full"
    if raw not in ("full", "compact"):
        raise ApiError("fields", "fields must be full or compact")
    return raw


# --------------------------------------------------------------------------------------- helpers
def open_flags(snap, at: datetime) -> np.ndarray:
    """Open-now flags for every station of the snapshot at ``at`` (status open and within hours)."""

    def build():
        try:
            return snap.index.open_mask(at)
        except ImportError:
            log.warning("stations.hours is not available: open-now falls back to status only")
            if "status" in snap.gdf:
                return (snap.gdf["status"].astype(str) == "open").to_numpy()
            return np.ones(len(snap.gdf), dtype=bool)

    return snap.cached(("open", at), build)


def describe_hours(hours_json: str, text: str) -> str:
    """The opening hours in the current language, normalised (the raw text when they cannot be read)."""
    return _describe_hours(hours_json, text, lang())


@lru_cache(maxsize=4096)
def _describe_hours(hours_json: str, text: str, language: str) -> str:
    try:
        from stations.hours import OpeningHours

        return OpeningHours.from_json(hours_json).describe(language)
    except Exception:  # noqa: BLE001 - hours are optional decoration; the raw text is always right
        return text


def nav_links(lon: float, lat: float, name: str, address: str = "",
              origin: tuple[float, float] | None = None,
              gcj: tuple[float, float] | None = None, bd: tuple[float, float] | None = None) -> dict[str, str]:
    """Navigation hand-off links: Amap (GCJ-02, walking), Baidu (BD-09) and a WGS-84 ``geo:`` URI.

    ``gcj``/``bd`` are the station's precomputed (lon, lat) in those datums (computed here when absent).
    """
    from stations.coords import wgs84_to_bd09, wgs84_to_gcj02

    glon, glat = gcj if gcj is not None else wgs84_to_gcj02(lon, lat)
    blon, blat = bd if bd is not None else wgs84_to_bd09(lon, lat)
    here = _("My location")
    amap = {"to": f"{glon:.6f},{glat:.6f},{name}", "mode": "walk", "coordinate": "gaode",
            "callnative": "1", "src": "yizhan"}
    if origin is not None:
        oglon, oglat = _origin_datums(*origin)[0]
        amap = {"from": f"{oglon:.6f},{oglat:.6f},{here}", **amap}
    if origin is not None:
        oblon, oblat = _origin_datums(*origin)[1]
        baidu = "https://api.map.baidu.com/direction?" + urlencode({
            "origin": f"latlng:{oblat:.6f},{oblon:.6f}|name:{here}",
            "destination": f"latlng:{blat:.6f},{blon:.6f}|name:{name}",
            "mode": "walking", "region": "云南", "coord_type": "bd09ll", "output": "html", "src": "yizhan",
        })
    else:
        baidu = "https://api.map.baidu.com/marker?" + urlencode({
            "location": f"{blat:.6f},{blon:.6f}", "title": name, "content": address or name,
            "coord_type": "bd09ll", "output": "html", "src": "yizhan",
        })
    return {
        "amap": "https://uri.amap.com/navigation?" + urlencode(amap),
        "baidu": baidu,
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})",
    }


@lru_cache(maxsize=256)
def _origin_datums(lon: float, lat: float):
    """((gcj lon, lat), (bd lon, lat)) of a query origin: computed once per query, not once per result."""
    from stations.coords import wgs84_to_bd09, wgs84_to_gcj02

    return wgs84_to_gcj02(lon, lat), wgs84_to_bd09(lon, lat)


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _row_props(snap, pos: int, open_now: bool, *, origin=None, distance_m: float | None = None) -> dict:
    row = snap.records[pos]
    en = lang() == "en"

    def pick(pair):  # the label for the request's language, looked up once per row
        return pair[1] if en else pair[0]

    host = _text(row, "host")
    status = _text(row, "status")
    services = snap.services[pos]
    name = _text(row, "name")
    address = _text(row, "address")
    source = _text(row, "source")
    props = {
        "id": _text(row, "id"),
        "name": name,
        "address": address,
        "prefecture_adcode": _text(row, "prefecture_adcode"),
        "county_adcode": _text(row, "county_adcode"),
        "host": host,
        "host_label": pick(HOSTS[host]) if host in HOSTS else host,
        "services": services,
        "service_labels": [pick(SERVICES[s]) for s in services],
        "opening_hours": _text(row, "opening_hours"),
        "hours_text": describe_hours(_text(row, "hours_json"), _text(row, "opening_hours")),
        "open_now": bool(open_now),
        "status": status,
        "status_label": pick(STATUSES[status]) if status in STATUSES else status,
        "phone": _text(row, "phone"),
        "source": source,
        "demo": source == DEMO_SOURCE,
        "updated_at": _text(row, "updated_at"),
    }
    if distance_m is not None:
        props["distance_m"] = round(float(distance_m), 1)
        props["walk_min"] = int(math.ceil(distance_m / 1000.0 / WALK_KMH * 60.0))
    props["nav"] = nav_links(float(row["lon"]), float(row["lat"]), name, address, origin,
                             gcj=tuple(snap.gcj02[pos]), bd=tuple(snap.bd09[pos]))
    return props


def _point(snap, pos: int) -> dict:
    row = snap.records[pos]
    return {"type": "Point", "coordinates": [round(float(row["lon"]), 6), round(float(row["lat"]), 6)]}


def _geojson(payload: dict, max_age: int = 60) -> Response:
    resp = current_app.response_class(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")), mimetype="application/geo+json"
    )
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp


# --------------------------------------------------------------------------------------- endpoints
@bp.get("/stations")
def stations():
    """GeoJSON of stations, filtered and paged."""
    bbox = _bbox()
    prefecture = _adcode("prefecture")
    county = _adcode("county")
    services = _services()
    want_open = _boolean("open_now")
    statuses = _statuses()
    limit = _integer("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    offset = _integer("offset", 0, 10**9, 0)
    fields = _fields()
    at = _at()

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
    matched = np.flatnonzero(mask)
    page = matched[offset: offset + limit]

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
        features = [
            {"type": "Feature", "id": _text(snap.records[p], "id"), "geometry": _point(snap, p),
             "properties": _row_props(snap, p, bool(opened[p]))}
            for p in page
        ]
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
    return _geojson(payload)


@bp.get("/stations/<station_id>")
def station(station_id: str):
    """One station as a GeoJSON Feature; with ``lat``/``lon`` also ``distance_m`` and walking links."""
    lat = _number("lat", -90, 90)
    lon = _number("lon", -180, 180)
    if (lat is None) != (lon is None):
        raise ApiError("lat" if lat is None else "lon", "lat and lon must be given together")
    at = _at()
    snap = get_store().snapshot()
    pos = snap.position.get(station_id)
    if pos is None:
        raise ApiError("id", f"no station with id {station_id[:80]!r}", status=404)
    origin = (lon, lat) if lat is not None else None
    distance = None
    if origin is not None:
        distance = float(snap.index.distances_m(lon, lat, np.array([pos]))[0])
    opened = open_flags(snap, at)
    feature = {"type": "Feature", "id": station_id, "geometry": _point(snap, pos),
               "properties": _row_props(snap, pos, bool(opened[pos]), origin=origin, distance_m=distance)}
    return _geojson(feature)


@bp.get("/nearest")
def nearest():
    """The k nearest stations to (lat, lon), nearest first, each with ``distance_m`` (geodesic, WGS-84)."""
    lat = _number("lat", -90, 90, required=True)
    lon = _number("lon", -180, 180, required=True)
    k = _integer("k", 1, MAX_K, 5)
    services = _services()
    want_open = _boolean("open_now")
    max_km = _number("max_km", 0, 20000)
    at = _at()

    t0 = time.perf_counter()
    snap = get_store().snapshot()
    opened = open_flags(snap, at)
    hits = snap.index.query(lon, lat, k=k, services=services,
                            open_at=at if want_open else None, max_km=max_km)
    features = [
        {"type": "Feature", "id": _text(snap.records[h.position], "id"), "geometry": _point(snap, h.position),
         "properties": _row_props(snap, h.position, bool(opened[h.position]), origin=(lon, lat),
                                  distance_m=h.distance_m)}
        for h in hits
    ]
    payload = {
        "type": "FeatureCollection",
        "query": {"lat": lat, "lon": lon, "k": k, "service": services, "open_now": want_open,
                  "max_km": max_km, "at": at.isoformat(timespec="minutes")},
        "distance": "geodesic metres on the WGS-84 ellipsoid (straight line, not a route)",
        "walk_kmh": WALK_KMH,
        "numberReturned": len(features),
        "features": features,
    }
    resp = _geojson(payload, max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Server-Timing"] = f"nearest;dur={(time.perf_counter() - t0) * 1000:.1f}"
    return resp


def _place_dict(item) -> dict:
    if isinstance(item, dict):
        d = dict(item)
    elif hasattr(item, "_asdict"):
        d = item._asdict()
    elif hasattr(item, "__dataclass_fields__"):
        from dataclasses import asdict

        d = asdict(item)
    else:
        d = dict(vars(item))
    out = {}
    for key, value in d.items():
        if isinstance(value, (np.generic,)):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        if isinstance(value, (str, int, float, bool, type(None), list)):
            out[key] = value
    zh = out.get("name_zh") or out.get("name")
    en = out.get("name_en") or out.get("pinyin") or zh
    out["label"] = (en if lang() == "en" else zh) or ""
    return out


@bp.get("/places")
def places():
    """Offline gazetteer: prefectures, counties and towns by Chinese characters or pinyin prefix."""
    q = _one("q")
    if q is None or not q.strip():
        raise ApiError("q", "q is required")
    q = q.strip()
    if len(q) > 50:
        raise ApiError("q", "q is longer than 50 characters")
    limit = _integer("limit", 1, 50, 10)
    try:
        from stations.places import search
    except ImportError:
        raise ApiError(None, "the gazetteer is not installed", status=503) from None
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
    from shapely.geometry import mapping

    from stations import geo

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
    """The outline levels this installation can serve (stations.geo importable and its file present)."""
    import importlib.util

    from stations import config

    try:
        if importlib.util.find_spec("stations.geo") is None:
            return []
    except (ImportError, ValueError):
        return []
    return [level for level in OUTLINE_LEVELS if (config.data_dir() / f"{level}.geojson").exists()]


@bp.get("/outlines/<level>")
def outlines(level: str):
    """Province / prefecture / county outlines, simplified for the web (~100 m), cached."""
    level = level.removesuffix(".geojson")
    if level not in OUTLINE_LEVELS:
        raise ApiError("level", f"level must be one of {', '.join(OUTLINE_LEVELS)}", status=404)
    try:
        body = outline_geojson(level)
    except (ImportError, OSError, AttributeError) as exc:
        log.warning("outlines %s unavailable: %s", level, exc)
        raise ApiError("level", "the geography is not available", status=503) from None
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


@bp.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


def _param(name, where="query", schema=None, description="", required=False, explode=None):
    p = {"name": name, "in": where, "required": required, "description": description,
         "schema": schema or {"type": "string"}}
    if explode is not None:
        p["explode"] = explode
    return p


_SERVICE_PARAM = _param("service", schema={"type": "array", "items": {"type": "string", "enum": list(SERVICE_KEYS)}},
                        description="required service; repeat (or comma-separate) to require several",
                        explode=True)
_OPEN_PARAM = _param("open_now", schema={"type": "boolean"}, description="only stations open now (status and hours)")
_AT_PARAM = _param("at", schema={"type": "string", "format": "date-time"},
                   description="the time for open_now (ISO 8601, naive = Asia/Shanghai); default now")
_LANG_PARAM = _param("lang", schema={"type": "string", "enum": ["zh", "en"]}, description="labels language")
_NUM = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
_BBOX_PATTERN = f"^{_NUM},{_NUM},{_NUM},{_NUM}$"
_ERROR = {"description": "bad parameter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_GEOJSON = {"content": {"application/geo+json": {"schema": {"type": "object"}}}}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "yizhan API",
        "version": "1.0.0",
        "description": "Yunnan trade-union rest stations (工会驿站). Coordinates are WGS-84 (lon, lat); "
                       "distances are geodesic metres on the WGS-84 ellipsoid.",
    },
    "paths": {
        "/api/stations": {"get": {
            "summary": "Stations as GeoJSON, filtered and paged",
            "parameters": [
                _param("bbox", schema={"type": "string", "pattern": _BBOX_PATTERN},
                       description="min_lon,min_lat,max_lon,max_lat (WGS-84 degrees, minimum <= maximum)"),
                _param("prefecture", schema={"type": "string", "pattern": "^\\d{6}$"}, description="prefecture adcode"),
                _param("county", schema={"type": "string", "pattern": "^\\d{6}$"}, description="county adcode"),
                _SERVICE_PARAM, _OPEN_PARAM, _AT_PARAM,
                _param("status", schema={"type": "array", "items": {"type": "string", "enum": list(STATUSES)}},
                       explode=True),
                _param("limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
                _param("offset", schema={"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0}),
                _param("fields", schema={"type": "string", "enum": ["full", "compact"], "default": "full"},
                       description="compact (for the map): feature id; properties name, open_now, demo and sv, "
                                   "the services as a bitmask (bit j = j-th service of the service enum)"),
                _LANG_PARAM,
            ],
            "responses": {"200": {"description": "FeatureCollection with numberMatched, numberReturned and a next link",
                                  **_GEOJSON}, "400": _ERROR},
        }},
        "/api/stations/{id}": {"get": {
            "summary": "One station",
            "parameters": [_param("id", "path", required=True),
                           _param("lat", schema={"type": "number", "minimum": -90, "maximum": 90},
                                  description="with lon: add distance_m"),
                           _param("lon", schema={"type": "number", "minimum": -180, "maximum": 180}),
                           _AT_PARAM, _LANG_PARAM],
            "responses": {"200": {"description": "Feature", **_GEOJSON}, "400": _ERROR,
                          "404": {"description": "no such station"}},
        }},
        "/api/nearest": {"get": {
            "summary": "The k nearest stations, nearest first, with distance_m (geodesic) and walk_min (4.5 km/h)",
            "parameters": [
                _param("lat", schema={"type": "number", "minimum": -90, "maximum": 90}, required=True),
                _param("lon", schema={"type": "number", "minimum": -180, "maximum": 180}, required=True),
                _param("k", schema={"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5}),
                _SERVICE_PARAM, _OPEN_PARAM, _AT_PARAM,
                _param("max_km", schema={"type": "number", "minimum": 0, "maximum": 20000}, description="only stations within"),
                _LANG_PARAM,
            ],
            "responses": {"200": {"description": "FeatureCollection sorted by distance_m", **_GEOJSON},
                          "400": _ERROR},
        }},
        "/api/places": {"get": {
            "summary": "Offline gazetteer (prefectures, counties, towns; Chinese or pinyin prefix)",
            "parameters": [_param("q", required=True, schema={"type": "string", "minLength": 1, "maxLength": 50,
                                                              "pattern": "\\S"}),
                           _param("limit", schema={"type": "integer", "minimum": 1, "maximum": 50, "default": 10}),
                           _LANG_PARAM],
            "responses": {"200": {"description": "{query, places: [...]}"}, "400": _ERROR},
        }},
        "/api/health": {"get": {
            "summary": "Liveness and the number of stations loaded",
            "responses": {"200": {"description": "{status: ok, stations: n}"}},
        }},
        "/api/outlines/{level}": {"get": {
            "summary": "Simplified outlines (province, prefectures, counties) as GeoJSON",
            "parameters": [_param("level", "path", required=True,
                                  schema={"type": "string", "enum": list(OUTLINE_LEVELS)})],
            "responses": {"200": {"description": "FeatureCollection", **_GEOJSON},
                          "404": {**_ERROR, "description": "unknown level"}},
        }},
    },
    "components": {"schemas": {"Error": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "parameter": {"type": ["string", "null"]}, "message": {"type": "string"}}}},
    }}},
}


def add_openapi_paths(bp: Blueprint, paths: dict) -> None:
    """Merge a blueprint's own paths into :data:`OPENAPI` when that blueprint is registered on an app."""

    @bp.record_once
    def _merge(_state):
        OPENAPI.setdefault("paths", {}).update(paths)
