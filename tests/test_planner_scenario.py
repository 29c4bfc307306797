"""The planner's accepted scenario (issue 12 §1): POST /api/scenario keeps a what-if as the page's working
baseline; coverage, tables, gaps, layers, load, recommendations, what-if and downloads follow ``scenario=<id>``;
a scenario's downloads say so; sites are named by place in downloads; the exact solver's time budget."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from test_jobs import jobs_env, queued  # noqa: F401 (fixtures: a worker process on a queue)
from test_planner_api import _demand, _kunming_demand

SHANGRILA = [99.7065, 27.8269]  # the 60 workers in 533401, no station within reach


@pytest.fixture()
def pc(app):
    app.config["PLANNER_DEMAND"] = _demand()
    return app.test_client()


def _accept(pc, **body):
    r = pc.post("/api/scenario", json=body)
    assert r.status_code == 201, r.data
    return r.get_json()


def _summary(pc, **q):
    r = pc.get("/api/coverage", query_string={"by": "county", **q})
    assert r.status_code == 200, r.data
    return r.get_json()


def test_accepted_scenario_is_the_baseline_of_every_figure(pc):
    base = _summary(pc)
    s = _accept(pc, add=[SHANGRILA + ["08:00-20:00"]], close=["YN-T-LJ"])
    sid = s["scenario"]
    assert len(sid) == 12 and s["close"] == ["YN-T-LJ"]
    (added,) = s["added"]
    assert added["place_zh"].startswith("香格里拉市") and added["county_adcode"] == "533401"
    scen = _summary(pc, scenario=sid)
    assert scen["scenario"] == sid and base["scenario"] is None
    assert scen["stations_active"] == base["stations_active"]  # one added, one closed
    # the 60 workers of 香格里拉 are covered now; 丽江's 10 within 500 m are not any more
    assert scen["summary"]["workers_covered"] == base["summary"]["workers_covered"] + 60 - 10
    rows = {r["adcode"]: r for r in scen["rows"]}
    assert rows["533401"]["workers_covered"] == 60 and rows["530702"]["workers_covered"] == 0
    # the registry's baseline is unchanged
    assert _summary(pc)["summary"] == base["summary"]
    gaps = pc.get("/api/gaps", query_string={"scenario": sid}).get_json()
    assert gaps["scenario"] == sid
    assert all(f["properties"]["county_adcode"] != "533401" for f in gaps["features"])
    assert any(f["properties"]["county_adcode"] == "530702" for f in gaps["features"])
    acc = pc.get("/api/access", query_string={"scenario": sid}).get_json()
    assert acc["scenario"] == sid and len(acc["load"]) == acc["stations"]
    assert sum(p[2] for p in acc["load"]) == pytest.approx(scen["summary"]["workers_covered"], abs=0.5)
    # the same scenario over the same registry has the same id
    assert _accept(pc, add=[SHANGRILA + ["08:00-20:00"]], close=["YN-T-LJ"])["scenario"] == sid


def test_scenario_downloads_say_they_are_a_scenario_and_add_up(pc):
    sid = _accept(pc, add=[SHANGRILA])["scenario"]
    r = pc.get("/planner/download/coverage.csv", query_string={"by": "county", "scenario": sid})
    assert r.status_code == 200
    assert f"scenario-{sid}-coverage-county" in r.headers["Content-Disposition"]
    df = pd.read_csv(io.BytesIO(r.data), encoding="utf-8-sig", dtype={"adcode": str, "parent_adcode": str})
    assert list(df.columns[:2]) == ["scenario", "level"] and set(df["scenario"]) == {sid}
    pref = pd.read_csv(io.BytesIO(pc.get("/planner/download/coverage.csv", query_string={
        "by": "prefecture", "scenario": sid}).data), encoding="utf-8-sig", dtype={"adcode": str})
    sums = df.groupby("parent_adcode")["workers_covered"].sum()
    assert sums.reindex(pref["adcode"]).fillna(0).to_numpy().tolist() == pref["workers_covered"].tolist()
    assert df["workers_covered"].sum() == 60 + _summary(pc)["summary"]["workers_covered"]
    gj = json.loads(pc.get("/planner/download/gaps.geojson", query_string={"scenario": sid}).data)
    assert gj["features"] and all(f["properties"]["scenario"] == sid for f in gj["features"])
    plain = pc.get("/planner/download/coverage.csv?by=county")
    assert "scenario" not in plain.headers["Content-Disposition"]
    assert "scenario" not in pd.read_csv(io.BytesIO(plain.data), encoding="utf-8-sig").columns


def test_scenario_belongs_to_its_session_and_unknown_ids_are_refused(pc, app):
    sid = _accept(pc, add=[SHANGRILA])["scenario"]
    other = app.test_client()
    for client in (other, pc):
        r = client.get("/api/coverage", query_string={"scenario": "0123456789ab" if client is pc else sid})
        assert r.status_code == 400
        assert r.get_json()["error"]["parameter"] == "scenario"
    bad = pc.post("/api/scenario", json={"add": [], "close": ["NO-SUCH"]})
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "close"


def test_scenario_on_a_scenario_and_whatif_from_it(pc):
    first = _accept(pc, add=[SHANGRILA])
    site = f"S{first['scenario'][:6]}-001"
    # a what-if starting from the scenario: closing its added site takes the 60 workers away again
    w = pc.post("/api/whatif", json={"scenario": first["scenario"], "close": [site]})
    assert w.status_code == 200, w.data
    body = w.get_json()
    assert body["scenario"] == first["scenario"]
    assert body["delta_workers_covered"] == -60
    # accepting that edit on the scenario gives a new scenario without the site
    second = _accept(pc, scenario=first["scenario"], close=[site])
    assert second["scenario"] != first["scenario"] and second["added"] == []
    assert _summary(pc, scenario=second["scenario"])["summary"] == _summary(pc)["summary"]


@pytest.fixture()
def rc(app):
    app.config["PLANNER_DEMAND"] = _kunming_demand()
    return app.test_client()


def test_site_downloads_name_places_first(rc):
    r = rc.get("/recommend/download/sites.csv?n=2&radius=1000")
    assert r.status_code == 200
    df = pd.read_csv(io.BytesIO(r.data), encoding="utf-8-sig")
    assert list(df.columns[:4]) == ["rank", "name_zh", "name_en", "county"]
    assert df["name_zh"].str.contains(" · ").all() and set(df["county"]) <= {"五华区", "盘龙区", "官渡区", "西山区", "呈贡区"}
    assert {"lon", "lat"} <= set(df.columns)
    sid = _accept(rc, add=[[102.7129, 25.0406]])["scenario"]
    s = rc.get(f"/recommend/download/sites.geojson?n=2&radius=1000&scenario={sid}")
    assert f"scenario-{sid}-recommended-sites" in s.headers["Content-Disposition"]
    props = json.loads(s.data)["features"][0]["properties"]
    assert props["scenario"] == sid and props["name_en"] and props["county"]
    rec = rc.get(f"/api/recommend?n=2&radius=1000&scenario={sid}").get_json()
    assert rec["scenario"] == sid and rec["before"]["stations"] == _summary(rc, scenario=sid)["stations_active"]


def test_exact_time_budget(rc):
    body = rc.get("/api/recommend?n=3&radius=1000&exact=1&exact_seconds=2").get_json()
    assert body["exact_status"] and body["gap"] is not None and body["gap"] >= 0
    r = rc.get("/api/recommend?n=3&exact=1&exact_seconds=500")
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "exact_seconds"


def test_an_accepted_scenario_is_found_by_the_job_workers(jobs_env, queued):
    """With JOBS=queue the recommendation and the what-if run in a worker process: it finds the session's
    accepted scenario (kept on disk like an uploaded set) and computes over the scenario's stations."""
    client = queued.test_client()
    sid = _accept(client, add=[[102.80, 25.10]], close=[])["scenario"]
    web = _summary(client, scenario=sid)["summary"]
    rec = client.get(f"/api/recommend?n=1&scenario={sid}")
    assert rec.status_code == 200, rec.get_json()
    assert rec.get_json()["scenario"] == sid
    assert rec.get_json()["before"]["workers_covered"] == pytest.approx(web["workers_covered"], abs=0.5)
    w = client.post("/api/whatif", json={"scenario": sid, "close": [f"S{sid[:6]}-001"]})
    assert w.status_code == 200 and w.get_json()["after"]["stations"] == w.get_json()["before"]["stations"] - 1

    # the same session's demand file, parsed by a worker, is found by the web process (the session reached it)
    dem = client.post("/api/coverage/demand", data={"file": (io.BytesIO(b"lon,lat,weight\n102.7129,25.0406,40\n"),
                                                             "mine.csv")}, content_type="multipart/form-data")
    assert dem.status_code == 201, dem.get_json()
    cov = client.get("/api/coverage", query_string={"demand": dem.get_json()["demand"], "by": "province"})
    assert cov.status_code == 200, cov.get_json()
    assert cov.get_json()["summary"]["workers"] == 40
