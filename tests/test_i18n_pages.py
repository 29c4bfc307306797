"""Every visible string of ``/``, ``/planner`` and ``/print`` comes from the catalogue in the page's language.

* Server HTML: Chinese by default and with ``Accept-Language: zh-CN``; English with ``?lang=en`` and with
  ``Accept-Language: en-US``. The visible text (tags, scripts and ``<code>`` stripped; ``placeholder``,
  ``title``, ``aria-label``, ``alt`` and ``label`` attributes kept) of an English page holds no Chinese except
  place names and the "中文" switch; a Chinese page holds no English words except names of things (API, PDF,
  CSV...) and the "English" switch. The strings the page scripts show (the ``application/json`` blocks) follow
  the same rule.
* Catalogue: every msgid that ``pybabel extract`` finds in ``webmap`` is in ``messages.pot`` and has a non-empty,
  non-fuzzy Chinese msgstr with the same placeholders, and the compiled ``.mo`` says the same as the ``.po``.
* Browser (``@pytest.mark.browser``): the planner's what-if panel (built by whatif.js) is English with
  ``?lang=en`` and Chinese by default; screenshots of ``/print`` in both languages go to ``test-artifacts/``.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import webmap
from conftest import CHROMIUM

ROOT = Path(webmap.__file__).parent
TRANSLATIONS = ROOT / "translations"
PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
POT = TRANSLATIONS / "messages.pot"

PAGES = ["/", "/planner", "/print"]
ZH_REQUESTS = [("", {}), ("", {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})]
EN_REQUESTS = [("?lang=en", {}), ("", {"Accept-Language": "en-US,en;q=0.9"})]

# Chinese characters and CJK / full-width punctuation (not U+3000, the ideographic space used for indents)
CJK = re.compile(r"[\u3001-\u303f\u3400-\u9fff\uff01-\uff5e]+")
WORD = re.compile(r"[A-Za-z]{3,}")
# English words allowed on a Chinese page: the language switch, names of formats, libraries and services,
# and the romanised example in the place search box ("昆明 or kunming")
ZH_PAGE_WORDS = {"English", "API", "PDF", "PNG", "CSV", "XLSX", "GEOJSON", "GeoJSON", "GPKG", "dpi", "kunming",
                 "Leaflet", "OpenStreetMap", "OSM", "Amap", "Tianditu"}
EN_PAGE_CJK = {"中文"}  # the language switch; place names are added from the geography below


def _place_names() -> set[str]:
    names = {"云南", "云南省", "昆明"}
    try:
        from stations import geo

        for frame in (geo.load_prefectures(), geo.load_counties()):
            names.update(str(n) for n in frame["name_zh"])
    except Exception:  # geography not built: the seed names still cover the pages' examples
        pass
    return names


PLACE_NAMES = _place_names()


def visible_text(html: str) -> str:
    """The text a reader sees or hears: body text without scripts, styles and code, plus the attributes
    browsers show (placeholder, title, aria-label, alt, optgroup label) and the document title."""
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    body = html.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    body = re.sub(r"<(script|style|code)\b.*?</\1>", " ", body, flags=re.S)
    attrs = re.findall(r"""\s(?:placeholder|title|aria-label|alt|label)="([^"]*)\"""", body)
    text = re.sub(r"<[^>]+>", " ", body)
    return htmllib.unescape(" ".join([title.group(1) if title else "", text, *attrs]))


def json_strings(html: str) -> dict[str, str]:
    """Every translated string handed to the page scripts: ``strings`` and ``services`` of each JSON config
    block, and whole string-valued blocks such as ``#wi-strings``."""
    out: dict[str, str] = {}
    for block_id, raw in re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, re.S):
        data = json.loads(raw)
        if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
            out.update({f"{block_id}.{k}": v for k, v in data.items()})
            continue
        for part in ("strings", "services"):
            for k, v in (data.get(part) or {}).items():
                out[f"{block_id}.{part}.{k}"] = v
    return out


