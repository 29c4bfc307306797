"""The finder offline (blueprint ``offline``): the service worker, the web app manifest and the data the phone keeps.

- ``/sw.js``: the service worker (template ``templates/sw.js``), served at the root so its scope is the whole
  site (``Service-Worker-Allowed: /``, ``Cache-Control: no-cache``: the browser checks it on every visit).
  It uses Workbox from the app's own copy (``static/vendor/workbox/``, ``modulePathPrefix``; never a CDN).
  Its :func:`release` (package version + a hash of the precached files, the worker's template and the data
  files) names every cache, so a new release replaces the old caches at activation.
- ``/manifest.webmanifest``: name, icons, start URL: "add to home screen" opens the finder full screen.
- ``/offline/stations.json``: every station with what a list entry needs (name, address, hours text, services,
  host, phone, open 24 hours, hours unknown) and its open state from today's midnight for 8 days in 15-minute
  slots (computed here with :mod:`stations.hours`, holidays included), for the worker's offline answers to
  ``/api/nearest`` (straight line, on the phone), ``/api/stations/<id>``, the map's open flags (``fields=columns``)
  and its "open at" ids (``fields=ids&open_at=``).
- ``/offline/places.json``: the gazetteer with its search keys (:func:`stations.places.gazetteer`), for the
  worker's offline answer to ``/api/places`` and the town labels of the drawn base map.
- ``/offline/lakes.json``: the lakes (simplified) for the drawn base map (``static/basemap.js``).

Strategies (in the worker): the finder page network-first with the cached copy as fallback; scripts, styles,
icons and outlines precached; station list, stations file, places and report strings network-first with a
timeout (the cached copy answers, the network refreshes it quietly), each cache bounded (Workbox
``ExpirationPlugin``). What the worker answered from its cache is told to the page (``postMessage``), which
shows "数据更新于 …" (``static/offline.js``).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta
from importlib import metadata
from zoneinfo import ZoneInfo

import numpy as np
from flask import Blueprint, current_app, render_template, url_for
from flask_babel import gettext as _

from stations import config, geo
from stations.places import gazetteer
from stations.schema import DEMO_SOURCE, HOSTS, SERVICES, STATUSES
from webmap import get_store, openapi
from webmap.features import WALK_KMH, WALK_MAX_M, describe_hours, hours_unknown, open_24h_flags, text
from webmap.i18n import lang
from webmap.responses import json_text

bp = Blueprint("offline", __name__)

TZ = ZoneInfo("Asia/Shanghai")
SLOT_MINUTES = 15  # the offline open-state resolution
SLOT_DAYS = 8  # from today's midnight: the phone knows the open state for 7 days at least, then "not open"
#: the static files the worker precaches (the finder's shell); the vendor files by their path under static/
SHELL = ("common.js", "finder.js", "finder_route.js", "offline.js", "basemap.js", "basemap.css", "site.css",
         "icons.svg", "favicon.svg", "icon-192.png", "icon-512.png", "vendor/leaflet/leaflet.js",
         "vendor/leaflet/leaflet.css",
         "vendor/leaflet.markercluster/leaflet.markercluster.js", "vendor/leaflet.markercluster/MarkerCluster.css",
         "vendor/gcoord/gcoord.global.prod.js")
WORKBOX_MODULES = ("workbox-core", "workbox-routing", "workbox-strategies", "workbox-precaching",
                   "workbox-expiration", "workbox-cacheable-response")
DATA_FILES = ("province.geojson", "prefectures.geojson", "counties.geojson", "lakes.geojson", "places_gazetteer.csv")


def _version() -> str:
    try:
        return metadata.version("yizhan")
    except metadata.PackageNotFoundError:
        return "0"


def _file_hash(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()[:12]


def _build() -> dict:
    """The release and the precache list, computed once per app (files do not change under a running app)."""
    cache = current_app.extensions.get("yizhan_offline")
    if cache is not None:
        return cache
    static = current_app.static_folder
    entries = []
    whole = hashlib.sha256(_version().encode())
    for name in SHELL:
        path = os.path.join(static, name)
        if not os.path.exists(path):
            continue
        rev = _file_hash(path)
        whole.update(name.encode() + rev.encode())
        entries.append({"url": url_for("static", filename=name), "revision": rev})
    templates = os.path.join(current_app.root_path, "templates", "sw.js")
    whole.update(_file_hash(templates).encode())
    for name in DATA_FILES:
        path = config.data_dir() / name
        if path.exists():
            whole.update(f"{name}:{path.stat().st_size}:{int(path.stat().st_mtime)}".encode())
    release = f"{_version()}-{whole.hexdigest()[:10]}"
    cache = {"release": release, "entries": entries}
    current_app.extensions["yizhan_offline"] = cache
    return cache


def release() -> str:
    """The release the caches are named after: ``<package version>-<hash of the shell, worker and data>``."""
    return _build()["release"]


@bp.get("/sw.js")
def service_worker():
    built = _build()
    levels = ("province", "prefectures", "counties")
    outlines = [url_for("api.outlines", level=level) for level in levels]
    precache = built["entries"] + [{"url": u, "revision": built["release"]} for u in outlines]
    body = render_template(
        "sw.js", release=built["release"], precache=precache,
        workbox_prefix=url_for("static", filename="vendor/workbox"), workbox_modules=WORKBOX_MODULES,
        workbox_sw=url_for("static", filename="vendor/workbox/workbox-sw.js"),
        gcoord=url_for("static", filename="vendor/gcoord/gcoord.global.prod.js"),
        walk_kmh=WALK_KMH, walk_max_m=WALK_MAX_M,
    )
    resp = current_app.response_class(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp


@bp.get("/manifest.webmanifest")
def manifest():
    en = lang() == "en"
    body = {
        "name": _("Rest stations for outdoor workers · Yunnan"),
        "short_name": _("Rest stations"),
        "description": _("Find the nearest trade-union rest station for outdoor workers in Yunnan."),
        "lang": "en" if en else "zh-CN",
        "start_url": url_for("views.finder", lang="en") if en else url_for("views.finder"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf3",
        "theme_color": "#c0392b",
        "icons": [
            {"src": url_for("static", filename="icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": url_for("static", filename="favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    resp = json_text(body, "application/manifest+json")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _week_patterns(snap, start: datetime) -> tuple[list[str], np.ndarray]:
    """The open state of every station at each 15-minute slot of the next 7 days from ``start`` (naive,
    Asia/Shanghai): distinct patterns as strings of '0'/'1' and each station's pattern number."""
    n = len(snap.gdf)
    slots = SLOT_DAYS * 24 * 60 // SLOT_MINUTES
    grid = np.zeros((n, slots), dtype=np.uint8)
    for j in range(slots):
        grid[:, j] = snap.index.open_mask(start + timedelta(minutes=SLOT_MINUTES * j))
    uniq, inverse = np.unique(grid, axis=0, return_inverse=True) if n else (np.zeros((0, slots)), np.zeros(0, int))
    return ["".join("1" if v else "0" for v in row) for row in uniq], np.asarray(inverse).ravel()


