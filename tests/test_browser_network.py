"""The street network in a real headless Chromium (issue 13): the finder's walking ranking, its "路线" button and
the route line on the map; the planner's distance chooser, walking coverage and the isochrone layer with its
legend; the straight-line note without a network. The network is the river town of ``tests/test_network_web.py``
(TEST DATA written by the test). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os

import pytest

from conftest import CHROMIUM, HOSTILE_ID, serve
from stations import network as N
from test_network_web import B_ID, _demand, town  # noqa: F401  (the module fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def servers(town):  # noqa: F811
    w, url, var, empty = town
    net = N.load_network(var / "network" / "network.npz")
    with_net = serve(url, NETWORK=net, PLANNER_DEMAND=_demand(w), JOBS="inline")
    bare = serve(url, PLANNER_DEMAND=_demand(w), JOBS="inline")
    yield w, with_net, bare, empty
    with_net.stop()
    bare.stop()


def _errors(page):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_finder_walks_and_draws_the_route(browser, servers, monkeypatch, artifacts_dir):
    w, with_net, bare, empty = servers
    p = w.lonlat(0, 0)
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1,
                              geolocation={"latitude": p[1], "longitude": p[0], "accuracy": 10}, permissions=["geolocation"],
                              has_touch=True)
    try:
        page = ctx.new_page()
        errors = _errors(page)
        page.goto(with_net.url + "/", wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        page.click("#locate-btn")
        page.wait_for_function("() => /^\\d+$/.test(document.body.dataset.results || '')", timeout=20000)
        page.wait_for_selector("#walk-note[data-kind='network']", timeout=5000)
        ids = page.eval_on_selector_all("#results li.result", "els => els.map(e => e.dataset.id)")
        assert ids[:2] == [B_ID, HOSTILE_ID]  # by walking: B 1.3 km along the street, S 300 m across the river
        walk = page.text_content(f"#results li[data-id='{HOSTILE_ID}'] .walk-streets")
        assert "街道步行 1.4 公里 · 19 分钟" in walk
        assert page.locator(f"#results li[data-id='{HOSTILE_ID}'] .dist .walk").count() == 0  # no straight-line guess
        page.click(f"#results li[data-id='{HOSTILE_ID}'] .route-btn")
        page.wait_for_selector(f"body[data-route='{HOSTILE_ID}']", timeout=10000)
        assert page.locator("path.walk-route").count() == 1
        info = page.text_content(f"#results li[data-id='{HOSTILE_ID}'] .route-info")
        assert "步行路线：1.4 公里 · 19 分钟" in info
        page.locator("#map-pane").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(artifacts_dir, "network-finder-route-phone.png"))
        assert not errors, errors

        # the station's popup has the same route button (issue 13 leftovers), on a 390 px phone too
        page.click(f"#results li[data-id='{B_ID}'] button.show-on-map")
        popup = page.locator(f".leaflet-popup .yz-popup[data-id='{B_ID}']")
        popup.locator(".route-btn").wait_for(state="visible", timeout=20000)
        assert popup.locator(".route-btn").text_content() == "路线"
        assert popup.locator(".dist").text_content() == "街道步行 1.3 公里 · 18 分钟"  # measured, not the guess
        popup.locator(".route-btn").click()
        page.wait_for_selector(f"body[data-route='{B_ID}']", timeout=10000)
        assert "步行路线：1.3 公里 · 18 分钟" in popup.locator(".route-info").text_content()
        assert page.locator("path.walk-route").count() == 1  # the popup's route replaced the list's
        page.wait_for_timeout(800)  # the map fits the route, then the popup pans back into view
        box = popup.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.locator("#map-pane").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(artifacts_dir, "network-finder-popup-route-phone.png"))
        assert not errors, errors

        # offline, the route (worked out on the server) says so, at once and without an error
        btn, info_sel = f"#results li[data-id='{B_ID}'] .route-btn", f"#results li[data-id='{B_ID}'] .route-info"
        ctx.set_offline(True)
        page.click(btn)
        page.wait_for_selector("body[data-route='offline']", timeout=5000)
        assert page.text_content(info_sel) == "离线时无法计算路线"
        ctx.set_offline(False)
        # the phone thinks it is online but no answer comes (no signal): the same message, not "no route"
        page.route("**/api/route**", lambda route: route.abort("internetdisconnected"))
        page.evaluate("() => { delete document.body.dataset.route; }")
        page.click(btn)
        page.wait_for_selector("body[data-route='offline']", timeout=5000)
        assert page.text_content(info_sel) == "离线时无法计算路线"
        page.unroute("**/api/route**")
        assert not [e for e in errors if "Failed to load resource" not in e], errors
    finally:
        ctx.close()
    # without a network: the straight-line note, no route button
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(empty))
    N.clear_cache()
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1,
                              geolocation={"latitude": p[1], "longitude": p[0], "accuracy": 10}, permissions=["geolocation"])
    try:
        page = ctx.new_page()
        page.goto(bare.url + "/", wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        page.click("#locate-btn")
        page.wait_for_selector("#walk-note[data-kind='straight']", timeout=20000)
        assert page.text_content("#walk-note") == "直线距离：未加载街道网络"
        assert page.locator(".route-btn").count() == 0
        assert page.eval_on_selector_all("#results li.result", "els => els.map(e => e.dataset.id)")[0] == HOSTILE_ID
        page.click(f"#results li[data-id='{HOSTILE_ID}'] button.show-on-map")
        page.wait_for_selector(f".leaflet-popup .yz-popup[data-id='{HOSTILE_ID}'] .actions", timeout=20000)
        assert page.locator(".leaflet-popup .route-btn").count() == 0  # no network: no route in the popup either
    finally:
        ctx.close()
        N.clear_cache()


def test_planner_distance_chooser_and_isochrones(browser, servers, monkeypatch, artifacts_dir):
    w, with_net, bare, empty = servers
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", device_scale_factor=1)
    try:
        page = ctx.new_page()
        errors = _errors(page)
        page.goto(with_net.url + "/planner", wait_until="load")
        page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
        page.wait_for_selector("#pl-distance-network", timeout=10000)
        assert float(page.get_attribute("#pl-status", "data-covered-pct")) == pytest.approx(100)
        page.check("#pl-distance-network")
        page.wait_for_function("() => { const s = document.getElementById('pl-status');"
                               " return s.dataset.state === 'ready' && s.dataset.radius === '1125'; }", timeout=60000)
        assert float(page.get_attribute("#pl-status", "data-covered-pct")) == pytest.approx(83.3, abs=0.1)
        page.wait_for_selector("#pl-net-compare[data-overstatement]", timeout=20000)
        assert "直线 100.0% · 步行 83.3%（直线高估 16.7 个百分点）" in page.text_content("#pl-net-compare")
        assert "合成路网" in page.text_content(".pl-net-attribution")  # test data says it is not OpenStreetMap's
        page.check("#pl-net-iso")
        s = w.lonlat(0, 300)
        page.evaluate("([lat, lon]) => YZ.plannerMap.setView([lat, lon], 15, {animate: false})", [s[1], s[0]])
        page.wait_for_timeout(300)
        box = page.locator("#pl-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(f"body[data-isochrones='{HOSTILE_ID}']", timeout=20000)
        assert page.locator(".pl-net-legend li").count() == 3
        assert page.locator("#pl-net-downloads a.pl-net-dl").count() == 2
        assert page.locator("#pl-map path.leaflet-interactive, #pl-map path").count() >= 3
        page.wait_for_timeout(300)
        page.screenshot(path=os.path.join(artifacts_dir, "network-planner-isochrones.png"))
        assert not errors, errors
    finally:
        ctx.close()
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(empty))
    N.clear_cache()
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1)
    try:
        page = ctx.new_page()
        page.goto(bare.url + "/planner", wait_until="load")
        page.wait_for_selector(".pl-net-status", timeout=30000)
        assert page.text_content(".pl-net-status") == "直线距离：未加载街道网络"
        assert page.locator("#pl-distance-network").count() == 0
        page.locator("#pl-network").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(artifacts_dir, "network-planner-none-phone.png"))
    finally:
        ctx.close()
        N.clear_cache()


def test_print_page_distance_choice(browser, servers, monkeypatch, artifacts_dir):
    """/print with a network: the distance choice switches the radius and goes with the sheet and the atlases;
    without one: the straight-line note and no choice."""
    w, with_net, bare, empty = servers
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1)
    try:
        page = ctx.new_page()
        errors = _errors(page)
        asked = []
        page.on("request", lambda r: asked.append(r.url) if "/print/" in r.url else None)
        page.goto(with_net.url + "/print", wait_until="load")
        assert page.locator("#print-distance input[name='distance']").count() == 2
        assert page.is_checked("#print-distance input[value='straight']")
        assert page.input_value("input[name='radius']") == "1000"
        page.check("#print-distance input[value='network']")
        assert page.input_value("input[name='radius']") == "1125"
        assert page.evaluate("document.querySelector(\"input[name='radius']\").validity.valid")  # the form submits
        assert "distance=network" in page.get_attribute(".atlas-job[data-paper='A4'] .atlas-start", "href")
        page.wait_for_timeout(300)  # the atlas boxes ask their status again, on foot
        assert any("/print/atlas/status" in u and "distance=network" in u for u in asked), asked
        page.select_option("#area", "530102")
        page.select_option("select[name='dpi']", "100")
        page.click('button[formaction$="sheet.png"]')
        page.wait_for_function("() => ['done', 'error'].includes(document.getElementById('sheet-job').dataset.state)",
                               timeout=120000)
        assert page.get_attribute("#sheet-job", "data-state") == "done", page.inner_text("#sheet-state")
        sheet = [u for u in asked if "/print/sheet.png" in u]
        assert sheet and "distance=network" in sheet[-1] and "radius=1125" in sheet[-1]
        assert page.get_attribute("#sheet-download", "download").endswith("-walk.png")
        page.locator("#print-distance").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(artifacts_dir, "network-print-distance-phone.png"))
        page.check("#print-distance input[value='straight']")
        assert page.input_value("input[name='radius']") == "1000"
        assert not errors, errors
    finally:
        ctx.close()
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(empty))
    N.clear_cache()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", device_scale_factor=1)
    try:
        page = ctx.new_page()
        page.goto(bare.url + "/print", wait_until="load")
        assert page.locator("#print-distance").count() == 0
        assert page.text_content("#print-distance-none") == "直线距离：未加载街道网络"
    finally:
        ctx.close()
        N.clear_cache()
