"""The finder on foot (issue 13 §3): ``/api/nearest`` ranked by walking distance when a street network is loaded.

:func:`walk_ranked` is the one hook :func:`webmap.api.nearest` calls. Without a network it returns None and
the finder answers as before (straight line, the fast byte path of :mod:`webmap.finder_json`). With one, it asks
the nearest-station index for :data:`CANDIDATE_FACTOR` times ``k`` straight-line candidates (same filters),
measures the walk to each with one bounded search around the user
(:func:`stations.network.finder.rank_by_walk`) and answers the ``k`` nearest walks through the exact slow path
(:func:`webmap.features.feature`), each with ``walk_m`` and ``walk_min`` on streets and
``distance_kind: "network"`` (``"straight"`` for a station beyond the search or off the network, which keeps
its straight-line estimate). ``distance_m`` stays the straight-line distance.
"""

from __future__ import annotations

import math

import numpy as np

from stations import network as N
from webmap.features import feature
from webmap.i18n import lang
from webmap.network_common import current, manifest_payload

#: straight-line candidates per station shown (the walk may reorder them)
CANDIDATE_FACTOR = 3
MAX_CANDIDATES = 60

STRAIGHT_NOTE = "geodesic metres on the WGS-84 ellipsoid (straight line, not a route)"
NETWORK_NOTE = ("ranked by walking distance on the street network (walk_m, walk_min); distance_m is the "
                "straight line (geodesic metres on the WGS-84 ellipsoid)")


def walk_ranked(snap, lon: float, lat: float, k: int, services, open_at, max_km, opened,
                where: np.ndarray | None = None) -> dict | None:
    """The payload additions (``features`` and the network's fields) for a walking ranking, or None without a
    network. The candidates pass the same filters as the straight-line answer (``services``, open at ``open_at``,
    ``max_km`` and the mask ``where``: open at the asked hour, open 24 hours)."""
    net = current()
    if net is None:
        return None
    want = min(max(CANDIDATE_FACTOR * k, k), MAX_CANDIDATES)
    hits = snap.index.query(lon, lat, k=want, services=services, open_at=open_at, max_km=max_km, where=where)
    language = lang()
    base = {"distance_kind": "network", "distance": NETWORK_NOTE, "network": N.describe(net.manifest, language),
            "attribution": manifest_payload(net, language)["attribution"]}
    if not hits:
        return {**base, "ranking_exact": True, "numberReturned": 0, "features": []}
    pos = np.array([h.position for h in hits])
    straight = np.array([h.distance_m for h in hits], float)
    gdf = snap.gdf
    clon = gdf["lon"].to_numpy(float)[pos]
    clat = gdf["lat"].to_numpy(float)[pos]
    ranking = N.rank_by_walk(net, lon, lat, clon, clat, straight, k=k)
    features = []
    for i in ranking.order[:k]:
        p = int(pos[i])
        f = feature(snap, p, bool(opened[p]), origin=(lon, lat), distance_m=float(straight[i]))
        walk = float(ranking.walk_m[i])
        props = f["properties"]
        if math.isfinite(walk):
            props["walk_m"] = round(walk, 1)
            props["walk_min"] = int(math.ceil(walk / N.WALK_M_PER_MIN))
            props["distance_kind"] = "network"
        else:
            props["walk_m"] = None
            props["distance_kind"] = "straight"
        features.append(f)
    return {**base, "ranking_exact": ranking.exact, "numberReturned": len(features), "features": features}
