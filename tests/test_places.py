"""stations.places: the offline gazetteer (Chinese characters, pinyin, initials, prefix matching, ranking)."""

from __future__ import annotations

import time

import pytest
import shapely

from stations import geo
from stations.places import search

KEYS = {"name_zh", "name_en", "kind", "adcode", "lon", "lat"}


def first(q):
    res = search(q)
    assert res, q
    return res[0]


@pytest.mark.parametrize("q", ["kunm", "昆", "km", "KunM", "kunming", "昆明", "昆明市", " kun ming ", "Kunming City"])
def test_kunming_first(q):
    r = first(q)
    assert (r["name_zh"], r["kind"], r["adcode"]) == ("昆明市", "prefecture", "530100")
    assert r["name_en"] == "Kunming"
    # the seat (GeoNames 'Kunming'), not the middle of the prefecture
    assert r["lon"] == pytest.approx(102.718, abs=0.01) and r["lat"] == pytest.approx(25.039, abs=0.01)


@pytest.mark.parametrize("q", ["dali", "大理", "Dali", "大理州", "dlbzzzz"])
def test_dali(q):
    res = search(q)
    assert res[0]["name_zh"] == "大理白族自治州" and res[0]["kind"] == "prefecture" and res[0]["adcode"] == "532900"
    if q in ("dali", "大理"):
        # then the county-level city, then the town
        assert (res[1]["name_zh"], res[1]["kind"], res[1]["adcode"]) == ("大理市", "county", "532901")
        assert res[2]["kind"] == "town" and res[2]["adcode"] == "532901"


def test_result_shape():
    res = search("m", limit=40)
    assert len(res) == 40
    for r in res:
        assert set(r) == KEYS
        assert r["kind"] in ("prefecture", "county", "town")
        assert isinstance(r["lon"], float) and isinstance(r["lat"], float)
        assert len(r["adcode"]) == 6 and r["adcode"].startswith("53")
    assert len(search("m")) == 10 and len(search("m", limit=3)) == 3


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
        ("gejiu", "个旧市", "532501"),
        ("lufeng", "禄丰市", "532302"),
        ("xsbn", "西双版纳傣族自治州", "532800"),
        ("西双版纳", "西双版纳傣族自治州", "532800"),
        ("楚雄州", "楚雄彝族自治州", "532300"),
        ("puer", "普洱市", "530800"),
        ("pu'er", "普洱市", "530800"),
    ],
)
def test_divisions(q, zh, code):
    r = first(q)
    assert (r["name_zh"], r["adcode"]) == (zh, code)
    assert r["kind"] == ("prefecture" if code.endswith("00") else "county")


def test_town():
    r = first("tengyue")  # 腾越, the seat town of 腾冲市, only a GeoNames place
    assert (r["name_zh"], r["name_en"], r["kind"], r["adcode"]) == ("腾越", "Tengyue", "town", "530581")
    assert first("腾越")["name_en"] == "Tengyue"
    r = first("zhangfeng")  # 章凤 in 陇川县
    assert r["kind"] == "town" and r["adcode"] == "533124" and r["name_zh"] == "章凤"
    assert geo.locate_counties(r["lon"], r["lat"])[0] == "533124"


def test_exact_before_prefix_and_kind_order():
    res = search("xs", limit=20)
    # 'xs' is exactly the initials of 西山区 (a county): it beats the prefecture 西双版纳 (initials xsbn, a prefix)
    assert res[0]["name_zh"] == "西山区"
    kinds = [r["kind"] for r in res]
    assert "prefecture" in kinds
    # prefix matches: prefectures before counties before towns
    res = search("kun", limit=20)
    order = {"prefecture": 0, "county": 1, "town": 2}
    ranks = [order[r["kind"]] for r in res]
    assert ranks == sorted(ranks)


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
    for code, g in pref.items():
        hits = [r for r in search(geo.load_prefectures().set_index("adcode").loc[code, "name_zh"], limit=5) if r["adcode"] == code]
        assert hits and shapely.intersects(g, shapely.Point(hits[0]["lon"], hits[0]["lat"])), code
    for code, g in cnty.items():
        name = geo.load_counties().set_index("adcode").loc[code, "name_zh"]
        hits = [r for r in search(name, limit=50) if r["adcode"] == code and r["kind"] == "county"]
        assert hits, name
        assert shapely.intersects(g, shapely.Point(hits[0]["lon"], hits[0]["lat"])), code


def test_every_prefecture_and_county_findable_by_pinyin_and_chinese():
    for frame in (geo.load_prefectures(), geo.load_counties()):
        for code, zh, en in zip(frame["adcode"], frame["name_zh"], frame["name_en"]):
            stem = en.split(" ")[0].lower().replace("'", "").replace("-", "").replace("ü", "v")
            assert code in {r["adcode"] for r in search(stem, limit=50)}, (zh, stem)
            assert code in {r["adcode"] for r in search(zh[:2], limit=50)}, zh


def test_fast():
    search("k")  # build the index
    t0 = time.perf_counter()
    for q in ["k", "kunm", "昆", "d", "大理", "xs", "z"] * 100:
        search(q)
    assert time.perf_counter() - t0 < 1.0
