"""Security headers (issue 14 §4): CSP with a per-request nonce on HTML pages, no 'unsafe-inline' for scripts,
every inline script carrying the nonce, and the other hardening headers on every response."""

from __future__ import annotations

import re

import pytest

PAGES = ["/", "/planner", "/print", "/?lang=en"]


def _csp(resp) -> dict[str, list[str]]:
    policy = resp.headers.get("Content-Security-Policy")
    assert policy, f"no CSP on {resp.request.path}"
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_a_strict_csp_with_a_nonce_on_every_inline_script(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    csp = _csp(resp)
    script = csp["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in script
    nonces = [w for w in script if w.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0][len("'nonce-"):-1]
    assert len(nonce) >= 16
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert csp["worker-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    html = resp.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" in tag or 'type="application/json"' in tag:
            continue  # external scripts come from 'self'; JSON data blocks never run
        assert f'nonce="{nonce}"' in tag, f"inline script without the nonce on {path}: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", re.sub(r"<script\b.*?</script>", "", html, flags=re.S)), \
        "inline event handler attributes would be blocked by the CSP"


def test_the_nonce_changes_with_every_request(client):
    a = _csp(client.get("/"))["script-src"]
    b = _csp(client.get("/"))["script-src"]
    assert a != b


def test_the_finder_map_script_and_folium_header_carry_the_nonce(client):
    resp = client.get("/")
    nonce = [w for w in _csp(resp)["script-src"] if w.startswith("'nonce-")][0][7:-1]
    html = resp.get_data(as_text=True)
    inline = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    bodies = [body for attrs, body in inline if f'nonce="{nonce}"' in attrs and body.strip()]
    assert any("L.map(" in b for b in bodies), "the Folium map script runs under the nonce"
    assert any("L_NO_TOUCH" in b for b in bodies), "Folium's own header script runs under the nonce"


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/nearest?lat=25.04&lon=102.71", "/api/nope",
                                  "/static/common.js"])
def test_every_response_has_the_hardening_headers(client, path):
    resp = client.get(path)
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
    perms = dict(p.strip().split("=", 1) for p in h["Permissions-Policy"].split(","))
    assert perms["geolocation"] == "(self)", "geolocation only for the page itself"
    assert perms["camera"] == "()" and perms["microphone"] == "()"


def test_images_may_come_from_the_tile_hosts_only(fixture_db_url):
    from webmap import create_app

    for tiles, host in (("osm", "tile.openstreetmap.org"), ("amap", "webrd01.is.autonavi.com")):
        app = create_app({"TESTING": True, "DATABASE_URL": fixture_db_url, "TILES": tiles})
        img = _csp(app.test_client().get("/"))["img-src"]
        assert img[:3] == ["'self'", "data:", "blob:"] and host in img  # blob: the print page's own sheet preview
    app = create_app({"TESTING": True, "DATABASE_URL": fixture_db_url, "TILES": "none"})
    assert _csp(app.test_client().get("/"))["img-src"] == ["'self'", "data:", "blob:"]
