"""``yizhan network`` (build, status, isochrones, coverage) through click's CliRunner.

The network is a synthetic grid town written by the test (``write_grid_extract``: TEST DATA, labelled
``yizhan-synthetic`` in its header) centred on Kunming's 东风广场, where the fixture registry's stations are.
"""

from __future__ import annotations


import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from stations import network as N
from stations.network.synthetic import KUNMING, write_grid_extract
from webmap.cli_network import network_group


@pytest.fixture()
def env(tmp_path, monkeypatch, fixture_db_url):
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", fixture_db_url)
    N.clear_cache()
    yield tmp_path
    N.clear_cache()


@pytest.fixture()
def grid(env):
    path = env / "grid.osm.pbf"
    write_grid_extract(path, [(KUNMING[0], KUNMING[1], 60, 60)], spacing_m=80.0, seed=1)
    return path


def run(*args):
    return CliRunner().invoke(network_group, list(args), catch_exceptions=False)


def test_status_without_a_network(env):
    r = run("status")
    assert r.exit_code == 0
    assert "straight-line distances: no street network loaded" in r.output
    assert "yizhan network build" in r.output


def test_build_then_status_then_reuse(grid):
    r = run("build", str(grid))
    assert r.exit_code == 0, r.output
    assert "street network: 3,600 nodes, built from grid.osm.pbf" in r.output
    assert "SYNTHETIC" in r.output
    assert "no real streets, no OpenStreetMap data" in r.output
    assert "peak memory" in r.output
    r = run("status")
    assert r.exit_code == 0 and "3,600 nodes" in r.output and "100.0% of nodes in Yunnan" in r.output
    r = run("build", str(grid))
    assert r.exit_code == 0 and "already built from this extract" in r.output
    r = run("build", str(grid), "--force")
    assert r.exit_code == 0 and "already built" not in r.output


def test_bad_extract_exits_2_and_keeps_the_network(grid, env):
    assert run("build", str(grid)).exit_code == 0
    bad = env / "bad.osm.pbf"
    bad.write_bytes(b"PK\x03\x04 not an extract")
    r = CliRunner().invoke(network_group, ["build", str(bad)])
    assert r.exit_code == 2
    assert "not an OpenStreetMap extract" in r.output and "previous network (if any) is unchanged" in r.output
    assert "3,600 nodes" in run("status").output


def test_isochrones_of_a_station_and_of_all(grid, env):
    assert run("build", str(grid)).exit_code == 0
    out = env / "iso.geojson"
    r = run("isochrones", "--station", "YN-T-XSS", "--minutes", "5,10,15", "--out", str(out))
    assert r.exit_code == 0, r.output
    iso = gpd.read_file(out)
    assert list(iso["minutes"]) == [5.0, 10.0, 15.0]
    assert (np.diff(iso["area_km2"]) > 0).all()
    assert iso["label"].iloc[0] == "YN-T-XSS"
    assert "SYNTHETIC" in iso["attribution"].iloc[0] and "SYNTHETIC" in iso["network"].iloc[0]
    out2 = env / "iso_all.gpkg"
    r = run("isochrones", "--all", "--hour", "3", "--minutes", "15", "--out", str(out2))
    assert r.exit_code == 0, r.output
    all_iso = gpd.read_file(out2)
    assert len(all_iso) == 1 and all_iso["label"].iloc[0] == "all open stations at 03:00"
    assert all_iso["area_km2"].iloc[0] > iso["area_km2"].iloc[2]


@pytest.mark.parametrize("args, message", [
    (["--out", "x.geojson"], "give --station ID or --all"),
    (["--station", "nope", "--out", "x.geojson"], "no station with id 'nope'"),
    (["--station", "YN-T-XSS", "--out", "x.csv"], "must end in .geojson or .gpkg"),
    (["--station", "YN-T-XSS", "--minutes", "5,x", "--out", "x.geojson"], "minutes must be numbers"),
    (["--station", "YN-T-XSS", "--hour", "3", "--out", "x.geojson"], "--hour applies to --all"),
])
def test_isochrones_bad_input(grid, env, args, message):
    assert run("build", str(grid)).exit_code == 0
    r = CliRunner().invoke(network_group, ["isochrones", *args])
    assert r.exit_code == 2 and message in r.output


def test_isochrones_and_coverage_need_a_network(env):
    r = CliRunner().invoke(network_group, ["isochrones", "--all", "--out", str(env / "x.geojson")])
    assert r.exit_code == 2 and "no street network loaded" in r.output
    r = CliRunner().invoke(network_group, ["coverage"])
    assert r.exit_code == 2 and "no street network loaded" in r.output


def test_coverage_side_by_side(grid, env):
    assert run("build", str(grid)).exit_code == 0
    from stations import coverage as C
    from stations.registry import Registry

    rng = np.random.default_rng(3)
    lon = KUNMING[0] + rng.uniform(-0.03, 0.03, 300)
    lat = KUNMING[1] + rng.uniform(-0.03, 0.03, 300)
    pd.DataFrame({"lon": lon, "lat": lat, "workers": 10}).to_csv(env / "demand.csv", index=False)
    out = env / "cov.csv"
    r = run("coverage", "--demand", str(env / "demand.csv"), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "within 1,125 m (15 min on foot)" in r.output and "SYNTHETIC" in r.output
    t = pd.read_csv(out, dtype={"adcode": str})
    assert (t["covered_pct_network"].fillna(0) <= t["covered_pct_straight"].fillna(0) + 1e-9).all()
    assert t["workers"].sum() == pytest.approx(3000, abs=1)
    assert (t["covered_pct_network"] < t["covered_pct_straight"]).any()  # the grid's gaps and detours show
    # the straight-line column equals the straight-line module at the same distance
    from stations.demand import load_demand_file

    d = load_demand_file(env / "demand.csv")
    straight = C.compute_coverage(Registry().load(), d, radius=1125)
    assert t["workers_covered_straight"].sum() == pytest.approx(straight.workers_covered, abs=1)
    r = run("coverage", "--demand", str(env / "demand.csv"), "--minutes", "10", "--by", "prefecture")
    assert r.exit_code == 0 and "within 750 m (10 min on foot)" in r.output and "530100" in r.output


def test_coverage_bad_options(grid, env):
    assert run("build", str(grid)).exit_code == 0
    r = CliRunner().invoke(network_group, ["coverage", "--minutes", "10", "--distance", "800"])
    assert r.exit_code == 2 and "not both" in r.output
    r = CliRunner().invoke(network_group, ["coverage", "--out", "x.pdf"])
    assert r.exit_code == 2 and "--out" in r.output
