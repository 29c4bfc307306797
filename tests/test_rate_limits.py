"""Per-client rate limits on the heavy endpoints (issue 14 §2): HTTP 429 with Retry-After in the app's JSON error
shape, counted per client address, the finder never limited, limits from stations.limits, off with RATE_LIMITS."""

from __future__ import annotations

import pytest

from stations.limits import LIMITS
from webmap import security


@pytest.fixture()
def make_app(fixture_db_url):
    from webmap import create_app

    def make(**config):
        return create_app({"TESTING": True, "DATABASE_URL": fixture_db_url, "TILES": "none", **config})

    return make


def _hit(client, path, n, addr="10.0.0.1", **kw):
    return [client.get(path, environ_base={"REMOTE_ADDR": addr}, **kw) for _ in range(n)]


def test_every_heavy_endpoint_is_limited_with_a_limit_from_the_table(make_app):
    app = make_app()
    for endpoint, name in security.HEAVY_ENDPOINTS.items():
        assert endpoint in app.view_functions, endpoint
        assert name in LIMITS and LIMITS[name].unit == "requests/min"
    for heavy in ("recommend.api_recommend", "recommend.api_whatif", "recommend.api_candidates",
                  "planner.upload_demand", "print_views.sheet", "print_views.atlas", "planner.api_layer"):
        assert heavy in security.HEAVY_ENDPOINTS
    assert "api.nearest" not in security.HEAVY_ENDPOINTS and "api.stations" not in security.HEAVY_ENDPOINTS


def test_past_the_limit_429_with_retry_after_and_json(make_app):
    app = make_app()
    client = app.test_client()
    limit = int(LIMITS["rate_print_per_min"].default)
    # bad requests count too (they still cost a parse): area=nowhere is refused with 400 before any drawing
    answers = _hit(client, "/print/sheet.png?area=nowhere", limit + 2)
    assert [r.status_code for r in answers[:limit]] == [400] * limit
    over = answers[limit]
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1
    body = over.get_json()
    assert body["error"]["parameter"] is None
    assert f"限每分钟 {limit} 次" in body["error"]["message"], body  # no Accept-Language: Chinese
    # another client is not affected; the finder is never limited
    assert _hit(client, "/print/sheet.png?area=nowhere", 1, addr="10.0.0.2")[0].status_code == 400
    assert all(r.status_code == 200 for r in _hit(client, "/api/nearest?lat=25.04&lon=102.71", 50))


def test_the_limit_message_is_in_the_users_language(make_app):
    app = make_app()
    client = app.test_client()
    limit = int(LIMITS["rate_upload_per_min"].default)
    answers = [client.post("/api/candidates?lang=en", environ_base={"REMOTE_ADDR": "10.0.0.3"}) for _ in range(limit + 1)]
    assert answers[-1].status_code == 429
    assert "too many requests" in answers[-1].get_json()["error"]["message"]
    answers = [client.post("/api/candidates", environ_base={"REMOTE_ADDR": "10.0.0.4"},
                           headers={"Accept-Language": "zh-CN"}) for _ in range(limit + 1)]
    assert "请求过于频繁" in answers[-1].get_json()["error"]["message"]


def test_rate_limits_can_be_switched_off_per_app(make_app):
    app = make_app(RATE_LIMITS=False)
    client = app.test_client()
    limit = int(LIMITS["rate_print_per_min"].default)
    assert {r.status_code for r in _hit(client, "/print/sheet.png?area=nowhere", limit + 5)} == {400}


def test_a_second_app_does_not_double_count(make_app):
    """The limiter is one instance for the process: building more apps must not stack the same limit twice."""
    make_app()
    app = make_app()
    client = app.test_client()
    limit = int(LIMITS["rate_print_per_min"].default)
    answers = _hit(client, "/print/sheet.png?area=nowhere", limit + 1, addr="10.0.0.9")
    assert [r.status_code for r in answers].count(400) == limit
