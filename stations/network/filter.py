"""Which OpenStreetMap ways a pedestrian may walk: the filter behind the walking graph.

The rules follow OSMnx's ``network_type="walk"`` filter (the reference most street-network studies use),
adapted to China's road law and to outdoor workers on foot. Every decision is one row of :data:`HIGHWAY`
plus the tag rules below, applied in this order by :func:`walkable`:

1. The way must carry ``highway=*``; ``route=ferry`` and other non-highway ways are never walked (a ferry
   crossing is a timetable, not a walk, and its waiting time is unknown).
2. ``area=yes`` is dropped: the outline of a square (``highway=pedestrian`` + ``area=yes``) is not a path
   across it, and walking its perimeter would overstate distances (OSMnx does the same).
3. The ``highway`` value is looked up in :data:`HIGHWAY`:

   * ``keep``: walkable unless a tag rule below removes it;
   * ``foot``: walkable only when ``foot`` (or a sidewalk) explicitly allows pedestrians
     (``cycleway``: in OSM a cycleway without ``foot=*`` does not promise a footpath; the conservative
     choice underestimates coverage rather than flattering it);
   * ``drop``: never walkable, whatever the other tags say (``motorway``: pedestrians are barred from
     expressways by the Road Traffic Safety Law of the PRC, art. 67; ``construction``, ``proposed``,
     ``raceway``, ``bus_guideway`` ...).

4. ``foot=no``, ``foot=private`` and ``foot=use_sidepath`` (the pedestrians' way is mapped separately)
   drop a way; ``foot=yes|designated|permissive|destination|delivery|customers`` keeps it against the
   ``access`` and ``motorroad`` rules below.
5. ``access=no|private`` (or ``service=private``) drops a way unless ``foot`` allows it; ``access`` values
   such as ``destination``, ``delivery`` and ``customers`` are kept (couriers walk there).
6. ``motorroad=yes`` (机动车专用路: urban expressways mapped as ``trunk`` or ``primary``) drops a way
   unless ``foot`` allows it.

Sidewalks: a road with ``sidewalk=both|left|right|yes`` (or ``sidewalk:left|right|both=yes``) is walked
along its centre line; ``sidewalk=separate`` roads are kept too (their footways are mapped and kept as
well; the road's centre line joins them at crossings as pedestrians do). ``sidewalk=no`` does not remove a
road: walking on the verge is legal where no sidewalk exists. Steps (``highway=steps``) and footways
count by their length like any other way; there is no slope or stairs penalty (the extract carries no
elevation) and no turn or crossing cost. ``oneway`` is ignored: pedestrians walk both ways.

:data:`FILTER_VERSION` changes whenever these rules change, so a stored network built under older rules
is rebuilt from the same extract.
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["HIGHWAY", "FILTER_VERSION", "walkable", "highway_class", "CLASS_NAMES"]

#: bump whenever a rule below changes (part of the stored network's reuse key)
FILTER_VERSION = "1"

#: highway value -> ``keep`` | ``foot`` (only with an explicit foot permission or sidewalk) | ``drop``
HIGHWAY: dict[str, str] = {
    # paths made for walking
    "footway": "keep", "pedestrian": "keep", "path": "keep", "steps": "keep", "corridor": "keep",
    "living_street": "keep", "track": "keep", "bridleway": "keep", "crossing": "keep", "elevator": "keep",
    # streets: walked on the sidewalk or the verge
    "residential": "keep", "service": "keep", "unclassified": "keep", "road": "keep",
    "tertiary": "keep", "tertiary_link": "keep", "secondary": "keep", "secondary_link": "keep",
    "primary": "keep", "primary_link": "keep", "trunk": "keep", "trunk_link": "keep",
    # only with an explicit foot permission or a sidewalk
    "cycleway": "foot", "busway": "foot",
    # never
    "motorway": "drop", "motorway_link": "drop", "motorway_junction": "drop", "bus_guideway": "drop",
    "raceway": "drop", "construction": "drop", "proposed": "drop", "planned": "drop", "abandoned": "drop",
    "razed": "drop", "disused": "drop", "platform": "drop", "escape": "drop", "via_ferrata": "drop",
    "no": "drop", "emergency_bay": "drop", "rest_area": "drop", "services": "drop",
}

FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "destination", "delivery", "customers", "official"})
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath", "discouraged"})
ACCESS_FORBIDDEN = frozenset({"no", "private"})
SIDEWALK_YES = frozenset({"both", "left", "right", "yes", "separate"})

#: small integer classes stored per edge (for display and statistics; the walk does not weigh them)
CLASS_NAMES: tuple[str, ...] = ("other", "footway", "steps", "path", "residential", "service", "major")
_CLASS = {
    "footway": 1, "pedestrian": 1, "corridor": 1, "crossing": 1, "living_street": 1, "elevator": 1,
    "steps": 2,
    "path": 3, "track": 3, "bridleway": 3, "cycleway": 3,
    "residential": 4, "unclassified": 4, "road": 4,
    "service": 5,
    "tertiary": 6, "tertiary_link": 6, "secondary": 6, "secondary_link": 6, "primary": 6, "primary_link": 6,
    "trunk": 6, "trunk_link": 6, "busway": 6,
}


def _has_sidewalk(tags: Mapping[str, str]) -> bool:
    if tags.get("sidewalk", "") in SIDEWALK_YES:
        return True
    return any(tags.get(k, "") in ("yes", "separate") for k in ("sidewalk:both", "sidewalk:left", "sidewalk:right"))


def walkable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these OSM tags belongs to the walking graph (the rules of the module docstring)."""
    hw = tags.get("highway")
    if hw is None or tags.get("area") == "yes":
        return False
    rule = HIGHWAY.get(hw)
    if rule is None or rule == "drop":
        return False
    foot = tags.get("foot", "")
    if foot in FOOT_FORBIDDEN:
        return False
    foot_ok = foot in FOOT_ALLOWED
    if rule == "foot" and not (foot_ok or _has_sidewalk(tags)):
        return False
    if not foot_ok:
        if tags.get("access", "") in ACCESS_FORBIDDEN or tags.get("service", "") == "private":
            return False
        if tags.get("motorroad") == "yes":
            return False
    return True


def highway_class(tags: Mapping[str, str]) -> int:
    """The stored edge class (an index into :data:`CLASS_NAMES`)."""
    return _CLASS.get(tags.get("highway", ""), 0)
