"""The synthetic 3,676-station demo set: size, allocation, placement, shares, labelling, determinism."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from stations import demo, geo
from stations.hours import parse_hours
from stations.registry import Registry
from stations.schema import DEMO_SOURCE
from webmap.cli import main


@pytest.fixture(scope="module")
def demo_csv() -> pd.DataFrame:
    return pd.read_csv(demo.demo_csv_path(), dtype=str, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'd.sqlite'}"
    reg = Registry(db)
    assert demo.load_demo(reg) == 3676
    return reg.load()


def test_committed_file_is_what_the_generator_makes(demo_csv):
    fresh = demo.generate()
    pd.testing.assert_frame_equal(fresh.astype(str).reset_index(drop=True), demo_csv.reset_index(drop=True), check_dtype=False)


def test_exactly_3676_with_published_counts(loaded):
    assert len(loaded) == 3676
    assert loaded["id"].is_unique
    per_pref = loaded.groupby("prefecture_adcode").size()
    per_county = loaded.groupby("county_adcode").size()
    assert per_pref["530700"] == 66  # 丽江市 (2024)
    assert per_county["530103"] == 74  # 盘龙区 (2024)
    assert per_county["530381"] == 40  # 宣威市
    assert set(per_pref.index) == set(geo.load_prefectures()["adcode"])
    # allocation follows urban population: 昆明 has the most stations, 迪庆 among the fewest
    assert per_pref.idxmax() == "530100"
    assert per_pref["533400"] < per_pref["530300"]


def test_every_station_inside_its_county_and_out_of_the_lakes(loaded):
    counties = geo.load_counties().set_index("adcode")
    polys = counties.loc[loaded["county_adcode"], "geometry"].to_numpy()
    assert shapely.contains(polys, loaded.geometry.to_numpy()).all()
    for lake in demo.lake_polygons().values():
        assert not shapely.contains(lake, loaded.geometry.to_numpy()).any()


def test_shares_are_realistic(loaded):
    n = len(loaded)
    assert (loaded["opening_hours"] == "24小时").sum() == round(0.065 * 3676)
    assert loaded["water"].mean() > 0.9 and loaded["charging"].mean() > 0.85
    assert loaded["toilet"].mean() < loaded["water"].mean()
    assert loaded["microwave"].mean() < loaded["charging"].mean()
    banks = loaded[loaded["host"] == "bank"]
    assert banks["opening_hours"].str.startswith("周一至周五 09:00-17:00").all()
    assert (loaded["status"] == "open").mean() > 0.9
    assert loaded["host"].nunique() == 9
    for text in loaded["opening_hours"].unique():
        parse_hours(text)
    assert n == 3676


def test_labelled_synthetic_everywhere(loaded):
    assert (loaded["source"] == DEMO_SOURCE).all()
    assert loaded["name"].str.endswith("（示例）").all()
    assert loaded["address"].str.contains("示例路").all()
    # local numbers beginning with 00 are never assigned: no real person is called
    assert loaded["phone"].str.match(r"^0\d{3}-00\d{5}$").all()


def test_init_db_and_stats(tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    r = CliRunner().invoke(main, ["init-db", "--db", db])
    assert r.exit_code == 0 and "3676" in r.output
    r = CliRunner().invoke(main, ["init-db", "--db", db])
    assert "already holds 3676" in r.output
    r = CliRunner().invoke(main, ["stats", "--db", db])
    assert r.exit_code == 0
    assert "昆明市" in r.output and "synthetic demo data" in r.output and "合计 total" in r.output
    assert "饮水" in r.output and "24小时开放" in r.output
