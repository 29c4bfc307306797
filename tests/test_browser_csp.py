"""The three pages work under the Content-Security-Policy with zero violations (issue 14 §4).

Headless Debian Chromium (Playwright) over the demo registry. Each page records every console message and every
``securitypolicyviolation`` event (an init script listens before any page script runs), then is used as a person
would: the finder locates and lists the nearest stations, the planner computes the county choropleth and shows the
coverage buffers, the print page lists the areas and asks the atlas status. Any CSP report fails the test.
"""

from __future__ import annotations

import os

import pytest

from conftest import CHROMIUM, KUNMING

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed at /usr/bin/chromium"),
]

LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
}, true);
"""


def _open(browser, live, path, **ctx_args):
    ctx = browser.new_context(viewport={"width": 1200, "height": 850}, locale="zh-CN", **ctx_args)
    ctx.add_init_script(LISTEN)
    page = ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    resp = page.goto(live.url + path, wait_until="load")
    assert "'nonce-" in resp.headers["content-security-policy"]
    return ctx, page, console


def _no_violations(page, console):
    events = page.evaluate("() => window.__csp")
    csp_console = [m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m]
    assert events == [], events
    assert csp_console == [], csp_console
    assert [m for m in console if m.startswith(("error", "pageerror"))] == []


def test_finder_under_csp(browser, live):
    ctx, page, console = _open(browser, live, "/", geolocation={"latitude": KUNMING[1], "longitude": KUNMING[0]},
                               permissions=["geolocation"])
    try:
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        assert page.evaluate("() => typeof window.YZ_MAP === 'object'"), "the inline Folium map script ran"
        page.wait_for_selector(".marker-cluster", timeout=30000)
        page.click("#locate-btn")
        page.wait_for_function("() => document.querySelectorAll('#results li.result').length === 5", timeout=30000)
        _no_violations(page, console)
    finally:
        ctx.close()


def test_planner_under_csp(browser, live):
    ctx, page, console = _open(browser, live, "/planner")
    try:
        page.wait_for_selector("#pl-status[data-state='ready']", timeout=90000)
        assert float(page.get_attribute("#pl-status", "data-covered-pct")) > 0
        page.check("#pl-show-buffers")
        page.wait_for_selector("body[data-buffers]", timeout=90000)
        _no_violations(page, console)
    finally:
        ctx.close()


def test_print_page_under_csp(browser, live):
    ctx, page, console = _open(browser, live, "/print")
    try:
        assert page.locator("#print-form select option").count() > 16  # prefectures and counties listed
        page.wait_for_function("() => [...document.querySelectorAll('[data-state]')].length > 0", timeout=30000)
        _no_violations(page, console)
    finally:
        ctx.close()
