"""The station registry: an embedded SQL store opened through SQLAlchemy.

The store is a SQLite file by default (``var/yizhan.sqlite``); ``DATABASE_URL`` picks another SQLAlchemy
URL (a PostgreSQL URL works the same way). Every write is a single transaction: a crash, a bad file or a
failed validation leaves the registry exactly as it was.

Coordinates are stored in WGS-84 (EPSG:4326) degrees.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import config
from .schema import COLUMNS, SERVICE_KEYS, metadata, stations_table

log = logging.getLogger(__name__)


class RegistryError(RuntimeError):
    """The registry cannot be opened or written."""


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    updated: int
    unchanged: int

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True)
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
            raise RegistryError(f"cannot open the registry at {self.url}: {exc}") from exc

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(stations_table)).scalar_one()

    def load(self) -> gpd.GeoDataFrame:
        """All stations as a GeoDataFrame in EPSG:4326, ordered by id."""
        with self.engine.connect() as conn:
            df = pd.read_sql(sa.select(stations_table).order_by(stations_table.c.id), conn)
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
        with self.engine.begin() as conn:  # one transaction: all rows or none
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
                elif any(_differs(old[c], rec[c]) for c in compare):
                    rec["updated_at"] = rec.get("updated_at") or stamp
                    if rec["updated_at"] == old["updated_at"]:
                        rec["updated_at"] = stamp
                    to_update.append(rec)
                else:
                    unchanged += 1
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
        with self.engine.begin() as conn:
            conn.execute(stations_table.delete())
            if records:
                conn.execute(stations_table.insert(), records)
        return len(records)


def _differs(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return not np.isclose(float(a), float(b), rtol=0, atol=1e-9)
        except (TypeError, ValueError):
            return True
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) != bool(b)
    return ("" if a is None else str(a)) != ("" if b is None else str(b))


def _records(df: pd.DataFrame) -> list[dict]:
    cols = [c for c in COLUMNS if c in df.columns]
    out = []
    for row in df[cols].itertuples(index=False, name=None):
        rec = {}
        for col, val in zip(cols, row):
            if col in SERVICE_KEYS:
                rec[col] = bool(val)
            elif col in ("lon", "lat"):
                rec[col] = float(val)
            else:
                rec[col] = "" if val is None or (isinstance(val, float) and np.isnan(val)) else str(val)
        out.append(rec)
    return out


def _chunks(seq, n):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
