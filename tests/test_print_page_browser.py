"""The /print page in Chromium (issue 12 §4): a sheet drawn with progress then offered to open and save, an
error next to the form, the county atlas box following the chosen prefecture; screenshots to test-artifacts/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed at /usr/bin/chromium"),
]


def _page(browser, live, width=1100, query=""):
    ctx = browser.new_context(viewport={"width": width, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live.url + "/print" + query, wait_until="load")
    return ctx, page, errors


def test_a_sheet_draws_with_progress_then_opens(browser, live, artifacts_dir):
    ctx, page, errors = _page(browser, live)
    try:
        page.select_option("#area", "530102")
        page.check('input[name="paper"][value="A4"]')
        page.check('input[name="orientation"][value="landscape"]')
        page.select_option('select[name="dpi"]', "100")
        page.click('button[formaction$="sheet.png"]')
        page.locator("#sheet-progress").wait_for(state="visible", timeout=10000)
        assert "正在绘制地图" in page.inner_text("#sheet-state")
        page.screenshot(path=str(Path(artifacts_dir) / "print-sheet-drawing.png"), full_page=True)
        page.locator("#sheet-open").wait_for(state="visible", timeout=120000)
        assert "地图已生成" in page.inner_text("#sheet-state")
        assert page.get_attribute("#sheet-open", "href").startswith("blob:")
        assert page.get_attribute("#sheet-download", "download").endswith(".png")
        page.locator("#sheet-preview").wait_for(state="visible")
        assert page.evaluate("document.getElementById('sheet-preview').naturalWidth") > 1000
        assert page.locator("#sheet-progress").is_hidden()
        assert page.is_enabled('button[formaction$="sheet.png"]')
        page.screenshot(path=str(Path(artifacts_dir) / "print-sheet-ready.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()


def test_a_refused_sheet_says_why_next_to_the_form(browser, live):
    ctx, page, errors = _page(browser, live)
    try:
        page.fill('input[name="radius"]', "20000")
        page.evaluate("document.querySelector('input[name=radius]').removeAttribute('max')")
        page.evaluate("document.querySelector('input[name=radius]').value = '50000'")
        page.click('button[formaction$="sheet.pdf"]')
        page.wait_for_function("() => document.getElementById('sheet-job').dataset.state === 'error'", timeout=30000)
        assert "地图绘制失败" in page.inner_text("#sheet-state") and "radius" in page.inner_text("#sheet-state")
        assert page.locator("fieldset.field-error").count() == 1
        assert page.locator("#sheet-open").is_hidden()
        assert [e for e in errors if "400" not in e] == []  # the browser logs the refused request itself
    finally:
        ctx.close()


def test_county_atlas_box_follows_the_prefecture(browser, live, artifacts_dir):
    ctx, page, errors = _page(browser, live)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/print/atlas/status" in r.url else None)
    try:
        page.select_option("#county-atlas-area", "532900")
        page.wait_for_function("() => true")
        page.wait_for_timeout(500)
        assert any("area=532900" in u for u in requests), requests
        href = page.get_attribute('.atlas-job.county-atlas[data-county-paper="A4"] .atlas-start', "href")
        assert "area=532900" in href
        # the atlas buttons are the page's main buttons: filled in the accent colour
        colour = page.evaluate("getComputedStyle(document.querySelector('.atlas-start')).backgroundColor")
        assert colour == "rgb(179, 38, 30)"
        page.screenshot(path=str(Path(artifacts_dir) / "print-page.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()


def test_print_page_on_a_phone(browser, live, artifacts_dir):
    ctx, page, errors = _page(browser, live, width=390)
    try:
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow
        page.screenshot(path=str(Path(artifacts_dir) / "print-page-phone.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()
