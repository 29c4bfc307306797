"""The station registry: an embedded SQL store opened through SQLAlchemy.

The store is a SQLite file by default (``var/yizhan.sqlite``); ``DATABASE_URL`` picks another SQLAlchemy
URL. PostgreSQL works the same way and is tested against a real server (tests/test_registry_postgres.py):
``postgresql+psycopg://user@host/db`` with ``pip install yizhan[postgres]``; a URL without a driver
(``postgresql://`` or ``postgres://``) is given psycopg 3. Every write is a single transaction: a crash, a
bad file, a failed validation or a server error leaves the registry exactly as it was.

Text is checked before it is written so both stores behave alike: a value longer than its column (which
PostgreSQL refuses and SQLite would keep) or holding a NUL character (which PostgreSQL cannot store) is a
:class:`RegistryError` naming the row and the column. ``load()`` orders by ``id`` in code-point order on
every store (PostgreSQL's ``COLLATE "C"``), whatever the database's collation.

Coordinates are stored in WGS-84 (EPSG:4326) degrees.

The schema is made and upgraded by the Alembic migrations of :mod:`stations.migrations` when a registry is
opened (a registry made before migrations existed is upgraded in place, with its data).

Every write also, in the same transaction: records each changed station in the audit log
(:mod:`stations.audit`: who, when, which fields from what to what, why), increments the changed stations'
``version`` (the optimistic lock of :mod:`stations.edits`) and bumps the data version in ``registry_state``
that server processes check (:meth:`Registry.data_version`) to see a change without a restart. On SQLite a
write transaction starts with ``BEGIN IMMEDIATE``, so two writers queue for the lock instead of one failing
with "database is locked" when it first reads and then writes.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from . import audit, config, migrations
from .hours import refresh_hours_column, refresh_hours_json
from .schema import COLUMNS, DATA_COLUMNS, SERVICE_KEYS, registry_state_table, stations_table
from stations.errors import EditConflictError, RegistryError  # noqa: F401 (re-exported: the classes live in stations.errors)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    updated: int
    unchanged: int

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def safe_url(url: str) -> str:
    """``url`` with any password masked, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _engine_url(url: str) -> str:
    """The URL handed to SQLAlchemy: a driverless PostgreSQL URL gets psycopg 3 (the ``postgres`` extra)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def engine_for(url: str) -> sa.Engine:
    """The SQLAlchemy engine of a registry URL (public for the Alembic command line's ``env.py``)."""
    return _engine_for(url)


def _engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine_url = sa.engine.make_url(_engine_url(url))
        kw = {} if engine_url.get_backend_name() == "sqlite" else {"pool_pre_ping": True}
        engine = sa.create_engine(engine_url, **kw)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        hint = " (pip install 'yizhan[postgres]')" if url.startswith("postgres") else ""
        raise RegistryError(f"no database driver for {safe_url(url)}: {exc}{hint}") from exc
    except sa.exc.ArgumentError as exc:
        raise RegistryError(f"not a database URL: {safe_url(url)} ({exc})") from exc
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            # SQLAlchemy's recipe for real transactions on pysqlite: the driver issues no BEGIN of its own
            # (it would not for DDL, so a migration could not roll back), the "begin" hook below does
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            # writers take the write lock at once and queue for it; readers start a plain (deferred) transaction
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("yz_write") else "BEGIN")

    return engine


def to_geodataframe(df: pd.DataFrame) -> gpd.GeoDataFrame:
    """Give a table of station rows its point geometry (EPSG:4326) and the canonical column order."""
    df = df.reindex(columns=list(COLUMNS)).copy()
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    for key in SERVICE_KEYS:
        df[key] = df[key].fillna(False).astype(bool)
    for col in ("id", "name", "address", "prefecture_adcode", "county_adcode", "host",
                "opening_hours", "hours_json", "phone", "status", "source", "updated_at", "last_verified"):
        df[col] = df[col].fillna("").astype(str)
    df["version"] = pd.to_numeric(df["version"], errors="coerce").fillna(1).astype(np.int64)
    geometry = gpd.points_from_xy(df["lon"].to_numpy(), df["lat"].to_numpy(), crs="EPSG:4326")
    return gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")


