"""The finder's ``/api/nearest`` answer written from per-station JSON fragments (issue 14 §2: the finder's speed).

Profiled on the demo registry (cProfile, 300 random points in Yunnan), building the five features took three
quarters of the request: each station's properties and labels rebuilt as dicts, the language looked up per field,
two ``urlencode`` calls per station for the navigation links, then the whole answer serialised by ``json.dumps``.
What does not depend on the question is the same for every request of a registry snapshot and language, so it is
serialised once per station (lazily, on first use) and kept with the snapshot:

- the properties before and after ``open_now`` (``id`` … ``hours_text`` and ``status`` … ``updated_at``), the
  feature's ``id`` and ``geometry``;
- the quoted station parts of the navigation links (Amap's ``to``, Baidu's ``destination``, the ``geo:`` URI).

Per request only the question's own parts are written: ``open_now``, ``distance_m``, ``walk_min`` (within 3 km) and the links'
origin (quoted once for the request, not once per station). The text is byte for byte what
:func:`webmap.features.feature` serialised by :func:`webmap.responses.dumps` gives (a test compares them over
random questions), because every fragment is written by that same ``dumps``.
"""

from __future__ import annotations

import math
import threading
from urllib.parse import quote_plus, urlencode

from flask_babel import gettext as _

from webmap.features import properties, text, walk_minutes
from webmap.responses import dumps

_AMAP = "https://uri.amap.com/navigation?"
_AMAP_TAIL = "&" + urlencode({"mode": "walk", "coordinate": "gaode", "callnative": "1", "src": "yizhan"})
_BAIDU_DIRECTION = "https://api.map.baidu.com/direction?"
_BAIDU_TAIL = "&" + urlencode({"mode": "walking", "region": "云南", "coord_type": "bd09ll", "output": "html",
                               "src": "yizhan"})

# the keys of webmap.features.properties() before and after "open_now", in its order
_BEFORE_OPEN = ("id", "name", "address", "prefecture_adcode", "county_adcode", "host", "host_label", "services",
                "service_labels", "opening_hours", "hours_text")
_AFTER_OPEN = ("status", "status_label", "phone", "source", "demo", "updated_at", "hours_unknown")
# and then whatever else properties() carries before distance_m/walk_min/nav (issue 10: last_verified, reports)
_PER_REQUEST = ("open_now", "distance_m", "walk_min", "nav")


class _Station:
    """One station's fixed fragments for one language."""

    __slots__ = ("head", "before", "after", "amap_to", "baidu_dest", "geo")

    def __init__(self, snap, pos: int):
        props = properties(snap, pos, False)  # the one definition of the properties; nav and open_now re-made below
        assert list(props)[: len(_BEFORE_OPEN)] == list(_BEFORE_OPEN), "features.properties() changed its keys"
        row = snap.records[pos]
        head = {"type": "Feature", "id": text(row, "id"),
                "geometry": {"type": "Point", "coordinates": [round(float(row["lon"]), 6), round(float(row["lat"]), 6)]}}
        self.head = dumps(head)[:-1]  # '{"type":"Feature","id":...,"geometry":{...}'
        self.before = dumps({k: props[k] for k in _BEFORE_OPEN})[1:-1]
        after = list(_AFTER_OPEN) + [k for k in props if k not in _BEFORE_OPEN and k not in _AFTER_OPEN
                                      and k not in _PER_REQUEST]
        self.after = dumps({k: props[k] for k in after})[1:-1]
        name = props["name"]
        glon, glat = snap.gcj02[pos]
        blon, blat = snap.bd09[pos]
        self.amap_to = "to=" + quote_plus(f"{glon:.6f},{glat:.6f},{name}")
        self.baidu_dest = "&destination=" + quote_plus(f"latlng:{blat:.6f},{blon:.6f}|name:{name}")
        self.geo = dumps(props["nav"]["geo"])


