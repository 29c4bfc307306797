"""The finder page in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

The app is served by werkzeug's ``make_server`` on 127.0.0.1 in a thread, over a temporary SQLite registry
(the 3,676-station demo set plus one station with a hostile name). Tiles are off (``TILES="none"``), so every request must go to the app itself.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import time
from urllib.parse import urlsplit

import pytest

from conftest import CHROMIUM, HOSTILE_ID, HOSTILE_NAME, KUNMING, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                           "(apt-get install chromium)"),
]


class Recorder:
    """Every request, console error, page error and dialog of one page."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

        def on_dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)

    def off_host(self, allowed_hosts: set[str]) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.netloc not in allowed_hosts:
                out.append(url)
        return out


def _page(browser, live, *, width=390, height=844, lang="zh-CN", path="/", abort_off_host=False):
    ctx = browser.new_context(
        viewport={"width": width, "height": height},
        geolocation={"latitude": KUNMING[1], "longitude": KUNMING[0], "accuracy": 20},
        permissions=["geolocation"], locale=lang, device_scale_factor=1,
        has_touch=width < 600, is_mobile=False,
    )
    if abort_off_host:  # tile servers: record the attempt, never touch the network
        ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = ctx.new_page()
    rec = Recorder(page)
    page.goto(live.url + path, wait_until="load")
    page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
    return ctx, page, rec


def _results(page):
    return page.eval_on_selector_all(
        "#results li.result",
        "els => els.map(e => ({id: e.dataset.id, d: Number(e.dataset.distanceM), services: e.dataset.services, "
        "name: e.querySelector('.name').textContent}))",
    )


def _wait_results(page, n=None):
    if n is None:
        page.wait_for_function("() => /^\\d+$/.test(document.body.dataset.results || '')", timeout=20000)
    else:
        page.wait_for_selector(f"body[data-results='{n}']", timeout=20000)


def test_page_loads_clusters_no_console_errors_no_off_host(browser, live, artifacts_dir):
    ctx, page, rec = _page(browser, live)
    try:
        page.wait_for_selector(".marker-cluster", timeout=20000)
        n_clusters = page.locator(".marker-cluster").count()
        assert n_clusters > 0
        loaded = int(page.get_attribute("body", "data-stations-loaded"))
        assert loaded == live.get_json("/api/stations", fields="compact", limit=1)["numberMatched"]
        assert page.locator("#demo-banner").is_visible()  # the stations are synthetic-demo
        page.wait_for_selector("path.yz-outline-prefectures", timeout=20000)
        page.wait_for_timeout(300)
        page.screenshot(path=os.path.join(artifacts_dir, "finder-initial-390x844.png"))
        assert rec.errors == []
        assert rec.off_host({f"127.0.0.1:{live.port}"}) == []
        assert rec.dialogs == []
        assert page.locator("#locate-btn").inner_text().strip() == "定位我"
    finally:
        ctx.close()


def test_locate_me_lists_5_nearest_matching_api_and_toilet_filter(browser, live, artifacts_dir):
    ctx, page, rec = _page(browser, live)
    try:
        page.click("#locate-btn")
        _wait_results(page, 5)
        got = _results(page)
        api = live.get_json("/api/nearest", lat=KUNMING[1], lon=KUNMING[0], k=5)
        assert [r["id"] for r in got] == [f["id"] for f in api["features"]]
        assert [r["d"] for r in got] == [f["properties"]["distance_m"] for f in api["features"]]
        assert [r["d"] for r in got] == sorted(r["d"] for r in got)
        page.wait_for_timeout(400)
        page.screenshot(path=os.path.join(artifacts_dir, "finder-390x844.png"))
        page.screenshot(path=os.path.join(artifacts_dir, "finder-390x844-full.png"), full_page=True)

        # the toilet filter: the list changes to stations with toilets, as the API says
        before = [r["id"] for r in got]
        page.click("label:has(#filter-toilet)")
        page.wait_for_function(
            "before => { const ids = [...document.querySelectorAll('#results li.result')].map(e => e.dataset.id);"
            " return /^\\d+$/.test(document.body.dataset.results || '') && ids.join() !== before.join(); }",
            arg=before, timeout=20000,
        )
        got = _results(page)
        assert got and all("toilet" in r["services"].split() for r in got)
        # the map keeps only the stations with toilets too
        with_toilet = live.get_json("/api/stations", service="toilet", limit=1)["numberMatched"]
        page.wait_for_selector(f"body[data-stations-shown='{with_toilet}']", timeout=20000)
        api = live.get_json("/api/nearest", lat=KUNMING[1], lon=KUNMING[0], k=5, service="toilet")
        assert [r["id"] for r in got] == [f["id"] for f in api["features"]]
        assert [r["d"] for r in got] == [f["properties"]["distance_m"] for f in api["features"]]
        assert rec.errors == []
        assert rec.off_host({f"127.0.0.1:{live.port}"}) == []
    finally:
        ctx.close()


