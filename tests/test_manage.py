"""The management area over HTTP: logins, sessions, CSRF, role and area checks (crafted requests included),
stale versions, every change path audited, exports, and the finder seeing a change at once (also from
another server process). Every refused request leaves the registry and the audit log unchanged."""

from __future__ import annotations

import io
import re
import time

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import fixture_stations
from stations import audit
from stations.registry import Registry
from stations.schema import audit_table
from stations.users import Users

PASSWORD = "correct horse battery"
DALI = {"lon": "100.2250", "lat": "25.5916"}


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> str:
    """The fixture stations, one Dali station and five accounts, built once (argon2 hashing is slow on purpose)."""
    path = tmp_path_factory.mktemp("manage") / "template.sqlite"
    reg = Registry(f"sqlite:///{path}")
    reg.replace_all(fixture_stations())
    users = Users(reg)
    users.add("root", PASSWORD, "admin")
    users.add("km", PASSWORD, "editor", "530100")
    users.add("dl", PASSWORD, "editor", "532900")
    users.add("wh", PASSWORD, "editor", "530102")
    users.add("look", PASSWORD, "viewer")
    from stations import edits
    from stations.users import User

    edits.create(reg, User.system(), {"name": "大理测试驿站（示例）", **DALI, "opening_hours": "24小时",
                                      "services": ["water"], "host": "union"})
    with reg.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    reg.engine.dispose()
    return str(path)


@pytest.fixture
def db(template_db, tmp_path):
    """A fresh copy of the template registry for one test."""
    import shutil

    path = tmp_path / "manage.sqlite"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


def make_app(url, **config):
    from webmap import create_app

    return create_app({"TESTING": True, "DATABASE_URL": url, "TILES": "none", "SECRET_KEY": "t" * 64,
                       "REGISTRY_CHECK_SECONDS": 0, **config})


@pytest.fixture
def app(db):
    return make_app(db)


@pytest.fixture
def client(app):
    from webmap.security import limiter

    limiter.reset()
    return app.test_client()


