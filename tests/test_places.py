"""stations.places: the offline gazetteer as people type (Chinese characters, pinyin, initials, short names, old
towns), kinds from the data, grouping of near-duplicates; the /api/places answer in each language; the rules of
scripts/build_places.py on small inputs."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import shapely
from pyproj import Geod

from stations import config, geo
from stations.places import GAZETTEER_FILE, KINDS, TYPES, search

OLD_KEYS = {"name_zh", "name_en", "kind", "adcode", "lon", "lat"}  # the fields of the first version: kept
NEW_KEYS = {"id", "type", "kind_zh", "kind_en", "county_adcode", "county_zh", "county_en", "prefecture_adcode",
            "prefecture_zh", "prefecture_en", "name_zh_source", "romanised", "group", "matched", "geonameid",
            "nbs_code", "point_source", "match"}
ROOT = Path(__file__).resolve().parent.parent
GEOD = Geod(ellps="WGS84")


def first(q):
    res = search(q)
    assert res, q
    return res[0]


def names(q, n=10):
    return [r["name_zh"] or r["name_en"] for r in search(q, limit=n)]


def gazetteer() -> pd.DataFrame:
    return pd.read_csv(Path(config.data_dir()) / GAZETTEER_FILE, dtype=str, keep_default_na=False)


# --- what people type -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["kunm", "昆", "km", "KunM", "kunming", "昆明", "昆明市", " kun ming ", "Kunming City"])
def test_kunming_first(q):
    r = first(q)
    assert (r["name_zh"], r["kind"], r["adcode"]) == ("昆明市", "prefecture", "530100")
    assert (r["kind_zh"], r["kind_en"], r["type"]) == ("市", "city", "prefecture")
    assert r["name_en"] == "Kunming"
    # the seat (GeoNames 'Kunming'), not the middle of the prefecture
    assert r["lon"] == pytest.approx(102.718, abs=0.01) and r["lat"] == pytest.approx(25.039, abs=0.01)


def test_kunming_has_no_duplicate_town():
    # GeoNames' point 'Kunming' (昆明) is the prefecture's seat: it is not a second answer named 昆明
    assert names("昆明").count("昆明") == 0
    assert [r["id"] for r in search("昆明")].count("adm:530100") == 1


@pytest.mark.parametrize("q", ["大理", "dali", "Dali"])
def test_dali_grouped(q):
    res = search(q)
    pref, city = res[0], res[1]
    assert (pref["name_zh"], pref["kind"], pref["type"], pref["kind_zh"]) == ("大理白族自治州", "prefecture", "prefecture", "州")
    # the county-level city of the same name is the prefecture's sub-answer, right after it
    assert (city["name_zh"], city["kind"], city["type"], city["kind_zh"], city["adcode"]) == ("大理市", "county", "county_city", "市", "532901")
    assert city["group"] == pref["id"] == "adm:532900"
    assert pref["group"] is None
    # both answer with the seat (下关), GeoNames 'Dali'
    assert (pref["lon"], pref["lat"]) == (city["lon"], city["lat"])
    # the old town is the next answer
    assert res[2]["name_zh"] == "大理古城" and res[2]["kind"] == "landmark"


def test_gazetteer_for_offline_search():
    """gazetteer(): every place with the keys search() finds it by (the phone's offline search uses them)."""
    from stations.places import clear_cache
    from stations.places import gazetteer as every_place

    every = every_place()
    by_id = {p["id"]: p for p in every}
    assert len(by_id) == len(every) == len(gazetteer())  # one per row of the built file
    assert {"版纳", "banna", "xishuangbanna", "xsbn"} <= set(by_id["adm:532800"]["keys"])
    assert "gucheng" in by_id["lm:丽江古城"]["keys"] and by_id["lm:丽江古城"]["rank"] == 2
    for q in ("大理", "km", "版纳"):
        top = search(q)[0]
        assert any(k.startswith(q) for k in by_id[top["id"]]["keys"])
    clear_cache()
    assert search("版纳")[0]["adcode"] == "532800"


@pytest.mark.parametrize("q", ["大理州", "dlbzzzz", "大理白族自治州"])
def test_dali_prefecture_forms(q):
    assert first(q)["adcode"] == "532900"


def test_banna():
    r = first("版纳")
    assert (r["name_zh"], r["adcode"], r["kind_zh"]) == ("西双版纳傣族自治州", "532800", "州")
    assert r["matched"] == "版纳"  # the short name the query matched
    assert first("banna")["adcode"] == "532800"
    assert first("xsbn")["adcode"] == "532800" and first("xsbn")["matched"] is None


def test_gucheng_finds_the_district_and_the_old_towns():
    res = search("古城", limit=10)
    top = [r["name_zh"] for r in res[:3]]
    assert top[0] == "古城区" and res[0]["adcode"] == "530702" and res[0]["kind_zh"] == "区"
    assert set(top[1:]) == {"丽江古城", "大理古城"}
    counties = geo.load_counties().set_index("adcode").geometry
    for r in res[1:3]:
        assert (r["kind"], r["type"], r["kind_zh"], r["kind_en"]) == ("landmark", "landmark", "景区", "scenic area")
        assert r["point_source"].startswith("geonames ")  # a GeoNames point, never an invented one
        assert shapely.intersects(counties[r["county_adcode"]], shapely.Point(r["lon"], r["lat"]))
    lj = next(r for r in res if r["name_zh"] == "丽江古城")
    assert lj["county_adcode"] == "530702" and lj["county_zh"] == "古城区" and lj["prefecture_zh"] == "丽江市"
    dl = next(r for r in res if r["name_zh"] == "大理古城")
    assert dl["county_zh"] == "大理市" and dl["geonameid"] == 12277235 and dl["name_en"] == "Dali Old Town"
    assert [r["name_zh"] for r in search("gucheng", limit=3)] == top
    assert first("大研古城")["name_zh"] == "丽江古城"


def test_lijiang():
    res = search("丽江")
    assert (res[0]["name_zh"], res[0]["kind"]) == ("丽江市", "prefecture")
    assert res[1]["name_zh"] == "丽江古城"
    assert first("lijiang")["name_zh"] == "丽江市"


@pytest.mark.parametrize("q", ["建水", "jianshui", "建水县", "jsx"])
def test_jianshui(q):
    r = first(q)
    assert (r["name_zh"], r["adcode"], r["kind_zh"]) == ("建水县", "532524", "县")
    g = geo.load_counties().set_index("adcode").geometry["532524"]
    assert shapely.intersects(g, shapely.Point(r["lon"], r["lat"]))


def test_jianshui_misplaced_record_is_gone():
    # GeoNames 9931406 'Jianshui' 碱水 (population 490,000) lies in 景东, 160 km from 建水县: left out by the build
    assert search("碱水") == []
    assert all(r["adcode"] != "530823" for r in search("jianshui", limit=50))
    assert "gn:9931406" not in set(gazetteer()["id"])


def test_no_railway_stations_or_parks_invented():
    # no package carries Yunnan's railway stations or parks with coordinates (data/geo/SOURCES.md): none answer
    assert search("火车站") == [] and search("昆明站") == []
    assert set(gazetteer()["type"]) <= set(TYPES) and "station" not in set(gazetteer()["type"])


@pytest.mark.parametrize(
    "q, zh, code",
    [
        ("panlong", "盘龙区", "530103"),
        ("盘龙", "盘龙区", "530103"),
        ("pl", "盘龙区", "530103"),
        ("xuanwei", "宣威市", "530381"),
        ("宣威", "宣威市", "530381"),
        ("lvchun", "绿春县", "532531"),
        ("luchun", "绿春县", "532531"),
        ("绿春", "绿春县", "532531"),
        ("shangrila", "香格里拉市", "533401"),
        ("Shangri-La", "香格里拉市", "533401"),
        ("中甸", "香格里拉市", "533401"),
        ("gejiu", "个旧市", "532501"),
        ("lufeng", "禄丰市", "532302"),
        ("xsbn", "西双版纳傣族自治州", "532800"),
        ("西双版纳", "西双版纳傣族自治州", "532800"),
        ("楚雄州", "楚雄彝族自治州", "532300"),
        ("puer", "普洱市", "530800"),
        ("pu'er", "普洱市", "530800"),
        ("潞西", "芒市", "533103"),
        ("下关", "大理市", "532901"),
    ],
)
def test_divisions(q, zh, code):
    r = first(q)
    assert (r["name_zh"], r["adcode"]) == (zh, code)
    assert r["kind"] == ("prefecture" if code.endswith("00") else "county")


def test_kind_from_the_adcode():
    """GB/T 2260: under a prefecture-level city 01-20 are districts, 21-80 counties, 81-99 county-level cities;
    under an autonomous prefecture 01-20 are its county-level cities."""
    cases = {"五华区": ("district", "区"), "宜良县": ("county", "县"), "安宁市": ("county_city", "市"),
             "楚雄市": ("county_city", "市"), "石林彝族自治县": ("county", "县"), "昆明市": ("prefecture", "市"),
             "红河哈尼族彝族自治州": ("prefecture", "州")}
    for name, (kind, label) in cases.items():
        r = next(r for r in search(name, limit=5) if r["name_zh"] == name)
        assert (r["type"], r["kind_zh"]) == (kind, label), name
    g = gazetteer()
    adm = g[g["id"].str.startswith("adm:")]
    assert len(adm) == 16 + 129
    suffix = {"district": "区", "county": "县", "county_city": "市"}
    for r in adm.itertuples():
        if r.type == "prefecture":
            assert r.name_zh.endswith("市" if r.adcode[2:4] < "21" else "自治州"), r.name_zh
        else:
            assert r.name_zh.endswith(suffix[r.type]), r.name_zh


def test_townships_named_by_nbs():
    r = first("tengyue")  # 腾越, the seat of 腾冲市: a GeoNames point, named as the NBS township (街道)
    assert (r["name_zh"], r["name_en"], r["kind"], r["type"], r["kind_zh"], r["adcode"]) == ("腾越街道", "Tengyue", "town", "subdistrict", "街道", "530581")
    assert r["nbs_code"] == "530581001" and r["name_zh_source"] == "nbs"
    assert first("腾越")["id"] == r["id"]
    r = first("zhangfeng")  # 章凤 in 陇川县
    assert (r["name_zh"], r["kind_zh"], r["adcode"]) == ("章凤镇", "镇", "533124")
    assert geo.locate_counties(r["lon"], r["lat"])[0] == "533124"
    # the township kind is the NBS code's: 001-099 街道, 100-199 镇, 200-399 乡
    g = gazetteer()
    nbs = g[g["nbs_code"] != ""]
    assert len(nbs) >= 250
    want = {"subdistrict": range(1, 100), "town": range(100, 200), "township": range(200, 400)}
    for r in nbs.itertuples():
        assert int(r.nbs_code[6:9]) in want[r.type], (r.name_zh, r.nbs_code, r.type)
        assert r.nbs_code[:6] == r.county_adcode
    # GeoNames' own Chinese name stays a search name (下桥头 is the seat of 虎跳峡镇)
    assert first("虎跳峡")["name_en"] == "Xiaqiaotou"
    r = first("下桥头")
    assert (r["name_zh"], r["matched"]) == ("虎跳峡镇", "下桥头")


def test_every_answer_has_a_chinese_name_or_is_marked():
    g = gazetteer()
    assert (g["name_zh"] == "").sum() <= 5
    for r in g[g["name_zh"] == ""].itertuples():
        assert r.name_zh_source == "none" and r.name_en
        hit = next(x for x in search(r.name_en, limit=50) if x["id"] == r.id)
        assert hit["romanised"] is True
    assert all(not r["romanised"] for r in search("m", limit=40) if r["name_zh"])
    assert set(g["name_zh_source"]) <= {"admin", "nbs", "geonames", "alias", "none"}


def test_near_duplicates_merged():
    g = gazetteer()
    g = g[g["name_zh"] != ""]
    for name, grp in g.groupby("name_zh"):
        if len(grp) < 2:
            continue
        pts = grp[["lon", "lat"]].astype(float).to_numpy()
        for i in range(len(pts)):
            for j in range(i + 1, len(pts)):
                _, _, d = GEOD.inv(pts[i][0], pts[i][1], pts[j][0], pts[j][1])
                assert d >= 5000, (name, d)
    assert g["id"].is_unique
    # GeoNames' 芒市镇 is the seat of 芒市: merged into it, not a second answer
    assert [r["name_zh"] for r in search("芒市", limit=5)].count("芒市镇") == 0


def test_result_shape():
    res = search("m", limit=40)
    assert len(res) == 40
    for r in res:
        assert OLD_KEYS | NEW_KEYS == set(r)
        assert r["type"] in TYPES and r["kind"] in KINDS
        assert isinstance(r["lon"], float) and isinstance(r["lat"], float)
        assert len(r["adcode"]) == 6 and r["adcode"].startswith("53")
        assert r["kind_zh"] and r["kind_en"]
    assert len(search("m")) == 10 and len(search("m", limit=3)) == 3


def test_exact_before_prefix_and_kind_order():
    res = search("xs", limit=20)
    # 'xs' is exactly the initials of 西山区 (a district): it beats the prefecture 西双版纳 (initials xsbn, a prefix)
    assert res[0]["name_zh"] == "西山区"
    assert "prefecture" in [r["kind"] for r in res]
    order = {"prefecture": 0, "county": 1, "landmark": 2, "town": 3}
    # (towns: NBS townships before other settlements)
    for q in ("kun", "da", "m", "gu", "大", "dl"):
        res = search(q, limit=40)
        matches = [r["match"] for r in res if r["group"] is None]
        assert matches == sorted(matches, key=["exact", "prefix"].index), q  # exact before prefix
        for m in ("exact", "prefix"):
            ranks = [order[r["kind"]] for r in res if r["match"] == m and r["group"] is None]
            assert ranks == sorted(ranks), (q, m)


@pytest.mark.parametrize("q", ["", "   ", "!!!", "@#$%", "zzzqqx", "昆明昆明昆明", "kunmingx", "<script>", "123456", "北京"])
def test_empty_and_junk(q):
    assert search(q) == []


def test_bad_arguments():
    assert search(None) == []  # type: ignore[arg-type]
    assert search("kunm", limit=0) == []
    assert search("kunm", limit=-3) == []


def test_points_lie_in_their_division():
    pref = geo.load_prefectures().set_index("adcode").geometry
    cnty = geo.load_counties().set_index("adcode").geometry
    g = gazetteer()
    for r in g.itertuples():
        p = shapely.Point(float(r.lon), float(r.lat))
        assert shapely.intersects(pref[r.prefecture_adcode], p), r.id
        if r.county_adcode:
            assert shapely.intersects(cnty[r.county_adcode], p), r.id


def test_every_prefecture_and_county_findable_by_pinyin_and_chinese():
    for frame in (geo.load_prefectures(), geo.load_counties()):
        for code, zh, en in zip(frame["adcode"], frame["name_zh"], frame["name_en"]):
            stem = en.split(" ")[0].lower().replace("'", "").replace("-", "").replace("ü", "v")
            assert code in {r["adcode"] for r in search(stem, limit=50)}, (zh, stem)
            assert code in {r["adcode"] for r in search(zh[:2], limit=50)}, zh


# --- /api/places ----------------------------------------------------------------------------------------------------
def test_api_chinese_page(client):
    body = client.get("/api/places", query_string={"q": "版纳", "lang": "zh"}).get_json()
    r = body["places"][0]
    assert (r["label"], r["kind_label"], r["matched"]) == ("西双版纳傣族自治州", "州", "版纳")
    assert OLD_KEYS <= set(r)
    body = client.get("/api/places", query_string={"q": "大理", "lang": "zh"}).get_json()
    assert [p["label"] for p in body["places"][:3]] == ["大理白族自治州", "大理市", "大理古城"]
    assert body["places"][1]["group"] == body["places"][0]["id"]
    assert [p["kind_label"] for p in body["places"][:3]] == ["州", "市", "景区"]
    # no English-only label in the Chinese page: a place without a Chinese name is its pinyin, marked
    for q in ("m", "x", "z", "ruidian"):
        for p in client.get("/api/places", query_string={"q": q, "lang": "zh", "limit": 50}).get_json()["places"]:
            if p["romanised"]:
                assert p["label"] == p["name_en"] and p["label_note"] == "拼音"
            else:
                assert re.search(r"[\u3400-\u9fff]", p["label"]), p


def test_api_english_page(client):
    body = client.get("/api/places", query_string={"q": "大理", "lang": "en"}).get_json()
    labels = [(p["label"], p["kind_label"]) for p in body["places"][:3]]
    assert labels == [("Dali Bai Autonomous Prefecture", "prefecture"), ("Dali City", "city"), ("Dali Old Town", "scenic area")]
    for p in client.get("/api/places", query_string={"q": "z", "lang": "en", "limit": 50}).get_json()["places"]:
        assert re.fullmatch(r"[A-Za-z0-9 ’'\-,.()üÜ]+", p["label"]), p["label"]


# --- scripts/build_places.py on small inputs -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_places", ROOT / "scripts" / "build_places.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_places"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_build_kinds_from_codes(build):
    assert [build.county_kind(c) for c in ("530102", "530124", "530181", "532301", "532322")] == [
        "district", "county", "county_city", "county_city", "county"]
    assert [build.township_kind(c) for c in ("530581001", "530581101", "530581201", "530922401")] == [
        "subdistrict", "town", "township", None]
    assert build.kind_label("prefecture", "530100") == ("市", "city")
    assert build.kind_label("prefecture", "532900") == ("州", "prefecture")


def test_build_township_matching(build):
    towns = pd.DataFrame([
        ("530125101", "汤池街道", "530125", "subdistrict"), ("530125102", "北古城镇", "530125", "town"),
        ("530125201", "九乡彝族回族乡", "530125", "township"), ("530126101", "汤池镇", "530126", "town"),
    ], columns=["code", "name", "county_adcode", "kind"])
    places = pd.DataFrame([
        (1, "Tangchijie", "汤池街", ["汤池街", "汤池镇"], "530125"),  # an alternate name (tier 1)
        (2, "Beigucheng", "北古城", ["北古城"], "530125"),  # its own name (tier 0)
        (3, "Jiuxiang", "", [], "530125"),  # pinyin only (tier 2)
        (4, "Elsewhere", "汤池", ["汤池"], "530199"),  # a county with no townships: no match
    ], columns=["geonameid", "name_en", "name_zh", "zh_names", "county_adcode"])
    out = build.match_townships(places, towns)
    assert {k: v.code for k, v in out.items()} == {1: "530125101", 2: "530125102", 3: "530125201"}


def test_build_merges_near_duplicates(build):
    E = build.Entry
    entries = {e.id: e for e in [
        E("adm:533103", "county_city", "芒市", "Mangshi", "admin", 98.5704, 24.4533, "geonames seat", "533103", "533103", "533100"),
        E("gn:1", "town", "芒市镇", "Mangshi Zhen", "nbs", 98.58, 24.46, "geonames", "533103", "533103", "533100", geonameid=1),
        E("gn:2", "place", "芒市", "Mangshi", "geonames", 99.6, 24.46, "geonames", "530900", "530900", "530900", geonameid=2),
    ]}
    assert build.merge_near_duplicates(entries) == 1
    assert set(entries) == {"adm:533103", "gn:2"}  # the far one (100 km) is another place
    assert "芒市镇" in entries["adm:533103"].aliases_zh


def test_gazetteer_checksum_in_sources():
    """The committed gazetteer is the one the build wrote (its sha256 is in data/geo/SOURCES.md)."""
    import hashlib

    path = Path(config.data_dir()) / GAZETTEER_FILE
    text = (ROOT / "data" / "geo" / "SOURCES.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if Path(config.data_dir()).resolve() == (ROOT / "data" / "geo").resolve():
        assert digest in text


# --- the finder's suggestion list (headless Chromium) ----------------------------------------------------------------
@pytest.mark.browser
def test_finder_suggestions_show_kind_and_group(browser, live, artifacts_dir):
    import os

    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1)
    ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = ctx.new_page()
    try:
        page.goto(live.url + "/", wait_until="load")
        page.wait_for_selector("body[data-stations-loaded]", timeout=30000)
        page.fill("#place-input", "大理")
        page.wait_for_selector("#place-suggestions li button", timeout=20000)
        items = page.locator("#place-suggestions li")
        first, second = items.nth(0).inner_text(), items.nth(1).inner_text()
        assert "大理白族自治州" in first and "州" in first
        assert "大理市" in second and "sub-answer" in (items.nth(1).get_attribute("class") or "")
        assert "大理古城" in items.nth(2).inner_text() and "景区" in items.nth(2).inner_text()
        page.screenshot(path=os.path.join(artifacts_dir, "finder-places-dali-390x844.png"))
        page.fill("#place-input", "版纳")
        page.wait_for_function("() => document.querySelector('#place-suggestions').innerText.includes('西双版纳')", timeout=20000)
        assert "版纳" in page.locator("#place-suggestions li").first.inner_text()
    finally:
        ctx.close()
