"""Schema migrations (Alembic): a registry made by the code before migrations upgrades in place with its data;
the migrated schema is exactly the one the code declares; a failing migration leaves the schema as it was.

``old_url`` is an empty database (SQLite here; ``test_registry_postgres.py`` imports these tests and runs them
again on PostgreSQL). :data:`OLD_STATIONS` is the ``stations`` table exactly as ``stations/schema.py`` declared
it before migrations (commit 5d5e753), created the way that code created it (``metadata.create_all``).
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from stations import migrations
from stations.registry import Registry
from stations.schema import metadata

OLD_SERVICES = ("water", "charging", "microwave", "toilet", "seating", "first_aid", "aircon", "wifi")
_old_md = sa.MetaData()
OLD_STATIONS = sa.Table(
    "stations", _old_md,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(400), nullable=False, default=""),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("prefecture_adcode", sa.String(6), nullable=False, index=True),
    sa.Column("county_adcode", sa.String(6), nullable=False, index=True),
    sa.Column("host", sa.String(20), nullable=False),
    *[sa.Column(key, sa.Boolean, nullable=False, default=False) for key in OLD_SERVICES],
    sa.Column("opening_hours", sa.String(200), nullable=False),
    sa.Column("hours_json", sa.Text, nullable=False),
    sa.Column("phone", sa.String(40), nullable=False, default=""),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)


@pytest.fixture
def old_url(tmp_path):
    return f"sqlite:///{tmp_path / 'old.sqlite'}"


def _old_rows(n: int = 300) -> list[dict]:
    """``n`` stations of the demo set in the old columns."""
    from stations.demo import demo_csv_path
    from stations.importer import read_stations

    valid = read_stations(demo_csv_path()).valid.head(n)
    rows = valid[[c.name for c in OLD_STATIONS.columns if c.name != "updated_at"]].to_dict("records")
    for i, r in enumerate(rows):
        r["updated_at"] = f"2026-0{1 + i % 9}-01T00:00:00+00:00"
        r["name"] = r["name"] + ("<b>&'\"" if i == 7 else "")
    return rows


def _make_old_registry(url: str, rows: list[dict]) -> None:
    engine = sa.create_engine(url)
    _old_md.create_all(engine)  # what the code before migrations did
    with engine.begin() as conn:
        conn.execute(OLD_STATIONS.insert(), rows)
    engine.dispose()


def _diffs(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_a_registry_made_before_migrations_upgrades_in_place_with_its_data(old_url):
    rows = _old_rows()
    _make_old_registry(old_url, rows)
    reg = Registry(old_url)  # opening upgrades it
    assert reg.revision == migrations.head()
    got = reg.load().drop(columns="geometry").set_index("id")
    want = pd.DataFrame(rows).set_index("id")
    assert len(got) == len(want) == 300
    for col in want.columns:
        if col == "hours_json":
            continue
        assert (got.loc[want.index, col].astype(str) == want[col].astype(str)).all(), col
    assert not got["ebike"].any() and (got["last_verified"] == "").all() and (got["version"] == 1).all()
    assert _diffs(reg.engine) == []  # exactly the schema the code declares
    assert reg.data_version() == {"stations": 1, "reports": 1}
    # and it works as a registry: an edit is versioned and audited
    from stations import audit, edits
    from stations.users import User

    sid = rows[0]["id"]
    edits.set_status(reg, User.system(), sid, 1, "closed")
    assert reg.get(sid)["version"] == 2 and audit.history(reg.engine, sid)[0]["action"] == "close"
    reg.engine.dispose()


def test_a_fresh_registry_is_made_by_the_migrations(old_url):
    reg = Registry(old_url)
    assert reg.revision == migrations.head()
    assert _diffs(reg.engine) == []
    with reg.engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
    assert Registry(old_url).revision == migrations.head()  # opening again changes nothing
    reg.engine.dispose()


def test_a_failing_migration_leaves_the_schema_as_it_was(old_url):
    rows = _old_rows(20)
    _make_old_registry(old_url, rows)
    engine = sa.create_engine(old_url)
    with engine.begin() as conn:  # something in the way of revision 0002
        conn.execute(sa.text("CREATE TABLE reports (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(Exception):
        Registry(old_url)
    engine = sa.create_engine(old_url)
    insp = sa.inspect(engine)
    assert "ebike" not in {c["name"] for c in insp.get_columns("stations")}  # the ALTER was rolled back too
    assert not insp.has_table("audit_log") and not insp.has_table("alembic_version")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stations")).scalar_one() == 20
    engine.dispose()


def test_downgrade_to_the_first_revision_and_up_again(old_url):
    from alembic import command

    reg = Registry(old_url)
    with reg.engine.connect() as conn:
        conn.execution_options(yz_write=True)
        with conn.begin():
            command.downgrade(migrations.alembic_config(conn), "0001")
    cols = {c["name"] for c in sa.inspect(reg.engine).get_columns("stations")}
    assert "ebike" not in cols and "version" not in cols
    assert migrations.upgrade(reg.engine) == migrations.head()
    assert _diffs(reg.engine) == []
    reg.engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///offline.sqlite", "postgresql+psycopg://u@127.0.0.1/db"])
def test_offline_sql_script_for_a_database_administrator(url):
    import io

    from alembic import command
    from alembic.config import Config

    buf = io.StringIO()
    cfg = Config(output_buffer=buf)
    cfg.set_main_option("script_location", str(migrations.HERE))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head", sql=True)
    sql = buf.getvalue()
    for piece in ("CREATE TABLE stations", "ADD COLUMN ebike", "CREATE TABLE audit_log", "CREATE TABLE users"):
        assert piece in sql
