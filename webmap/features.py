"""Stations of a registry snapshot as GeoJSON features for the finder: properties with labels in the request's
language, open-now flags, walking distance and time, and navigation hand-off links.

Coordinates are WGS-84 (lon, lat) degrees; ``distance_m`` is geodesic metres on the WGS-84 ellipsoid and
``walk_min`` the straight-line walk at :data:`WALK_KMH`, given only within :data:`WALK_MAX_M` (beyond it walking is
not a plausible way to get there, so the finder shows the distance only). Navigation links carry GCJ-02 (Amap) and BD-09 (Baidu)
coordinates, as those apps expect.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote, urlencode

import numpy as np
from flask_babel import gettext as _

from stations.coords import gcj02_to_bd09, wgs84_to_bd09, wgs84_to_gcj02
from stations.hours import OpeningHours
from stations.schema import DEMO_SOURCE, HOSTS, SERVICES, STATUSES
from webmap.i18n import lang
from webmap.reports import row_extras

#: walking speed for ``walk_min`` (km/h)
WALK_KMH = 4.5
#: ``walk_min`` only up to this distance (metres): beyond it, distance only (issue 11 §3)
WALK_MAX_M = 3000


def walk_minutes(distance_m: float) -> int | None:
    """Straight-line walking minutes at :data:`WALK_KMH`, or None beyond :data:`WALK_MAX_M`."""
    if distance_m > WALK_MAX_M:
        return None
    return int(math.ceil(distance_m / 1000.0 / WALK_KMH * 60.0))


def open_flags(snap, at: datetime) -> np.ndarray:
    """Open-now flags for every station of the snapshot at ``at`` (status open and within hours), memoised."""
    return snap.cached(("open", at), lambda: snap.index.open_mask(at))


def open_24h_flags(snap) -> np.ndarray:
    """Which stations of the snapshot are open (status) all day every day, public holidays included, memoised."""
    def build():
        from stations.hours import open_24_7_mask

        gdf = snap.gdf
        if not len(gdf):
            return np.zeros(0, dtype=bool)
        status_open = (gdf["status"].astype(str) == "open").to_numpy() if "status" in gdf else np.ones(len(gdf), bool)
        hours = gdf["hours_json"].tolist() if "hours_json" in gdf else [None] * len(gdf)
        return status_open & np.asarray(open_24_7_mask(hours), dtype=bool)
    return snap.cached(("open-24h",), build)


def describe_hours(hours_json: str, text: str) -> str:
    """The opening hours in the current language, normalised (the raw text when they cannot be read)."""
    return _describe_hours(hours_json, text, lang())


@lru_cache(maxsize=4096)
def _describe_hours(hours_json: str, text: str, language: str) -> str:
    try:
        return OpeningHours.from_json(hours_json).describe(language)
    except Exception:  # noqa: BLE001 - hours are optional decoration; the raw text is always right
        return text


@lru_cache(maxsize=4096)
def hours_unknown(hours_json: str) -> bool:
    """Whether the hours are unknown: "营业时间不详", missing or unreadable (shown as "hours unknown", never as open
    and not as "closed now" either)."""
    try:
        return OpeningHours.from_json(hours_json).is_unknown
    except Exception:  # noqa: BLE001 - unreadable stored hours are unknown hours
        return True


def nav_links(lon: float, lat: float, name: str, address: str = "",
              origin: tuple[float, float] | None = None,
              gcj: tuple[float, float] | None = None, bd: tuple[float, float] | None = None) -> dict[str, str]:
    """Navigation hand-off links: Amap (GCJ-02, walking), Baidu (BD-09) and a WGS-84 ``geo:`` URI.

    ``gcj``/``bd`` are the station's precomputed (lon, lat) in those datums (computed here when absent).
    """
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
    """((gcj lon, lat), (bd lon, lat)) of a query origin: computed once per query, not once per result (BD-09 from
    the GCJ-02 just computed, as :func:`stations.coords.wgs84_to_bd09` does)."""
    gcj = wgs84_to_gcj02(lon, lat)
    return gcj, gcj02_to_bd09(*gcj)


def text(row: dict, key: str) -> str:
    """A registry value as text ("" for missing values)."""
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def properties(snap, pos: int, open_now: bool, *, origin=None, distance_m: float | None = None) -> dict:
    """The full properties of the station at row ``pos`` of ``snap``; with ``distance_m`` also ``walk_min``."""
    row = snap.records[pos]
    en = lang() == "en"

    def pick(pair):  # the label for the request's language, looked up once per row
        return pair[1] if en else pair[0]

    host = text(row, "host")
    status = text(row, "status")
    services = snap.services[pos]
    name = text(row, "name")
    address = text(row, "address")
    source = text(row, "source")
    props = {
        "id": text(row, "id"),
        "name": name,
        "address": address,
        "prefecture_adcode": text(row, "prefecture_adcode"),
        "county_adcode": text(row, "county_adcode"),
        "host": host,
        "host_label": pick(HOSTS[host]) if host in HOSTS else host,
        "services": services,
        "service_labels": [pick(SERVICES[s]) for s in services],
        "opening_hours": text(row, "opening_hours"),
        "hours_text": describe_hours(text(row, "hours_json"), text(row, "opening_hours")),
        "open_now": bool(open_now),
        "status": status,
        "status_label": pick(STATUSES[status]) if status in STATUSES else status,
        "phone": text(row, "phone"),
        "source": source,
        "demo": source == DEMO_SOURCE,
        "updated_at": text(row, "updated_at"),
        "hours_unknown": hours_unknown(text(row, "hours_json")),
    }
    props.update(row_extras(snap, props["id"], row))  # issue 10: last_verified and the open-reports badge
    if distance_m is not None:
        props["distance_m"] = round(float(distance_m), 1)
        walk = walk_minutes(distance_m)
        if walk is not None:
            props["walk_min"] = walk
    props["nav"] = nav_links(float(row["lon"]), float(row["lat"]), name, address, origin,
                             gcj=tuple(snap.gcj02[pos]), bd=tuple(snap.bd09[pos]))
    return props


def point(snap, pos: int) -> dict:
    """The station's GeoJSON Point (WGS-84, 6 decimals)."""
    row = snap.records[pos]
    return {"type": "Point", "coordinates": [round(float(row["lon"]), 6), round(float(row["lat"]), 6)]}


def feature(snap, pos: int, open_now: bool, *, fid: str | None = None, origin=None,
            distance_m: float | None = None) -> dict:
    """The station at row ``pos`` as a GeoJSON Feature with :func:`properties`."""
    return {"type": "Feature", "id": text(snap.records[pos], "id") if fid is None else fid,
            "geometry": point(snap, pos),
            "properties": properties(snap, pos, open_now, origin=origin, distance_m=distance_m)}
