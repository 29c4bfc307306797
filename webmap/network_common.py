"""What every module of the walking network in the web app shares (issue 13): the loaded network, the
``distance=straight|network`` choice, the "no street network" texts in both languages and the status payload.

Imported by :mod:`webmap.params` (the ``distance`` parameter), :mod:`webmap.network_views`,
:mod:`webmap.network_state` and :mod:`webmap.network_finder`; it imports no other module of the app but the
i18n layer, so it sits below all of them.
"""

from __future__ import annotations

from flask import current_app

from stations import network as N
from stations.errors import InputError
from stations.limits import LIMITS
from webmap.i18n import lang

#: (zh, en) texts of this module (kept here rather than in the catalogue: they are also used outside requests)
NO_NETWORK = ("直线距离：未加载街道网络", N.NO_NETWORK)
NEED_NETWORK = (
    "未加载街道网络：按步行距离计算需要部署者先用 `yizhan network build EXTRACT.osm.pbf` 建立路网；"
    "直线距离仍可使用（distance=straight）",
    "no street network is loaded: walking distances need one built by the deployer with "
    "`yizhan network build EXTRACT.osm.pbf`; straight-line distances remain available (distance=straight)",
)
WALK_LABEL = ("15分钟步行（街道网络）", "15 minutes' walk (street network)")
STRAIGHT_LABEL = ("直线距离", "straight line")
DISTANCE_KINDS = ("straight", "network")


def pick(pair: tuple[str, str], language: str | None = None) -> str:
    return pair[1] if (language or page_lang()) == "en" else pair[0]


def page_lang() -> str:
    try:
        return lang()
    except Exception:  # noqa: BLE001 - outside a request (CLI): Chinese first
        return "zh"


def current():
    """The loaded :class:`~stations.network.WalkNetwork` or None (an app may pin one: ``NETWORK`` in its config)."""
    try:
        pinned = current_app.config.get("NETWORK")
    except RuntimeError:
        pinned = None
    return pinned if pinned is not None else N.load_network()


def require_network(param: str = "distance"):
    """The loaded network, or HTTP 409 saying that none is loaded (in the request's language)."""
    net = current()
    if net is None:
        raise InputError(pick(NEED_NETWORK), param=param, status=409)
    return net


def distance_kind(params) -> str:
    """``distance=straight|network`` (default straight); ``network`` without a network is a 409, never a
    silent fallback to straight lines."""
    kind = params.choice("distance", DISTANCE_KINDS, "straight")
    if kind == "network":
        require_network()
    return kind


def network_key(net) -> tuple:
    """What identifies a network in a cache key (a rebuilt network is another network)."""
    m = net.manifest
    return (m.get("sha256"), m.get("built_at"), m.get("filter_version"), net.n_nodes)


def manifest_payload(net, language: str) -> dict:
    m = net.manifest
    return {
        "source": m.get("source"), "sha256": m.get("sha256"), "nodes": m.get("nodes", net.n_nodes),
        "edges": m.get("edges", net.n_edges), "length_km": m.get("length_km"), "bbox": m.get("bbox"),
        "built_at": m.get("built_at"), "synthetic": bool(m.get("synthetic")),
        "share_in_yunnan": m.get("share_in_yunnan"),
        "attribution": m.get("attribution_zh" if language == "zh" else "attribution") or m.get("attribution"),
        "attribution_en": m.get("attribution"), "attribution_zh": m.get("attribution_zh"),
    }


def status_payload(language: str | None = None) -> dict:
    language = language or page_lang()
    net = current()
    body = {"loaded": net is not None, "walk_kmh": N.WALK_SPEED_KMH, "minutes": N.DEFAULT_MINUTES,
            "distance_m": N.DEFAULT_DISTANCE_M}
    if net is None:
        body.update({"distance_kind": "straight", "status": pick(NO_NETWORK, language), "manifest": None})
    else:
        body.update({"distance_kind": "network", "status": N.describe(net.manifest, language),
                     "manifest": manifest_payload(net, language)})
    return body



def default_radius(distance: str, given: float | None) -> float:
    """The radius of a question: as given, else 1,000 m in straight lines and 1,125 m (15 minutes) on foot."""
    if given is not None:
        return given
    return float(N.DEFAULT_DISTANCE_M) if distance == "network" else float(LIMITS["radius_m"].default)
