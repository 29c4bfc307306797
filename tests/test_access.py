"""Load on stations and 2SFCA accessibility (stations.access, issue 12 §2): a hand-worked example on the
ground, the per-class catchment, the PySAL ``access`` computation cross-checked against the formula on a
sparse matrix, and the new columns of the coverage tables."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from scipy import sparse

from stations import access as X
from stations import coverage as C

GEOD = Geod(ellps="WGS84")
KUNMING = (102.7129, 25.0406)


def east(km: float):
    lon, lat, _ = GEOD.fwd(KUNMING[0], KUNMING[1], 90.0, km * 1000.0)
    return lon, lat


def _demand(points, workers, classes):
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    df = pd.DataFrame({"h3": list("abcd"[: len(lon)]), "lon": lon, "lat": lat, "workers": np.asarray(workers, float),
                       "county_adcode": "530102", "prefecture_adcode": "530100", "area_class": classes})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _stations(points, ids):
    from stations.hours import parse_hours

    df = pd.DataFrame({"id": ids, "name": [f"驿站{i}" for i in ids], "lon": [p[0] for p in points], "lat": [p[1] for p in points],
                       "county_adcode": "530102", "prefecture_adcode": "530100", "status": "open",
                       "hours_json": parse_hours("24小时").to_json()})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


@pytest.fixture()
def worked():
    """Along the parallel east of 东风广场 (Kunming): cells a (0 km, 100 workers), b (0.8 km, 50), c (1.6 km, 10),
    d (5 km, 30, rural); stations S1 (0.3 km), S2 (1.4 km), S3 (8 km). Radius 1 km:

    catchments: S1 {a (0.3 km), b (0.5 km)}, S2 {b (0.6 km), c (0.2 km)}, S3 {} (d is 3 km away)
    step 1: R1 = 1 / (100 + 50) = 1/150, R2 = 1 / (50 + 10) = 1/60, R3: no workers -> left out
    step 2: A_a = 1/150 = 6.667 per 1,000 workers, A_b = 1/150 + 1/60 = 23.333, A_c = 1/60 = 16.667, A_d = 0
    load (nearest open station within the radius): a, b -> S1 (0.3 < 1.3, 0.5 < 0.6 km): 150; c -> S2: 10;
    d uncovered. Loads add up to the covered workers (160). Sum of P_k A_k = 2 = the stations serving someone."""
    dem = _demand([east(0), east(0.8), east(1.6), east(5)], [100, 50, 10, 30], ["town", "town", "town", "rural"])
    sts = _stations([east(0.3), east(1.4), east(8)], ["S1", "S2", "S3"])
    return dem, sts


def test_hand_worked_2sfca_and_load(worked):
    dem, sts = worked
    res = C.compute_coverage(sts, dem, 1000.0)
    acc = res.access()
    assert acc.access_per_1000 == pytest.approx([1000 / 150, 1000 / 150 + 1000 / 60, 1000 / 60, 0.0])
    s = acc.stations.set_index("id")
    assert s["catchment_workers"].tolist() == [150.0, 60.0, 0.0]
    assert s["ratio_per_1000"].tolist() == pytest.approx([1000 / 150, 1000 / 60, 0.0])
    assert s["load_workers"].tolist() == [150.0, 10.0, 0.0] and s["load_cells"].tolist() == [2, 1, 0]
    assert s["load_workers"].sum() == res.workers_covered == 160.0
    assert float(dem["workers"] @ acc.access_per_1000) / 1000 == pytest.approx(2.0)
    assert X.top_loaded(acc, 2)["id"].tolist() == ["S1", "S2"]
    assert res.access() is acc  # computed once per result


def test_catchment_follows_the_radius_of_each_cell(worked):
    """With 3.5 km for rural cells, d (3 km from S3) is in S3's catchment and its load: R3 = 1/30."""
    dem, sts = worked
    res = C.compute_coverage(sts, dem, {"town": 1000.0, "rural": 3500.0})
    acc = res.access()
    assert acc.access_per_1000 == pytest.approx([1000 / 150, 1000 / 150 + 1000 / 60, 1000 / 60, 1000 / 30])
    assert acc.stations.set_index("id")["load_workers"].tolist() == [150.0, 10.0, 30.0]


def test_closed_stations_carry_no_load(worked):
    dem, sts = worked
    sts = sts.assign(status=["closed", "open", "open"])
    acc = C.compute_coverage(sts, dem, 1000.0).access()
    assert acc.stations["id"].tolist() == ["S2", "S3"]  # the active stations only
    # S2 alone: R2 = 1/60; a is out of reach, b and c share S2; b's workers now load S2 (0.6 km)
    assert acc.access_per_1000 == pytest.approx([0.0, 1000 / 60, 1000 / 60, 0.0])
    assert acc.stations["load_workers"].tolist() == [60.0, 0.0]


