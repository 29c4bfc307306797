"""The registry on a real PostgreSQL server: the same behaviour as on SQLite.

A session fixture starts a throwaway PostgreSQL cluster from Debian's ``postgresql`` package (``initdb`` and
``pg_ctl`` under ``/usr/lib/postgresql/*/bin``): trust authentication, listening on a free port of 127.0.0.1
only, its unix socket in its own temporary folder, run as the ``postgres`` user (or ``nobody``) when the
tests run as root because the server refuses root. It is stopped and deleted at the end of the session.
The tests share one database whose collation is ICU ``zh-Hans`` when the server has ICU (what a Chinese
production server would likely use; ``ORDER BY id`` must not depend on it); each test starts without the table.

The registry tests of ``test_registry.py``, the migration tests of ``test_migrations.py`` and the import/export
CLI tests of ``test_import.py`` are imported here and run again with their ``reg`` / ``db`` fixtures pointing at PostgreSQL. Then the things only a
real server shows: column types, a failure inside the server mid-transaction, the full demo set read back
identical to the SQLite load, text round-tripping byte-exact, readers not blocked by an open write.

Without the server binaries these tests are skipped with the reason, except under ``CI=true`` where they
fail: CI must not pass without them (``make system-deps`` installs the package).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from stations.hours import refresh_hours_json
from stations.registry import Registry, RegistryError
from stations.schema import COLUMNS, SERVICE_KEYS, stations_table

# The same behaviour, run again below with ``reg`` / ``db`` on PostgreSQL (pytest collects imported tests).
from test_import import (  # noqa: F401
    GOOD,
    test_cli_export_all_formats,
    test_cli_import_refuses_file_with_bad_rows_and_writes_nothing,
    test_cli_import_twice_changes_nothing_and_dry_run_writes_nothing,
    test_cli_skip_invalid_writes_good_rows_and_rejects,
    write_csv,
)
from test_audit import (  # noqa: F401 (officials' changes, audit, reverts, reports, uploads)
    test_create_derives_the_county_and_logs_it as test_pg_create_derives_the_county_and_logs_it,
    test_gcj02_coordinates_are_converted as test_pg_gcj02_coordinates_are_converted,
    test_kunming_editor_cannot_touch_dali_nor_move_hers_there as test_pg_kunming_editor_cannot_touch_dali_nor_move_hers_there,
    test_bad_input_is_named_and_changes_nothing as test_pg_bad_input_is_named_and_changes_nothing,
    test_second_save_of_the_same_version_is_refused_naming_what_changed as test_pg_second_save_of_the_same_version_is_refused_naming_what_changed,
    test_revert_restores_the_exact_previous_record_and_is_logged as test_pg_revert_restores_the_exact_previous_record_and_is_logged,
    test_revert_of_a_creation_deletes_and_its_revert_brings_it_back as test_pg_revert_of_a_creation_deletes_and_its_revert_brings_it_back,
    test_revert_is_refused_when_a_later_change_touched_the_same_fields as test_pg_revert_is_refused_when_a_later_change_touched_the_same_fields,
    test_close_and_reopen as test_pg_close_and_reopen,
    test_data_version_moves_with_every_write as test_pg_data_version_moves_with_every_write,
    test_report_resolution_sets_last_verified_and_is_audited as test_pg_report_resolution_sets_last_verified_and_is_audited,
    test_upload_preview_changes_nothing_until_applied_then_audits_each_row as test_pg_upload_preview_changes_nothing_until_applied_then_audits_each_row,
    test_upload_is_refused_when_a_station_changed_after_the_preview as test_pg_upload_is_refused_when_a_station_changed_after_the_preview,
    test_a_crash_in_the_middle_of_an_upload_leaves_registry_and_log_as_before as test_pg_a_crash_in_the_middle_of_an_upload_leaves_registry_and_log_as_before,
    test_cli_import_and_demo_load_are_audited as test_pg_cli_import_and_demo_load_are_audited,
    test_audit_entries_carry_whole_records as test_pg_audit_entries_carry_whole_records,
)
from test_migrations import (  # noqa: F401
    test_a_failing_migration_leaves_the_schema_as_it_was,
    test_a_fresh_registry_is_made_by_the_migrations,
    test_a_registry_made_before_migrations_upgrades_in_place_with_its_data,
    test_downgrade_to_the_first_revision_and_up_again,
)
from test_registry import (  # noqa: F401
    _row,
    test_duplicate_ids_in_one_write_are_refused,
    test_empty_registry_loads_as_empty_geodataframe,
    test_failed_write_leaves_registry_untouched,
    test_load_gives_points_and_types,
    test_upsert_inserts_then_is_idempotent,
    test_upsert_updates_changed_rows_only,
)

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def find_pg_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding initdb and pg_ctl, else the ones on PATH."""
    def version(d: str) -> int:
        m = re.search(r"/postgresql/(\d+)/bin$", d)
        return int(m.group(1)) if m else 0

    for d in sorted(glob.glob(PG_BIN_GLOB), key=version, reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return Path(d)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """A throwaway cluster in a temporary folder; ``url(db)`` gives a SQLAlchemy URL (psycopg 3)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        # as root the server runs as another user, who must reach the folder: /tmp, not a private TMPDIR
        tmp = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
        self.base = Path(tempfile.mkdtemp(prefix="yizhan-pg-", dir=tmp))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = _free_port()
        self.user = None  # run as this OS user (the server refuses to run as root)
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.user is None:
                raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.base, 0o700)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        kw = {}
        if self.user is not None:
            kw = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", HOME=str(self.base))
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=self.base, check=False, **kw)

    def start(self) -> None:
        r = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-sync")
        if r.returncode:
            raise RuntimeError(f"initdb failed ({r.returncode}): {r.stderr or r.stdout}")
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.base} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c shared_buffers=32MB")
        r = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "30", "start")
        if r.returncode:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed ({r.returncode}): {r.stderr or r.stdout}\n{log}")
        self.admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with self.admin.connect() as conn:
            self.version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            self.icu = conn.execute(sa.text("SELECT count(*) FROM pg_collation WHERE collprovider = 'i'")).scalar_one() > 0

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        locale = " LOCALE_PROVIDER icu ICU_LOCALE 'zh-Hans' TEMPLATE template0" if self.icu else ""
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\'{locale}'))
        return self.url(name)

    def stop(self) -> None:
        try:
            if getattr(self, "admin", None) is not None:
                self.admin.dispose()
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _missing(msg: str):
    """Fail under CI=true (CI must not pass without these tests), else skip with the reason."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"CI=true and {msg}", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def pg_cluster():
    bindir = find_pg_bindir()
    if bindir is None:
        _missing(f"PostgreSQL server binaries (initdb, pg_ctl) not found under {PG_BIN_GLOB} or on PATH: "
                 "install Debian's postgresql package (make system-deps does)")
    if importlib.util.find_spec("psycopg") is None:
        _missing("the PostgreSQL driver psycopg is not installed: pip install -e '.[test]' (or yizhan[postgres])")
    cluster = PgCluster(bindir)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_database(pg_cluster):
    """The tests' database on the throwaway cluster (ICU zh-Hans collation when the server has ICU)."""
    return pg_cluster.create_database("yizhan_test")


@pytest.fixture
def pg_url(pg_cluster, pg_database):
    """The tests' database, emptied for one test: no tables at all (the registry's migrations make them)."""
    engine = sa.create_engine(pg_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return pg_database


@pytest.fixture
def reg(pg_url):
    """``test_registry.py``'s fixture, on PostgreSQL."""
    r = Registry(pg_url)
    yield r
    r.engine.dispose()


@pytest.fixture
def old_url(pg_url):
    """``test_migrations.py``'s fixture, on PostgreSQL."""
    return pg_url


@pytest.fixture
def db(pg_url):
    """``test_import.py``'s fixture, on PostgreSQL."""
    return pg_url


# ---- only a real server shows these ----------------------------------------------------------------

def _rows(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_schema_on_postgres(reg):
    insp = sa.inspect(reg.engine)
    cols = {c["name"]: c for c in insp.get_columns("stations")}
    assert set(cols) == set(COLUMNS)  # the migrations add later columns at the end
    assert all(isinstance(cols[k]["type"], sa.Boolean) for k in SERVICE_KEYS)
    assert all(isinstance(cols[k]["type"], sa.Float) for k in ("lon", "lat"))
    with reg.engine.connect() as conn:
        # double precision, not real: a 6-decimal degree must survive exactly
        assert conn.execute(sa.text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                                    "WHERE attrelid = 'stations'::regclass AND attname = 'lon'")).scalar_one() == "double precision"
    assert insp.get_pk_constraint("stations")["constrained_columns"] == ["id"]
    assert {tuple(i["column_names"]) for i in insp.get_indexes("stations")} >= {("prefecture_adcode",), ("county_adcode",), ("status",)}
    Registry(reg.url)  # opening again is harmless (the schema is at the migrations' head already)
    assert reg.count() == 0


def test_upsert_round_trips_types(reg):
    reg.upsert(_rows(_row(1, lon=102.123456, lat=25.654321, toilet=True, wifi=False)))
    got = reg.get("T-001")
    assert got["lon"] == 102.123456 and got["lat"] == 25.654321
    assert got["toilet"] is True and got["wifi"] is False
    again = reg.upsert(reg.load().drop(columns="geometry"))  # what load() gives is accepted back unchanged
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_server_side_failure_mid_transaction_leaves_nothing_half_written(reg):
    reg.upsert(_rows(_row(1), _row(2)))
    before = reg.load().drop(columns="geometry")
    with reg.engine.begin() as conn:  # a rule only the server knows, checked row by row as they are written
        conn.execute(sa.text("ALTER TABLE stations ADD CONSTRAINT no_boom CHECK (name <> 'boom')"))
    # the new rows T-003..T-299 and T-001's change are written first, then T-002's change fails in the server
    with pytest.raises(RegistryError, match="nothing was written.*no_boom"):
        reg.upsert(_rows(_row(1, name="新名字"), _row(2, name="boom"), *[_row(i) for i in range(3, 300)]))
    pd.testing.assert_frame_equal(before, reg.load().drop(columns="geometry"))
    # replace_all deletes everything first, then inserts; a failing row brings the old registry back
    with pytest.raises(RegistryError, match="nothing was written"):
        reg.replace_all(_rows(_row(5), _row(6), _row(7, name="boom")))
    pd.testing.assert_frame_equal(before, reg.load().drop(columns="geometry"))


def test_connection_lost_mid_write_leaves_nothing(reg, pg_cluster):
    reg.upsert(_rows(_row(1)))
    before = reg.load().drop(columns="geometry")

    killed = []

    def kill_after_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT") and not killed:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with pg_cluster.admin.connect() as admin:  # the server drops the writer's connection
                killed.append(admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one())

    writer = Registry(reg.url)
    sa.event.listen(writer.engine, "after_cursor_execute", kill_after_insert)
    with pytest.raises(RegistryError):
        writer.upsert(_rows(_row(1, name="新名字"), *[_row(i) for i in range(2, 400)]))
    writer.engine.dispose()
    assert killed == [True]
    pd.testing.assert_frame_equal(before, reg.load().drop(columns="geometry"))


def test_demo_set_reads_back_identical_to_sqlite(pg_url, tmp_path, capsys):
    from stations.demo import demo_csv_path, load_demo, write_demo_csv
    from stations.importer import read_stations

    path = demo_csv_path()
    if not path.exists():
        path = write_demo_csv(tmp_path / "stations_demo.csv")
    valid = read_stations(path).valid  # also warms the geography caches, so both loads below time the same work
    lite, pg = Registry(f"sqlite:///{tmp_path / 'demo.sqlite'}"), Registry(pg_url)
    times = {}
    for name, r in (("sqlite", lite), ("postgresql", pg)):
        t0 = time.perf_counter()
        assert load_demo(r, path) == 3676
        times[f"{name} load_demo"] = time.perf_counter() - t0
    a, b = lite.load(), pg.load()
    assert len(b) == 3676 and pg.count() == 3676
    assert list(b["id"]) == sorted(b["id"])  # code-point order, whatever the database's collation
    # the same frame: values, dtypes, order; updated_at is the load's own stamp, a second apart at most
    pd.testing.assert_frame_equal(a.drop(columns=["geometry", "updated_at"]), b.drop(columns=["geometry", "updated_at"]))
    assert b["updated_at"].nunique() == 1
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()
    assert a.crs == b.crs
    # writing back what was read changes nothing, and takes one transaction on both
    valid["source"] = b["source"].iloc[0]
    for r in (lite, pg):
        t0 = time.perf_counter()
        res = r.upsert(valid)
        times[f"{r.engine.dialect.name} upsert unchanged"] = time.perf_counter() - t0
        assert (res.inserted, res.updated, res.unchanged) == (0, 0, 3676)
    pd.testing.assert_frame_equal(b, pg.load())
    with capsys.disabled():
        print("\n  demo set (3,676 stations): " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
    pg.engine.dispose()


HOSTILE_TEXTS = [
    '<img src=x onerror=alert(1)>"驿站&<b>',
    "'; DROP TABLE stations;--",
    "Robert'); DELETE FROM stations WHERE ('1'='1",
    "%s %(name)s :name $1 ? {0} \\x00 \\\\ \\' \\N",  # placeholders and escapes of every driver, as text
    "𠀀𪚥𰻞 云南省昆明市五华区 🚴‍♀️🧯☕",  # supplementary-plane CJK, ZWJ emoji sequence
    "e\u0301 \u202eRTL\u202c \u200b\u200d \ufeffBOM \u3000全角空格",  # combining mark, bidi override, zero-width, BOM
    "  leading and trailing spaces  ",
    "line\r\nbreak\ttab\x01\x1b[31m\x7f",  # control characters other than NUL are stored as given
    "周一至周五 09:00-17:00；周六 10:00–16:00",
    "",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_reg(request, tmp_path):
    if request.param == "sqlite":
        yield Registry(f"sqlite:///{tmp_path / 'text.sqlite'}")
    else:
        r = Registry(request.getfixturevalue("pg_url"))
        yield r
        r.engine.dispose()


def test_chinese_and_hostile_text_round_trips_byte_exact(any_reg):
    rows = [_row(i, id=f"H-{i:02d}-{t[:8]}", name=t or "空", address=t, phone=t[:40], opening_hours=t[:200],
                 hours_json=t * 50, source=t[:100]) for i, t in enumerate(HOSTILE_TEXTS)]
    res = any_reg.upsert(pd.DataFrame(rows))
    assert res.inserted == len(rows)
    assert any_reg.upsert(pd.DataFrame(rows)).unchanged == len(rows)  # nothing differs once stored
    loaded = any_reg.load().set_index("id")
    for row in rows:
        assert row["id"] in loaded.index
        for col in ("id", "name", "address", "phone", "opening_hours", "hours_json", "source"):
            assert any_reg.get(row["id"])[col].encode("utf-8") == row[col].encode("utf-8"), (row["id"], col)
            if col == "hours_json":  # load() reads hours again when the stored JSON is not the current form
                assert loaded.loc[row["id"], col] == refresh_hours_json(row["opening_hours"], row[col])
            elif col != "id":
                assert loaded.loc[row["id"], col].encode("utf-8") == row[col].encode("utf-8"), (row["id"], col)
    assert any_reg.count() == len(rows)


@pytest.mark.parametrize("bad, match", [
    ({"name": "驿站\x00"}, r"row 2, column name: holds a NUL character"),
    ({"address": "长" * 401}, r"row 2, column address: 401 characters, more than the 400"),
    ({"id": "x" * 65}, r"row 2, column id: 65 characters, more than the 64"),
    ({"phone": "\ud800"}, r"row 2, column phone: not valid Unicode"),
])
def test_text_the_stores_would_treat_differently_is_refused_on_both(any_reg, bad, match):
    any_reg.upsert(_rows(_row(1)))
    before = any_reg.load()
    with pytest.raises(RegistryError, match=match):
        any_reg.upsert(_rows(_row(1, name="改"), _row(2, **bad)))
    with pytest.raises(RegistryError, match=match):
        any_reg.replace_all(_rows(_row(1, name="改"), _row(2, **bad)))
    pd.testing.assert_frame_equal(before, any_reg.load())


def test_load_orders_by_code_point_whatever_the_collation(any_reg, request):
    ids = ["b-1", "A-2", "a-1", "驿站", "Z", "_x", "a10", "a9", "É"]
    any_reg.upsert(pd.DataFrame([_row(i, id=sid) for i, sid in enumerate(ids)]))
    assert list(any_reg.load()["id"]) == sorted(ids)
    if any_reg.engine.dialect.name == "postgresql" and request.getfixturevalue("pg_cluster").icu:
        with any_reg.engine.connect() as conn:  # the database's own order differs: the test means something
            plain = conn.execute(sa.select(stations_table.c.id).order_by(stations_table.c.id)).scalars().all()
        assert plain != sorted(ids)


def test_readers_are_not_blocked_by_an_open_write(any_reg):
    any_reg.upsert(_rows(*[_row(i) for i in range(1, 11)]))
    before = any_reg.load()
    seen, errors = [], []

    def read_while_open(conn, cursor, statement, parameters, context, executemany):
        # the writer's first write has run (on PostgreSQL its one INSERT ... ON CONFLICT DO UPDATE): its
        # transaction is open, uncommitted, and holds the rows' locks
        if seen or errors or not statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            return

        def reader():
            try:
                r = Registry(any_reg.url)
                seen.append((r.count(), r.load(), r.get("T-001")["name"]))
                r.engine.dispose()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert not any(t.is_alive() for t in threads), "a reader was blocked by the open write transaction"

    writer = Registry(any_reg.url)
    sa.event.listen(writer.engine, "after_cursor_execute", read_while_open)
    res = writer.upsert(_rows(_row(1, name="改名驿站"), *[_row(i) for i in range(2, 11)], _row(11), _row(12)))
    writer.engine.dispose()
    assert (res.inserted, res.updated, res.unchanged) == (2, 1, 9)
    assert not errors and len(seen) == 4
    for n, frame, name in seen:  # every reader saw the registry as it was before the write
        assert n == 10 and name == "测试驿站1"
        pd.testing.assert_frame_equal(frame, before)
    assert any_reg.count() == 12 and any_reg.get("T-001")["name"] == "改名驿站"


# ---- URLs and drivers (no server needed) -------------------------------------------------------------

def test_unreachable_server_is_a_registry_error_without_the_password():
    with pytest.raises(RegistryError, match="cannot open the registry") as err:
        Registry(f"postgresql+psycopg://yizhan:s3cret@127.0.0.1:{_free_port()}/yizhan?connect_timeout=5")
    assert "s3cret" not in str(err.value) and "***" in str(err.value)


def test_missing_driver_and_bad_url_are_registry_errors():
    with pytest.raises(RegistryError, match=r"no database driver .*yizhan\[postgres\]"):
        Registry("postgresql+nosuchdriver://u:pw@127.0.0.1/db")
    with pytest.raises(RegistryError, match="not a database URL"):
        Registry("not a url")


def test_driverless_postgres_url_uses_psycopg(pg_cluster, pg_url):
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    r = Registry(plain)
    assert r.url == plain and r.engine.dialect.driver == "psycopg"
    assert r.count() == 0
    r.engine.dispose()


def test_cli_with_an_unreachable_server_fails_cleanly(tmp_path):
    from click.testing import CliRunner
    from webmap.cli import main

    r = CliRunner().invoke(main, ["import", str(write_csv(tmp_path / "ok.csv", GOOD)),
                                  "--db", f"postgresql+psycopg://127.0.0.1:{_free_port()}/x"])
    assert r.exit_code == 2 and "cannot open the registry" in r.output and "Traceback" not in r.output
