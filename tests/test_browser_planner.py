"""The planner page in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

The app is served on 127.0.0.1 in a thread over the demo registry (``demo_db_url`` from conftest) with the
bundled demand model. Checks: the county choropleth renders, changing the radius or the hour recomputes,
layers toggle, the table sorts, no console errors, no request leaves the host. Screenshot:
``test-artifacts/planner.png``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed at /usr/bin/chromium"),
]


class Recorder:
    def __init__(self, page):
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def off_host(self, host: str) -> list[str]:
        return [u for u in self.requests if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).netloc != host]


def _open(browser, live, path="/planner", lang="zh-CN"):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale=lang, device_scale_factor=1)
    page = ctx.new_page()
    rec = Recorder(page)
    page.goto(live.url + path, wait_until="load")
    page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
    return ctx, page, rec


def _covered(page) -> float:
    return float(page.get_attribute("#pl-status", "data-covered-pct"))


def _recompute(page, radius=None, hour=None):
    if radius is not None:
        page.fill("#pl-radius", str(radius))
    if hour is not None:
        page.select_option("#pl-hour", str(hour))
    page.click("#pl-go")
    want_r = str(radius) if radius is not None else page.input_value("#pl-radius")
    want_h = "" if hour is None else str(hour)
    page.wait_for_function(
        "([r, h]) => { const s = document.getElementById('pl-status');"
        " return s.dataset.state === 'ready' && s.dataset.radius === r && (s.dataset.hour || '') === h; }",
        arg=[want_r, want_h], timeout=60000,
    )


def test_planner_choropleth_recompute_layers(browser, live, artifacts_dir):
    ctx, page, rec = _open(browser, live)
    try:
        assert page.title().startswith("驿站覆盖规划")
        n = int(page.get_attribute("body", "data-counties"))
        assert n == 129
        assert page.locator("path.pl-county").count() == 129
        fills = set(page.eval_on_selector_all("path.pl-county", "els => els.map(e => e.getAttribute('fill'))"))
        assert len(fills - {"#e0e0e0"}) >= 2  # several coverage classes are drawn
        rows = page.locator("#pl-table tbody tr").count()
        assert rows == 129
        base = _covered(page)
        assert 0 < base < 100
        assert int(page.get_attribute("body", "data-gaps")) > 0
        assert page.locator("#pl-gap-list li").count() == 10

        # a larger radius recomputes: coverage rises, the table and the summary follow
        summary_before = page.inner_text("#pl-summary")
        _recompute(page, radius=2000)
        wider = _covered(page)
        assert wider > base
        assert page.inner_text("#pl-summary") != summary_before
        href = page.get_attribute("a.pl-dl[data-what='coverage'][data-fmt='xlsx']", "href")
        assert "radius=2000" in href

        # at 22:00 fewer stations are open
        _recompute(page, radius=1000, hour=22)
        night = _covered(page)
        assert night < base

        # layers: coverage buffers and demand heat
        _recompute(page, radius=1000, hour="")
        page.check("#pl-show-buffers")
        page.wait_for_selector("body[data-buffers]", timeout=60000)
        page.check("#pl-show-demand")
        page.wait_for_selector("body[data-demand-points]", timeout=60000)
        assert int(page.get_attribute("body", "data-demand-points")) > 100

        # sorting the table: by workers, then by covered % ascending and descending
        col = "els => els.map(e => Number(e.textContent.replace(/[^0-9.]/g, '')))"
        page.click("#pl-table th[data-key='workers']")
        workers = page.eval_on_selector_all("#pl-table tbody tr td:nth-child(4)", col)
        assert workers == sorted(workers)
        page.click("#pl-table th[data-key='covered_pct']")
        asc = page.eval_on_selector_all("#pl-table tbody tr td:nth-child(6)", col)
        page.click("#pl-table th[data-key='covered_pct']")
        desc = page.eval_on_selector_all("#pl-table tbody tr td:nth-child(6)", col)
        assert asc == sorted(asc) and desc == sorted(desc, reverse=True) and asc != desc

        page.wait_for_timeout(500)
        page.screenshot(path=os.path.join(artifacts_dir, "planner.png"))
        # a gap in the list zooms the map to it
        zoom_before = page.evaluate("() => document.querySelector('.leaflet-proxy').style.transform")
        page.click("#pl-gap-list li:first-child a")
        page.wait_for_timeout(600)
        assert page.evaluate("() => document.querySelector('.leaflet-proxy').style.transform") != zoom_before
        page.screenshot(path=os.path.join(artifacts_dir, "planner-gap.png"))
        assert rec.errors == []
        assert rec.off_host(f"127.0.0.1:{live.server_port}") == []
    finally:
        ctx.close()


def test_planner_own_demand_file(browser, live, artifacts_dir, tmp_path):
    """Upload a CSV of demand points: the figures switch to it; a bad file shows its error; reset returns."""
    ctx, page, rec = _open(browser, live)
    try:
        model = _covered(page)
        good = tmp_path / "riders.csv"
        # 40 riders on 东风广场 (Kunming centre, well served), 60 in 维西 (533423), 19 km from any demo station
        good.write_text("经度,纬度,人数\n102.7129,25.0406,40\n99.20,27.00,60\n", encoding="utf-8")
        page.set_input_files("#pl-demand-file", str(good))
        page.wait_for_function("() => document.body.dataset.demand && document.getElementById('pl-status').dataset.state === 'ready'", timeout=60000)
        assert _covered(page) == 40.0
        assert "riders.csv" in page.inner_text("#pl-demand-name")
        bad = tmp_path / "bad.csv"
        bad.write_text("lon,lat,weight\n102.7,25.0,-1\n", encoding="utf-8")
        page.set_input_files("#pl-demand-file", str(bad))
        page.wait_for_selector("#pl-status[data-state='error']", timeout=30000)
        assert "row 2" in page.inner_text("#pl-status") and "negative" in page.inner_text("#pl-status")
        page.click("#pl-demand-reset")
        page.wait_for_function("() => !document.body.dataset.demand && document.getElementById('pl-status').dataset.state === 'ready'", timeout=60000)
        assert _covered(page) == model
        assert rec.errors == [] or all("400" in e for e in rec.errors)  # the refused upload logs its 400
        assert rec.off_host(f"127.0.0.1:{live.server_port}") == []
    finally:
        ctx.close()


def test_planner_english_and_bad_radius(browser, live, artifacts_dir):
    ctx, page, rec = _open(browser, live, path="/planner?lang=en", lang="en-US")
    try:
        assert page.title().startswith("Coverage planner")
        assert "Service radius (m)" in page.inner_text(".pl-form")
        # an out-of-range radius is refused by the form; nothing is recomputed, no error
        page.fill("#pl-radius", "-5")
        page.click("#pl-go")
        page.wait_for_timeout(300)
        assert page.get_attribute("#pl-status", "data-radius") == "1000"
        assert rec.errors == []
        assert rec.off_host(f"127.0.0.1:{live.server_port}") == []
    finally:
        ctx.close()