def test_hostile_station_name_renders_as_text(browser, live, artifacts_dir):
    ctx, page, rec = _page(browser, live)
    try:
        page.click("#locate-btn")
        _wait_results(page)
        item = page.locator(f"#results li[data-id='{HOSTILE_ID}']")
        assert item.count() == 1, "the hostile station is 30 m from the located point"
        assert item.locator(".name").text_content() == HOSTILE_NAME
        # open its popup through the list
        item.locator("button.show-on-map").click()
        page.wait_for_selector(f".yz-popup[data-id='{HOSTILE_ID}'] h3", timeout=20000)
        assert page.locator(f".yz-popup[data-id='{HOSTILE_ID}'] h3").text_content() == HOSTILE_NAME
        page.wait_for_timeout(500)
        page.screenshot(path=os.path.join(artifacts_dir, "finder-popup-390x844.png"))
        popup = page.locator(f".yz-popup[data-id='{HOSTILE_ID}']")
        assert popup.locator("a[href^='tel:']").get_attribute("href") == "tel:087100999999"
        assert "mode=walk" in popup.locator("a.nav-amap").get_attribute("href")
        assert "coord_type=bd09ll" in popup.locator("a.nav-baidu").get_attribute("href")
        assert popup.locator("a.nav-geo").get_attribute("href").startswith("geo:")
        assert popup.locator(".badge.open").count() == 1  # 24-hour station: open now
        assert "30" in popup.locator(".dist").text_content()  # distance from the located point
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("#results b, .yz-popup b, #results script, .yz-popup script").count() == 0
        page.wait_for_timeout(300)
        assert rec.dialogs == []
        assert rec.errors == []
    finally:
        ctx.close()


def test_desktop_and_english(browser, live, artifacts_dir):
    ctx, page, rec = _page(browser, live, width=1280, height=800, lang="en-US")
    try:
        assert page.locator("#locate-btn").inner_text().strip() == "Locate me"
        page.click("#locate-btn")
        _wait_results(page, 5)
        assert "km" in page.locator("#results").inner_text() or " m" in page.locator("#results").inner_text()
        page.wait_for_timeout(400)
        page.screenshot(path=os.path.join(artifacts_dir, "finder-desktop-1280x800.png"))
        assert rec.errors == []
        assert rec.off_host({f"127.0.0.1:{live.port}"}) == []
    finally:
        ctx.close()


def test_place_search_prefix(browser, live):
    ctx, page, rec = _page(browser, live)
    try:
        page.fill("#place-input", "kunm")
        page.wait_for_selector("#place-suggestions li button", timeout=20000)
        assert "昆明" in page.locator("#place-suggestions").inner_text()
        page.locator("#place-suggestions li button").first.click()
        _wait_results(page)
        assert len(_results(page)) >= 1
        assert rec.errors == []
    finally:
        ctx.close()


def test_nothing_within_20_km_says_so_and_shows_the_nearest(browser, live):
    ctx, page, rec = _page(browser, live)
    try:
        # a tap far from every station (north-west corner of the map's bounds)
        page.evaluate("() => { window.YZ_MAP.fire('click', {latlng: L.latLng(33.5, 92.0)}); }")
        page.wait_for_selector("body[data-results='1']", timeout=20000)
        status = page.locator("#status").inner_text()
        assert "20 公里内没有符合条件的驿站" in status and "距此" in status
        api = live.get_json("/api/nearest", lat=33.5, lon=92.0, k=5)
        assert _results(page)[0]["id"] == api["features"][0]["id"]
        assert rec.errors == []
    finally:
        ctx.close()


def test_outlines_draw_when_tiles_are_unreachable(browser, demo_db_url):
    server = serve(demo_db_url, TILES="http://127.0.0.1:9/{z}/{x}/{y}.png")
    try:
        ctx, page, rec = _page(browser, server)
        try:
            page.wait_for_selector("path.yz-outline-province", timeout=20000)
            page.wait_for_selector("path.yz-outline-prefectures", timeout=20000)
            assert page.locator("path.yz-outline-counties").count() == 0  # loaded on zooming in
            page.evaluate("([lon, lat]) => { window.YZ_MAP.setView(L.latLng(lat, lon), 9); }", list(KUNMING))
            page.wait_for_selector("path.yz-outline-counties", timeout=20000)
            assert page.locator("path.yz-outline-prefectures").count() >= 16
            assert page.locator("path.yz-outline-counties").count() >= 100
            tile_requests = [u for u in rec.requests if u.startswith("http://127.0.0.1:9/")]
            assert tile_requests, "the page tried the configured tile server"
            assert rec.off_host({f"127.0.0.1:{server.port}", "127.0.0.1:9"}) == []
            page.wait_for_selector(".marker-cluster", timeout=20000)
        finally:
            ctx.close()
    finally:
        server.stop()


