"""The OpenAPI 3.1 document served at ``/api/openapi.json``, built in one place.

Each blueprint module declares its own operations in a module-level ``OPENAPI_PATHS`` (path -> operations),
written with the helpers here: :func:`param`, :func:`limited` (a number or integer whose range and default
come from :data:`stations.limits.LIMITS`, as the parser's do), the shared parameters and the error responses.
:func:`document` merges the declarations of the registered blueprints, in the order they are registered,
under the document's info and components. Nothing here imports a blueprint at import time, and nothing
mutates a shared document.
"""

from __future__ import annotations

import importlib

from stations.limits import LIMITS, Limit
from stations.schema import SERVICE_KEYS

INFO = {
    "title": "yizhan API",
    "version": "1.0.0",
    "description": "Yunnan trade-union rest stations (工会驿站). Coordinates are WGS-84 (lon, lat); "
                   "distances are geodesic metres on the WGS-84 ellipsoid.",
}

COMPONENTS = {"schemas": {"Error": {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "parameter": {"type": ["string", "null"]}, "message": {"type": "string"}}}},
}}}

_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
#: a 400 answer (the finder's endpoints)
ERROR = {"description": "bad parameter", "content": _ERROR_CONTENT}
#: a 400 answer (the planner's and the recommendations' endpoints)
PARAM_ERROR = {"description": "bad parameter (named in error.parameter)", "content": _ERROR_CONTENT}
#: a request over a budget of stations.limits, refused before the work (the message names the limit and what to do)
OVER_BUDGET = {"description": "over a budget (stations.limits, named in error.message) before any heavy work: "
                              "ask for less, as the message says", "content": _ERROR_CONTENT}
#: a GeoJSON body
GEOJSON = {"content": {"application/geo+json": {"schema": {"type": "object"}}}}


def param(name: str, where: str = "query", schema: dict | None = None, description: str = "",
          required: bool = False, explode: bool | None = None) -> dict:
    """One parameter object (``schema`` default: a string)."""
    p = {"name": name, "in": where, "required": required, "description": description,
         "schema": schema or {"type": "string"}}
    if explode is not None:
        p["explode"] = explode
    return p


def _value(x: float, kind: str):
    return int(x) if kind == "integer" else x


def limited(name: str, limit: Limit, kind: str = "number", description: str = "", required: bool = False,
            default: bool = True) -> dict:
    """A number (or ``kind="integer"``) parameter bounded by ``limit``; its default is the limit's unless
    ``default=False``."""
    schema = {"type": kind, "minimum": _value(limit.lo, kind), "maximum": _value(limit.hi, kind)}
    if default and limit.default is not None:
        schema["default"] = _value(limit.default, kind)
    return param(name, schema=schema, description=description, required=required)


# --------------------------------------------------------------------------------------- shared parameters
SERVICE = param("service", schema={"type": "array", "items": {"type": "string", "enum": list(SERVICE_KEYS)}},
                description="required service; repeat (or comma-separate) to require several", explode=True)
OPEN_NOW = param("open_now", schema={"type": "boolean"}, description="only stations open now (status and hours)")
AT = param("at", schema={"type": "string", "format": "date-time"},
           description="the time for open_now (ISO 8601, naive = Asia/Shanghai); default now")
LANG = param("lang", schema={"type": "string", "enum": ["zh", "en"]}, description="labels language")

RADIUS = limited("radius", LIMITS["radius_m"],
                 description="service radius in metres (geodesic); for towns when rural_radius is given")
RURAL_RADIUS = limited("rural_radius", LIMITS["radius_m"], default=False,
                       description="service radius in metres for rural demand cells (area class rural)")
HOUR = limited("hour", LIMITS["hour"], "integer",
               description="count only stations open at this hour (Asia/Shanghai); omitted: status only")
WEEKDAY = limited("weekday", LIMITS["weekday"], "integer", description="day of week for hour (0 = Monday)")
DEMAND = param("demand", description="id of an uploaded demand set (POST /api/coverage/demand); omitted: the bundled model")
DISTANCE = param("distance", schema={"type": "string", "enum": ["straight", "network"], "default": "straight"},
                 description="straight lines (geodesic), or walking on the street network (radius in walking metres, "
                             "default 1125 = 15 minutes at 4.5 km/h; HTTP 409 when no network is loaded)")
#: the answer to distance=network when no street network is loaded (added to every operation taking distance)
NO_NETWORK = {"description": "distance=network but no street network is loaded (message in the page's language)",
              "content": _ERROR_CONTENT}
#: the coverage question every planner and recommendation endpoint takes
COVERAGE = [RADIUS, RURAL_RADIUS, HOUR, WEEKDAY, DISTANCE]


def _blueprint_modules(app) -> list[str]:
    if app is not None:
        names = [bp.import_name for bp in app.blueprints.values()]
    else:
        from webmap import BLUEPRINTS

        names = [spec.partition(":")[0] for spec in BLUEPRINTS]
    return list(dict.fromkeys(names))


def document(app=None) -> dict:
    """The whole document: the declarations (``OPENAPI_PATHS``) of ``app``'s blueprints, or, without an app, of
    every blueprint in :data:`webmap.BLUEPRINTS`."""
    paths: dict = {}
    for name in _blueprint_modules(app):
        paths.update(getattr(importlib.import_module(name), "OPENAPI_PATHS", {}))
    for ops in paths.values():  # distance=network without a network: 409 (issue 13)
        for op in ops.values():
            if any(p.get("name") == "distance" for p in op.get("parameters", ())):
                op.setdefault("responses", {}).setdefault("409", NO_NETWORK)
    return {"openapi": "3.1.0", "info": INFO, "paths": paths, "components": COMPONENTS}
