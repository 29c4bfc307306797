"""An editor adds a station by clicking the map (desktop, headless Chromium): she logs in through the form, clicks
a point in Kunming on the station map, fills in the name and the hours and saves; the station is stored at the
clicked point (WGS-84), audited as hers, and the finder's API shows it at once. Screenshots in test-artifacts/."""

from __future__ import annotations

import os

import pytest

from conftest import CHROMIUM, fixture_stations, serve
from stations import audit
from stations.registry import Registry
from stations.users import Users

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed at /usr/bin/chromium"),
]

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("mb") / "m.sqlite"
    reg = Registry(f"sqlite:///{path}")
    reg.replace_all(fixture_stations())
    Users(reg).add("km", PASSWORD, "editor", "530100")
    reg.engine.dispose()
    srv = serve(f"sqlite:///{path}", SECRET_KEY="m" * 64, REGISTRY_CHECK_SECONDS=0)
    yield srv
    srv.stop()


def test_editor_adds_a_station_by_clicking_the_map(browser, server, artifacts_dir):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/manage/stations/new", wait_until="load")
    assert "/manage/login" in page.url  # not logged in: the login form, then back here
    page.fill("input[name=username]", "km")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/manage/stations/new")
    page.wait_for_selector("body[data-map-ready]")
    target = (25.0500, 102.7300)  # lat, lon in 昆明市
    page.evaluate("t => YZManage.map.setView(t, 15)", list(target))
    box = page.locator("#station-map").bounding_box()
    pt = page.evaluate("t => { const p = YZManage.map.latLngToContainerPoint(t); return [p.x, p.y]; }", list(target))
    page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])  # a real click on the map
    page.wait_for_selector("body[data-picked]")
    lon, lat = float(page.input_value("#f-lon")), float(page.input_value("#f-lat"))
    assert abs(lon - target[1]) < 2e-4 and abs(lat - target[0]) < 2e-4
    page.fill("input[name=name]", "点图新增驿站（示例）")
    page.fill("input[name=opening_hours]", "08:00-20:00")
    page.check("input[name=services][value=ebike]")
    page.fill("input[name=reason]", "现场新建")
    page.screenshot(path=os.path.join(artifacts_dir, "manage-add-station.png"), full_page=True)
    page.click("#save")
    page.wait_for_selector(".flash-ok")
    assert "已添加" in page.locator(".flash-ok").inner_text()
    sid = page.url.rsplit("/", 1)[-1]
    page.screenshot(path=os.path.join(artifacts_dir, "manage-station-added.png"), full_page=True)
    props = server.get_json(f"/api/stations/{sid}")
    assert props["properties"]["name"] == "点图新增驿站（示例）" and "ebike" in props["properties"]["services"]
    assert props["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert props["properties"]["prefecture_adcode"] == "530100"  # 昆明市 (盘龙区), from the point
    reg = Registry(server.app.config["DATABASE_URL"])
    (entry,) = audit.history(reg.engine, sid)
    assert (entry["actor"], entry["action"], entry["source"], entry["reason"]) == ("km", "create", "form", "现场新建")
    reg.engine.dispose()
    assert not errors, errors
    ctx.close()


def test_editor_outside_her_area_gets_a_message_and_nothing_is_added(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/manage/login", wait_until="load")
    page.fill("input[name=username]", "km")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.goto(server.url + "/manage/stations/new", wait_until="load")
    before = Registry(server.app.config["DATABASE_URL"]).count()
    page.fill("input[name=name]", "大理新站")
    page.fill("#f-lon", "100.2250")
    page.fill("#f-lat", "25.5916")
    page.fill("input[name=opening_hours]", "24小时")
    page.click("#save")
    page.wait_for_selector(".flash-error")
    assert "不在您的管辖范围" in page.locator(".flash-error").inner_text()
    assert page.input_value("input[name=name]") == "大理新站"  # what she typed is kept
    assert Registry(server.app.config["DATABASE_URL"]).count() == before
    ctx.close()