class FinderJSON:
    """The fragments of one registry snapshot (``snap.cached(("finder-json",), ...)``), per language, made on
    first use of each station."""

    def __init__(self, snap):
        self.snap = snap
        self._by_lang: dict[str, dict[int, _Station]] = {"zh": {}, "en": {}}
        self._lock = threading.Lock()

    def station(self, pos: int, language: str) -> _Station:
        table = self._by_lang.setdefault(language, {})
        st = table.get(pos)
        if st is None:
            st = _Station(self.snap, pos)  # in the request's language (properties() reads it)
            with self._lock:
                table.setdefault(pos, st)
        return st

    def features(self, hits, language: str, opened, origin) -> list[str]:
        """The features of :func:`webmap.features.feature` for ``hits`` (:class:`stations.nearest.Hit`, with the
        query point ``origin`` as (lon, lat)) as JSON texts; ``opened`` are the snapshot's open-now flags."""
        if not hits:
            return []
        from_, origin_ = _origin_parts(*origin, _("My location"))
        out = []
        for h in hits:
            st = self.station(h.position, language)
            d = h.distance_m
            walk = walk_minutes(d)
            out.append("".join((
                st.head, ',"properties":{', st.before, ',"open_now":', "true" if opened[h.position] else "false",
                ",", st.after, ',"distance_m":', repr(round(float(d), 1)),  # json writes floats as repr does
                "" if walk is None else ',"walk_min":' + str(walk),
                # the links are ASCII without quotes or backslashes (percent-encoded), so they are their own JSON
                ',"nav":{"amap":"', _AMAP, from_, st.amap_to, _AMAP_TAIL, '","baidu":"', _BAIDU_DIRECTION, origin_,
                st.baidu_dest, _BAIDU_TAIL, '","geo":', st.geo, "}}}",
            )))
        return out


def _origin_parts(lon: float, lat: float, here: str) -> tuple[str, str]:
    """The quoted origin of the links: Amap's ``from=…&`` and Baidu's ``origin=…``."""
    oglon, oglat = _gcj02(lon, lat)
    oblon, oblat = _bd09(oglon, oglat)
    return ("from=" + quote_plus(f"{oglon:.6f},{oglat:.6f},{here}") + "&",
            "origin=" + quote_plus(f"latlng:{oblat:.6f},{oblon:.6f}|name:{here}"))


# One point's GCJ-02 and BD-09, in plain floating point: the formulas of stations.coords (which works on numpy
# arrays, where one point costs a hundred microseconds of array set-up) for the one query point of a request.
# tests/test_finder_json.py checks them against stations.coords on random points in and around China.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_sin, _cos, _sqrt, _pi = math.sin, math.cos, math.sqrt, math.pi


def _gcj02(lon: float, lat: float) -> tuple[float, float]:
    if lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271:
        return lon, lat
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * _sqrt(abs(x))
    dlat += (20.0 * _sin(6.0 * x * _pi) + 20.0 * _sin(2.0 * x * _pi)) * 2.0 / 3.0
    dlat += (20.0 * _sin(y * _pi) + 40.0 * _sin(y / 3.0 * _pi)) * 2.0 / 3.0
    dlat += (160.0 * _sin(y / 12.0 * _pi) + 320.0 * _sin(y * _pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * _sqrt(abs(x))
    dlon += (20.0 * _sin(6.0 * x * _pi) + 20.0 * _sin(2.0 * x * _pi)) * 2.0 / 3.0
    dlon += (20.0 * _sin(x * _pi) + 40.0 * _sin(x / 3.0 * _pi)) * 2.0 / 3.0
    dlon += (150.0 * _sin(x / 12.0 * _pi) + 300.0 * _sin(x / 30.0 * _pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * _pi
    magic = _sin(rad_lat)
    magic = 1.0 - _EE * magic * magic
    sqrt_magic = _sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * _pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * _cos(rad_lat) * _pi)
    return lon + dlon, lat + dlat


def _bd09(glon: float, glat: float) -> tuple[float, float]:
    z = _sqrt(glon * glon + glat * glat) + 0.00002 * _sin(glat * _X_PI)
    theta = math.atan2(glat, glon) + 0.000003 * _cos(glon * _X_PI)
    return z * _cos(theta) + 0.0065, z * _sin(theta) + 0.006


def finder_json(snap) -> FinderJSON:
    """The fragments of ``snap`` (made once per snapshot)."""
    # the report badges change without a new snapshot (Snapshot.set_reports): their version is part of the key
    return snap.cached(("finder-json", snap.versions.get("reports")), lambda: FinderJSON(snap))
