"""Languages: Chinese by default, English by ?lang=en, the cookie or Accept-Language; catalogues complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import webmap

TRANSLATIONS = Path(webmap.__file__).parent / "translations"


def title(resp) -> str:
    return re.search(r"<title>(.*?)</title>", resp.get_data(as_text=True), re.S).group(1)


def test_chinese_by_default(client):
    resp = client.get("/")
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "找驿站" in title(resp)
    assert "定位我" in html and "示例数据" in html
    assert resp.headers["Content-Language"] == "zh-CN"


def test_english_by_query_and_cookie(client):
    resp = client.get("/?lang=en")
    html = resp.get_data(as_text=True)
    assert '<html lang="en">' in html and "Locate me" in html and "定位我" not in html
    assert "lang=en" in resp.headers.get("Set-Cookie", "")
    # the cookie keeps English on the next page view
    assert "Locate me" in client.get("/").get_data(as_text=True)
    assert "定位我" in client.get("/?lang=zh").get_data(as_text=True)


@pytest.mark.parametrize("header,expected", [
    ("en-US,en;q=0.9", "Locate me"),
    ("en-GB", "Locate me"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "定位我"),
    ("zh-TW", "定位我"),
    ("fr-FR", "定位我"),
    ("", "定位我"),
])
def test_accept_language(app, header, expected):
    client = app.test_client()
    assert expected in client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)


def test_catalogue_complete_and_compiled():
    po_path = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as f:
        catalog = read_po(f)
    ids = [m.id for m in catalog if m.id]
    assert len(ids) > 40
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    mo = po_path.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po_path.stat().st_mtime - 1, "run pybabel compile"


def test_every_finder_string_is_in_the_catalogue():
    """Every gettext string in the finder's code and templates has a Chinese translation."""
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string}
    root = Path(webmap.__file__).parent
    sources = [root / "views.py", root / "api.py", root / "features.py", root / "templates" / "base.html",
               root / "templates" / "finder.html"]
    pattern = re.compile(r"""(?<![A-Za-z0-9_])_\(\s*(["'])(.+?)\1\s*[,)]""", re.S)
    found = set()
    for path in sources:
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            found.add(m.group(2))
    assert len(found) > 40
    missing = sorted(found - translated)
    assert missing == []


def test_no_english_left_on_the_chinese_page(client):
    """Visible text of the Chinese page: no English words except names of things (API, Leaflet, km...)."""
    html = client.get("/").get_data(as_text=True)
    body = html.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    words = set(re.findall(r"[A-Za-z]{3,}", text))
    # "English" is the language switch, written in its own language on purpose
    assert words <= {"API", "kunming", "English"}, words


def test_js_strings_translated(client):
    html = client.get("/").get_data(as_text=True)
    config = re.search(r'<script id="yz-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    import json

    strings = json.loads(config)["strings"]
    for key, value in strings.items():
        assert re.search(r"[\u4e00-\u9fff]", value), (key, value)
    en = json.loads(re.search(r'<script id="yz-config" type="application/json">(.*?)</script>',
                              client.get("/?lang=en").get_data(as_text=True), re.S).group(1))
    assert en["strings"]["walk"] == "about %(n)s min walk (straight line)"
    assert en["services"]["toilet"] == "Toilet" and strings["walk"].startswith("步行")
