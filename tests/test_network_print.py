"""Atlases measured on foot (issue 13): ``yizhan atlas --distance network`` and the web atlas job with
``distance=network`` (a job, a key and a file of its own beside the straight-line atlas), each sheet and the
cover labelled "15分钟步行（街道网络）"; a clear error without a street network.

The network is TEST DATA: the river town of ``tests/test_network_web.py`` (written by the test, at Kunming). The
atlases are the county atlas of 迪庆州 (533400: 3 counties, 7 pages), the smallest prefecture, to keep them fast.
"""

from __future__ import annotations

import time

import pytest

from stations import network as N
from test_network_web import _app, _cli, cli_env, town  # noqa: F401  (fixtures)
from test_print_atlas_county import flat, needs_poppler, pdf_pages, pdf_text

DIQING = "533400"
LABEL = "15分钟步行（街道网络）"

pytestmark = [needs_poppler, pytest.mark.filterwarnings("ignore:Glyph")]


def _expected_pages() -> int:
    from stations import cartography

    pages = cartography.atlas_pages(cartography.Context(stations=None, analysis_provider=None), DIQING, "A4")
    return 1 + sum(1 + n for _p, n in pages.values())


def test_cli_atlas_on_foot(cli_env, tmp_path, monkeypatch):  # noqa: F811
    w, demand, var, empty = cli_env
    out = tmp_path / "diqing-walk.pdf"
    r = _cli("atlas", "--area", DIQING, "--distance", "network", "--no-progress", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert pdf_pages(out) == _expected_pages() == 7
    cover = flat(pdf_text(out, 1))
    assert LABEL in cover and "覆盖率（步行1125米）" in cover and "服务半径" not in cover
    assert LABEL in flat(pdf_text(out, 2))  # the first county's sheet
    # no street network: a clear error, no atlas
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(empty))
    N.clear_cache()
    from click.testing import CliRunner

    from webmap.cli import main

    out2 = tmp_path / "none.pdf"
    r = CliRunner().invoke(main, ["atlas", "--area", DIQING, "--distance", "network", "--out", str(out2)])
    assert r.exit_code == 2 and "未加载街道网络" in r.output and "yizhan network build" in r.output
    assert not out2.exists()


def _wait_done(c, query: str) -> dict:
    deadline = time.time() + 240
    while time.time() < deadline:
        body = c.get("/print/atlas/status?" + query).get_json()
        if body["state"] != "running":
            return body
        time.sleep(0.5)
    raise AssertionError("the atlas job did not finish")


def test_web_atlas_job_on_foot(town, monkeypatch, tmp_path):  # noqa: F811
    w, url, var, empty = town
    c = _app(url, var, monkeypatch, w)
    walk_q = f"paper=A4&area={DIQING}&distance=network"
    r = c.get("/print/atlas.pdf?" + walk_q)
    assert r.status_code == 202, r.data[:300]
    assert "distance=network" in r.headers["Location"]
    # the straight-line atlas of the same paper and prefecture is another job: not busy, not this one
    straight = c.get(f"/print/atlas/status?paper=A4&area={DIQING}").get_json()
    assert straight["state"] == "idle" and not straight.get("busy")
    body = _wait_done(c, walk_q)
    assert body["state"] == "done", body
    assert body["pages_total"] == 7 and "distance=network" in body["download_url"]
    r = c.get(body["download_url"] + "&download=1")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert f"atlas-{DIQING}-A4-walk.pdf" in r.headers["Content-Disposition"]
    pdf = tmp_path / "web-walk.pdf"
    pdf.write_bytes(r.data)
    assert pdf_pages(pdf) == 7 and LABEL in flat(pdf_text(pdf, 2))
    r.close()
    kept = sorted(p.name for p in (var / "print").glob("county-atlas-*"))
    assert kept and all(n.startswith(f"county-atlas-walk-{DIQING}-A4-") for n in kept), kept
    assert c.get(f"/print/atlas/status?paper=A4&area={DIQING}").get_json()["state"] == "idle"  # no straight atlas yet
    # without a network: 409 naming the fix, for the job and its status
    c = _app(url, empty, monkeypatch, w)
    for path in ("/print/atlas.pdf?", "/print/atlas/status?"):
        r = c.get(path + walk_q + "&lang=zh")
        assert r.status_code == 409, (path, r.data[:200])
        assert "未加载街道网络" in r.get_json()["error"]["message"]
    N.clear_cache()
