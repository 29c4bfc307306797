"""Gap lists on the sheets name distinct places and skip trivial gaps; the sheets' figures add up (issue 12 §4)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from stations import cartography, geo, sheet_layers
from stations.cartography.context import MIN_LISTED_GAP_WORKERS, AnalysisLayers, top_gaps
from stations.cartography.panels import fit_row, stats_rows


@pytest.fixture(scope="module")
def demo_stations(demo_db_url):
    from stations.registry import Registry

    return Registry(demo_db_url).load()


@pytest.fixture(scope="module")
def ctx(demo_stations):
    return sheet_layers.context(demo_stations)


def _gaps(rows):
    names, workers, counties = zip(*rows)
    return gpd.GeoDataFrame(
        {"place_zh": names, "uncovered_workers": workers, "county_adcode": counties, "prefecture_adcode": "530100"},
        geometry=[box(102.6 + i * 0.01, 25.0, 102.605 + i * 0.01, 25.005) for i in range(len(rows))], crs="EPSG:4326",
    )


def test_top_gaps_merges_names_and_drops_trivial_gaps_by_hand():
    gaps = _gaps([
        ("五华区 · 昆明附近", 500.0, "530102"),
        ("官渡区 · 区政府驻地东 2.0 公里", 90.0, "530111"),  # fewer than 100: not listed
        ("五华区 · 昆明附近", 300.0, "530102"),  # same name as the first: merged into it
        ("西山区 · 马街西南 3.4 公里", 60.0, "530112"),
        ("西山区 · 马街西南 3.4 公里", 50.0, "530112"),  # 60 + 50 = 110: listed once merged
        ("五华区 · 区政府驻地北 5.8 公里", 9.0, "530102"),  # "五华区 约 9 人": not listed
    ])
    top = top_gaps(AnalysisLayers(gaps=gaps), "530100", "prefecture", 10)
    assert top["name"].tolist() == ["五华区 · 昆明附近", "西山区 · 马街西南 3.4 公里"]
    assert top["uncovered_workers"].tolist() == [800.0, 110.0]
    assert top["parts"].tolist() == [2, 2]
    # the polygon kept for the number on the map is the largest gap's
    assert top.geometry.iloc[0].equals(gaps.geometry.iloc[0])
    # a county sheet lists only its own gaps; n cuts the list
    assert top_gaps(AnalysisLayers(gaps=gaps), "530112", "county", 10)["name"].tolist() == ["西山区 · 马街西南 3.4 公里"]
    assert len(top_gaps(AnalysisLayers(gaps=gaps), "530100", "prefecture", 1)) == 1
    # without place names the county names them
    unnamed = gaps.drop(columns="place_zh")
    assert top_gaps(AnalysisLayers(gaps=unnamed), "530100", "prefecture", 10)["name"].tolist() == ["五华区", "西山区"]
    assert MIN_LISTED_GAP_WORKERS == 100.0


def test_gaps_are_named_by_county_and_nearest_town():
    gaps = _gaps([("", 500.0, "530102")]).drop(columns="place_zh")
    gaps["lon"], gaps["lat"] = 102.7129, 25.0406  # 东风广场, the centre of Kunming
    named = sheet_layers.name_gaps(gaps)
    assert named["place_zh"].iloc[0].startswith("五华区 · ")
    assert named["place_en"].iloc[0].startswith("Wuhua District · ")


def test_sheet_gap_lists_name_distinct_places_and_skip_trivial_gaps(ctx):
    g = geo.geography()
    analysis = ctx.analysis(1000.0, ("gaps",))
    assert "place_zh" in analysis.gaps
    for area in ["530000", *sorted(g.prefecture_names), "530102", "532901"]:
        level = cartography.area_level(area)
        top = top_gaps(analysis, area, level, 10)
        assert top["name"].is_unique, area
        assert (top["uncovered_workers"] >= MIN_LISTED_GAP_WORKERS).all(), area
    req = cartography.validate("530102", "A3", "landscape", "outlines,stations,gaps")
    rows = stats_rows(req, "county", ctx.stations[ctx.stations["county_adcode"] == "530102"], None, ctx, analysis)
    gap_rows = [(label, value) for label, value, _ in rows if label.strip()[:2] in ("1.", "2.", "3.")]
    assert gap_rows
    # named by town (the county, 五华区, goes without saying on its own sheet)
    names = [label.strip()[3:] for label, _ in gap_rows]
    top = top_gaps(analysis, "530102", "county", 3)
    assert names == [n.removeprefix("五华区 · ") for n in top["name"]]
    assert all(n and not n.startswith("五华区 · ") for n in names)
    assert not any(value == "约 9 人" for _, value in gap_rows)


def test_a_long_gap_name_fits_its_row():
    label = "  3. 巍山彝族回族自治县 · Miaojie西南 12.5 公里"
    text, size = fit_row(label, "约 971 人", 45.0, 7.2, 6.5)
    assert size >= 6.5
    assert text in ("  3. 巍山县 · Miaojie西南 12.5 公里", "  3. 巍山县 · Miaojie西南")
    assert cartography.text_width_mm(text, size) + cartography.text_width_mm("约 971 人", size) <= 45.0


def test_sheet_tables_add_up_after_rounding(ctx):
    """The coverage table a sheet prints from: whole workers, counties adding up to their prefecture and
    prefectures to the province, as shown."""
    table = ctx.analysis(1000.0, ()).table
    for col in ("workers", "workers_covered"):
        v = table[col].to_numpy(float)
        assert np.all(v == np.round(v)), col
        counties = table[table["level"] == "county"]
        prefs = table[table["level"] == "prefecture"].set_index("adcode")[col]
        sums = counties.groupby("parent_adcode")[col].sum()
        assert (sums.reindex(prefs.index) == prefs).all(), col
        province = float(table.loc[table["level"] == "province", col].iloc[0])
        assert prefs.sum() == province, col
