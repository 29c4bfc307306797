"""The offline finder's server side (webmap/offline.py): the service worker, the manifest, the files the phone keeps,
the default tile provider (issue 11 §2). The browser side is tests/test_browser_offline.py."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_service_worker_is_served_at_the_root_with_its_own_workbox(client):
    resp = client.get("/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Service-Worker-Allowed"] == "/"
    assert resp.headers["Cache-Control"] == "no-cache"
    body = resp.get_data(as_text=True)
    assert "googleapis" not in body
    imported = re.findall(r'importScripts\("([^"]+)"\)', body)
    assert len(imported) == 2 and all(u.startswith("/static/vendor/") for u in imported)  # the app's own copies
    assert 'modulePathPrefix: "/static/vendor/workbox"' in body
    from webmap.offline import WORKBOX_MODULES, release

    with client.application.test_request_context():
        rel = release()
    assert rel.startswith("0.") and f"RELEASE = {json.dumps(rel)}" in body
    for module in WORKBOX_MODULES:
        assert f'workbox.loadModule("{module}")' in body
        assert client.get(f"/static/vendor/workbox/{module}.prod.js").status_code == 200
    assert client.get("/static/vendor/workbox/workbox-sw.js").status_code == 200
    # every precached URL is served by the app
    start = body.index("precacheAndRoute(") + len("precacheAndRoute(")
    entries, _ = json.JSONDecoder().raw_decode(body[start:])
    assert len(entries) >= 15
    for e in entries:
        assert e["revision"] and client.get(e["url"]).status_code == 200, e


def test_no_vendored_asset_names_a_cdn():
    """Every file under static/vendor loads from the app: workbox-sw's built-in default (Google's CDN, taken when no
    modulePathPrefix is set) is rewritten to the app's own folder by scripts/vendor_assets.py."""
    vendor = ROOT / "webmap" / "static" / "vendor"
    named = [str(p.relative_to(vendor)) for p in vendor.rglob("*.js")
             if re.search(r"cdn|googleapis|unpkg|jsdelivr", p.read_text(encoding="utf-8", errors="replace"), re.I)]
    assert named == []
    assert '["/static/vendor/workbox"]' in (vendor / "workbox" / "workbox-sw.js").read_text(encoding="utf-8")


def test_manifest_and_icons(client):
    from PIL import Image

    resp = client.get("/manifest.webmanifest")
    assert resp.mimetype == "application/manifest+json"
    m = resp.get_json()
    assert m["name"] == "云南户外劳动者驿站" and m["start_url"] == "/" and m["display"] == "standalone"
    en = client.get("/manifest.webmanifest?lang=en").get_json()
    assert en["name"] == "Rest stations for outdoor workers · Yunnan" and en["start_url"] == "/?lang=en"
    sizes = {i["sizes"] for i in m["icons"] if i["type"] == "image/png"}
    assert sizes == {"192x192", "512x512"}
    for icon in m["icons"]:
        data = client.get(icon["src"]).data
        if icon["type"] == "image/png":
            w, h = Image.open(io.BytesIO(data)).size
            assert f"{w}x{h}" == icon["sizes"]