def foreign_cjk(text: str) -> list[str]:
    return sorted({run for run in CJK.findall(text) if run not in EN_PAGE_CJK and run not in PLACE_NAMES})


def foreign_words(text: str) -> list[str]:
    return sorted(set(WORD.findall(text)) - ZH_PAGE_WORDS)


def _get(app, path, query, headers):
    client = app.test_client()  # a fresh client per request: no lang cookie carried over
    resp = client.get(path + query, headers=headers)
    assert resp.status_code == 200, (path, query, headers, resp.status_code)
    return resp


# ---------------------------------------------------------------------------------------------- pages


@pytest.mark.parametrize("query,headers", ZH_REQUESTS, ids=["default", "accept-zh-CN"])
@pytest.mark.parametrize("path", PAGES)
def test_chinese_pages_have_no_english(app, path, query, headers):
    resp = _get(app, path, query, headers)
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and resp.headers["Content-Language"] == "zh-CN"
    text = visible_text(html)
    assert len(CJK.findall(text)) > 10
    assert foreign_words(text) == []
    strings = json_strings(html)
    untranslated = {k: v for k, v in strings.items() if not CJK.search(v)}
    assert untranslated == {}


@pytest.mark.parametrize("query,headers", EN_REQUESTS, ids=["lang=en", "accept-en-US"])
@pytest.mark.parametrize("path", PAGES)
def test_english_pages_have_no_chinese(app, path, query, headers):
    resp = _get(app, path, query, headers)
    html = resp.get_data(as_text=True)
    assert '<html lang="en">' in html and resp.headers["Content-Language"] == "en"
    text = visible_text(html)
    assert len(WORD.findall(text)) > 10
    assert foreign_cjk(text) == []
    strings = json_strings(html)
    assert strings or path == "/print", "no script strings found"  # /print has no script
    leaks = {k: v for k, v in strings.items() if foreign_cjk(v)}
    assert leaks == {}


def test_page_script_strings_exist_in_both_languages(app):
    """The what-if panel (whatif.js) and the planner script get their labels from the server, per language."""
    zh = json_strings(_get(app, "/planner", "", {}).get_data(as_text=True))
    en = json_strings(_get(app, "/planner", "?lang=en", {}).get_data(as_text=True))
    assert zh.keys() == en.keys()
    assert zh["wi-strings.title"] == "新增驿站建议与情景模拟" and en["wi-strings.title"] == "Recommend sites and what-if"
    assert zh["pl-config.strings.Covered %"] == "覆盖率 %"
    js = (ROOT / "static" / "whatif.js").read_text(encoding="utf-8")
    assert not CJK.search(js), "whatif.js carries its own Chinese; put the string in the catalogue"
    for name in ("finder.js", "planner.js"):
        assert not CJK.search(re.sub(r"/\*.*?\*/|//[^\n]*", "", (ROOT / "static" / name).read_text(encoding="utf-8"),
                                     flags=re.S)), name


def test_print_page_switches_language(app):
    zh = visible_text(_get(app, "/print", "", {}).get_data(as_text=True))
    en = visible_text(_get(app, "/print", "?lang=en", {}).get_data(as_text=True))
    assert "打印工会驿站分布图" in zh and "生成 PDF" in zh and "Print a map sheet" not in zh
    assert "Print a map sheet of the rest stations" in en and "Make PDF" in en and "打印" not in en
    # prefecture and county names in English too
    assert "Kunming" in en and "Wuhua District" in en and "昆明市" in zh


# ---------------------------------------------------------------------------------------------- catalogue

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{(\w*)\}")


