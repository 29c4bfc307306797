"""The audit log: every change to a station, written in the transaction of the change.

An entry says who (``actor``: a user name, ``cli:<login>`` for the command line, ``system``), when (``at``,
ISO 8601 UTC), what kind of change (``action``: ``create``, ``update``, ``close``, ``reopen``, ``verify``,
``delete``, ``revert``), through which path (``source``: ``form``, ``upload``, ``report``, ``revert``,
``cli``, ``demo``, ``import``), which fields went from what to what (``changes``: ``{field: [old, new]}``;
``hours_json`` is left out there, being ``opening_hours`` read), why (``reason``) and the whole record
before and after (``before`` / ``after`` as JSON, ``null`` for a creation / a deletion), so any entry can be
reverted to the exact previous record (:func:`stations.edits.revert`). The station's prefecture and county
after and before the change are kept too, so an editor sees the log of her area, including the stations
moved out of it.

Nothing here opens a transaction of its own for writing: :func:`insert` runs on the caller's connection,
inside the registry's write (:meth:`stations.registry.Registry.write`), so a change and its entry are
written together or not at all.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pandas as pd
import sqlalchemy as sa

from .schema import COLUMNS, DATA_COLUMNS, audit_table

#: fields shown in ``changes`` (every data column but the parsed hours, plus the verified date)
CHANGE_FIELDS: tuple[str, ...] = tuple(c for c in DATA_COLUMNS if c != "hours_json") + ("last_verified",)

ACTIONS = ("create", "update", "close", "reopen", "verify", "delete", "revert")


def _plain(value):
    """A stored value as JSON (bools, numbers, text; NaN as null)."""
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record_json(rec: dict | None) -> str | None:
    """A station record as the JSON kept in ``before`` / ``after`` (every column of the station table)."""
    if rec is None:
        return None
    return json.dumps({c: _plain(rec.get(c)) for c in COLUMNS if c in rec}, ensure_ascii=False, sort_keys=True)


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9
    return ("" if a is None else str(a)) == ("" if b is None else str(b))


def changes(before: dict | None, after: dict | None) -> dict[str, list]:
    """``{field: [old, new]}`` for the fields of :data:`CHANGE_FIELDS` that differ (old ``None`` for a
    creation, new ``None`` for a deletion)."""
    out = {}
    for col in CHANGE_FIELDS:
        old = _plain(before.get(col)) if before is not None else None
        new = _plain(after.get(col)) if after is not None else None
        if before is None or after is None or not _same(old, new):
            if before is None and new in (None, "", False):
                continue  # a creation lists what it set
            if after is None and old in (None, "", False):
                continue
            out[col] = [old, new]
    return out


def entry(*, actor: str, action: str, source: str, before: dict | None, after: dict | None, reason: str = "",
          batch: str | None = None, at: str | None = None, reverts: int | None = None) -> dict:
    """One audit row (not yet written: :func:`insert`)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    now = at or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    new, old = after or before or {}, before or after or {}
    return {
        "station_id": str((after or before or {}).get("id", "")),
        "at": now,
        "actor": str(actor)[:80],
        "action": action,
        "source": source,
        "reason": (reason or "")[:500],
        "changes": json.dumps(changes(before, after), ensure_ascii=False, sort_keys=True),
        "before": record_json(before),
        "after": record_json(after),
        "prefecture_adcode": str(new.get("prefecture_adcode") or ""),
        "county_adcode": str(new.get("county_adcode") or ""),
        "old_prefecture_adcode": str(old.get("prefecture_adcode") or ""),
        "old_county_adcode": str(old.get("county_adcode") or ""),
        "reverts": reverts,
        "batch": batch,
    }


def insert(conn, entries: list[dict]) -> None:
    """Write ``entries`` on ``conn`` (inside the caller's transaction)."""
    if entries:
        conn.execute(audit_table.insert(), entries)


def _decoded(row) -> dict:
    out = dict(row)
    out["changes"] = json.loads(out["changes"] or "{}")
    out["before"] = json.loads(out["before"]) if out.get("before") else None
    out["after"] = json.loads(out["after"]) if out.get("after") else None
    return out


def _area_clause(area: str | None):
    if not area:
        return sa.true()
    t = audit_table.c
    return sa.or_(t.prefecture_adcode == area, t.county_adcode == area,
                  t.old_prefecture_adcode == area, t.old_county_adcode == area)


def get(conn_or_engine, entry_id: int) -> dict | None:
    """One entry, decoded (``changes``, ``before``, ``after`` as Python values), or None."""
    query = sa.select(audit_table).where(audit_table.c.id == int(entry_id))
    with _connection(conn_or_engine) as conn:
        row = conn.execute(query).mappings().first()
    return _decoded(row) if row else None


def search(conn_or_engine, *, area: str | None = None, station_id: str | None = None, action: str | None = None,
           since: str | None = None, until: str | None = None, limit: int | None = 100,
           offset: int = 0) -> tuple[list[dict], int]:
    """Entries newest first, of an area (prefecture or county adcode, before or after the change) and/or a
    station, an action, an ISO time range; returns (entries, how many match in all)."""
    t = audit_table.c
    where = [_area_clause(area)]
    if station_id:
        where.append(t.station_id == station_id)
    if action:
        where.append(t.action == action)
    if since:
        where.append(t.at >= since)
    if until:
        where.append(t.at <= until)
    query = sa.select(audit_table).where(*where).order_by(t.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    with _connection(conn_or_engine) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(audit_table).where(*where)).scalar_one()
        rows = [_decoded(r) for r in conn.execute(query).mappings()]
    return rows, int(total)


def history(conn_or_engine, station_id: str, limit: int | None = 200) -> list[dict]:
    """A station's entries, newest first."""
    return search(conn_or_engine, station_id=station_id, limit=limit)[0]


def later_changes(conn, station_id: str, after_id: int) -> list[dict]:
    """The station's entries written after entry ``after_id``, oldest first."""
    query = (sa.select(audit_table).where(audit_table.c.station_id == station_id, audit_table.c.id > after_id)
             .order_by(audit_table.c.id))
    return [_decoded(r) for r in conn.execute(query).mappings()]


def describe_changes(changes_: dict[str, list]) -> str:
    """``name: 'old' → 'new'; status: 'open' → 'closed'`` (for exports and messages)."""
    def show(v):
        return "∅" if v is None else repr(v) if isinstance(v, str) else str(v)

    return "; ".join(f"{field}: {show(old)} → {show(new)}" for field, (old, new) in changes_.items())


def frame(entries: list[dict]) -> pd.DataFrame:
    """Entries as a table for export (CSV with BOM, XLSX): one row per entry, one column per field changed
    written as ``old → new``."""
    cols = ["id", "at", "actor", "action", "source", "station_id", "prefecture_adcode", "county_adcode",
            "reason", "changes", "reverts", "batch"]
    rows = [{**{c: e.get(c) for c in cols if c != "changes"}, "changes": describe_changes(e["changes"])}
            for e in entries]
    return pd.DataFrame(rows, columns=cols)


class _connection:
    """``with _connection(x) as conn``: ``x`` itself when it is a connection, else a new one of the engine."""

    def __init__(self, conn_or_engine):
        self.given = conn_or_engine
        self.own = None

    def __enter__(self):
        if isinstance(self.given, sa.Engine):
            self.own = self.given.connect()
            return self.own
        return self.given

    def __exit__(self, *exc):
        if self.own is not None:
            self.own.close()
        return False