def test_catchment_matrix_matches_the_coverage_matrix():
    rng = np.random.default_rng(4)
    slon, slat = KUNMING[0] + rng.uniform(-0.05, 0.05, 40), KUNMING[1] + rng.uniform(-0.05, 0.05, 40)
    dlon, dlat = KUNMING[0] + rng.uniform(-0.06, 0.06, 500), KUNMING[1] + rng.uniform(-0.06, 0.06, 500)
    r = rng.choice([800.0, 1000.0, 2500.0], 500)
    a = X.catchment_matrix(slon, slat, dlon, dlat, r)
    b = C.coverage_matrix(slon, slat, dlon, dlat, r)
    assert a.nnz > 100 and (a != b).nnz == 0


def _formula(P, M, S):
    """2SFCA written out on a dense matrix, for the cross-check."""
    M = np.asarray(M, bool)
    caught = M @ P
    R = np.divide(S, caught, out=np.zeros_like(S), where=caught > 0)
    return M.T @ R, R, caught


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 12), st.integers(1, 6), st.data())
def test_pysal_access_agrees_with_the_formula(n_cells, n_st, data):
    P = np.array(data.draw(st.lists(st.integers(0, 500), min_size=n_cells, max_size=n_cells)), float)
    M = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=n_cells, max_size=n_cells), min_size=n_st,
                                    max_size=n_st)))
    S = np.array(data.draw(st.lists(st.integers(1, 3), min_size=n_st, max_size=n_st)), float)
    A, R, caught = X.two_step_fca(P, sparse.csr_matrix(M), S)
    A2, R2, c2 = _formula(P, M, S)
    assert A == pytest.approx(A2) and R == pytest.approx(R2) and caught == pytest.approx(c2)
    # the supply is shared out: sum_k P_k A_k = the supply of the stations with workers in reach
    assert float(P @ A) == pytest.approx(float(S[c2 > 0].sum()))


def test_two_step_fca_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="cells"):
        X.two_step_fca([1, 2], np.ones((2, 3)))
    with pytest.raises(ValueError, match="supply"):
        X.two_step_fca([1, 2, 3], np.ones((2, 3)), supply=[1])


def test_coverage_table_gains_load_columns_at_the_end(worked):
    dem, sts = worked
    res = C.compute_coverage(sts, dem, 1000.0)
    assert list(C.TABLE_COLUMNS[-4:]) == ["load_workers", "load_per_station", "load_max_station", "access_per_1000"]
    assert list(C.TABLE_COLUMNS[:16]) == ["level", "adcode", "name", "name_en", "parent_adcode", "stations", "urban_residents",
                                          "stations_per_10k_urban", "workers", "workers_covered", "covered_pct", "area_km2",
                                          "area_covered_km2", "area_covered_pct", "median_distance_m", "p90_distance_m"]
    for by in ("county", "prefecture", "province"):
        t = C.coverage_table(res, by)
        assert list(t.columns) == list(C.TABLE_COLUMNS)
        row = t[t["adcode"] == {"county": "530102", "prefecture": "530100", "province": "530000"}[by]].iloc[0]
        assert row["stations"] == 3 and row["load_workers"] == 160.0
        assert row["load_per_station"] == pytest.approx(160 / 3) and row["load_max_station"] == 150.0
        # worker-weighted mean of the cells' scores: 2 stations serve 190 workers
        assert row["access_per_1000"] == pytest.approx(1000 * 2 / 190)
        other = t[(t["stations"] == 0) & (t["workers"] == 0)]
        assert other["load_workers"].eq(0).all() and other["load_max_station"].isna().all()
    shown = C.round_table(C.coverage_table(res, "county")).set_index("adcode").loc["530102"]
    assert shown["load_per_station"] == 53.0 and shown["access_per_1000"] == pytest.approx(10.526)


def test_api_access(client):
    """The app over the fixture registry and the bundled demand: the 2SFCA layer and the most loaded stations,
    whose loads add up to the covered workers of /api/coverage."""
    r = client.get("/api/access?radius=1000")
    assert r.status_code == 200
    b = r.get_json()
    assert b["resolution"] == 7 and b["points"] and all(len(p) == 4 and p[2] >= 0 for p in b["points"])
    top = b["top_loaded"]
    assert top and [t["load_workers"] for t in top] == sorted((t["load_workers"] for t in top), reverse=True)
    assert {"id", "name", "load_workers", "catchment_workers", "ratio_per_1000"} <= set(top[0])
    cov = client.get("/api/coverage?radius=1000&by=province").get_json()["summary"]
    assert b["load_workers"] == pytest.approx(cov["workers_covered"], abs=1)
    assert cov["load_workers"] == pytest.approx(cov["workers_covered"], abs=1) and cov["access_per_1000"] > 0
    bad = client.get("/api/access?radius=5")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "radius"