def test_finder_page_links_the_manifest_and_loads_the_tile_watch_before_the_map(client):
    html = client.get("/").get_data(as_text=True)
    assert 'rel="manifest"' in html
    config = json.loads(html.split('<script id="yz-offline" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert config["sw"] == "/sw.js" and config["strings"]["data_age"] == "数据更新于 %(time)s"
    assert html.index("basemap.js") < html.index("L.map(")  # the tile watch must exist before the tile layer
    assert html.index("finder.js") < html.index("offline.js")
    assert 'id="data-age"' in html
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "worker-src 'self'" in csp and "manifest-src 'self'" in csp


def test_offline_stations_file_holds_the_open_state_of_the_next_days(client, app):
    from webmap import get_store
    from webmap.offline import SLOT_DAYS, SLOT_MINUTES, TZ

    data = client.get("/offline/stations.json").get_json()
    cols = data["columns"]
    rows = {r[0]: dict(zip(cols, r)) for r in data["stations"]}
    assert len(rows) == 40 and data["lang"] == "zh"
    start = datetime.fromtimestamp(data["slot_start_ms"] / 1000, TZ).replace(tzinfo=None)
    assert start.hour == 0 and start.minute == 0 and start.date() == datetime.now(TZ).date()
    slots = SLOT_DAYS * 24 * 60 // SLOT_MINUTES
    assert all(len(p) == slots for p in data["patterns"])
    with app.app_context():
        snap = get_store().snapshot()
        ids = snap.gdf["id"].astype(str).tolist()
        for j in (0, 37, 44, 60, 200, 300, 500, slots - 1):  # midnight, 09:15, 11:00, 15:00, later days
            at = start + timedelta(minutes=SLOT_MINUTES * j)
            expect = snap.index.open_mask(at)
            got = np.array([data["patterns"][rows[i]["pattern"]][j] == "1" for i in ids])
            assert (got == expect).all(), at
    closed = [r for r in rows.values() if r["status"] != "open"]
    assert closed and all(set(data["patterns"][r["pattern"]]) == {"0"} for r in closed)
    s = rows["YN-T-000"]
    assert s["name"] == "测试驿站00号（示例）" and s["hours_text"] and s["demo"] is True
    assert "饮水" in s["service_labels"] or s["sv"] & 1 == 0
    # open 24 hours and hours unknown, as the server says them (the phone's open_24h filter and its "hours unknown")
    with app.app_context():
        from webmap.features import hours_unknown, open_24h_flags, text

        h24 = open_24h_flags(snap)
        for pos, i in enumerate(ids):
            assert rows[i]["h24"] is bool(h24[pos])
            assert rows[i]["hours_unknown"] is hours_unknown(text(snap.records[pos], "hours_json"))
    en = client.get("/offline/stations.json?lang=en").get_json()
    assert en["lang"] == "en" and en["stations"][0][cols.index("status_label")] in ("Open", "Temporarily closed")


def test_offline_places_file_carries_the_search_keys(client):
    places = client.get("/offline/places.json").get_json()["places"]
    kunming = next(p for p in places if p["name_zh"] == "昆明市")
    assert {"昆明", "kunming", "km"} <= set(kunming["keys"]) and kunming["label"] == "昆明市" and kunming["rank"] == 0
    assert kunming["kind_label"] == "市"
    banna = next(p for p in places if p["name_zh"] == "西双版纳傣族自治州")
    assert "版纳" in banna["keys"]
    en = client.get("/offline/places.json?lang=en").get_json()["places"]
    assert next(p for p in en if p["id"] == kunming["id"])["label"] == "Kunming"


def test_offline_lakes(client):
    gj = client.get("/offline/lakes.json").get_json()
    names = {f["properties"]["name_zh"] for f in gj["features"]}
    assert "滇池" in names and "洱海" in names
    assert all(f["properties"]["label_point"] for f in gj["features"])


def test_default_tiles_are_auto_tianditu_with_a_key_else_the_drawn_base(monkeypatch):
    from stations.config import SETTINGS
    from webmap.maps import tile_config

    assert next(s for s in SETTINGS if s.env == "YIZHAN_TILES").default == "auto"
    assert tile_config("auto").name == "none" and tile_config(None).name == "none"
    with_key = tile_config("auto", "k3y")
    assert with_key.name == "tianditu" and all("tk=k3y" in layer["url"] for layer in with_key.layers)


def test_a_changed_shell_file_is_a_new_release(app, tmp_path):
    import shutil

    from webmap.offline import release

    with app.test_request_context():
        before = release()
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    (static / "finder.js").write_text((static / "finder.js").read_text(encoding="utf-8") + "\n// changed\n",
                                      encoding="utf-8")
    app.static_folder = str(static)
    app.extensions.pop("yizhan_offline")
    with app.test_request_context():
        after = release()
    assert after != before and after.split("-")[0] == before.split("-")[0]  # same package version, new hash