def stations_payload(snap, language: str, now: datetime) -> str:
    """The ``/offline/stations.json`` body for the snapshot and the language, with the open states from the
    midnight (Asia/Shanghai) before ``now``; the open states are computed once a day for both languages."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    patterns, which = snap.cached(("offline-open", start.isoformat()), lambda: _week_patterns(snap, start))
    en = language == "en"
    h24 = open_24h_flags(snap) if len(snap.gdf) else []
    rows = []
    for pos, rec in enumerate(snap.records):
        host, status = str(rec.get("host", "")), str(rec.get("status", ""))
        services = snap.services[pos]
        rows.append([
            str(rec["id"]), str(rec.get("name", "")), round(float(rec["lon"]), 6), round(float(rec["lat"]), 6),
            int(which[pos]), int(snap.service_bits[pos]), str(rec.get("address", "") or ""),
            describe_hours(str(rec.get("hours_json", "") or ""), str(rec.get("opening_hours", "") or "")),
            (HOSTS[host][1 if en else 0]) if host in HOSTS else host,
            str(rec.get("phone", "") or ""), status,
            (STATUSES[status][1 if en else 0]) if status in STATUSES else status,
            [(SERVICES[s][1 if en else 0]) for s in services],
            str(rec.get("source", "")) == DEMO_SOURCE,
            bool(h24[pos]), hours_unknown(text(rec, "hours_json")),
        ])
    start_ms = int(start.replace(tzinfo=TZ).timestamp() * 1000)
    return json.dumps({
        "release": release(), "lang": language, "generated": datetime.now(TZ).isoformat(timespec="minutes"),
        "my_location": _("My location"),  # the origin's name in the navigation links the worker makes
        "slot_start_ms": start_ms, "slot_minutes": SLOT_MINUTES, "patterns": patterns,
        "service_keys": list(SERVICES),
        "columns": ["id", "name", "lon", "lat", "pattern", "sv", "address", "hours_text", "host_label", "phone",
                    "status", "status_label", "service_labels", "demo", "h24", "hours_unknown"],
        "stations": rows,
    }, ensure_ascii=False, separators=(",", ":"))


@bp.get("/offline/stations.json")
def offline_stations():
    language = lang()
    now = datetime.now(TZ).replace(tzinfo=None)
    snap = get_store().snapshot()
    body = snap.cached(("offline-stations", language, now.date().isoformat()),
                       lambda: stations_payload(snap, language, now))
    resp = json_text(body)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def places_payload(language: str) -> str:
    en = language == "en"
    out = []
    for p in gazetteer():
        zh, name_en = p.get("name_zh") or "", p.get("name_en") or ""
        out.append({
            "id": p["id"], "name_zh": zh or None, "name_en": name_en or None,
            "label": (name_en or zh) if en else (zh or name_en),
            "label_note": "拼音" if not en and not zh and name_en else None,
            "kind": p.get("kind"), "type": p.get("type"), "kind_label": p.get("kind_en" if en else "kind_zh"),
            "lon": p["lon"], "lat": p["lat"], "adcode": p.get("adcode"), "group": p.get("group") or None,
            "county_zh": p.get("county_zh"), "county_en": p.get("county_en"),
            "prefecture_zh": p.get("prefecture_zh"), "prefecture_en": p.get("prefecture_en"),
            "rank": p["rank"], "keys": p["keys"],
        })
    return json.dumps({"release": release(), "places": out}, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: v.item() if hasattr(v, "item") else None)


@bp.get("/offline/places.json")
def offline_places():
    language = lang()
    cache = current_app.extensions.setdefault("yizhan_offline_places", {})
    if language not in cache:
        cache[language] = places_payload(language)
    resp = json_text(cache[language])
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/offline/lakes.json")
def offline_lakes():
    cache = current_app.extensions.setdefault("yizhan_offline_lakes", {})
    if "body" not in cache:
        from shapely.geometry import mapping

        lakes = geo.load_lakes()
        features = []
        for _idx, row in lakes.iterrows():
            geom = row.geometry.simplify(0.002, preserve_topology=True)
            if geom.is_empty:
                continue
            gj = json.loads(json.dumps(mapping(geom)))
            rp = row.geometry.representative_point()
            features.append({"type": "Feature", "geometry": _round(gj),
                             "properties": {"name_zh": row.get("name_zh") or "", "name_en": row.get("name_en") or "",
                                            "area_km2": round(float(row.get("area_km2") or 0), 1),
                                            "label_point": [round(rp.x, 4), round(rp.y, 4)]}})
        cache["body"] = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                                   separators=(",", ":"))
    resp = json_text(cache["body"], "application/geo+json")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp


def _round(gj: dict) -> dict:
    def r(c):
        if c and isinstance(c[0], (int, float)):
            return [round(c[0], 4), round(c[1], 4)]
        return [r(x) for x in c]

    return {"type": gj["type"], "coordinates": r(gj["coordinates"])}


@bp.app_context_processor
def _offline_context():
    def offline_config() -> dict:
        return {
            "sw": url_for("offline.service_worker"),
            "release": release(),
            "stations": url_for("offline.offline_stations", lang=lang()),
            "places": url_for("offline.offline_places", lang=lang()),
            "lakes": url_for("offline.offline_lakes"),
            "strings": {
                "data_age": _("Data updated %(time)s"),
                "offline": _("Offline"),
                "offline_nearest": _("Offline: nearest stations worked out on this phone from the saved list "
                                     "(straight line)."),
                "offline_places": _("Offline: place search from the saved list."),
                "tiles_failed": _("The map tiles could not load: showing the drawn map."),
                "you_are_in": _("You are in: %(place)s"),
                "near": _("near %(place)s"),
            },
        }

    return {"offline_config": offline_config}


# --------------------------------------------------------------------------------------- OpenAPI
_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}
OPENAPI_PATHS = {
    "/offline/stations.json": {"get": {
        "summary": "Every station for the phone's offline answers: list entry, services bitmask and the open state "
                   "in 15-minute slots for 8 days from today's midnight (Asia/Shanghai)",
        "parameters": [openapi.LANG],
        "responses": {"200": {"description": "{release, slot_start_ms, slot_minutes, patterns, columns, stations}",
                              **_JSON}},
    }},
    "/offline/places.json": {"get": {
        "summary": "The gazetteer with its search keys, for the phone's offline place search and the drawn base map",
        "parameters": [openapi.LANG],
        "responses": {"200": {"description": "{release, places: [{label, kind, lon, lat, rank, keys, ...}]}", **_JSON}},
    }},
    "/offline/lakes.json": {"get": {
        "summary": "Lakes of at least 1 km² (simplified) for the drawn base map",
        "responses": {"200": {"description": "FeatureCollection", **openapi.GEOJSON}},
    }},
}
