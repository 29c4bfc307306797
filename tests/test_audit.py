"""Officials' changes in the domain library: area checks on the location before and after, optimistic locking,
an audit entry for every change path (form, upload, report resolution, revert, CLI import, demo load), exact
reverts, and nothing written when anything fails."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from stations import audit, edits, reports, uploads
from stations.errors import AccessError, EditConflictError, HoursParseError, InputError, UnknownServiceError
from stations.registry import Registry
from stations.schema import COLUMNS, DATA_COLUMNS, audit_table
from stations.users import User

KUNMING_EDITOR = User(1, "km", "editor", "530100")
DALI_EDITOR = User(2, "dl", "editor", "532900")
WUHUA_EDITOR = User(3, "wh", "editor", "530102")
ADMIN = User(4, "root", "admin")
VIEWER = User(5, "look", "viewer")

# 昆明市五华区 and 大理市 (WGS-84)
IN_KUNMING = {"lon": "102.7129", "lat": "25.0406"}
IN_DALI = {"lon": "100.2250", "lat": "25.5916"}


def form(**kw) -> dict:
    base = {"name": "测试驿站（示例）", "address": "五华区示例路1号", **IN_KUNMING, "host": "union",
            "services": ["water", "ebike"], "opening_hours": "08:00-20:00", "phone": "0871-0012345", "status": "open"}
    base.update(kw)
    return base


@pytest.fixture
def reg(tmp_path):
    r = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    yield r
    r.engine.dispose()


def _log(reg) -> list[dict]:
    return audit.search(reg.engine, limit=None)[0]


def _snapshot(reg):
    with reg.engine.connect() as conn:
        log = conn.execute(sa.select(audit_table).order_by(audit_table.c.id)).all()
    return reg.load().drop(columns="geometry"), log, reg.data_version()


def test_create_derives_the_county_and_logs_it(reg):
    rec = edits.create(reg, KUNMING_EDITOR, form(prefecture_adcode="532900", county_adcode="532901"), reason="新建")
    assert rec["county_adcode"] == "530102" and rec["prefecture_adcode"] == "530100"  # from the point, not the form
    assert rec["ebike"] and rec["water"] and not rec["charging"] and rec["version"] == 1
    (entry,) = _log(reg)
    assert (entry["action"], entry["source"], entry["actor"], entry["reason"]) == ("create", "form", "km", "新建")
    assert entry["before"] is None and entry["after"]["name"] == "测试驿站（示例）"
    assert entry["changes"]["ebike"] == [None, True]


def test_gcj02_coordinates_are_converted(reg):
    from stations.coords import wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(102.7129, 25.0406)
    rec = edits.create(reg, ADMIN, form(lon=f"{glon:.7f}", lat=f"{glat:.7f}"), crs="gcj02")
    assert rec["lon"] == pytest.approx(102.7129, abs=1e-5) and rec["lat"] == pytest.approx(25.0406, abs=1e-5)


def test_kunming_editor_cannot_touch_dali_nor_move_hers_there(reg):
    dali = edits.create(reg, ADMIN, form(name="大理驿站", **IN_DALI))
    mine = edits.create(reg, KUNMING_EDITOR, form())
    before = _snapshot(reg)
    with pytest.raises(AccessError, match="outside your area"):
        edits.update(reg, KUNMING_EDITOR, dali["id"], dali["version"], form(name="改名", **IN_DALI))
    with pytest.raises(AccessError, match="outside your area"):  # a crafted request "moving" it into Kunming
        edits.update(reg, KUNMING_EDITOR, dali["id"], dali["version"], form(name="改名"))
    with pytest.raises(AccessError, match="outside your area"):
        edits.update(reg, KUNMING_EDITOR, mine["id"], mine["version"], form(**IN_DALI))
    with pytest.raises(AccessError):
        edits.set_status(reg, KUNMING_EDITOR, dali["id"], dali["version"], "closed")
    with pytest.raises(AccessError):
        edits.create(reg, KUNMING_EDITOR, form(name="新站", **IN_DALI))
    with pytest.raises(AccessError, match="may not change"):
        edits.update(reg, VIEWER, mine["id"], mine["version"], form(name="看看"))
    # a county editor: 五华区 only
    with pytest.raises(AccessError):
        edits.create(reg, WUHUA_EDITOR, form(lon="102.80", lat="24.90"))  # 官渡区 / 呈贡
    after = _snapshot(reg)
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1] == after[1] and before[2] == after[2]
    assert edits.update(reg, WUHUA_EDITOR, mine["id"], mine["version"], form(name="五华改名"))["name"] == "五华改名"


@pytest.mark.parametrize("bad, error, param", [
    ({"lon": "99.0", "lat": "35.0"}, InputError, "lon"),  # outside Yunnan (Qinghai)
    ({"lon": "25.0406", "lat": "102.7129"}, InputError, "lon"),  # swapped
    ({"lon": "东经102"}, InputError, "lon"),
    ({"opening_hours": "看心情"}, HoursParseError, "opening_hours"),
    ({"services": ["water", "jacuzzi"]}, UnknownServiceError, "services"),
    ({"name": "   "}, InputError, "name"),
    ({"status": "maybe"}, InputError, "status"),
])
def test_bad_input_is_named_and_changes_nothing(reg, bad, error, param):
    rec = edits.create(reg, ADMIN, form())
    before = _snapshot(reg)
    with pytest.raises(error) as exc:
        edits.update(reg, ADMIN, rec["id"], rec["version"], form(**bad))
    assert exc.value.param == param
    after = _snapshot(reg)
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1:] == after[1:]


def test_second_save_of_the_same_version_is_refused_naming_what_changed(reg):
    rec = edits.create(reg, ADMIN, form())
    edits.update(reg, KUNMING_EDITOR, rec["id"], rec["version"], form(opening_hours="24小时"), reason="改时间")
    with pytest.raises(EditConflictError) as exc:
        edits.update(reg, ADMIN, rec["id"], rec["version"], form(phone="0871-0099999"))
    msg = str(exc.value)
    assert "km" in msg and "opening_hours" in msg and exc.value.status == 409
    stored = reg.get(rec["id"])
    assert stored["opening_hours"] == "24小时" and stored["phone"] == "0871-0012345" and stored["version"] == 2


def test_revert_restores_the_exact_previous_record_and_is_logged(reg):
    rec = edits.create(reg, ADMIN, form())
    v1 = reg.get(rec["id"])
    edits.update(reg, KUNMING_EDITOR, rec["id"], 1, form(name="新名字", opening_hours="24小时", services=["water"],
                                                         lon="102.7200", lat="25.0450"), verified=True)
    entry = _log(reg)[0]
    assert set(entry["changes"]) >= {"name", "opening_hours", "ebike", "lon", "lat", "last_verified"}
    edits.revert(reg, KUNMING_EDITOR, entry["id"], reason="误改")
    back = reg.get(rec["id"])
    for col in DATA_COLUMNS + ("last_verified",):
        assert back[col] == v1[col], col
    assert back["version"] == 3
    last = _log(reg)[0]
    assert (last["action"], last["source"], last["reverts"], last["reason"]) == ("revert", "revert", entry["id"], "误改")
    # the revert itself can be reverted
    edits.revert(reg, ADMIN, last["id"])
    assert reg.get(rec["id"])["name"] == "新名字"


def test_revert_of_a_creation_deletes_and_its_revert_brings_it_back(reg):
    rec = edits.create(reg, ADMIN, form())
    stored = reg.get(rec["id"])
    edits.revert(reg, ADMIN, _log(reg)[0]["id"])
    assert reg.get(rec["id"]) is None
    edits.revert(reg, ADMIN, _log(reg)[0]["id"])
    again = reg.get(rec["id"])
    assert {c: again[c] for c in DATA_COLUMNS} == {c: stored[c] for c in DATA_COLUMNS}


def test_revert_is_refused_when_a_later_change_touched_the_same_fields(reg):
    rec = edits.create(reg, ADMIN, form())
    edits.update(reg, ADMIN, rec["id"], 1, form(name="第二"))
    first = _log(reg)[0]
    edits.update(reg, ADMIN, rec["id"], 2, form(name="第三"))
    with pytest.raises(EditConflictError, match="later changes"):
        edits.revert(reg, ADMIN, first["id"])
    assert reg.get(rec["id"])["name"] == "第三"


def test_close_and_reopen(reg):
    rec = edits.create(reg, ADMIN, form())
    closed = edits.set_status(reg, KUNMING_EDITOR, rec["id"], 1, "closed", reason="拆除")
    assert closed["status"] == "closed" and closed["version"] == 2
    opened = edits.set_status(reg, KUNMING_EDITOR, rec["id"], 2, "open")
    assert opened["status"] == "open"
    assert [e["action"] for e in _log(reg)] == ["reopen", "close", "create"]


def test_data_version_moves_with_every_write(reg):
    v0 = reg.data_version()
    rec = edits.create(reg, ADMIN, form())
    v1 = reg.data_version()
    assert v1["stations"] == v0["stations"] + 1 and v1["reports"] == v0["reports"]
    reports.submit(reg, rec["id"], "no_water", client="c1")
    v2 = reg.data_version()
    assert v2["reports"] == v1["reports"] + 1 and v2["stations"] == v1["stations"]


def test_report_resolution_sets_last_verified_and_is_audited(reg):
    rec = edits.create(reg, ADMIN, form())
    r1 = reports.submit(reg, rec["id"], "closed", "晚上不开门", client="a")
    reports.submit(reg, rec["id"], "closed", client="b")
    other = reports.submit(reg, rec["id"], "dirty", client="c")
    with pytest.raises(AccessError):
        reports.resolve(reg, DALI_EDITOR, r1["id"], "confirmed_closed")
    out = reports.resolve(reg, KUNMING_EDITOR, r1["id"], "confirmed_closed", note="已核实")
    assert len(out["resolved"]) == 2  # both "closed" reports, not the "dirty" one
    stored = reg.get(rec["id"])
    assert stored["status"] == "temp_closed" and stored["last_verified"] == edits.today()
    entry = _log(reg)[0]
    assert (entry["source"], entry["action"], entry["actor"]) == ("report", "close", "km")
    assert f"report #{r1['id']}" in entry["reason"] and "已核实" in entry["reason"]
    assert reports.badges(reg.engine)[rec["id"]]["open"] == 1
    reports.resolve(reg, KUNMING_EDITOR, other["id"], "fixed")
    assert rec["id"] not in reports.badges(reg.engine)
    with pytest.raises(InputError, match="resolved already"):
        reports.resolve(reg, ADMIN, other["id"], "dismissed")


def _csv(path, rows):
    header = "id,名称,地址,经度,纬度,开放时间,服务项目,状态\n"
    path.write_text(header + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_upload_preview_changes_nothing_until_applied_then_audits_each_row(reg, tmp_path):
    a = edits.create(reg, ADMIN, form(name="甲站"))
    edits.create(reg, ADMIN, form(name="大理站", **IN_DALI))
    before = _snapshot(reg)
    path = _csv(tmp_path / "up.csv", [
        [a["id"], "甲站改名", "五华区示例路1号", "102.7129", "25.0406", "24小时", "饮水、电动车充电", "开放"],
        ["NEW-1", "新站", "示例路2号", "102.7300", "25.0500", "08:00-18:00", "饮水", "开放"],
        ["NEW-2", "坏站", "示例路3号", "102.7300", "25.0600", "看心情", "饮水", "开放"],
        ["NEW-3", "大理新站", "示例路4号", "100.2250", "25.5900", "08:00-18:00", "饮水", "开放"],
    ])
    pv = uploads.preview(reg, KUNMING_EDITOR, path)
    assert [x["id"] for x in pv.additions] == ["NEW-1"]
    assert pv.changes[0]["id"] == a["id"] and pv.changes[0]["changes"]["name"] == ["甲站", "甲站改名"]
    assert {(e.row, e.column) for e in pv.rejected} == {(4, "开放时间"), (5, "lon/lat")}
    after = _snapshot(reg)
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1:] == after[1:]
    res = uploads.apply(reg, KUNMING_EDITOR, pv.id)
    assert (res.inserted, res.updated) == (1, 1)
    log = _log(reg)
    assert {(e["station_id"], e["source"], e["batch"]) for e in log[:2]} == {("NEW-1", "upload", pv.id),
                                                                             (a["id"], "upload", pv.id)}
    with pytest.raises(InputError, match="was applied already"):
        uploads.apply(reg, KUNMING_EDITOR, pv.id)


def test_upload_is_refused_when_a_station_changed_after_the_preview(reg, tmp_path):
    a = edits.create(reg, ADMIN, form(name="甲站"))
    path = _csv(tmp_path / "up.csv", [[a["id"], "甲站改名", "", "102.7129", "25.0406", "24小时", "饮水", "开放"]])
    pv = uploads.preview(reg, ADMIN, path)
    edits.update(reg, KUNMING_EDITOR, a["id"], 1, form(name="别人改的"))
    before = _snapshot(reg)
    with pytest.raises(EditConflictError, match="changed after the preview"):
        uploads.apply(reg, ADMIN, pv.id)
    after = _snapshot(reg)
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1:] == after[1:]


def test_a_crash_in_the_middle_of_an_upload_leaves_registry_and_log_as_before(reg, tmp_path):
    edits.create(reg, ADMIN, form(name="甲站"))
    rows = [[f"N-{i}", f"新站{i}", "", f"{102.70 + i * 0.001:.4f}", "25.04", "08:00-18:00", "饮水", "开放"]
            for i in range(50)]
    pv = uploads.preview(reg, ADMIN, _csv(tmp_path / "up.csv", rows))
    before = _snapshot(reg)
    calls = []

    def boom(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            calls.append(1)
            raise RuntimeError("power cut")

    sa.event.listen(reg.engine, "before_cursor_execute", boom)
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            uploads.apply(reg, ADMIN, pv.id)
    finally:
        sa.event.remove(reg.engine, "before_cursor_execute", boom)
    assert calls
    after = _snapshot(reg)
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1:] == after[1:]
    assert uploads.apply(reg, ADMIN, pv.id).inserted == 50  # still pending: it can be applied afterwards


def test_cli_import_and_demo_load_are_audited(reg, tmp_path):
    from webmap.cli import main

    path = _csv(tmp_path / "cli.csv", [["C-1", "命令行站", "", "102.7129", "25.0406", "24小时", "饮水", "开放"]])
    r = CliRunner().invoke(main, ["import", str(path), "--db", reg.url])
    assert r.exit_code == 0, r.output
    (entry,) = _log(reg)
    assert entry["source"] == "cli" and entry["actor"].startswith("cli:") and entry["action"] == "create"
    reg.replace_all(reg.load().drop(columns="geometry").assign(name="换"), actor="cli:test")
    assert _log(reg)[0]["source"] == "demo" and _log(reg)[0]["changes"]["name"] == ["命令行站", "换"]


def test_audit_entries_carry_whole_records(reg):
    rec = edits.create(reg, ADMIN, form())
    entry = _log(reg)[0]
    assert set(entry["after"]) == set(COLUMNS)
    assert entry["after"]["version"] == rec["version"]
    frame = audit.frame(_log(reg))
    assert list(frame["action"]) == ["create"] and "name" in frame["changes"].iloc[0]