class Registry:
    """The registry of stations behind a SQLAlchemy URL.

    >>> reg = Registry("sqlite:///:memory:")
    >>> reg.count()
    0
    """

    def __init__(self, url: str | None = None):
        self.url = url or config.database_url()
        self.engine = _engine_for(self.url)
        if self.engine.dialect.name == "sqlite" and self.url.rstrip("/").endswith(":memory:"):
            # one connection, or every connection would see its own empty database
            self.engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
            _engine_hooks_for_memory(self.engine)
        try:
            self.revision = migrations.ensure_current(self.engine)
        except sa.exc.SQLAlchemyError as exc:  # pragma: no cover - depends on the server
            raise RegistryError(f"cannot open the registry at {safe_url(self.url)}: {exc}") from exc

    def _order_by_id(self):
        """``id`` in code-point order, as SQLite sorts it, whatever a PostgreSQL database's collation."""
        col = stations_table.c.id
        return col.collate("C") if self.engine.dialect.name == "postgresql" else col

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for messages."""
        return safe_url(self.url)

    @contextmanager
    def write(self, what: str = "write"):
        """One write transaction (SQLite: ``BEGIN IMMEDIATE``); a database error rolls it back and becomes a
        :class:`RegistryError`; errors of ours (:class:`~stations.errors.YizhanError`) roll it back and pass."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(yz_write=True)
                with conn.begin():
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise RegistryError(f"registry {what} failed, nothing was written: {detail}") from exc

    _transaction = write  # the name the older code used

    def data_version(self) -> dict[str, int]:
        """The data versions (``stations``, ``reports``): one small read, for the server's change check."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(registry_state_table.c.name, registry_state_table.c.version)).all()
        return {name: int(version) for name, version in rows}

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(stations_table)).scalar_one()

    def load(self) -> gpd.GeoDataFrame:
        """All stations as a GeoDataFrame in EPSG:4326, ordered by id.

        ``hours_json`` written by an older hours parser is read again from ``opening_hours``
        (:func:`stations.hours.refresh_hours_json`; unreadable hours become "hours unknown"). The stored
        rows are not changed.
        """
        with self.engine.connect() as conn:
            df = pd.read_sql(sa.select(*[stations_table.c[c] for c in COLUMNS]).order_by(self._order_by_id()), conn)
        df["hours_json"] = refresh_hours_column(df["opening_hours"], df["hours_json"])
        return to_geodataframe(df)

    def get(self, station_id: str, conn=None) -> dict | None:
        """One station's stored record (every column), or None."""
        query = sa.select(stations_table).where(stations_table.c.id == station_id)
        if conn is not None:
            row = conn.execute(query).mappings().first()
        else:
            with self.engine.connect() as c:
                row = c.execute(query).mappings().first()
        return dict(row) if row else None

    def upsert(self, df: pd.DataFrame, *, now: datetime | None = None, actor: str = "system",
               source: str = "import", reason: str = "", batch: str | None = None,
               expect: dict[str, int | None] | None = None, check=None, also=None) -> UpsertResult:
        """Insert or update rows by ``id`` in one transaction, each change in the audit log.

        Rows identical to what is stored are left alone (importing the same file twice changes
        nothing, ``updated_at`` included). ``df`` must carry every column of :data:`DATA_COLUMNS`;
        ``updated_at`` is set here for changed rows when missing, ``version`` goes up by one, and
        ``last_verified`` is kept. ``actor``, ``source``, ``reason`` and ``batch`` go into the audit entries.

        ``expect`` (id -> version, None for "not in the registry") are the versions a preview was computed
        against: a station changed since is an :class:`~stations.errors.EditConflictError` and nothing is
        written. ``check(old, new)`` is called for every changed row inside the transaction (area checks);
        whatever it raises rolls the whole write back. ``also(conn)`` runs last in the same transaction.
        """
        missing = [c for c in DATA_COLUMNS if c not in df.columns]
        if missing:
            raise RegistryError(f"rows lack columns: {', '.join(missing)}")
        stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
        records = _records(df)
        ids = [r["id"] for r in records]
        if len(set(ids)) != len(ids):
            raise RegistryError("duplicate ids in one write")
        compare = [c for c in DATA_COLUMNS]
        inserted = updated = unchanged = 0
        with self.write("upsert") as conn:  # one transaction: all rows and their audit entries, or none
            existing = self._existing(conn, ids)
            if expect is not None:
                _check_expected(expect, existing)
            to_insert, to_update, entries = [], [], []
            for rec in records:
                old = existing.get(rec["id"])
                for col in ("last_verified", "version"):
                    rec.pop(col, None)
                if old is None:
                    if not rec.get("updated_at"):
                        rec["updated_at"] = stamp
                    rec.update(last_verified="", version=1)
                    to_insert.append(rec)
                elif any(_differs(_as_loaded(old, c), _as_loaded(rec, c)) for c in compare):
                    rec["updated_at"] = rec.get("updated_at") or stamp
                    if rec["updated_at"] == old["updated_at"]:
                        rec["updated_at"] = stamp
                    rec.update(last_verified=old.get("last_verified") or "", version=int(old.get("version") or 1) + 1)
                    to_update.append(rec)
                else:
                    unchanged += 1
                    continue
                if check is not None:
                    check(old, rec)
                entries.append(audit.entry(actor=actor, action="create" if old is None else "update", source=source,
                                           before=old, after=rec, reason=reason, batch=batch, at=stamp))
            if conn.dialect.name == "postgresql" and (to_insert or to_update):
                # new and changed rows in one INSERT ... ON CONFLICT (id) DO UPDATE, pipelined by psycopg, instead
                # of an INSERT plus an UPDATE per row; a concurrent writer adding the same id cannot make it fail
                stmt = pg_insert(stations_table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[stations_table.c.id],
                    set_={c: stmt.excluded[c] for c in COLUMNS if c != "id"},
                )
                conn.execute(stmt, to_insert + to_update)
                inserted, updated = len(to_insert), len(to_update)
            else:
                if to_insert:
                    conn.execute(stations_table.insert(), to_insert)
                    inserted = len(to_insert)
                if to_update:
                    stmt = (
                        stations_table.update()
                        .where(stations_table.c.id == sa.bindparam("_id"))
                        .values({c: sa.bindparam(c) for c in COLUMNS if c != "id"})
                    )
                    conn.execute(stmt, [{**r, "_id": r["id"]} for r in to_update])
                    updated = len(to_update)
            if entries:
                audit.insert(conn, entries)
                bump(conn, "stations", now=stamp)
            if also is not None:
                also(conn)
        log.info("registry upsert: %d inserted, %d updated, %d unchanged", inserted, updated, unchanged)
        return UpsertResult(inserted, updated, unchanged)

    def replace_all(self, df: pd.DataFrame, *, actor: str = "system", source: str = "demo", reason: str = "") -> int:
        """Replace the whole registry with ``df`` in one transaction (used to load the demo set).

        Each station added, changed or removed is an audit entry; a station kept keeps its
        ``last_verified`` and its version goes up when it changed.
        """
        records = _records(df)
        stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        with self.write("replace") as conn:
            existing = {r["id"]: dict(r) for r in conn.execute(sa.select(stations_table)).mappings()}
            entries = []
            new_ids = set()
            for rec in records:
                new_ids.add(rec["id"])
                rec.pop("version", None)
                rec.pop("last_verified", None)
                if not rec.get("updated_at"):
                    rec["updated_at"] = stamp
                old = existing.get(rec["id"])
                if old is None:
                    rec.update(last_verified="", version=1)
                    entries.append(audit.entry(actor=actor, action="create", source=source, before=None, after=rec,
                                               reason=reason, at=stamp))
                elif any(_differs(_as_loaded(old, c), _as_loaded(rec, c)) for c in DATA_COLUMNS):
                    rec.update(last_verified=old.get("last_verified") or "", version=int(old.get("version") or 1) + 1)
                    entries.append(audit.entry(actor=actor, action="update", source=source, before=old, after=rec,
                                               reason=reason, at=stamp))
                else:
                    rec.update(last_verified=old.get("last_verified") or "", version=int(old.get("version") or 1),
                               updated_at=old["updated_at"])
            for sid, old in existing.items():
                if sid not in new_ids:
                    entries.append(audit.entry(actor=actor, action="delete", source=source, before=old, after=None,
                                               reason=reason, at=stamp))
            conn.execute(stations_table.delete())
            if records:
                conn.execute(stations_table.insert(), records)
            if entries:
                audit.insert(conn, entries)
            bump(conn, "stations", now=stamp)
        return len(records)

    def _existing(self, conn, ids: list[str]) -> dict[str, dict]:
        """The stored rows of ``ids``, locked for this transaction on PostgreSQL (SQLite: the write lock)."""
        existing = {}
        for chunk in _chunks(ids, 500):
            query = sa.select(stations_table).where(stations_table.c.id.in_(chunk))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            for row in conn.execute(query).mappings():
                existing[row["id"]] = dict(row)
        return existing


