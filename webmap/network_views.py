"""The walking network in the web app (blueprint ``network``, issue 13 §2-§3).

``GET /api/network``                      is a street network loaded? its manifest (source, SHA-256, nodes, the
                                          ODbL attribution) or "straight-line distances: no street network loaded"
``GET /api/isochrones``                   ``?id=STATION&minutes=5,10,15`` (one station) or ``?hour=H&weekday=D``
                                          (every station open then; budgeted before the walk) -> GeoJSON, one
                                          (cumulative) polygon per band, with the attribution in every feature
``GET /api/isochrones.<geojson|gpkg>``    the same as a download
``GET /api/route``                        ``?from=lon,lat&to=STATION`` -> the walking route (GeoJSON Feature with a
                                          LineString, ``length_m``, ``minutes``, ``straight_m``)

Without a network every endpoint but ``/api/network`` answers HTTP 409 with the usual JSON error (message in
the page's language, parameter ``distance``); nothing is ever drawn from straight lines instead.

The texts, :func:`~webmap.network_common.require_network` and :func:`~webmap.network_common.distance_kind`
(what the other modules use to honour ``distance=network``) are in :mod:`webmap.network_common`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from flask import Blueprint, jsonify

from stations import coverage as C
from stations import network as N
from stations.errors import InputError, LimitError
from stations.limits import LIMITS
from webmap import get_store, jobs, openapi
from webmap.network_common import (page_lang, current, manifest_payload, network_key, pick, require_network,
                                   status_payload)
from webmap.params import Params, choice
from webmap.responses import attachment, geojson

bp = Blueprint("network", __name__)

# ------------------------------------------------------------------------------------------- endpoints


@bp.get("/api/network")
def api_network():
    resp = jsonify(status_payload())
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _station_point(snap, sid: str) -> tuple[float, float]:
    pos = snap.position.get(sid)
    if pos is None:
        raise InputError(f"no station with id {sid[:80]!r}", param="id", status=404)
    row = snap.records[pos]
    return float(row["lon"]), float(row["lat"])


def estimate_reach_nodes(net, lon, lat, limit_m: float) -> int:
    """Street nodes within ``limit_m`` (straight line, an upper bound of a walk's reach) of any of the points:
    the size of an isochrone's work, counted with the network's k-d tree before any walk."""
    if len(lon) == 0:
        return 0
    xy = net.to_metric(lon, lat)
    tree, _, _ = net._index()
    seen = np.zeros(tree.n, dtype=bool)
    for hits in tree.query_ball_point(xy, limit_m):
        seen[hits] = True
    return int(seen.sum())


def _isochrones():
    """(GeoDataFrame, file stem) for the request's isochrone question."""
    q = Params.query()
    net = require_network("id")
    sid = q.text("id")
    minutes = N.parse_minutes(q.text("minutes", "5,10,15"))
    hour, weekday = q.hour(), q.weekday()
    snap = get_store().snapshot()
    if sid is not None:
        if hour is not None:
            raise InputError("give id (one station) or hour (every station open then), not both", param="hour")
        lon, lat = _station_point(snap, sid)
        key = ("isochrones", *network_key(net), sid, minutes)
        stem = f"isochrones-{sid}"
        build = lambda: N.isochrones(net, [lon], [lat], minutes=minutes, label=sid)  # noqa: E731
    else:
        if hour is None:
            raise InputError("give id (a station) or hour (every station open at that hour)", param="id")
        act = C.active_stations(snap.gdf, hour=hour, weekday=weekday)
        slon, slat = C.lonlat(act)
        top = N.minutes_to_m(max(minutes))
        limit = LIMITS["isochrone_nodes"]
        nodes = estimate_reach_nodes(net, slon, slat, top)
        if nodes > limit.hi:
            raise LimitError(f"the isochrones of the {len(act):,} stations open at {hour}:00 reach about {nodes:,} "
                             f"street nodes, over the limit of {int(limit.hi):,} (isochrone_nodes) of a web request; "
                             f"ask for fewer minutes, one station, or use `yizhan network isochrones --all`",
                             param="minutes")
        key = ("isochrones-all", *network_key(net), hour, weekday, minutes)
        stem = f"isochrones-h{hour:02d}-d{weekday}"
        label = f"open at {hour:02d}:00, weekday {weekday}"
        build = lambda: N.isochrones(net, slon, slat, minutes=minutes, label=label)  # noqa: E731
    return snap.cached(key, build), stem


def _features(gdf) -> dict:
    body = json.loads(gdf.to_json(drop_id=True))
    body.pop("crs", None)
    return body


@bp.get("/api/isochrones")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def api_isochrones():
    gdf, _ = _isochrones()
    body = _features(gdf)
    net = current()
    body["attribution"] = manifest_payload(net, page_lang())["attribution"]
    body["network"] = N.describe(net.manifest, page_lang())
    return geojson(body)


@bp.get("/api/isochrones.<fmt>")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def download_isochrones(fmt: str):
    choice("format", fmt, ("geojson", "gpkg"))
    gdf, stem = _isochrones()
    with tempfile.TemporaryDirectory() as tmp:
        out = N.export_isochrones(gdf, Path(tmp) / f"x.{fmt}", fmt)
        data = out.read_bytes()
    return attachment(data, fmt, f"{stem}.{fmt}")


def _lonlat_pair(text: str | None, name: str) -> tuple[float, float]:
    if text is None:
        raise InputError(f"{name} is required: lon,lat in WGS-84 degrees", param=name)
    parts = text.split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"{name} must be lon,lat in WGS-84 degrees, got {text[:40]!r}", param=name) from None
    if not (LIMITS["lon"].contains(lon) and LIMITS["lat"].contains(lat)):
        raise InputError(f"{name} must be lon,lat within -180..180, -90..90, got {text[:40]!r}", param=name)
    return lon, lat


