"""HTML pages: ``/`` is the worker finder (map of all stations + the nearest-station finder)."""

from __future__ import annotations

import logging
import os
import time

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import gettext as _

from stations.schema import SERVICES
from webmap.api import outlines_available
from webmap.i18n import lang, pick
from webmap.maps import YUNNAN_BOUNDS, build_map, render_parts, tile_config

log = logging.getLogger(__name__)

bp = Blueprint("views", __name__)


def asset_url(filename: str) -> str:
    """``url_for('static', ...)`` with a ``?v=`` of the file's mtime, so long cache lifetimes are safe."""
    path = os.path.join(current_app.static_folder, filename)
    try:
        version = int(os.path.getmtime(path))
    except OSError:
        version = 0
    return url_for("static", filename=filename, v=version)


@bp.app_context_processor
def _assets():
    return {"asset_url": asset_url}


def js_strings() -> dict[str, str]:
    """Every string the page script shows, translated for the current locale."""
    return {
        "locating": _("Finding your location…"),
        "geo_denied": _("Location permission was refused. Tap the map or type a place instead."),
        "geo_unavailable": _("Your location is not available. Tap the map or type a place instead."),
        "geo_unsupported": _("This browser cannot share its location. Tap the map or type a place instead."),
        "searching": _("Searching…"),
        "no_places": _("No place found with that name."),
        "places_error": _("Place search failed. Please try again."),
        "nearest_error": _("Could not load the nearest stations. Please try again."),
        "stations_error": _("Could not load the stations."),
        "from_here": _("Stations near the point you chose"),
        "from_me": _("Stations near you"),
        "from_place": _("Stations near %(place)s"),
        "my_location": _("My location"),
        "chosen_point": _("Chosen point"),
        "nothing_within": _("No station within %(km)s km matches. The nearest one is %(dist)s away:"),
        "nothing_at_all": _("No station matches these filters."),
        "metres": _("%(n)s m"),
        "km": _("%(n)s km"),
        "walk": _("about %(n)s min walk (straight line)"),
        "open_now": _("Open now"),
        "closed_now": _("Closed now"),
        "hours": _("Hours"),
        "host": _("Host"),
        "phone": _("Phone"),
        "address": _("Address"),
        "services": _("Services"),
        "distance": _("Distance"),
        "navigate": _("Navigate"),
        "amap": _("Amap"),
        "baidu": _("Baidu Maps"),
        "geo": _("Other map app"),
        "show_on_map": _("Show on map"),
        "loading": _("Loading…"),
        "stations_count": _("%(n)s stations"),
        "demo_station": _("Synthetic demo station"),
        "tap_hint": _("Tap the map to search there"),
        "status": _("Status"),
        "zoom_in": _("Zoom in"),
        "zoom_out": _("Zoom out"),
        "close": _("Close"),
        # issue 11 §3: a fresh position with its accuracy, distance only beyond 3 km, the nearest open station
        "from_me_accuracy": _("Stations near you (±%(m)s m)"),
        "distance_only": _("over 3 km: distance only"),
        "nearest_open": _("Nearest open"),
        "hours_unknown": _("Hours unknown"),
        "found": _("%(n)s stations listed, the nearest open one first."),
        "found_at": _("%(n)s stations open at %(time)s listed."),
        "found_24h": _("%(n)s stations open 24 hours listed."),
    }


def _base_map(locale: str):
    """The rendered Folium base map for this app's tiles (built once per language and cached)."""
    tiles = tile_config(current_app.config.get("TILES"), current_app.config.get("TIANDITU_KEY", ""))
    cache = current_app.extensions.setdefault("yizhan_maps", {})
    key = (tiles.name, tuple(l["url"] for l in tiles.layers), locale)
    if key not in cache:
        t0 = time.perf_counter()
        m = build_map(lambda f: url_for("static", filename=f), tiles, lang=locale)
        cache[key] = (tiles, render_parts(m))
        log.info("built the base map (%s tiles) in %.3f s", tiles.name, time.perf_counter() - t0)
    return cache[key]


@bp.get("/")
def finder():
    locale = lang()
    tiles, parts = _base_map(locale)
    services = [{"key": k, "label": pick(v)} for k, v in SERVICES.items()]
    config = {
        "lang": locale,
        "crs": tiles.crs,
        "tiles": tiles.name,
        "k": 5,
        "reach_km": 20,
        "walk_kmh": 4.5,
        "walk_max_km": 3,
        "api": {
            "stations": url_for("api.stations"),
            # the map's station list: the same URL string is preloaded in <head> so the download starts
            # while the scripts load
            "stations_map": url_for("api.stations", fields="columns", limit=10000),
            # the ids of the stations open at an hour the worker chose ("open at 22:00"), for the map's filter
            "stations_ids": url_for("api.stations", fields="ids", limit=10000),
            "station": url_for("api.station", station_id="__ID__"),
            "nearest": url_for("api.nearest"),
            "places": url_for("api.places"),
            "outlines": url_for("api.outlines", level="__LEVEL__"),
        },
        "outline_levels": outlines_available(),
        "counties_zoom": 8,
        "bounds": [list(YUNNAN_BOUNDS[0]), list(YUNNAN_BOUNDS[1])],
        "icons": asset_url("icons.svg"),
        "services": {k: pick(v) for k, v in SERVICES.items()},
        "service_keys": list(SERVICES),  # bit order of the map's "sv" service bitmask
        "strings": js_strings(),
    }
    hours = [f"{h:02d}:00" for h in range(24)]
    resp = current_app.make_response(render_template(
        "finder.html", map_parts=parts, services=services, config=config, tiles=tiles, hours=hours,
    ))
    resp.headers["Cache-Control"] = "no-cache"
    return resp
