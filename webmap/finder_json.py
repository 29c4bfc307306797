"""The finder's ``/api/nearest`` answer written from per-station JSON fragments (issue 14 §2: the finder's speed).

Profiled on the demo registry (cProfile, 300 random points in Yunnan), building the five features took three
quarters of the request: each station's properties and labels rebuilt as dicts, the language looked up per field,
two ``urlencode`` calls per station for the navigation links, then the whole answer serialised by ``json.dumps``.
What does not depend on the question is the same for every request of a registry snapshot and language, so it is
serialised once per station (lazily, on first use) and kept with the snapshot:

- the properties before and after ``open_now`` (``id`` … ``hours_text`` and ``status`` … ``updated_at``), the
  feature's ``id`` and ``geometry``;
- the quoted station parts of the navigation links (Amap's ``to``, Baidu's ``destination``, the ``geo:`` URI).

Per request only the question's own parts are written: ``open_now``, ``distance_m``, ``walk_min`` and the links'
origin (quoted once for the request, not once per station). The text is byte for byte what
:func:`webmap.features.feature` serialised by :func:`webmap.responses.dumps` gives (a test compares them over
random questions), because every fragment is written by that same ``dumps``.
"""

from __future__ import annotations

import math
import threading
from urllib.parse import quote_plus, urlencode

from flask_babel import gettext as _

from webmap.features import WALK_KMH, _origin_datums, properties, text
from webmap.responses import dumps

_AMAP = "https://uri.amap.com/navigation?"
_AMAP_TAIL = "&" + urlencode({"mode": "walk", "coordinate": "gaode", "callnative": "1", "src": "yizhan"})
_BAIDU_DIRECTION = "https://api.map.baidu.com/direction?"
_BAIDU_TAIL = "&" + urlencode({"mode": "walking", "region": "云南", "coord_type": "bd09ll", "output": "html",
                               "src": "yizhan"})

# the keys of webmap.features.properties() before and after "open_now", in its order
_BEFORE_OPEN = ("id", "name", "address", "prefecture_adcode", "county_adcode", "host", "host_label", "services",
                "service_labels", "opening_hours", "hours_text")
_AFTER_OPEN = ("status", "status_label", "phone", "source", "demo", "updated_at")


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
        self.after = dumps({k: props[k] for k in _AFTER_OPEN})[1:-1]
        name = props["name"]
        glon, glat = snap.gcj02[pos]
        blon, blat = snap.bd09[pos]
        self.amap_to = "to=" + quote_plus(f"{glon:.6f},{glat:.6f},{name}")
        self.baidu_dest = "&destination=" + quote_plus(f"latlng:{blat:.6f},{blon:.6f}|name:{name}")
        self.geo = props["nav"]["geo"]


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
            nav = dumps({"amap": _AMAP + from_ + st.amap_to + _AMAP_TAIL,
                         "baidu": _BAIDU_DIRECTION + origin_ + st.baidu_dest + _BAIDU_TAIL, "geo": st.geo})
            out.append("".join((
                st.head, ',"properties":{', st.before, ',"open_now":', "true" if opened[h.position] else "false",
                ",", st.after, ',"distance_m":', dumps(round(float(d), 1)),
                ',"walk_min":', str(int(math.ceil(d / 1000.0 / WALK_KMH * 60.0))), ',"nav":', nav, "}}",
            )))
        return out


def _origin_parts(lon: float, lat: float, here: str) -> tuple[str, str]:
    """The quoted origin of the links: Amap's ``from=…&`` and Baidu's ``origin=…``."""
    (oglon, oglat), (oblon, oblat) = _origin_datums(lon, lat)
    return ("from=" + quote_plus(f"{oglon:.6f},{oglat:.6f},{here}") + "&",
            "origin=" + quote_plus(f"latlng:{oblat:.6f},{oblon:.6f}|name:{here}"))


def finder_json(snap) -> FinderJSON:
    """The fragments of ``snap`` (made once per snapshot)."""
    return snap.cached(("finder-json",), lambda: FinderJSON(snap))