def bump(conn, *names: str, now: str | None = None) -> None:
    """Increment the data versions ``names`` (``stations``, ``reports``) inside the caller's transaction."""
    stamp = now or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    for name in names:
        conn.execute(registry_state_table.update().where(registry_state_table.c.name == name)
                     .values(version=registry_state_table.c.version + 1, changed_at=stamp))


def _check_expected(expect: dict[str, int | None], existing: dict[str, dict]) -> None:
    """Refuse the write when a station changed since the versions in ``expect`` were read."""
    stale = []
    for sid, version in expect.items():
        now = existing.get(sid)
        now_version = None if now is None else int(now.get("version") or 1)
        if now_version != version:
            stale.append(sid)
    if stale:
        shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
        raise EditConflictError(
            "%(n)s station(s) changed after the preview was made (%(ids)s); nothing was written: make the "
            "preview again", param="upload", n=len(stale), ids=shown)


def _engine_hooks_for_memory(engine: sa.Engine) -> None:
    """The same transaction hooks on an in-memory SQLite engine (doctests)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # pragma: no cover - trivial
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover - trivial
        conn.exec_driver_sql("BEGIN")


def _as_loaded(row: dict, col: str):
    """A row's value as load() gives it: hours_json from an older parser counts as its refreshed form."""
    if col == "hours_json":
        return refresh_hours_json(row.get("opening_hours"), row.get("hours_json"))
    return row[col]