@bp.get("/api/route")
def api_route():
    q = Params.query()
    lon, lat = _lonlat_pair(q.text("from"), "from")
    sid = q.text("to")
    if sid is None:
        raise InputError("to is required: a station id", param="to")
    net = require_network("to")
    snap = get_store().snapshot()
    pos = snap.position.get(sid)
    if pos is None:
        raise InputError(f"no station with id {sid[:80]!r}", param="to", status=404)
    row = snap.records[pos]
    route = net.route(lon, lat, float(row["lon"]), float(row["lat"]))
    if route is None:
        raise InputError(pick(("街道网络中没有步行路线连接这两处", "no walk joins these two points on the street network")),
                         param="to", status=404)
    feat = route.to_geojson()
    feat["properties"].update({"to": sid, "name": str(row["name"]), "distance_kind": "network",
                               "attribution": manifest_payload(net, page_lang())["attribution"]})
    resp = geojson(feat)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


# ------------------------------------------------------------------------------------------- OpenAPI

_P = openapi.param
_ERR = openapi.PARAM_ERROR
_NO_NET = {**_ERR, "description": "no street network is loaded (message in the page's language)"}
_ISO_PARAMS = [
    _P("id", description="a station id (or give hour for every station open then)"),
    _P("minutes", schema={"type": "string", "default": "5,10,15"}, description="bands in minutes at 4.5 km/h (1-60, at most 6)"),
    openapi.limited("hour", LIMITS["hour"], "integer"), openapi.limited("weekday", LIMITS["weekday"], "integer"),
    openapi.LANG,
]

OPENAPI_PATHS = {
    "/api/network": {"get": {
        "summary": "Whether a street network is loaded, its manifest and ODbL attribution, or the straight-line note",
        "parameters": [openapi.LANG],
        "responses": {"200": {"description": "{loaded, distance_kind, status, manifest, walk_kmh, minutes, distance_m}"}}}},
    "/api/isochrones": {"get": {
        "summary": "Walking isochrones (cumulative polygons per band) of a station or of every station open at an hour",
        "parameters": _ISO_PARAMS,
        "responses": {"200": {"description": "FeatureCollection: label, minutes, distance_m, stations, area_km2, "
                                             "network, attribution", **openapi.GEOJSON},
                      "400": _ERR, "404": _ERR, "409": _NO_NET, "413": openapi.OVER_BUDGET}}},
    "/api/isochrones.{fmt}": {"get": {
        "summary": "Download the isochrones (GeoJSON or GeoPackage, attribution in every feature)",
        "parameters": [_P("fmt", "path", required=True, schema={"type": "string", "enum": ["geojson", "gpkg"]}),
                       *_ISO_PARAMS],
        "responses": {"200": {"description": "the file"}, "400": _ERR, "409": _NO_NET, "413": openapi.OVER_BUDGET}}},
    "/api/route": {"get": {
        "summary": "The shortest walk on the street network from a point to a station",
        "parameters": [_P("from", required=True, schema={"type": "string"}, description="lon,lat (WGS-84)"),
                       _P("to", required=True, schema={"type": "string"}, description="station id"), openapi.LANG],
        "responses": {"200": {"description": "Feature: LineString, length_m, minutes, straight_m", **openapi.GEOJSON},
                      "400": _ERR, "404": _ERR, "409": _NO_NET}}},
}