def _placeholders(s: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(s))


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def test_every_msgid_translated_with_matching_placeholders():
    pot = _read(POT)
    po = _read(PO)
    ids = [m.id for m in pot if m.id]
    assert len(ids) > 150
    missing, empty, fuzzy, mismatched = [], [], [], []
    for msgid in ids:
        m = po.get(msgid)
        if m is None:
            missing.append(msgid)
        elif not m.string:
            empty.append(msgid)
        elif m.fuzzy:
            fuzzy.append(msgid)
        elif _placeholders(msgid) != _placeholders(m.string):
            mismatched.append((msgid, m.string))
    assert (missing, empty, fuzzy, mismatched) == ([], [], [], [])
    assert [m.id for m in po if m.id and m.fuzzy] == []


def test_pot_is_up_to_date(tmp_path):
    """Re-extracting finds no msgid the committed template lacks (run the pybabel commands in webmap/i18n.py)."""
    from babel.messages.frontend import CommandLineInterface

    out = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "t", "-k", "_l",
                                "-o", str(out), str(ROOT)])
    fresh = {m.id for m in _read(out) if m.id}
    committed = {m.id for m in _read(POT) if m.id}
    assert len(fresh) > 150
    assert sorted(fresh - committed) == []


def test_mo_matches_po():
    with (PO.with_suffix(".mo")).open("rb") as f:
        mo = read_mo(f)
    po = _read(PO)
    stale = [m.id for m in po if m.id and (m.id not in mo or mo[m.id].string != m.string)]
    assert stale == [], "run pybabel compile -d webmap/translations"


# ---------------------------------------------------------------------------------------------- browser

NO_CODE_TEXT = "sel => { const c = document.querySelector(sel).cloneNode(true); " \
               "c.querySelectorAll('code, script, style').forEach(e => e.remove()); return c.textContent; }"


def _planner(browser, live, query: str, locale: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale, device_scale_factor=1)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live.url + "/planner" + query, wait_until="load")
    page.wait_for_selector("#wi-panel", timeout=60000)
    page.wait_for_selector("#pl-status[data-state='ready']", timeout=60000)
    return ctx, page, errors


@pytest.mark.parametrize("query,locale", [("?lang=en", "zh-CN"), ("", "en-US")], ids=["lang=en", "accept-en-US"])
@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed at /usr/bin/chromium")
def test_whatif_panel_in_english(browser, live, query, locale):
    ctx, page, errors = _planner(browser, live, query, locale)
    try:
        panel = page.inner_text("#wi-panel")
        for label in ("Recommend sites and what-if", "What-if scenario", "Click map: add a station", "Accept scenario",
                      "What-if scenarios are never written to the station registry."):
            assert label in panel
        assert foreign_cjk(panel) == []
        assert foreign_cjk(page.inner_text(".pl-panel")) == []
        assert page.get_attribute("#wi-panel", "aria-label") == "Recommend sites and what-if"
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed at /usr/bin/chromium")
def test_whatif_panel_in_chinese_by_default(browser, live):
    ctx, page, errors = _planner(browser, live, "", "zh-CN")
    try:
        panel = page.inner_text("#wi-panel")
        for label in ("新增驿站建议与情景模拟", "情景模拟", "点地图添加站点", "接受方案", "情景模拟不会写入驿站登记库。"):
            assert label in panel
        assert foreign_words(panel) == []
        assert foreign_words(page.inner_text(".pl-panel")) == []
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("query,name", [("", "print-zh.png"), ("?lang=en", "print-en.png")])
@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed at /usr/bin/chromium")
def test_print_page_screenshots(browser, live, artifacts_dir, query, name):
    ctx = browser.new_context(viewport={"width": 1000, "height": 1000}, locale="zh-CN", device_scale_factor=1)
    page = ctx.new_page()
    try:
        page.goto(live.url + "/print" + query, wait_until="load")
        text = page.evaluate(NO_CODE_TEXT, "main")  # code (command lines, parameter keys) is not prose
        if query:
            assert "Print a map sheet of the rest stations" in text and foreign_cjk(text) == []
        else:
            assert "打印工会驿站分布图" in text and foreign_words(text) == []
        page.screenshot(path=os.path.join(artifacts_dir, name), full_page=True)
    finally:
        ctx.close()
