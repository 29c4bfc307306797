"""Areas by name (issue 12 §4): ``yizhan print --area``, ``yizhan atlas --area`` and the web's ``area=`` take
昆明市, 昆明, 五华区, kunming, wuhua, and refuse an ambiguous or unknown name listing the close matches."""

from __future__ import annotations

import pytest

from stations import cartography
from stations.cartography import PrintError


@pytest.mark.parametrize(
    "name, adcode",
    [
        ("昆明市", "530100"), ("昆明", "530100"), ("kunming", "530100"), ("Kunming", "530100"), ("Kunming City", "530100"),
        ("五华区", "530102"), ("五华", "530102"), ("wuhua", "530102"), ("Wuhua District", "530102"),
        ("大理州", "532900"), ("大理白族自治州", "532900"), ("大理市", "532901"),
        ("巍山", "532927"), ("巍山县", "532927"), ("巍山彝族回族自治县", "532927"),
        ("西双版纳", "532800"), ("pu'er", "530800"), ("普洱市", "530800"), ("shangri-la", "533401"), ("芒市", "533103"),
        ("lüchun", "532531"), ("lvchun", "532531"), (" 530102 ", "530102"), ("云南", "530000"), ("Yunnan", "530000"),
    ],
)
def test_names_are_accepted(name, adcode):
    assert cartography.parse_area(name) == adcode
    assert cartography.validate(name).area == adcode


@pytest.mark.parametrize(
    "name, listed",
    [
        ("大理", ["大理白族自治州 (532900)", "大理市 (532901, 大理白族自治州)"]),
        ("dali", ["大理白族自治州 (532900)", "大理市 (532901, 大理白族自治州)"]),
        ("楚雄", ["楚雄彝族自治州 (532300)", "楚雄市 (532301, 楚雄彝族自治州)"]),
        ("yiliang", ["宜良县 (530125, 昆明市)", "彝良县 (530628, 昭通市)"]),  # two counties, one pinyin
    ],
)
def test_an_ambiguous_name_lists_every_area_it_names(name, listed):
    with pytest.raises(PrintError) as err:
        cartography.parse_area(name)
    assert err.value.param == "area"
    assert f"area: {name!r} could be " in str(err.value)
    for item in listed:
        assert item in str(err.value)
    assert "give the full name or the 6-digit adcode" in str(err.value)


@pytest.mark.parametrize(
    "name, suggestion",
    [("kunmin", "昆明市 (530100)"), ("wuhau", "五华区 (530102, 昆明市)"), ("xsbn", "西双版纳傣族自治州 (532800)"),
     ("昆", "昆明市 (530100)")],
)
def test_an_unknown_name_lists_close_matches(name, suggestion):
    with pytest.raises(PrintError) as err:
        cartography.parse_area(name)
    assert err.value.param == "area"
    assert f"unknown area {name!r}; did you mean " in str(err.value)
    assert suggestion in str(err.value)


def test_a_name_with_nothing_close_says_what_to_give():
    with pytest.raises(PrintError) as err:
        cartography.parse_area("atlantis")
    assert str(err.value) == ("area: unknown area 'atlantis'; give yunnan, a prefecture or county name "
                              "(昆明市, 五华区, kunming) or its 6-digit adcode")


def test_an_atlas_is_for_the_province_or_a_prefecture():
    assert cartography.parse_atlas_area("yunnan") == "530000"
    assert cartography.parse_atlas_area("昆明") == "530100"
    with pytest.raises(PrintError, match=r"五华区 \(530102, 昆明市\) is a county, give its prefecture 昆明市 \(530100\)"):
        cartography.parse_atlas_area("wuhua")


def test_cli_takes_names_and_lists_matches(tmp_path, fixture_db_url, monkeypatch):
    from click.testing import CliRunner

    from webmap.cli import main

    monkeypatch.setenv("DATABASE_URL", fixture_db_url)
    runner = CliRunner()
    for args, fragment in [
        (["print", "--area", "大理", "--out", str(tmp_path / "a.pdf")], "大理白族自治州 (532900), 大理市 (532901"),
        (["print", "--area", "kunmin", "--out", str(tmp_path / "a.pdf")], "did you mean 昆明市 (530100)?"),
        (["atlas", "--area", "wuhua", "--out", str(tmp_path / "a.pdf")], "is a county, give its prefecture 昆明市 (530100)"),
        (["atlas", "--area", "kunmin", "--out", str(tmp_path / "a.pdf")], "did you mean 昆明市 (530100)?"),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert fragment in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not any(tmp_path.iterdir())
    out = tmp_path / "wuhua.png"
    result = runner.invoke(main, ["print", "--area", "wuhua", "--layers", "outlines,stations", "--dpi", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "五华区工会驿站分布图" in result.output


def test_web_sheet_takes_names_and_answers_400_with_matches(client):
    resp = client.get("/print/sheet.png", query_string={"area": "大理", "dpi": "50", "layers": "outlines"})
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["parameter"] == "area"
    assert "大理白族自治州 (532900)" in err["message"] and "大理市 (532901" in err["message"]
    # in Chinese on a Chinese page
    resp = client.get("/print/sheet.png", query_string={"area": "kunmin", "lang": "zh"}, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 400
    assert "昆明市 (530100)" in resp.get_json()["error"]["message"]
    assert "未知的区域" in resp.get_json()["error"]["message"]
    resp = client.get("/print/sheet.png", query_string={"area": "五华区", "dpi": "50", "layers": "outlines"})
    assert resp.status_code == 200
    assert resp.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_area_messages_are_translated():
    """The templates of the area errors are msgids of the catalogue (listed in webmap.print_views.AREA_MSGIDS)."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    from stations.cartography import request as rq

    po_path = Path(__file__).resolve().parent.parent / "webmap" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as f:
        po = read_po(f)
    for template in (rq.AREA_AMBIGUOUS, rq.AREA_UNKNOWN, rq.AREA_UNKNOWN_NO_MATCH, rq.AREA_NOT_ATLAS):
        assert po.get(template) is not None and po.get(template).string, template
