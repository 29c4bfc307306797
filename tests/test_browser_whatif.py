"""The planner's recommend + what-if panel (webmap/static/whatif.js) in headless Chromium (Debian's
/usr/bin/chromium driven by Playwright), over the demo registry and the bundled demand model.

Recommend 5 sites -> 5 numbered markers and a list; add them to the scenario -> coverage rises; click the map
to add a station and to close the nearest one; discard -> the figures clear. No console errors, no request
leaves the host, and the registry is unchanged. Screenshot: ``test-artifacts/whatif.png``.
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


def test_recommend_and_whatif(browser, live, demo_db_url, artifacts_dir):
    from stations.registry import Registry

    before_rows = Registry(demo_db_url).load()
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live.url + "/planner", wait_until="load")
        page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
        assert page.locator("#wi-panel").count() == 1
        assert "新增驿站建议" in page.inner_text("#wi-panel")

        page.fill("#wi-n", "5")
        page.click("#wi-recommend")
        page.wait_for_selector("#wi-panel[data-sites='5']", timeout=60000)
        assert page.locator(".wi-site").count() == 5
        assert page.locator("#wi-sites li").count() == 5
        assert "%" in page.inner_text("#wi-rec-summary")
        href = page.get_attribute("#wi-downloads a.wi-dl", "href")
        assert "/recommend/download/sites.csv?" in href and "n=5" in href

        page.click("#wi-use")
        page.wait_for_function("() => document.getElementById('wi-panel').dataset.afterPct !== undefined", timeout=60000)
        after = float(page.get_attribute("#wi-panel", "data-after-pct"))
        base = float(page.get_attribute("#wi-panel", "data-before-pct"))
        assert after > base
        assert page.get_attribute("#wi-panel", "data-added") == "5"
        assert page.locator("#wi-pref tr").count() >= 2  # header + a changed prefecture

        # click the map to add one more hypothetical station
        page.click("#wi-mode-add")
        box = page.locator("#pl-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector("#wi-panel[data-added='6']", timeout=30000)

        # close mode: zoom to a recommended site near an existing station, click the map centre
        page.click("#wi-mode-close")
        page.click("#wi-sites li[data-rank='2']")
        page.wait_for_timeout(400)
        page.mouse.click(box["x"] + box["width"] / 2 + 30, box["y"] + box["height"] / 2 + 30)
        page.wait_for_selector("#wi-panel[data-closed='1']", timeout=30000)
        page.wait_for_function("() => document.getElementById('wi-status').dataset.state === 'ready'", timeout=60000)

        page.click("#wi-accept")  # the scenario becomes the page's baseline (issue 12 §1)
        page.wait_for_selector("#wi-status[data-state='accepted']", timeout=60000)
        page.wait_for_function("() => document.getElementById('pl-status').dataset.scenario && "
                               "document.getElementById('pl-status').dataset.state === 'ready'", timeout=60000)
        assert page.is_visible("#pl-scenario")
        page.screenshot(path=os.path.join(artifacts_dir, "whatif.png"))
        # the edits are the baseline now: the lists and the what-if figures are empty
        assert page.get_attribute("#wi-panel", "data-added") == "0"
        assert page.get_attribute("#wi-panel", "data-closed") == "0"
        assert page.inner_text("#wi-figs") == ""
        # a new edit on the scenario, discarded; then back to the registry's baseline
        page.click("#wi-mode-add")
        page.mouse.click(box["x"] + box["width"] / 2 - 40, box["y"] + box["height"] / 2 - 40)
        page.wait_for_selector("#wi-panel[data-added='1']", timeout=30000)
        page.click("#wi-discard")
        assert page.get_attribute("#wi-panel", "data-added") == "0"
        assert page.inner_text("#wi-figs") == ""
        page.click("#pl-baseline")
        page.wait_for_function("() => document.getElementById('pl-status').dataset.scenario === '' && "
                               "document.getElementById('pl-status').dataset.state === 'ready'", timeout=60000)
        assert page.is_hidden("#pl-scenario")
        assert errors == []
        host = f"127.0.0.1:{live.server_port}"
        assert [u for u in requests if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).netloc != host] == []
    finally:
        ctx.close()
    after_rows = Registry(demo_db_url).load()
    assert len(after_rows) == len(before_rows)
    assert (after_rows["status"].to_numpy() == before_rows["status"].to_numpy()).all()


def test_english_panel_and_target(browser, live):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live.url + "/planner?lang=en", wait_until="load")
        page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
        assert "Recommend sites and what-if" in page.inner_text("#wi-panel")
        page.fill("#wi-target", "75")
        page.click("#wi-recommend")
        page.wait_for_function("() => document.getElementById('wi-panel').dataset.sites !== undefined", timeout=60000)
        assert int(page.get_attribute("#wi-panel", "data-sites")) >= 1
        assert "the optimum needs at least" in page.inner_text("#wi-rec-summary")
        # an impossible target: a clear message, no crash
        page.fill("#wi-target", "100")
        page.click("#wi-recommend")
        page.wait_for_selector("#wi-status[data-state='error']", timeout=60000)
        assert "not reached" in page.inner_text("#wi-status")
        assert errors == []
    finally:
        ctx.close()


def test_weekday_and_hours_of_hypothetical_stations(browser, live, artifacts_dir):
    """Issue follow-ups: the weekday picker drives coverage, layers, downloads, recommend and what-if; a
    hypothetical station gets opening hours (a preset or typed text; unreadable text is refused, with the
    parser's message)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    errors, requests, posts = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("request", lambda r: posts.append(r.post_data) if r.method == "POST" and "/api/whatif" in r.url else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "400" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live.url + "/planner", wait_until="load")
        page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
        days = page.eval_on_selector_all("#pl-weekday option", "els => els.map(e => e.textContent)")
        assert days == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        assert page.input_value("#pl-weekday") == "2"
        # Saturday 22:00
        page.select_option("#pl-hour", "22")
        page.wait_for_function("() => document.getElementById('pl-status').dataset.hour === '22' && "
                               "document.getElementById('pl-status').dataset.state === 'ready'", timeout=60000)
        wed = float(page.get_attribute("#pl-status", "data-covered-pct"))
        page.select_option("#pl-weekday", "5")
        page.wait_for_function("() => document.getElementById('pl-status').dataset.weekday === '5' && "
                               "document.getElementById('pl-status').dataset.state === 'ready'", timeout=60000)
        assert "周六 22:00" in page.inner_text("#pl-summary")
        sat = float(page.get_attribute("#pl-status", "data-covered-pct"))
        assert 0 < sat < 100 and 0 < wed < 100
        href = page.get_attribute(".pl-dl[data-what='coverage']", "href")
        assert "weekday=5" in href and "hour=22" in href
        assert any("/api/gaps?" in u and "weekday=5" in u for u in requests)

        page.fill("#wi-n", "3")
        page.click("#wi-recommend")
        page.wait_for_selector("#wi-panel[data-sites='3']", timeout=60000)
        assert any("/api/recommend?" in u and "weekday=5" in u and "hour=22" in u for u in requests)

        # at noon on a Saturday: a Mon-Fri station adds nothing, a 24-hour one does
        page.select_option("#pl-hour", "12")
        page.wait_for_function("() => document.getElementById('pl-status').dataset.hour === '12' && "
                               "document.getElementById('pl-status').dataset.state === 'ready'", timeout=60000)
        page.select_option("#wi-hours", "Mo-Fr 09:00-17:00")
        page.click("#wi-mode-add")
        page.click("#wi-sites li[data-rank='1']")  # zoom to the best site: demand is there
        page.wait_for_timeout(500)
        box = page.locator("#pl-map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.click(cx + 5, cy + 5)
        page.wait_for_function("() => document.getElementById('wi-panel').dataset.afterPct !== undefined && "
                               "document.getElementById('wi-status').dataset.state === 'ready'", timeout=60000)
        assert float(page.get_attribute("#wi-panel", "data-after-pct")) == float(page.get_attribute("#wi-panel", "data-before-pct"))
        body = posts[-1]
        assert "Mo-Fr 09:00-17:00" in body and '"weekday":5' in body and '"hour":12' in body
        assert "周一至周五 09:00-17:00" in page.inner_text("#wi-added")
        page.click("#wi-discard")

        page.select_option("#wi-hours", "")
        page.click("#wi-mode-add")
        page.mouse.click(cx + 5, cy + 5)
        page.wait_for_function("() => document.getElementById('wi-panel').dataset.afterPct !== undefined && "
                               "document.getElementById('wi-status').dataset.state === 'ready'", timeout=60000)
        assert float(page.get_attribute("#wi-panel", "data-after-pct")) > float(page.get_attribute("#wi-panel", "data-before-pct"))

        # typed hours the parser cannot read: the station is dropped and the parser's message shown
        page.select_option("#wi-hours", "other")
        assert page.is_visible("#wi-hours-text")
        page.fill("#wi-hours-text", "看情况")
        page.mouse.click(cx + 40, cy + 40)
        page.wait_for_selector("#wi-status[data-state='error']", timeout=60000)
        assert "无法识别开放时间" in page.inner_text("#wi-status") and "看情况" in page.inner_text("#wi-status")
        assert page.get_attribute("#wi-panel", "data-added") == "1"
        assert page.get_attribute("#wi-hours-text", "aria-invalid") == "true"
        page.fill("#wi-hours-text", "07:00-23:00")
        page.mouse.click(cx + 40, cy + 40)
        page.wait_for_selector("#wi-panel[data-added='2']", timeout=30000)
        page.wait_for_function("() => document.getElementById('wi-status').dataset.state === 'ready'", timeout=60000)
        assert "07:00-23:00" in page.inner_text("#wi-added")
        page.click("#wi-mode-add")
        page.screenshot(path=os.path.join(artifacts_dir, "whatif-weekday-hours.png"))
        assert errors == []
        host = f"127.0.0.1:{live.server_port}"
        assert [u for u in requests if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).netloc != host] == []
    finally:
        ctx.close()


def test_recommend_and_whatif_follow_the_uploaded_demand(browser, live, tmp_path, artifacts_dir):
    """A demand file uploaded on the page is what recommend and what-if measure (demand=ID); English labels."""
    csv = tmp_path / "riders.csv"
    csv.write_text("lon,lat,riders\n102.7129,25.0406,50\n102.80,25.06,30\n100.23,26.87,20\n")
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = ctx.new_page()
    errors, requests, posts = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("request", lambda r: posts.append(r.post_data) if r.method == "POST" and "/api/whatif" in r.url else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live.url + "/planner?lang=en", wait_until="load")
        page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
        days = page.eval_on_selector_all("#pl-weekday option", "els => els.map(e => e.textContent)")
        assert days == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        page.fill("#pl-demand-weight", "riders")
        page.set_input_files("#pl-demand-file", str(csv))
        page.wait_for_function("() => document.body.dataset.demand && document.getElementById('pl-status').dataset.state === 'ready'",
                               timeout=60000)
        token = page.evaluate("document.body.dataset.demand")
        page.fill("#wi-n", "2")
        page.click("#wi-recommend")
        page.wait_for_selector("#wi-panel[data-sites]", timeout=60000)
        assert any("/api/recommend?" in u and f"demand={token}" in u for u in requests)
        assert "workers" in page.inner_text("#wi-rec-summary")
        assert page.locator("#wi-hours option").all_inner_texts() == ["24 hours", "08:00-20:00 daily", "Mon-Fri 09:00-17:00",
                                                                       "Other (type the hours)"]
        if int(page.get_attribute("#wi-panel", "data-sites")):
            page.click("#wi-use")
            page.wait_for_function("() => document.getElementById('wi-panel').dataset.afterPct !== undefined", timeout=60000)
            assert f'"demand":"{token}"' in posts[-1]
        page.screenshot(path=os.path.join(artifacts_dir, "whatif-own-demand-en.png"))
        assert errors == []
    finally:
        ctx.close()


def test_planner_announces_its_map_with_an_event(browser, live):
    """planner.js announces its Leaflet map (the "yz:planner-map" event on document, and YZ.plannerMap); whatif.js
    listens for it instead of hooking Leaflet's map constructor (no L.Map.addInitHook in the page scripts)."""
    static = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "webmap", "static")
    for name in os.listdir(static):
        if name.endswith(".js"):
            with open(os.path.join(static, name), encoding="utf-8") as f:
                assert "addInitHook" not in f.read(), name
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    ctx.add_init_script("window.__plannerMaps = []; document.addEventListener('yz:planner-map', "
                        "e => window.__plannerMaps.push(e.detail.map));")
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live.url + "/planner", wait_until="load")
        page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
        assert page.evaluate("() => window.__plannerMaps.length") == 1
        assert page.evaluate("() => window.__plannerMaps[0] === window.YZ.plannerMap && "
                             "window.YZ.plannerMap instanceof L.Map && window.YZ.plannerMap.getContainer().id === 'pl-map'")
        assert page.locator("#wi-panel").count() == 1  # the what-if panel found the map
        assert errors == []
    finally:
        ctx.close()
