"""The planner a planner can read (issue 12 §1), in headless Chromium over the demo registry and the demand model.

Desktop (1366 x 900): every layer has a legend entry and a distinct look, checkboxes keep their state across
recomputation and reloads; the figures, table and gaps come before the scenario tools; the table's first column
stays while it scrolls; stations are drawn (clustered) when zoomed in and "close" takes the station clicked, with
the feedback beside the map; recommended sites are named by place; the exact solver with its budget and the
optimality gap; accepting the scenario changes the figures, table, downloads and marks the page, and the way back.
Phone (390 px): no horizontal overflow. Screenshots: ``test-artifacts/planner-*.png``.
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

READY = "() => document.getElementById('pl-status').dataset.state === 'ready'"


def _wait_ready(page, **data):
    cond = " && ".join(f"s.dataset.{k} === {v!r}" for k, v in data.items()) or "true"
    page.wait_for_function(f"() => {{ const s = document.getElementById('pl-status'); return s.dataset.state === 'ready' && {cond}; }}",
                           timeout=90000)


def _in_viewport(page, selector) -> bool:
    box = page.locator(selector).bounding_box()
    vp = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= vp["height"] and box["x"] + box["width"] <= vp["width"]


def test_planner_a_planner_can_read(browser, live, artifacts_dir):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", device_scale_factor=1)
    page = ctx.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(live.url + "/planner", wait_until="load")
        _wait_ready(page)
        base_pct = float(page.get_attribute("#pl-status", "data-covered-pct"))

        # --- legend: one entry per layer, each its own look
        legend = page.inner_text("#pl-legend")
        for words in ("覆盖率", "驿站", "覆盖范围", "需求热度", "缺口", "可达性", "驿站负荷", "建议站点", "新增驿站", "关闭的驿站"):
            assert words in legend, words
        looks = page.eval_on_selector_all(
            "#pl-legend .sw", "els => els.map(e => getComputedStyle(e).backgroundImage + getComputedStyle(e).backgroundColor)")
        assert len(looks) == 9 and len(set(looks)) == 9
        assert page.locator("#pl-legend input[type=checkbox]").count() == 6

        # --- layout: figures, table and gaps before the scenario tools; the first column is fixed
        order = page.evaluate("""() => ['pl-summary', 'pl-table', 'pl-gap-list', 'wi-panel']
            .map(id => document.getElementById(id).getBoundingClientRect().top + document.querySelector('.pl-panel').scrollTop)""")
        assert order == sorted(order)
        assert page.locator("#pl-table thead th").count() == 12
        assert page.eval_on_selector("#pl-table tbody td:first-child", "e => getComputedStyle(e).position") == "sticky"
        wrap = page.eval_on_selector(".pl-table-wrap", "e => { e.scrollLeft = 400; return e.scrollLeft; }")
        if wrap > 0:  # the table scrolls sideways: the area column stays at the left edge
            x = page.eval_on_selector("#pl-table tbody td:first-child", "e => e.getBoundingClientRect().left - e.closest('.pl-table-wrap').getBoundingClientRect().left")
            assert abs(x) <= 2
        page.eval_on_selector(".pl-table-wrap", "e => { e.scrollLeft = 0; }")

        # --- layers: 2SFCA and load drawn; their checkboxes survive a recomputation and a reload
        page.check("#pl-show-access")
        page.check("#pl-show-load")
        page.wait_for_function("() => document.body.dataset.accessPoints > 100 && document.body.dataset.loadPoints > 1000", timeout=90000)
        assert page.is_visible("#pl-access-ramp")
        assert page.locator("#pl-loaded li").count() == 10  # the stations carrying the most load, beside the layer
        page.fill("#pl-radius", "1500")
        page.click("#pl-go")
        _wait_ready(page, radius="1500")
        assert page.is_checked("#pl-show-access") and page.is_checked("#pl-show-load") and page.is_checked("#pl-show-gaps")
        page.reload(wait_until="load")
        _wait_ready(page)
        assert page.is_checked("#pl-show-access") and page.is_checked("#pl-show-load")
        page.screenshot(path=os.path.join(artifacts_dir, "planner-layers.png"))
        page.uncheck("#pl-show-access")
        page.uncheck("#pl-show-load")

        # --- recommended sites named by place, the exact solver beside the greedy + swaps
        page.fill("#wi-n", "3")
        page.check("#wi-exact")
        page.fill("#wi-exact-seconds", "5")
        page.click("#wi-recommend")
        page.wait_for_selector("#wi-panel[data-exact='done']", timeout=90000)
        sites = page.eval_on_selector_all("#wi-sites li .wi-place", "els => els.map(e => e.textContent)")
        assert len(sites) == 3 and all(" · " in s for s in sites), sites  # "#1 五华区 · 昆明附近102.7…"
        assert page.locator("#wi-sites li .wi-coords").count() == 3
        assert page.locator("#wi-compare-table tr[data-method='heuristic']").count() == 1
        assert "最优性差距" in page.inner_text("#wi-compare")
        assert float(page.get_attribute("#wi-panel", "data-gap")) >= 0

        # --- stations at zoom: drawn clustered; "close" takes the station clicked; feedback beside the map
        assert page.get_attribute("body", "data-stations-shown") == "0"  # province view: not drawn
        page.wait_for_timeout(600)  # the map's zoom to the sites ends (Leaflet ignores a new view during it)
        page.evaluate("() => { YZ.plannerMap.setView([25.04, 102.71], 11, { animate: false }); }")
        page.wait_for_function("() => document.body.dataset.stationsShown === '1' && Number(document.body.dataset.stations) > 1000",
                               timeout=60000, polling=250)
        page.wait_for_selector(".pl-cluster", timeout=30000)
        page.wait_for_timeout(500)  # the zoom animation ends
        page.click("#wi-mode-close")
        # the cluster nearest the map's centre (clear of the legend and the note)
        x, y = page.evaluate("""() => {
            const m = document.getElementById('pl-map').getBoundingClientRect(), cx = m.left + m.width / 2, cy = m.top + m.height / 2;
            let best = null, bd = Infinity;
            document.querySelectorAll('.pl-cluster').forEach(e => { const r = e.getBoundingClientRect();
              const d = Math.hypot(r.left + r.width / 2 - cx, r.top + r.height / 2 - cy); if (d < bd) { bd = d; best = r; } });
            return [best.left + best.width / 2, best.top + best.height / 2]; }""")
        zoom = page.evaluate("() => YZ.plannerMap.getZoom()")
        page.mouse.click(x, y)
        page.wait_for_selector("#wi-panel[data-closed='1']", timeout=30000)
        assert page.is_visible("#pl-mapnote") and _in_viewport(page, "#pl-mapnote")
        assert "关闭" in page.inner_text("#pl-mapnote")
        assert page.evaluate("() => YZ.plannerMap.getZoom()") == zoom  # the cluster click closed a station, no zoom
        page.wait_for_function("() => document.getElementById('wi-status').dataset.state === 'ready'", timeout=60000)
        # add the recommended sites: the list names them by place once the what-if answered
        page.click("#wi-mode-close")
        page.click("#wi-use")
        page.wait_for_function("() => document.getElementById('wi-panel').dataset.added === '3' && "
                               "document.getElementById('wi-status').dataset.state === 'ready'", timeout=60000)
        added = page.eval_on_selector_all("#wi-added li .wi-place", "els => els.map(e => e.textContent)")
        assert len(added) == 3 and all(" · " in a for a in added), added
        after_pct = float(page.get_attribute("#wi-panel", "data-after-pct"))
        page.screenshot(path=os.path.join(artifacts_dir, "planner-whatif.png"))

        # --- accept: the scenario becomes the page's baseline
        table_before = page.inner_text("#pl-table tbody")
        page.click("#wi-accept")
        page.wait_for_function("() => document.getElementById('pl-status').dataset.scenario", timeout=90000)
        _wait_ready(page)
        sid = page.get_attribute("#pl-status", "data-scenario")
        assert len(sid) == 12
        assert page.is_visible("#pl-scenario") and "方案" in page.inner_text("#pl-scenario")
        assert page.inner_text("#pl-summary").startswith("[方案]")
        scen_pct = float(page.get_attribute("#pl-status", "data-covered-pct"))
        assert scen_pct == pytest.approx(after_pct, abs=0.051) and scen_pct != base_pct  # shown to 0.1 %
        assert page.inner_text("#pl-table tbody") != table_before
        href = page.get_attribute("a.pl-dl[data-what='coverage'][data-fmt='csv']", "href")
        assert f"scenario={sid}" in href
        assert page.get_attribute("#wi-panel", "data-added") == "0"  # the edits are the baseline now
        page.screenshot(path=os.path.join(artifacts_dir, "planner-scenario.png"))
        # the download says it is a scenario
        resp = page.request.get(live.url + href)
        assert resp.ok and f"scenario-{sid}" in resp.headers["content-disposition"]
        assert resp.text().lstrip("\ufeff").startswith("scenario,")

        # --- back to the registry's baseline
        page.click("#pl-baseline")
        page.wait_for_function("() => document.getElementById('pl-status').dataset.scenario === ''", timeout=60000)
        _wait_ready(page)
        assert page.is_hidden("#pl-scenario")
        page.fill("#pl-radius", "1000")
        page.click("#pl-go")
        _wait_ready(page, radius="1000")
        assert float(page.get_attribute("#pl-status", "data-covered-pct")) == base_pct
        assert errors == []
        host = f"127.0.0.1:{live.server_port}"
        assert [u for u in requests if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).netloc != host] == []
    finally:
        ctx.close()


def test_planner_on_a_phone(browser, live, artifacts_dir):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2,
                              is_mobile=True, has_touch=True)
    page = ctx.new_page()
    try:
        page.goto(live.url + "/planner", wait_until="load")
        _wait_ready(page)
        page.wait_for_selector("#wi-panel")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        assert page.get_attribute("#pl-legend", "open") is None  # folded on a phone, one tap away
        page.screenshot(path=os.path.join(artifacts_dir, "planner-phone.png"), full_page=False)
        page.click("#pl-legend summary")
        page.screenshot(path=os.path.join(artifacts_dir, "planner-phone-legend.png"), full_page=False)
        page.locator("#pl-table").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(artifacts_dir, "planner-phone-table.png"), full_page=False)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()