def test_page_bytes_and_build_time(live):
    """The page ships far less than a per-marker Folium map (2.8 MB, 4.7 s): at most 280 KB, built in 0.47 s."""
    from webmap import create_app

    app = create_app({"STATIONS": live.server.app.extensions["yizhan"].gdf, "TILES": "osm"})
    client = app.test_client()
    t0 = time.perf_counter()
    html = client.get("/").data
    build = time.perf_counter() - t0
    assert build < 0.47
    total = len(html)
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet.markercluster/leaflet.markercluster.js",
                  "vendor/leaflet/leaflet.css", "vendor/leaflet.markercluster/MarkerCluster.css", "site.css",
                  "common.js", "vendor/gcoord/gcoord.global.prod.js", "finder.js", "icons.svg"):
        resp = client.get(f"/static/{asset}", headers={"Accept-Encoding": "gzip"})
        total += len(resp.data)
        resp.close()
    for path in ["/api/stations?fields=columns&limit=10000", "/api/outlines/province", "/api/outlines/prefectures"]:
        resp = client.get(path, headers={"Accept-Encoding": "gzip"})
        total += len(resp.data) if resp.status_code == 200 else 0
    print(f"\nfinder page: html {len(html)} B, first load with assets, stations and outlines (gzip) {total} B, "
          f"built in {build * 1000:.1f} ms")
    assert total <= 280_000


def test_amap_tiles_shift_markers_and_taps_into_gcj02(browser, demo_db_url):
    """With Amap (GCJ-02) tiles, drawing is shifted into GCJ-02 and a tap is shifted back to WGS-84."""
    from stations.coords import wgs84_to_gcj02

    server = serve(demo_db_url, TILES="amap")
    try:
        ctx, page, rec = _page(browser, server, abort_off_host=True)
        try:
            cfg = json.loads(page.locator("#yz-config").text_content())
            assert cfg["crs"] == "gcj02"
            js = page.evaluate("([lon, lat]) => window.YZ.wgsToGcj(lon, lat)", list(KUNMING))
            py = wgs84_to_gcj02(*KUNMING)
            assert js[0] == pytest.approx(py[0], abs=1e-9) and js[1] == pytest.approx(py[1], abs=1e-9)
            # tap the GCJ-02 position of 东风广场: the list is the nearest to the WGS-84 point
            page.evaluate("([lon, lat]) => { const g = window.YZ.wgsToGcj(lon, lat);"
                          " window.YZ_MAP.fire('click', {latlng: L.latLng(g[1], g[0])}); }", list(KUNMING))
            _wait_results(page, 5)
            got = _results(page)
            api = server.get_json("/api/nearest", lat=KUNMING[1], lon=KUNMING[0], k=5)
            assert [r["id"] for r in got] == [f["id"] for f in api["features"]]
            for r, f in zip(got, api["features"]):
                assert r["d"] == pytest.approx(f["properties"]["distance_m"], abs=0.5)
            # the numbered pin of the first result is drawn at its GCJ-02 position
            first = api["features"][0]["geometry"]["coordinates"]
            pin = page.evaluate("""() => { let out = null; window.YZ_MAP.eachLayer(l => {
                if (l.options && l.options.icon && l.options.icon.options.className === 'yz-pin hit'
                    && l.options.icon.options.html === '1') { const ll = l.getLatLng(); out = [ll.lng, ll.lat]; } });
                return out; }""")
            g = wgs84_to_gcj02(*first)
            assert pin[0] == pytest.approx(g[0], abs=1e-9) and pin[1] == pytest.approx(g[1], abs=1e-9)
            assert any("autonavi.com" in u for u in rec.requests), "Amap tiles were requested"
            allowed = {f"127.0.0.1:{server.port}"} | {f"webrd0{i}.is.autonavi.com" for i in "1234"}
            assert rec.off_host(allowed) == []
            assert [e for e in rec.errors if e.startswith("pageerror")] == []
        finally:
            ctx.close()
    finally:
        server.stop()


