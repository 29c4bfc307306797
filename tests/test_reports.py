"""Workers' reports over HTTP: no login, no personal data, abuse control (per-client rate limit, size limit,
JSON only, honeypot), the badge and "reported closed" in the finder's API, hostile text kept as text; and every
error the management area can show has a Chinese translation."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import fixture_stations
from stations.registry import Registry
from stations.schema import reports_table

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("reports") / "template.sqlite"
    reg = Registry(f"sqlite:///{path}")
    reg.replace_all(fixture_stations())
    with reg.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    reg.engine.dispose()
    return str(path)


@pytest.fixture
def db(template_db, tmp_path):
    shutil.copyfile(template_db, tmp_path / "r.sqlite")
    return f"sqlite:///{tmp_path / 'r.sqlite'}"


@pytest.fixture
def client(db):
    from webmap import create_app
    from webmap.security import limiter

    app = create_app({"TESTING": True, "DATABASE_URL": db, "TILES": "none", "SECRET_KEY": "s" * 64,
                      "REGISTRY_CHECK_SECONDS": 0})
    limiter.reset()
    return app.test_client()


def stored(db) -> list[dict]:
    reg = Registry(db)
    with reg.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(reports_table)).mappings()]
    reg.engine.dispose()
    return rows


def post(client, sid="YN-T-001", ip="10.0.0.1", **body):
    return client.post(f"/api/stations/{sid}/reports", json=body, environ_base={"REMOTE_ADDR": ip})


def test_a_report_is_stored_without_the_address_and_shows_at_once(client, db):
    assert client.get("/api/stations/YN-T-001").get_json()["properties"]["reports"] is None
    r = post(client, reason="no_power", text="充电口坏了")
    assert r.status_code == 201 and r.get_json()["report"]["reason"] == "no_power"
    (row,) = stored(db)
    assert row["client"] != "10.0.0.1" and len(row["client"]) == 64 and "10.0.0.1" not in str(row)
    assert row["status"] == "open" and row["text"] == "充电口坏了"
    props = client.get("/api/stations/YN-T-001").get_json()["properties"]
    assert props["reports"]["open"] == 1 and props["reports"]["reason"] == "no_power"
    assert props["reports"]["reason_label"] == "不能充电" and props["reports"]["date"]
    assert props["last_verified"] is None
    near = client.get("/api/nearest?lat=25.0406&lon=102.7129&k=40").get_json()
    assert any(f["properties"]["reports"] for f in near["features"])
    en = client.get("/api/stations/YN-T-001?lang=en").get_json()["properties"]["reports"]
    assert en["reason_label"] == "No power for charging"


@pytest.mark.parametrize("body, status, param", [
    ({"reason": "haunted"}, 400, "reason"),
    ({}, 400, "reason"),
    ({"reason": "other", "text": "长" * 301}, 413, "text"),
    ({"reason": "other", "text": ["not", "text"]}, 400, "text"),
])
def test_bad_reports_are_named_and_nothing_is_stored(client, db, body, status, param):
    r = post(client, **body)
    assert r.status_code == status and r.get_json()["error"]["parameter"] == param
    assert stored(db) == []


def test_unknown_station_form_posts_and_huge_bodies(client, db):
    r = post(client, sid="NO-SUCH", reason="dirty")
    assert r.status_code == 404 and r.get_json()["error"]["parameter"] == "id"
    r = client.post("/api/stations/YN-T-001/reports", data={"reason": "dirty"})  # a cross-site HTML form
    assert r.status_code == 415
    r = client.post("/api/stations/YN-T-001/reports", data=b'{"reason": "dirty", "text": "' + b"x" * 5000 + b'"}',
                    content_type="application/json")
    assert r.status_code == 413 and r.get_json()["error"]["parameter"] == "body"
    assert stored(db) == []


def test_the_honeypot_is_answered_like_success_and_stores_nothing(client, db):
    r = post(client, reason="closed", website="http://spam.example")
    assert r.status_code == 202 and r.get_json()["ok"]
    assert stored(db) == []


def test_reports_are_rate_limited_per_client(client, db):
    codes = [post(client, reason="dirty", ip="10.0.0.9").status_code for _ in range(13)]
    assert codes[:12] == [201] * 12 and codes[12] == 429
    r = post(client, reason="dirty", ip="10.0.0.9")
    assert r.status_code == 429 and "报告过多" in r.get_json()["error"]["message"]
    assert post(client, reason="dirty", ip="10.0.0.10").status_code == 201  # another client is not limited
    assert len(stored(db)) == 13


def test_reported_closed_needs_several_distinct_clients_within_a_day(client, db):
    for ip in ("1.1.1.1", "1.1.1.1", "2.2.2.2"):
        post(client, reason="closed", ip=ip)
    assert client.get("/api/stations/YN-T-002").get_json()["properties"]["reports"] is None
    props = client.get("/api/stations/YN-T-001").get_json()["properties"]["reports"]
    assert props["open"] == 3 and not props["reported_closed"]  # two distinct clients only
    post(client, reason="closed", ip="3.3.3.3")
    assert client.get("/api/stations/YN-T-001").get_json()["properties"]["reports"]["reported_closed"]


def test_reported_closed_window():
    from datetime import datetime, timedelta, timezone

    from stations.reports import _reported_closed

    t0 = datetime(2026, 12, 1, 8, tzinfo=timezone.utc)
    spread = [((t0 + timedelta(hours=h)).isoformat(), c) for h, c in ((0, "a"), (20, "b"), (30, "c"))]
    assert not _reported_closed(spread)  # a and c are 30 h apart
    close = [((t0 + timedelta(hours=h)).isoformat(), c) for h, c in ((0, "a"), (20, "b"), (23, "c"))]
    assert _reported_closed(close)


def test_hostile_text_is_stored_as_text(client, db):
    text = '<img src=x onerror=alert(1)>"\'; DROP TABLE reports;--'
    assert post(client, reason="other", text=text).status_code == 201
    assert stored(db)[0]["text"] == text


def test_report_strings_in_both_languages(client):
    zh = client.get("/api/reports/strings").get_json()
    assert zh["strings"]["report"] == "报告问题" and zh["reasons"][0] == {"key": "closed", "label": "关门"}
    assert len(zh["reasons"]) == 8 and zh["text_max"] == 300
    en = client.get("/api/reports/strings?lang=en").get_json()
    assert en["strings"]["verified"] == "Last verified"


# ---------------------------------------------------------------------------------------- translations
MODULES = ["stations/edits.py", "stations/users.py", "stations/reports.py", "stations/uploads.py",
           "stations/registry.py", "webmap/manage.py", "webmap/manage_stations.py", "webmap/reports.py",
           "webmap/manage_auth.py"]
ERRORS = {"InputError", "AccessError", "EditConflictError", "LimitError", "HoursParseError",
          "UnknownServiceError", "ImportFileError"}


def _raised_templates() -> set[str]:
    out = set()
    for rel in MODULES:
        for node in ast.walk(ast.parse((ROOT / rel).read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ERRORS
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                out.add(node.args[0].value)
    return out


def test_every_error_of_the_management_area_has_a_chinese_translation():
    from babel.messages.pofile import read_po

    templates = _raised_templates()
    assert len(templates) > 40
    listed = set()
    for node in ast.walk(ast.parse((ROOT / "webmap/manage_strings.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_l":
            listed.add(node.args[0].value)
    assert templates <= listed, sorted(templates - listed)
    with open(ROOT / "webmap/translations/zh/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    untranslated = [t for t in templates if not (catalog.get(t) and catalog.get(t).string)]
    assert not untranslated, untranslated
