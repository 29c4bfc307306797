"""A worker reports a problem in two taps, on a phone (390 x 844) in headless Chromium: from the list entry and from
the map popup; the finder shows "last verified" and, once reported, the badge. Screenshots in test-artifacts/."""

from __future__ import annotations

import os
import shutil

import pytest
import sqlalchemy as sa

from conftest import CHROMIUM, KUNMING, fixture_stations, serve
from stations.registry import Registry
from stations.schema import reports_table

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("rb") / "r.sqlite"
    reg = Registry(f"sqlite:///{path}")
    reg.replace_all(fixture_stations())
    reg.engine.dispose()
    srv = serve(f"sqlite:///{path}", SECRET_KEY="b" * 64, REGISTRY_CHECK_SECONDS=0)
    yield srv
    srv.stop()


def _reports(server) -> list[dict]:
    reg = Registry(server.app.config["DATABASE_URL"])
    with reg.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(reports_table).order_by(reports_table.c.id)).mappings()]
    reg.engine.dispose()
    return rows


def _phone(browser, server, lang="zh-CN"):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale=lang, has_touch=True,
                              geolocation={"latitude": KUNMING[1], "longitude": KUNMING[0], "accuracy": 20},
                              permissions=["geolocation"], device_scale_factor=1)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/", wait_until="load")
    page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
    return ctx, page, errors


def test_two_tap_report_from_the_list_on_a_phone(browser, server, artifacts_dir):
    ctx, page, errors = _phone(browser, server)
    page.tap("#locate-btn")
    page.wait_for_selector("#results li.result .report-open", timeout=20000)
    first = page.locator("#results li.result").first
    sid = first.get_attribute("data-id")
    assert "最近核实" in first.locator(".verified").inner_text() and "尚未核实" in first.inner_text()
    assert first.locator(".report-panel").is_hidden()
    first.locator(".report-open").tap()  # tap 1
    first.locator(".report-panel").wait_for(state="visible")
    assert first.locator(".report-reasons button[data-reason]").count() == 8
    first.locator(".report-text").fill('<img src=x onerror=alert(1)>门口贴了通知')
    page.screenshot(path=os.path.join(artifacts_dir, "report-phone-reasons.png"), full_page=False)
    first.locator(".report-reasons button[data-reason=closed]").tap()  # tap 2
    page.wait_for_selector(f"#results li.result[data-id='{sid}'] .report-box[data-sent=closed]", timeout=10000)
    assert "谢谢" in first.locator(".report-note").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "report-phone-sent.png"), full_page=False)
    rows = _reports(server)
    assert rows[-1]["station_id"] == sid and rows[-1]["reason"] == "closed"
    assert rows[-1]["text"] == "<img src=x onerror=alert(1)>门口贴了通知" and rows[-1]["client"] != "127.0.0.1"
    # the badge shows on the next search, at once
    page.tap("#locate-btn")
    page.wait_for_selector(f"#results li.result[data-id='{sid}'] .reports-badge[data-open-reports='1']", timeout=10000)
    badge = page.locator(f"#results li.result[data-id='{sid}'] .reports-badge").inner_text()
    assert "关门" in badge and "1 条待处理报告" in badge
    # the report box and its buttons fit the phone's width (the map's own layers are not ours to measure)
    right = page.evaluate("Math.max(...Array.from(document.querySelectorAll('#results .report-box, "
                          "#results .report-box *, #results .verified, #results .reports-badge'))"
                          ".map(e => e.getBoundingClientRect().right))")
    assert right <= 390
    assert not errors, errors
    ctx.close()


def test_report_from_the_map_popup_in_english_on_a_desktop(browser, server, artifacts_dir):
    """The map popup carries the same two taps (on a desktop, where the popup has room; on a phone the list entry
    is the place, tested above)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en",
                              geolocation={"latitude": KUNMING[1], "longitude": KUNMING[0], "accuracy": 20},
                              permissions=["geolocation"])
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/?lang=en", wait_until="load")
    page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
    page.click("#locate-btn")
    page.wait_for_selector("#results li.result .show-on-map", timeout=20000)
    page.locator("#results li.result .show-on-map").nth(1).click()
    button = page.locator(".leaflet-popup .yz-popup .report-open")
    button.wait_for(timeout=15000)
    assert "Last verified" in page.locator(".leaflet-popup .verified").inner_text()
    button.click()
    page.locator(".leaflet-popup button[data-reason=no_water]").click()
    page.wait_for_selector(".leaflet-popup .report-box[data-sent=no_water]", timeout=10000)
    assert "Thank you" in page.locator(".leaflet-popup .report-note").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "report-desktop-popup.png"), full_page=False)
    assert _reports(server)[-1]["reason"] == "no_water"
    assert not errors, errors
    ctx.close()
