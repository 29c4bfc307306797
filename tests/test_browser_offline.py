"""The finder with no signal and without tiles, in headless Chromium (issue 11 §2).

- After one visit, with the network switched off (Playwright ``context.set_offline``), the finder reloads from the
  service worker's caches: stations, outlines, place search, the nearest stations from a set position (worked
  out on the phone, said so) and the age of the data ("数据更新于 …"); online again, the line goes away.
  The map's saved columns list gets its open flags from the saved 15-minute slots, and the phone's answers
  (/api/nearest with open_at / open_24h / open_now / services, the map's "open at" ids) equal the server's:
  the nearest open station first, walking minutes only within 3 km, hours unknown never open.
- With every tile request failing, the map stops asking after a handful, removes its tile layer and draws its
  own base (outlines, lakes, labels) at county and street zoom. ``TILES="none"`` shows the same base.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import CHROMIUM, KUNMING, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed at /usr/bin/chromium"),
]

LOCAL = re.compile(r"^https?://127\.0\.0\.1[:/]")


FAR = (100.2, 26.9)  # north of Lijiang: the other stations are kilometres away
UNKNOWN_ID = "YN-T-UNKNOWN-HOURS"


@pytest.fixture(scope="module")
def offline_server(demo_db_url, tmp_path_factory):
    """The demo registry plus a station whose hours are unknown (营业时间不详), 40 m from ``FAR``."""
    from conftest import copy_sqlite, fixture_stations
    from stations.hours import parse_hours
    from stations.nearest import GEOD
    from stations.registry import Registry

    path = tmp_path_factory.mktemp("offline-registry") / "demo.sqlite"
    copy_sqlite(demo_db_url, path)  # the demo registry's 3,677 stations (a file copy would miss its WAL)
    row = fixture_stations().iloc[[0]].copy()
    lon, lat, _ = GEOD.fwd(FAR[0], FAR[1], 45, 40)
    row["id"], row["lon"], row["lat"], row["status"] = UNKNOWN_ID, round(lon, 6), round(lat, 6), "open"
    row["opening_hours"], row["hours_json"] = "营业时间不详", parse_hours("营业时间不详").to_json()
    row["prefecture_adcode"], row["county_adcode"] = "530700", "530702"
    Registry(f"sqlite:///{path}").upsert(row)
    server = serve(f"sqlite:///{path}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tiles_server(demo_db_url):
    server = serve(demo_db_url, TILES="osm")
    yield server
    server.stop()


def _context(browser, width=390, height=844, lang="zh-CN"):
    return browser.new_context(
        viewport={"width": width, "height": height}, locale=lang, timezone_id="Asia/Shanghai",
        geolocation={"latitude": KUNMING[1], "longitude": KUNMING[0], "accuracy": 20}, permissions=["geolocation"],
        device_scale_factor=1, service_workers="allow",
    )


def _results(page):
    return page.eval_on_selector_all("#results li.result", "els => els.map(e => e.dataset.id)")


def test_after_one_visit_the_finder_works_offline_and_says_how_old_its_data_is(browser, offline_server, artifacts_dir):
    live = offline_server
    ctx = _context(browser)
    errors: list[str] = []
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live.url + "/", wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        page.wait_for_selector("body[data-sw='ready']", timeout=30000)
        page.wait_for_selector("body[data-offline-warm='1']", timeout=60000)
        assert page.locator("#data-age").is_hidden()  # online: nothing to say
        n_online = int(page.get_attribute("body", "data-stations-loaded"))

        # the saved list (the map's columns) says every station is open (as a list saved at noon would at night):
        # offline, the flags must come from the saved slots instead, and the 24-hour flags stay
        map_url = json.loads(page.locator("#yz-config").text_content())["api"]["stations_map"]
        assert "fields=columns" in map_url
        h24_saved = page.evaluate("""async (u) => {
            const c = await caches.open((await caches.keys()).find(n => n.startsWith('yizhan-data-')));
            const r = await c.match(u, {ignoreVary: true});
            const body = await r.json();
            body.open = '1'.repeat(body.ids.length);
            await c.put(u, new Response(JSON.stringify(body), {headers: r.headers}));
            return body.h24;
        }""", map_url)

        # the browser's HTTP cache would answer the next minute's requests itself (max-age=60): as a worker an hour
        # later, without it
        ctx.new_cdp_session(page).send("Network.clearBrowserCache")
        ctx.set_offline(True)
        page.reload(wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        assert int(page.get_attribute("body", "data-stations-loaded")) == n_online
        page.wait_for_selector(".marker-cluster", timeout=20000)
        page.wait_for_selector("path.yz-outline-prefectures", timeout=20000)
        age = page.locator("#data-age")
        age.wait_for(state="visible", timeout=40000)
        assert re.search(r"数据更新于 \d{4}-\d\d-\d\d \d\d:\d\d", age.inner_text()), age.inner_text()
        age_before = age.get_attribute("data-fetched-at")

        # place search from the saved gazetteer
        page.fill("#place-input", "昆明")
        page.wait_for_selector("#place-suggestions li button", timeout=40000)
        first = page.locator("#place-suggestions li button").first.inner_text()
        assert first.startswith("昆明市"), first

        # the map's open flags are those of now, from the saved slots (not those of when the list was saved)
        saved = page.evaluate("async (u) => (await (await fetch(u)).json())", map_url)
        assert saved["h24"] == h24_saved and "0" in saved["open"]
        page.check("#filter-open")
        shown = int(page.get_attribute("body", "data-stations-shown"))
        slot = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, second=0, microsecond=0)
        slot = slot.replace(minute=slot.minute - slot.minute % 15)
        expected = {live.get_json("/api/stations", fields="ids", limit=1, open_now=1,
                                  at=(slot - timedelta(minutes=m)).isoformat())["numberMatched"] for m in (0, 15)}
        assert shown in expected and shown < n_online
        page.uncheck("#filter-open")
        # "open at 22:00" on the map, from the saved slots
        page.select_option("#filter-open-at", "22:00")
        n22 = live.get_json("/api/stations", fields="ids", limit=1, open_at="22:00")["numberMatched"]
        page.wait_for_selector(f"body[data-stations-shown='{n22}']", timeout=40000)
        page.select_option("#filter-open-at", "")

        # the phone's answers keep the server's rules (issue 11 §3): the same stations in the same order, the
        # nearest open one first, walking minutes only within 3 km, open at / open 24 h from the saved slots,
        # hours unknown neither open nor closed. At slot boundaries so the 15-minute slots are exact.
        _same_answers_offline_as_online(page, live, slot)

        # the phone's place search answers as the server's does
        for q in ("km", "kunming", "版纳", "大理", "古城", "puer", "丽江", "xsbn", "zt"):
            phone = page.evaluate("async (q) => (await (await fetch('/api/places?lang=zh&limit=5&q=' + encodeURIComponent(q))).json())", q)
            server = live.get_json("/api/places", q=q, limit=5, lang="zh")
            assert phone["offline"] is True
            assert [p["id"] for p in phone["places"]] == [p["id"] for p in server["places"]], q

        # nearest from a set position (the phone's position), worked out on the phone
        page.click("#locate-btn")
        page.wait_for_selector("body[data-results='5']", timeout=20000)
        got = _results(page)
        online = live.get_json("/api/nearest", lat=KUNMING[1], lon=KUNMING[0], k=5)  # the server, from the test
        assert got == [f["id"] for f in online["features"]]
        assert "本机" in age.inner_text()  # "worked out on this phone", said
        # the navigation links made on the phone are the server's
        phone = page.evaluate("async (q) => (await (await fetch('/api/nearest?' + q)).json())",
                              f"lat={KUNMING[1]}&lon={KUNMING[0]}&k=5&lang=zh")
        assert [f["properties"]["nav"] for f in phone["features"]] == [f["properties"]["nav"] for f in online["features"]]
        page.wait_for_timeout(300)
        page.screenshot(path=os.path.join(artifacts_dir, "offline-finder-390x844.png"))
        page.screenshot(path=os.path.join(artifacts_dir, "offline-finder-390x844-full.png"), full_page=True)

        # a station card offline
        page.locator("#results li.result .show-on-map").first.click()
        page.wait_for_selector(".leaflet-popup .yz-popup h3.name", timeout=40000)

        # online again: the saved files are fetched again quietly and the line goes away, without a reload
        ctx.set_offline(False)
        page.evaluate("() => { window.dispatchEvent(new Event('online')); }")  # Playwright does not always fire it
        age.wait_for(state="hidden", timeout=20000)
        fetched = page.evaluate("""async (u) => (await (await caches.match(u, {ignoreVary: true})).headers.get('X-Yizhan-Fetched-At'))""",
                                json.loads(page.locator("#yz-offline").text_content())["stations"])
        assert fetched > age_before
        page.reload(wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        page.wait_for_timeout(300)
        assert age.is_hidden()
        assert errors == []
    finally:
        ctx.close()


def _phone(page, path: str, **params) -> dict:
    from urllib.parse import urlencode

    return page.evaluate("async (u) => { const r = await fetch(u); "
                         "return {offline: r.headers.get('X-Yizhan-Offline'), body: await r.json()}; }",
                         path + "?" + urlencode(params))


def _same_answers_offline_as_online(page, live, slot: datetime) -> None:
    day = slot.replace(hour=0, minute=0)
    seen = {"far": False, "unknown": False, "open_first": False, "walk": False}
    for at in (slot, day.replace(hour=3), day.replace(hour=12, minute=30), day + timedelta(days=1, hours=20)):
        for where in (KUNMING, FAR):
            for extra in ({}, {"open_at": "22:00"}, {"open_at": "06:30"}, {"open_24h": "1"}, {"open_now": "1"},
                          {"service": "toilet"}, {"open_at": (day + timedelta(hours=21)).isoformat(timespec="minutes")}):
                q = {"lat": where[1], "lon": where[0], "k": 8, "lang": "zh", "at": at.isoformat(timespec="minutes"),
                     **extra}
                got = _phone(page, "/api/nearest", **q)
                server = live.get_json("/api/nearest", **q)
                assert got["offline"] == "1", q
                phone = got["body"]
                ctx = (q, [f["id"] for f in phone["features"]], [f["id"] for f in server["features"]])
                assert [f["id"] for f in phone["features"]] == [f["id"] for f in server["features"]], ctx
                assert phone["nearest_open_id"] == server["nearest_open_id"], ctx
                assert phone["walk_max_m"] == server["walk_max_m"] == 3000
                assert [phone["query"][k] for k in ("at", "open_at")] == [server["query"][k] for k in ("at", "open_at")]
                for a, b in zip(phone["features"], server["features"]):
                    pa, pb = a["properties"], b["properties"]
                    assert abs(pa["distance_m"] - pb["distance_m"]) <= 0.15, ctx  # both geodesic on WGS-84
                    for key in ("open_now", "hours_unknown", "status", "walk_min"):
                        assert pa.get(key) == pb.get(key), (key, ctx)
                    assert ("walk_min" in pa) == (pa["distance_m"] <= 3000)
                    seen["far"] |= "walk_min" not in pb
                    seen["walk"] |= "walk_min" in pb
                    seen["unknown"] |= pb["hours_unknown"] and not pb["open_now"]
                if server["nearest_open_id"] is not None:
                    assert phone["features"][0]["id"] == server["nearest_open_id"]
                    d = [f["properties"]["distance_m"] for f in server["features"]]
                    seen["open_first"] |= len(d) > 1 and d[0] > d[1]  # moved ahead of nearer closed stations
        # the map's "open at" ids
        for extra in ({"open_at": "22:00"}, {"open_at": "07:15"}, {"open_24h": "1", "service": "water"},
                      {"open_now": "1"}):
            q = {"fields": "ids", "limit": 10000, "at": at.isoformat(timespec="minutes"), **extra}
            got = _phone(page, "/api/stations", **q)
            server = live.get_json("/api/stations", **q)
            assert got["offline"] == "1"
            assert got["body"]["ids"] == server["ids"] and got["body"]["open_at"] == server["open_at"], q
    assert seen["far"] and seen["walk"], seen  # both sides of the 3 km line were compared
    assert seen["unknown"] and seen["open_first"], seen  # unknown hours and the open station first were compared


def _set_view(page, lat: float, lon: float, zoom: int) -> None:
    # a block body: returning the Leaflet map would make Playwright serialise its whole object graph
    page.evaluate(f"() => {{ window.YZ_MAP.setView([{lat}, {lon}], {zoom}, {{animate: false}}); }}")


def _wait_count(page, selector: str, n: int) -> None:
    page.wait_for_function(f"() => document.querySelectorAll({selector!r}).length >= {n}", timeout=40000)


def _tile_layers(page) -> int:
    return page.evaluate("() => { let n = 0; window.YZ_MAP.eachLayer(l => { if (l instanceof L.TileLayer) n++; }); return n; }")


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_failing_tiles_give_way_to_the_drawn_base_with_labels(browser, tiles_server, artifacts_dir, width, height):
    live = tiles_server
    ctx = _context(browser, width, height)
    tile_requests: list[str] = []
    console: list[str] = []
    try:
        ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: (tile_requests.append(route.request.url), route.abort()))
        page = ctx.new_page()
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.goto(live.url + "/", wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        page.wait_for_selector("body[data-tiles='failed'][data-basemap='drawn']", timeout=20000)
        assert _tile_layers(page) == 0
        page.wait_for_timeout(1000)
        # 3 failures switch the tiles off; a request Leaflet cancels (the view moved while the page loads) is no
        # failure, so a few more may have been asked for, but the console holds only the failures
        at_switch = len(tile_requests)
        assert 3 <= at_switch <= 10, tile_requests
        assert len(console) <= 6, console
        assert page.locator(".yz-where .tiles-note").is_visible()
        page.screenshot(path=os.path.join(artifacts_dir, f"tiles-failed-province-{width}x{height}.png"))

        # county zoom: county names and town labels; street zoom: town labels and "you are in"
        _set_view(page, KUNMING[1], KUNMING[0], 10)
        _wait_count(page, ".yz-base-label.place", 3)  # towns
        _wait_count(page, ".yz-label", 3)  # county names (finder.js)
        page.wait_for_timeout(300)  # the towns make room for the county names once they arrive
        page.screenshot(path=os.path.join(artifacts_dir, f"tiles-failed-county-{width}x{height}.png"))
        # street zoom near a town: its label, and the box naming the county and the nearest town
        _set_view(page, 24.9650, 102.7180, 16)  # by 六甲街道
        _wait_count(page, ".yz-base-label.place", 1)
        page.wait_for_function("() => /近/.test(document.querySelector('.yz-where .where').textContent)", timeout=40000)
        assert "六甲街道" in page.locator(".yz-base-label.place").all_inner_texts()
        where = page.locator(".yz-where .where")
        assert where.is_visible()
        assert re.match(r"您在：官渡区 · 近 六甲街道 \d+ m", where.inner_text()), where.inner_text()
        page.screenshot(path=os.path.join(artifacts_dir, f"tiles-failed-street-{width}x{height}.png"))
        assert len(tile_requests) == at_switch  # no tile request after the switch, at any zoom

        # back online with a working tile server: the tiles return and the drawn base steps aside
        png = open(os.path.join(os.path.dirname(__file__), "..", "webmap", "static", "icon-192.png"), "rb").read()
        ctx.unroute(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"))
        ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                  lambda route: route.fulfill(status=200, body=png, content_type="image/png"))
        page.evaluate("() => { window.dispatchEvent(new Event('online')); }")
        page.wait_for_selector("body[data-tiles='ok']", timeout=40000)
        assert _tile_layers(page) == 1 and page.get_attribute("body", "data-basemap") is None
        assert page.locator(".yz-base-label").first.is_hidden()
    finally:
        ctx.close()


def test_no_tiles_shows_the_same_drawn_base(browser, offline_server, artifacts_dir):
    ctx = _context(browser, width=1280, height=800, lang="en-US")
    try:
        page = ctx.new_page()
        page.goto(offline_server.url + "/?lang=en", wait_until="load")
        page.wait_for_selector("body[data-basemap='drawn']", timeout=20000)
        assert page.get_attribute("body", "data-tiles") is None
        _set_view(page, 25.03, 102.70, 11)
        _wait_count(page, ".yz-base-label.place", 4)
        _wait_count(page, ".yz-label", 2)  # county names (finder.js), in English
        assert "Wuhua District" in page.locator(".yz-label").all_inner_texts()
        # "near <town>" only for a town within 3 km: 1.5 km from 马街街道 it is said, 7.6 km from it the county alone
        where = page.locator(".yz-where .where")
        _set_view(page, 25.0450, 102.6380, 13)
        page.wait_for_function("() => /near .+ 1\\.\\d km$/.test(document.querySelector('.yz-where .where').textContent)",
                               timeout=20000)
        _set_view(page, 25.1000, 102.6500, 13)
        page.wait_for_function("() => !/near/.test(document.querySelector('.yz-where .where').textContent)", timeout=20000)
        assert re.fullmatch(r"You are in: \S.*District", where.inner_text()), where.inner_text()
        assert page.locator(".yz-where .tiles-note").is_hidden()
        page.screenshot(path=os.path.join(artifacts_dir, "drawn-base-1280x800-en.png"))
    finally:
        ctx.close()


def test_tiles_that_load_are_kept(browser, tiles_server):
    """The watch holds tiles back only until the first one loads: then every tile of the screen is asked for."""
    png = open(os.path.join(os.path.dirname(__file__), "..", "webmap", "static", "icon-192.png"), "rb").read()
    ctx = _context(browser)
    served: list[str] = []
    try:
        ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                  lambda route: (served.append(route.request.url), route.fulfill(status=200, body=png, content_type="image/png")))
        page = ctx.new_page()
        page.goto(tiles_server.url + "/", wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        page.wait_for_function("() => document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded').length >= 4",
                               timeout=40000)
        assert _tile_layers(page) == 1
        assert page.get_attribute("body", "data-tiles") is None
        assert page.get_attribute("body", "data-basemap") is None
        assert len(served) >= 4
    finally:
        ctx.close()


def test_a_new_release_replaces_the_old_caches(browser, demo_db_url, tmp_path):
    import shutil

    server = serve(demo_db_url)
    ctx = _context(browser)
    try:
        page = ctx.new_page()
        page.goto(server.url + "/", wait_until="load")
        page.wait_for_selector("body[data-offline-warm='1']", timeout=60000)
        caches_js = "async () => (await caches.keys()).filter(n => n.startsWith('yizhan-')).sort()"
        old = page.evaluate(caches_js)
        old_release = json.loads(page.locator("#yz-offline").text_content())["release"]
        assert len(old) == 3 and all(n.endswith(old_release) for n in old)
        # a new release: one shell file changed
        app = server.app
        static = tmp_path / "static"
        shutil.copytree(app.static_folder, static)
        (static / "offline.js").write_text((static / "offline.js").read_text(encoding="utf-8") + "\n// new\n",
                                           encoding="utf-8")
        app.static_folder = str(static)
        app.extensions.pop("yizhan_offline")
        page.reload(wait_until="load")
        new_release = json.loads(page.locator("#yz-offline").text_content())["release"]
        assert new_release != old_release
        page.wait_for_function(f"""async () => {{ const n = (await caches.keys()).filter(n => n.startsWith('yizhan-'));
            return n.length >= 2 && n.every(x => x.endsWith({json.dumps(new_release)})); }}""", timeout=30000)
    finally:
        ctx.close()
        server.stop()