def token(client, path="/manage/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, name="km", password=PASSWORD):
    r = client.post("/manage/login", data={"username": name, "password": password, "csrf_token": token(client)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return r


def dali_id(db) -> str:
    reg = Registry(db)
    gdf = reg.load()
    reg.engine.dispose()
    return gdf.loc[gdf["prefecture_adcode"] == "532900", "id"].iloc[0]


def state(db):
    reg = Registry(db)
    with reg.engine.connect() as conn:
        log = conn.execute(sa.select(audit_table).order_by(audit_table.c.id)).all()
    out = (reg.load().drop(columns="geometry"), log, reg.data_version())
    reg.engine.dispose()
    return out


def assert_unchanged(before, after):
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1] == after[1] and before[2] == after[2]


def station_form(client, sid, **changes) -> dict:
    """The edit form of ``sid`` as the page gives it (token, version, values), with ``changes``."""
    html = client.get(f"/manage/stations/{sid}").get_data(as_text=True)
    def val(name):
        m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
        return m.group(1) if m else ""
    data = {"csrf_token": val("csrf_token"), "version": val("version"), "name": val("name"),
            "address": val("address"), "lon": val("lon"), "lat": val("lat"), "crs": "wgs84",
            "opening_hours": val("opening_hours"), "phone": val("phone"), "host": "union", "status": "open",
            "services": ["water", "charging"]}
    data.update(changes)
    return data


# ------------------------------------------------------------------------------------------ logins and sessions
def test_pages_need_a_login(client):
    r = client.get("/manage/")
    assert r.status_code == 302 and "/manage/login" in r.headers["Location"]
    r = client.get("/manage/", headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.get_json()["error"]["message"]


def test_login_sets_a_safe_cookie_and_logout_ends_it(client):
    r = login(client)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/manage/")
    assert page.status_code == 200 and "km" in page.get_data(as_text=True)
    assert "/manage/" in client.get("/").get_data(as_text=True)  # the finder's nav links to the management area
    client.post("/manage/logout", data={"csrf_token": token(client, "/manage/")})
    assert client.get("/manage/").status_code == 302


def test_session_cookie_is_secure_over_https(app):
    c = app.test_client()
    t = re.search(r'name="csrf_token" value="([^"]+)"',
                  c.get("/manage/login", base_url="https://x.example").get_data(as_text=True)).group(1)
    r = c.post("/manage/login", base_url="https://x.example",
               data={"username": "km", "password": PASSWORD, "csrf_token": t},
               headers={"Referer": "https://x.example/manage/login"})
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"]


def test_wrong_password_and_disabled_account(client, db):
    r = client.post("/manage/login", data={"username": "km", "password": "nope", "csrf_token": token(client)})
    assert r.status_code == 401 and "密码" in r.get_data(as_text=True)
    r = client.post("/manage/login?lang=en", data={"username": "nobody", "password": "x" * 12,
                                                  "csrf_token": token(client)})
    assert r.status_code == 401 and "wrong user name or password" in r.get_data(as_text=True)
    login(client)
    Users(Registry(db)).set_active("km", False)
    assert client.get("/manage/").status_code == 302  # the session ends at once


def test_password_change_ends_sessions(client, db):
    login(client)
    Users(Registry(db)).set_password("km", "another long password")
    assert client.get("/manage/").status_code == 302


def test_login_is_rate_limited(client):
    t = token(client)
    codes = [client.post("/manage/login", data={"username": "km", "password": "bad", "csrf_token": t}).status_code
             for _ in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


def test_expired_session_is_refused_with_a_message_and_changes_nothing(client, db):
    login(client)
    sid = "YN-T-001"
    data = station_form(client, sid, name="过期后改名")
    with client.session_transaction() as sess:
        sess["login_at"] = int(time.time()) - 13 * 3600
    before = state(db)
    r = client.post(f"/manage/stations/{sid}", data=data)
    assert r.status_code == 302 and "/manage/login" in r.headers["Location"]
    assert "过期" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert_unchanged(before, state(db))
    # idle too long
    login(client)
    data = station_form(client, sid, name="闲置后改名")
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - 3 * 3600
    r = client.post(f"/manage/stations/{sid}?lang=en", data=data, headers={"Accept": "application/json"})
    assert r.status_code == 401 and "session has expired" in r.get_json()["error"]["message"]
    assert_unchanged(before, state(db))


# ------------------------------------------------------------------------------------------ CSRF
def test_state_changes_without_a_csrf_token_are_refused(client, db):
    login(client)
    data = station_form(client, "YN-T-001", name="无令牌")
    before = state(db)
    for missing in ({k: v for k, v in data.items() if k != "csrf_token"}, {**data, "csrf_token": "forged"}):
        r = client.post("/manage/stations/YN-T-001", data=missing)
        assert r.status_code == 400 and "安全" in r.get_data(as_text=True)
    r = client.post("/manage/stations/YN-T-001?lang=en", json={"name": "x"})
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "csrf_token"
    assert client.post("/manage/logout").status_code == 400
    assert_unchanged(before, state(db))


# ------------------------------------------------------------------------------------------ roles and areas
def test_kunming_editor_cannot_change_dali_even_with_crafted_requests(client, db):
    did = dali_id(db)
    login(client, "dl")  # read a real Dali form, as a Dali editor would
    dali_form = station_form(client, did, name="改名")
    client.post("/manage/logout", data={"csrf_token": token(client, "/manage/")})
    login(client, "km")
    t = token(client, "/manage/")
    before = state(db)
    crafted = [
        {**dali_form, "csrf_token": t},  # her own token, a Dali station
        {**dali_form, "csrf_token": t, "lon": "102.7129", "lat": "25.0406"},  # "moved" into Kunming
    ]
    for data in crafted:
        r = client.post(f"/manage/stations/{did}", data=data)
        assert r.status_code == 403 and "大理" in r.get_data(as_text=True)
    r = client.post(f"/manage/stations/{did}/status", data={"csrf_token": t, "version": dali_form["version"],
                                                            "status": "closed"})
    assert r.status_code == 403
    mine = station_form(client, "YN-T-002", **DALI)  # moving her own station into Dali
    r = client.post("/manage/stations/YN-T-002", data=mine)
    assert r.status_code == 403 and "大理" in r.get_data(as_text=True)
    r = client.post("/manage/stations/new", data={**mine, "name": "新大理站"})
    assert r.status_code == 403
    assert_unchanged(before, state(db))


def test_viewer_sees_but_cannot_save(client, db):
    login(client, "look")
    assert client.get("/manage/stations/YN-T-001").status_code == 200
    before = state(db)
    r = client.post("/manage/stations/YN-T-001", data=station_form(client, "YN-T-001", name="看客"))
    assert r.status_code == 403
    assert_unchanged(before, state(db))


@pytest.mark.parametrize("bad, words_zh, words_en", [
    ({"lon": "99.0", "lat": "35.0"}, "云南", "outside Yunnan"),
    ({"opening_hours": "看心情"}, "开放时间", "opening hours"),
    ({"services": ["water", "hovercraft"]}, "服务", "unknown service"),
])
def test_bad_edits_get_a_precise_message_in_the_page_language(client, db, bad, words_zh, words_en):
    login(client)
    before = state(db)
    r = client.post("/manage/stations/YN-T-003", data=station_form(client, "YN-T-003", **bad))
    assert r.status_code == 400 and words_zh in r.get_data(as_text=True)
    r = client.post("/manage/stations/YN-T-003?lang=en", data=station_form(client, "YN-T-003", **bad))
    assert r.status_code == 400 and words_en in r.get_data(as_text=True)
    assert_unchanged(before, state(db))


def test_two_officials_editing_the_same_station_lose_nothing(app, db):
    from webmap.security import limiter

    limiter.reset()
    a, b = app.test_client(), app.test_client()
    login(a, "km")
    login(b, "wh")
    form_a = station_form(a, "YN-T-004", opening_hours="24小时")
    form_b = station_form(b, "YN-T-004", phone="0871-00777777")
    assert a.post("/manage/stations/YN-T-004", data=form_a).status_code == 302
    before = state(db)
    r = b.post("/manage/stations/YN-T-004", data=form_b)
    text = r.get_data(as_text=True)
    assert r.status_code == 409 and "km" in text and "opening_hours" in text
    assert 'value="0871-00777777"' in text  # her input is kept in the form
    assert_unchanged(before, state(db))


# ------------------------------------------------------------------------------------------ audited change paths
def test_every_web_change_path_is_audited_and_the_finder_sees_it_at_once(client, db, tmp_path):
    login(client, "km")
    # form: add by coordinates, edit, close
    data = station_form(client, "YN-T-005")
    new = {**data, "name": "新加驿站（示例）", "lon": "102.7300", "lat": "25.0500", "reason": "新建"}
    new.pop("version")
    r = client.post("/manage/stations/new", data=new)
    assert r.status_code == 302
    sid = r.headers["Location"].rsplit("/", 1)[-1]
    assert client.get(f"/api/stations/{sid}").get_json()["properties"]["name"] == "新加驿站（示例）"
    r = client.post("/manage/stations/YN-T-005", data={**data, "name": "改过的名字", "verified": "1"})
    assert r.status_code == 302
    props = client.get("/api/stations/YN-T-005").get_json()["properties"]
    assert props["name"] == "改过的名字" and props["last_verified"] and props["reports"] is None
    t = token(client, "/manage/")
    version = station_form(client, "YN-T-005")["version"]
    client.post("/manage/stations/YN-T-005/status", data={"csrf_token": t, "version": version, "status": "closed"})
    assert client.get("/api/stations/YN-T-005").get_json()["properties"]["status"] == "closed"
    # report resolution
    rep = client.post("/api/stations/YN-T-006/reports", json={"reason": "no_water", "text": "<b>没水</b>"})
    assert rep.status_code == 201
    assert client.get("/api/stations/YN-T-006").get_json()["properties"]["reports"]["reason"] == "no_water"
    queue = client.get("/manage/").get_data(as_text=True)
    assert "&lt;b&gt;没水&lt;/b&gt;" in queue and "<b>没水</b>" not in queue
    rid = rep.get_json()["report"]["id"]
    r = client.post(f"/manage/reports/{rid}/resolve", data={"csrf_token": t, "resolution": "fixed", "note": "换了饮水机"})
    assert r.status_code == 302
    props = client.get("/api/stations/YN-T-006").get_json()["properties"]
    assert props["reports"] is None and props["last_verified"]
    # upload
    csv = "id,名称,经度,纬度,开放时间,服务项目\nYN-T-007,上传改名（示例）,102.70,25.03,24小时,饮水、电动车充电\n"
    r = client.post("/manage/upload", data={"csrf_token": t, "crs": "wgs84",
                                            "file": (io.BytesIO(csv.encode("utf-8")), "up.csv")},
                    content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "上传改名" in page
    assert client.get("/api/stations/YN-T-007").get_json()["properties"]["name"] != "上传改名（示例）"
    upload_id = re.search(r"/manage/upload/([0-9a-f]+)/apply", page).group(1)
    assert client.post(f"/manage/upload/{upload_id}/apply", data={"csrf_token": t}).status_code == 302
    props = client.get("/api/stations/YN-T-007").get_json()["properties"]
    assert props["name"] == "上传改名（示例）" and "ebike" in props["services"]
    # revert: the edit cannot be, the close came later and touched its status too; the close can
    edit_entry = audit.search(Registry(db).engine, station_id="YN-T-005", action="update")[0][0]
    r = client.post(f"/manage/log/{edit_entry['id']}/revert", data={"csrf_token": t})
    assert r.status_code == 409 and "撤销" in r.get_data(as_text=True)
    close_entry = audit.search(Registry(db).engine, station_id="YN-T-005", action="close")[0][0]
    r = client.post(f"/manage/log/{close_entry['id']}/revert", data={"csrf_token": t})
    assert r.status_code == 302
    assert client.get("/api/stations/YN-T-005").get_json()["properties"]["status"] == "open"
    sources = {(e["source"], e["action"]) for e in audit.search(Registry(db).engine, limit=30)[0]}
    assert {("form", "create"), ("form", "update"), ("form", "close"), ("report", "verify"), ("upload", "update"),
            ("revert", "revert")} <= sources
    log = client.get("/manage/log").get_data(as_text=True)
    assert "YN-T-005" in log and "km" in log


def test_log_exports(client):
    login(client, "km")
    t = token(client, "/manage/")
    client.post("/manage/stations/YN-T-008/status", data={"csrf_token": t, "status": "closed",
                                                          "version": station_form(client, "YN-T-008")["version"]})
    r = client.get("/manage/log.csv")
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf")
    text = r.data.decode("utf-8-sig")
    assert "YN-T-008" in text and "status: 'open' → 'closed'" in text
    r = client.get("/manage/log.xlsx?station=YN-T-008")
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    rows = list(wb.active.values)
    assert rows[0][:3] == ("id", "at", "actor") and rows[1][2] == "km"
    # the Dali editor's log holds nothing of Kunming
    client.post("/manage/logout", data={"csrf_token": t})
    login(client, "dl")
    assert "YN-T-008" not in client.get("/manage/log.csv").data.decode("utf-8-sig")


def test_another_server_process_sees_the_change_within_its_check_interval(db):
    writer = make_app(db)
    reader = make_app(db, REGISTRY_CHECK_SECONDS=0.3)
    rc = reader.test_client()
    assert rc.get("/api/stations/YN-T-009").get_json()["properties"]["status"] == "open"
    wc = writer.test_client()
    from webmap.security import limiter

    limiter.reset()
    login(wc)
    t = token(wc, "/manage/")
    wc.post("/manage/stations/YN-T-009/status", data={"csrf_token": t, "status": "temp_closed",
                                                      "version": station_form(wc, "YN-T-009")["version"]})
    deadline = time.time() + 5
    while time.time() < deadline:
        if rc.get("/api/stations/YN-T-009").get_json()["properties"]["status"] == "temp_closed":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the other process never saw the change")
    # reports too: the badge appears without a restart
    wc.post("/api/stations/YN-T-010/reports", json={"reason": "dirty"})
    deadline = time.time() + 5
    while time.time() < deadline and rc.get("/api/stations/YN-T-010").get_json()["properties"]["reports"] is None:
        time.sleep(0.1)
    assert rc.get("/api/stations/YN-T-010").get_json()["properties"]["reports"]["reason"] == "dirty"
