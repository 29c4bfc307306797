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

from . import config
from .hours import refresh_hours_column, refresh_hours_json
from .schema import COLUMNS, SERVICE_KEYS, metadata, stations_table
from stations.errors import RegistryError  # noqa: F401 (re-exported: the classes live in stations.errors)

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
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def to_geodataframe(df: pd.DataFrame) -> gpd.GeoDataFrame:
    """Give a table of station rows its point geometry (EPSG:4326) and the canonical column order."""
    df = df.reindex(columns=list(COLUMNS)).copy()
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    for key in SERVICE_KEYS:
        df[key] = df[key].fillna(False).astype(bool)
    for col in ("id", "name", "address", "prefecture_adcode", "county_adcode", "host",
                "opening_hours", "hours_json", "phone", "status", "source", "updated_at"):
        df[col] = df[col].fillna("").astype(str)
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
        try:
            metadata.create_all(self.engine)
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
    def _transaction(self, what: str):
        """One write transaction; a database error rolls it back and becomes a :class:`RegistryError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise RegistryError(f"registry {what} failed, nothing was written: {detail}") from exc

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
            df = pd.read_sql(sa.select(stations_table).order_by(self._order_by_id()), conn)
        df["hours_json"] = refresh_hours_column(df["opening_hours"], df["hours_json"])
        return to_geodataframe(df)

    def get(self, station_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(stations_table).where(stations_table.c.id == station_id)
            ).mappings().first()
        return dict(row) if row else None

    def upsert(self, df: pd.DataFrame, *, now: datetime | None = None) -> UpsertResult:
        """Insert or update rows by ``id`` in one transaction.

        Rows identical to what is stored are left alone (importing the same file twice changes
        nothing, ``updated_at`` included). ``df`` must carry every column of :data:`COLUMNS` except
        ``updated_at``, which is set here for changed rows when missing.
        """
        missing = [c for c in COLUMNS if c not in df.columns and c != "updated_at"]
        if missing:
            raise RegistryError(f"rows lack columns: {', '.join(missing)}")
        stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
        records = _records(df)
        ids = [r["id"] for r in records]
        if len(set(ids)) != len(ids):
            raise RegistryError("duplicate ids in one write")
        compare = [c for c in COLUMNS if c != "updated_at"]
        inserted = updated = unchanged = 0
        with self._transaction("upsert") as conn:  # one transaction: all rows or none
            existing = {}
            for chunk in _chunks(ids, 500):
                for row in conn.execute(
                    sa.select(stations_table).where(stations_table.c.id.in_(chunk))
                ).mappings():
                    existing[row["id"]] = dict(row)
            to_insert, to_update = [], []
            for rec in records:
                old = existing.get(rec["id"])
                if old is None:
                    rec.setdefault("updated_at", stamp)
                    if not rec.get("updated_at"):
                        rec["updated_at"] = stamp
                    to_insert.append(rec)
                elif any(_differs(_as_loaded(old, c), _as_loaded(rec, c)) for c in compare):
                    rec["updated_at"] = rec.get("updated_at") or stamp
                    if rec["updated_at"] == old["updated_at"]:
                        rec["updated_at"] = stamp
                    to_update.append(rec)
                else:
                    unchanged += 1
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
        log.info("registry upsert: %d inserted, %d updated, %d unchanged", inserted, updated, unchanged)
        return UpsertResult(inserted, updated, unchanged)

    def replace_all(self, df: pd.DataFrame) -> int:
        """Replace the whole registry with ``df`` in one transaction (used to load the demo set)."""
        records = _records(df)
        stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        for rec in records:
            if not rec.get("updated_at"):
                rec["updated_at"] = stamp
        with self._transaction("replace") as conn:
            conn.execute(stations_table.delete())
            if records:
                conn.execute(stations_table.insert(), records)
        return len(records)


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
    """Plain Python rows for the driver: bool services, float coordinates, checked text."""
    cols = [c for c in COLUMNS if c in df.columns]
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