def test_station_marker_popup(browser, live):
    """Tapping a single station marker opens its popup, built from /api/stations/<id>."""
    ctx, page, rec = _page(browser, live)
    try:
        page.evaluate("([lon, lat]) => { window.YZ_MAP.setView(L.latLng(lat, lon), 18, {animate: false}); }", list(KUNMING))
        page.wait_for_selector(".leaflet-marker-icon.yz-pin:not(.hit)", timeout=30000)
        # tap a marker that is inside the visible map (markers just outside it are kept by the cluster layer)
        xy = page.evaluate("""() => {
            const box = document.querySelector('.leaflet-container').getBoundingClientRect();
            for (const m of document.querySelectorAll('.leaflet-marker-icon.yz-pin:not(.hit)')) {
                const r = m.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (x > box.left + 20 && x < box.right - 20 && y > box.top + 20 && y < box.bottom - 40) { return [x, y]; }
            }
            return null; }""")
        assert xy, "no station marker inside the visible map"
        page.mouse.click(xy[0], xy[1])
        page.wait_for_selector(".yz-popup[data-id] h3", timeout=30000)
        sid = page.locator(".yz-popup[data-id]").get_attribute("data-id")
        api = live.get_json(f"/api/stations/{sid}")
        assert page.locator(".yz-popup[data-id] h3").text_content() == api["properties"]["name"]
        assert page.locator(".yz-popup .svc li").count() == len(api["properties"]["services"])
        assert rec.errors == []
    finally:
        ctx.close()


def test_map_filter_reads_the_checked_filters_once_per_change(browser, live):
    """Filtering the 3,677 markers reads the filter checkboxes once per change, not once per marker."""
    ctx, page, rec = _page(browser, live)
    try:
        page.wait_for_selector(".marker-cluster", timeout=20000)
        page.evaluate("""() => { window.__domQueries = 0;
            for (const name of ['querySelectorAll', 'querySelector', 'getElementById']) {
                const orig = Document.prototype[name];
                Document.prototype[name] = function () { window.__domQueries++; return orig.apply(this, arguments); };
            } }""")
        with_toilet = live.get_json("/api/stations", service="toilet", limit=1)["numberMatched"]
        page.click("label:has(#filter-toilet)")
        page.wait_for_selector(f"body[data-stations-shown='{with_toilet}']", timeout=20000)
        open_toilet = live.get_json("/api/stations", service="toilet", open_now=1, limit=1)["numberMatched"]
        page.click("label:has(#filter-open)")
        page.wait_for_selector(f"body[data-stations-shown='{open_toilet}']", timeout=20000)
        assert page.evaluate("() => window.__domQueries") < 50  # two changes; the map holds 3,677 markers
        assert rec.errors == []
    finally:
        ctx.close()


# a few Yunnan points (lon, lat): 东风广场, 丽江, 景洪, 昭通, 腾冲, the western border near 瑞丽, 富宁 in the east
YUNNAN_POINTS = [KUNMING, (100.2330, 26.8721), (100.7979, 22.0017), (103.7172, 27.3382), (98.4946, 25.0205),
                 (97.55, 24.05), (105.63, 23.63)]


def test_gcj02_in_the_browser_agrees_with_stations_coords(browser, live):
    """The finder's GCJ-02 shift (the vendored gcoord package, its one source) agrees with stations.coords both
    ways to 1e-6 degree (the forward shift to 1e-9), and reproduces the published vectors."""
    from stations.coords import gcj02_to_wgs84, wgs84_to_gcj02
    from test_coords import GCJ_VECTORS

    static = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "webmap", "static")
    for name in os.listdir(static):
        if name.endswith(".js"):
            with open(os.path.join(static, name), encoding="utf-8") as f:
                assert "6378245" not in f.read(), f"{name} carries its own GCJ-02 formula"
    ctx, page, rec = _page(browser, live)
    try:
        wgs = [list(p) for p in YUNNAN_POINTS] + [[w[1], w[0]] for w, _ in GCJ_VECTORS]
        fwd = page.evaluate("pts => pts.map(p => window.YZ.wgsToGcj(p[0], p[1]))", wgs)
        for p, js in zip(wgs, fwd):
            py = wgs84_to_gcj02(*p)
            assert js[0] == pytest.approx(py[0], abs=1e-9) and js[1] == pytest.approx(py[1], abs=1e-9), p
        for (w, g), js in zip(GCJ_VECTORS, fwd[len(YUNNAN_POINTS):]):
            assert js[0] == pytest.approx(g[1], abs=1e-9) and js[1] == pytest.approx(g[0], abs=1e-9)
        gcj = [list(wgs84_to_gcj02(*p)) for p in YUNNAN_POINTS]
        back = page.evaluate("pts => pts.map(p => window.YZ.gcjToWgs(p[0], p[1]))", gcj)
        for p, g, js in zip(YUNNAN_POINTS, gcj, back):
            py = gcj02_to_wgs84(*g)
            assert js[0] == pytest.approx(py[0], abs=1e-6) and js[1] == pytest.approx(py[1], abs=1e-6), p
            assert js[0] == pytest.approx(p[0], abs=1e-6) and js[1] == pytest.approx(p[1], abs=1e-6), p
        assert rec.errors == []
    finally:
        ctx.close()