def _differs(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return not np.isclose(float(a), float(b), rtol=0, atol=1e-9)
        except (TypeError, ValueError):
            return True
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) != bool(b)
    return ("" if a is None else str(a)) != ("" if b is None else str(b))


# Text columns and their length in characters (None: unlimited), from the table.
_TEXT_LIMITS: dict[str, int | None] = {
    c.name: c.type.length for c in stations_table.columns if isinstance(c.type, sa.String)
}


def _records(df: pd.DataFrame) -> list[dict]:
    """Plain Python rows for the driver: bool services, float coordinates, checked text (the data columns and
    ``updated_at``; the registry sets ``last_verified`` and ``version``)."""
    cols = [c for c in COLUMNS if c in df.columns and c not in ("last_verified", "version")]
    values = {}
    for col in cols:  # column by column: iterating a frame's rows is many times slower
        seq = df[col].tolist()
        if col in SERVICE_KEYS:
            values[col] = [bool(v) for v in seq]
        elif col in ("lon", "lat"):
            values[col] = [float(v) for v in seq]
        else:
            texts = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in seq]
            for i, text in enumerate(texts):
                _check_text(text, col, i, _TEXT_LIMITS.get(col))
            values[col] = texts
    return [dict(zip(cols, row)) for row in zip(*(values[c] for c in cols))]


def _check_text(text: str, col: str, i: int, limit: int | None) -> None:
    where = f"row {i + 1}, column {col}"
    if limit is not None and len(text) > limit:
        raise RegistryError(f"{where}: {len(text)} characters, more than the {limit} the column holds")
    if "\x00" in text:
        raise RegistryError(f"{where}: holds a NUL character (\\x00), which the registry does not store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RegistryError(f"{where}: not valid Unicode text ({exc.reason})") from exc


def _chunks(seq, n):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
