"""The web layer's one parameter parser (webmap.params), its limits table, and the shape of the web modules:
one OpenAPI builder, no blueprint reaching into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from stations.errors import InputError
from stations.limits import LIMITS
from webmap.params import Params, choice

WEBMAP = Path(__file__).resolve().parent.parent / "webmap"


def q(**values) -> Params:
    return Params(MultiDict([(k, v) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])]))


def error(fn) -> InputError:
    with pytest.raises(InputError) as info:
        fn()
    return info.value


def test_numbers_from_a_query_string():
    assert q(radius="1500").radius() == 1500.0
    assert q(radius=" 1500 ").radius() == 1500.0
    assert q().radius() == LIMITS["radius_m"].default
    assert q(radius="").radius() == LIMITS["radius_m"].default  # empty counts as absent
    assert q().radius("rural_radius", default=None) is None
    e = error(lambda: q(radius="abc").radius())
    assert (e.param, e.message) == ("radius", "radius must be a number, got 'abc'")
    e = error(lambda: q(radius="20001").radius())
    assert (e.param, e.message) == ("radius", "radius must be between 50 and 20000, got 20001")
    for bad in ("nan", "inf", "-inf", "1e999"):
        assert error(lambda: q(radius=bad).radius()).param == "radius"
    e = error(lambda: q(radius=["1", "2"]).radius())
    assert e.message == "radius given more than once"
    e = error(lambda: q().lat(required=True))
    assert (e.param, e.message) == ("lat", "lat is required")


def test_the_radius_limit_is_the_same_everywhere():
    """One radius range (50 m to 20 km) for the planner, the recommendations, the what-if and the print sheets."""
    from stations import coverage
    from webmap import openapi

    lim = LIMITS["radius_m"]
    assert (lim.lo, lim.hi) == (50, 20_000) and coverage.MAX_RADIUS_M == lim.hi
    assert q(radius="20000").radius() == 20000 and q(radius="50").radius() == 50
    assert error(lambda: q(radius="50000").radius()).param == "radius"
    assert error(lambda: Params.json({"radius": 50000}).radius()).param == "radius"
    assert openapi.RADIUS["schema"]["maximum"] == lim.hi and openapi.RADIUS["schema"]["minimum"] == lim.lo


def test_integers():
    assert q(hour="3").hour() == 3 and q(hour="3.0").hour() == 3 and q().hour() is None
    assert q().weekday() == 2 and q(weekday="6").weekday() == 6
    e = error(lambda: q(hour="12.5").hour())
    assert (e.param, e.message) == ("hour", "hour must be a whole number, got 12.5")
    e = error(lambda: q(hour="x").hour())
    assert e.message == "hour must be an integer, got 'x'"
    e = error(lambda: q(weekday="7").weekday())
    assert e.message == "weekday must be between 0 and 6, got 7"
    e = error(lambda: q(offset="-1").integer("offset", LIMITS["stations_offset"]))
    assert e.message == "offset must be between 0 and 1000000000, got -1"  # no exponent in the limit
    over = "{name} must be at most {hi} sites per request, got {got}"
    e = error(lambda: q(n="501").integer("n", LIMITS["sites_n"], over=over))
    assert e.message == "n must be at most 500 sites per request, got 501"
    e = error(lambda: q(n="1e400").integer("n", LIMITS["sites_n"], over=over))
    assert e.message == "n must be between 0 and 500, got 1e400"


def test_json_bodies_are_typed():
    body = Params.json({"radius": 1500, "hour": 22, "weekday": 5, "rural_radius": None})
    assert body.radius() == 1500.0 and body.hour() == 22 and body.weekday() == 5
    assert body.radius("rural_radius", default=None) is None
    for bad in ("1000", True, -1, 1e308, [1000], 10 ** 400):
        e = error(lambda bad=bad: Params.json({"radius": bad}).radius())
        assert e.param == "radius" and e.message.startswith("radius must be a number between 50 and 20000, got ")
        assert len(e.message) < 120  # a 400-digit number is not echoed back whole
    e = error(lambda: Params.json({"hour": 3.5}).hour())
    assert e.message == "hour must be a whole number, got 3.5"


def test_booleans_choices_and_codes():
    assert q(open_now="1").boolean("open_now") and not q(open_now="off").boolean("open_now")
    assert not q().boolean("open_now")
    e = error(lambda: q(open_now="maybe").boolean("open_now"))
    assert e.message == "open_now must be true or false, got 'maybe'"
    assert error(lambda: q(exact="2").boolean("exact", hint="0 or 1")).message == "exact must be 0 or 1, got '2'"
    assert q().choice("by", ("province", "county"), "county") == "county"
    e = error(lambda: q(by="city").choice("by", ("province", "county"), "county"))
    assert e.message == "by must be one of province, county, got 'city'"
    assert error(lambda: choice("format", "shp", ("csv", "xlsx"))).param == "format"
    assert q(county="530102").adcode("county") == "530102" and q().adcode("county") is None
    assert error(lambda: q(county="5301").adcode("county")).param == "county"


def test_bbox_time_and_lists():
    assert q(bbox="100,21,101,23").bbox() == (100, 21, 101, 23)
    for bad in ("1,2,3", "a,b,c,d", "103,25,102,26", "100,-95,103,26", "100,nan,103,26"):
        assert error(lambda bad=bad: q(bbox=bad).bbox()).param == "bbox"
    at = q(at="2026-11-30T10:00+00:00").at()
    assert at.isoformat() == "2026-11-30T18:00:00"  # Asia/Shanghai, naive
    assert error(lambda: q(at="9999-12-31T23:59-12:00").at()).param == "at"
    assert q(service=["toilet,water", "toilet"]).services() == ["toilet", "water"]
    assert error(lambda: q(service="sauna").services()).param == "service"
    assert error(lambda: q(status="demolished").statuses()).param == "status"


def test_demand_ids_are_checked_against_the_uploaded_sets(app):
    with app.test_request_context("/?demand=nope"):
        e = error(lambda: Params.query().demand_id())
        assert (e.param, e.message) == ("demand", "unknown demand set 'nope': upload the file again")
        assert error(lambda: Params.json({"demand": 5}).demand_id()).param == "demand"
        assert Params.json({}).demand_id() is None


def test_web_modules_use_no_private_names_of_each_other():
    """No ``from webmap.x import _y`` and no ``P._y`` on a module imported from webmap (``recommend`` used 19
    ``planner._x`` names): what they share has a public home (webmap.state, webmap.params, webmap.responses)."""
    for path in WEBMAP.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("webmap"):
                assert not [a.name for a in node.names if a.name.startswith("_")], (path.name, node.module)
                modules |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name.startswith("webmap")}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                assert not node.attr.startswith("_"), (path.name, f"{node.value.id}.{node.attr}")


def test_one_parser_and_one_openapi_builder():
    """Parameter parsing lives in webmap.params only, and the OpenAPI document in webmap.openapi only."""
    for path in WEBMAP.glob("*.py"):
        if path.name in ("params.py", "openapi.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for name in ("def _number", "def _json_number", "def _integer", "def _boolean", "def _one(",
                     "add_openapi_paths", "OPENAPI = {"):
            assert name not in text, (path.name, name)


def test_openapi_document_is_built_from_the_registered_blueprints(app):
    from webmap import openapi

    with_app = openapi.document(app)
    assert with_app == openapi.document()
    assert list(with_app["paths"])[:2] == ["/api/stations", "/api/stations/{id}"]
    assert {"/api/coverage", "/api/recommend", "/api/whatif"} <= set(with_app["paths"])
    served = app.test_client().get("/api/openapi.json").get_json()
    assert served == with_app
