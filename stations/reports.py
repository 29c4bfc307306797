"""Workers' reports about stations ("报告问题"), the badges the finder shows and the officials' queue.

A report is a reason (:data:`stations.schema.REPORT_REASONS`) and an optional short text (at most
``LIMITS["report_text_chars"]`` characters, stored as text exactly as typed: control characters removed,
never interpreted; pages escape it). No personal data is asked for or kept: the only trace of the sender is
``client``, a keyed hash (HMAC-SHA256 with the server's secret) of the client address, enough to count
distinct senders and to rate-limit, and not reversible without the secret (:func:`client_digest`).

A station with open reports carries a badge (:func:`badges`: how many, the latest reason and its time).
``closed`` reports from at least :data:`REPORTED_CLOSED_CLIENTS` distinct clients within
:data:`REPORTED_CLOSED_WINDOW` mark the station **reported closed** until an official resolves them.

Resolving (:func:`resolve`) is ``fixed``, ``confirmed_closed`` (the station becomes ``temp_closed``) or
``dismissed``, with a note; it resolves the station's other open reports of the same reason with it, sets
the station's ``last_verified`` to today (an audited change of the station, :func:`stations.edits.mark_verified`)
and is refused outside the official's area. Each submission and resolution bumps the ``reports`` data version
in its transaction, so every server process shows the new badge at its next check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from . import edits
from .errors import AccessError, InputError, LimitError
from .limits import LIMITS
from .registry import bump
from .schema import REPORT_REASONS, RESOLUTIONS, reports_table, stations_table
from .users import User

#: distinct clients whose "closed" reports within the window mark a station "reported closed"
REPORTED_CLOSED_CLIENTS = 3
REPORTED_CLOSED_WINDOW = timedelta(hours=24)
MAX_TEXT = int(LIMITS["report_text_chars"].hi)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def client_digest(address: str, secret: bytes | str) -> str:
    """HMAC-SHA256 of the client address under the server's secret, hex: distinct senders can be counted, the
    address cannot be read back."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"report-client:{address}".encode(), hashlib.sha256).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def submit(registry, station_id: str, reason: str, text: str = "", *, client: str,
           now: datetime | None = None) -> dict:
    """Store one report (status ``open``); returns it. Bad reason, text too long or no such station: an
    :class:`~stations.errors.InputError` naming the field, nothing stored."""
    if reason not in REPORT_REASONS:
        raise InputError("unknown reason %(reason)s; one of %(known)s", param="reason",
                         reason=repr(str(reason)[:40]), known=", ".join(REPORT_REASONS))
    text = _CONTROL.sub("", str(text or "")).strip()
    if len(text) > MAX_TEXT:
        raise LimitError("the text has %(n)s characters; at most %(most)s", param="text", n=len(text), most=MAX_TEXT)
    stamp = (now or _now()).isoformat()
    with registry.write("report") as conn:
        found = conn.execute(sa.select(stations_table.c.id).where(stations_table.c.id == station_id)).first()
        if found is None:
            raise InputError("no station with id %(id)s", param="id", status=404, id=repr(str(station_id)[:80]))
        row = {"station_id": station_id, "reason": reason, "text": text, "created_at": stamp, "client": client,
               "status": "open", "resolved_at": None, "resolved_by": None, "note": ""}
        rid = conn.execute(reports_table.insert().values(**row)).inserted_primary_key[0]
        bump(conn, "reports", now=stamp)
    return {"id": int(rid), **row}


def _reported_closed(times_clients: list[tuple[str, str]]) -> bool:
    """Do ``closed`` reports (ISO time, client) hold :data:`REPORTED_CLOSED_CLIENTS` distinct clients within
    one window of :data:`REPORTED_CLOSED_WINDOW`?"""
    pts = sorted((datetime.fromisoformat(t), c) for t, c in times_clients)
    for i, (t0, _) in enumerate(pts):
        clients = {c for t, c in pts[i:] if t - t0 <= REPORTED_CLOSED_WINDOW}
        if len(clients) >= REPORTED_CLOSED_CLIENTS:
            return True
    return False


def badges(conn_or_engine) -> dict[str, dict]:
    """station id -> ``{"open": n, "reason": latest reason, "at": its ISO time, "reported_closed": bool}`` for
    every station with open reports."""
    t = reports_table.c
    query = sa.select(t.station_id, t.reason, t.created_at, t.client).where(t.status == "open").order_by(t.id)
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.connect() as conn:
            rows = conn.execute(query).all()
    else:
        rows = conn_or_engine.execute(query).all()
    out: dict[str, dict] = {}
    closed: dict[str, list] = defaultdict(list)
    for sid, reason, at, client in rows:
        b = out.setdefault(sid, {"open": 0, "reason": reason, "at": at, "reported_closed": False})
        b["open"] += 1
        if at >= b["at"]:
            b["reason"], b["at"] = reason, at
        if reason == "closed":
            closed[sid].append((at, client))
    for sid, pts in closed.items():
        out[sid]["reported_closed"] = _reported_closed(pts)
    return out


def queue(engine, *, area: str | None = None, reason: str | None = None, status: str = "open",
          limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """Reports newest first, with their station's name, prefecture and county; for an ``area`` (adcode of a
    prefecture or county: the station's present location), a ``reason``, a ``status`` (``open``, a resolution,
    or ``all``). Returns (reports, how many match)."""
    r, s = reports_table.c, stations_table.c
    where = []
    if status != "all":
        where.append(r.status == status)
    if reason:
        where.append(r.reason == reason)
    if area:
        where.append(sa.or_(s.prefecture_adcode == area, s.county_adcode == area))
    joined = reports_table.outerjoin(stations_table, s.id == r.station_id)
    cols = [*reports_table.c, s.name.label("station_name"), s.prefecture_adcode, s.county_adcode,
            s.status.label("station_status"), s.last_verified]
    query = sa.select(*cols).select_from(joined).where(*where).order_by(r.created_at.desc(), r.id.desc())
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where)).scalar_one()
        rows = [dict(x) for x in conn.execute(query.limit(limit).offset(offset)).mappings()]
    return rows, int(total)


def resolve(registry, user: User, report_id: int, resolution: str, note: str = "", *,
            lang: str = "zh") -> dict:
    """Resolve an open report (and the station's other open reports of the same reason) as ``resolution``,
    set the station's last-verified date (and ``temp_closed`` for ``confirmed_closed``): one transaction.
    Returns ``{"resolved": [ids], "station": record or None}``."""
    if resolution not in RESOLUTIONS:
        raise InputError("unknown resolution %(key)s; one of %(known)s", param="resolution",
                         key=repr(str(resolution)[:40]), known=", ".join(RESOLUTIONS))
    note = _CONTROL.sub("", str(note or "")).strip()[:500]
    stamp = _now().isoformat()
    with registry.write("resolve report") as conn:
        rep = conn.execute(sa.select(reports_table).where(reports_table.c.id == int(report_id))).mappings().first()
        if rep is None:
            raise InputError("no report %(id)s", param="report", status=404, id=report_id)
        if rep["status"] != "open":
            raise InputError("report %(id)s was resolved already by %(who)s at %(when)s", param="report",
                             status=409, id=report_id, who=rep["resolved_by"] or "?", when=rep["resolved_at"] or "?")
        station = conn.execute(sa.select(stations_table).where(stations_table.c.id == rep["station_id"])
                               ).mappings().first()
        if station is None and not user.is_admin:
            raise AccessError("the station of this report no longer exists; an administrator may dismiss it",
                              param="report")
        why = f"report #{report_id} {rep['reason']}: {RESOLUTIONS[resolution][1].lower()}" + (f" ({note})" if note else "")
        record = None
        if station is not None:
            record = edits.mark_verified(conn, user, rep["station_id"],
                                         status="temp_closed" if resolution == "confirmed_closed" else None,
                                         reason=why, lang=lang)
        t = reports_table.c
        ids = [int(x) for x in conn.execute(sa.select(t.id).where(
            t.station_id == rep["station_id"], t.reason == rep["reason"], t.status == "open")).scalars()]
        conn.execute(reports_table.update().where(t.id.in_(ids)).values(
            status=resolution, resolved_at=stamp, resolved_by=user.name, note=note))
        bump(conn, "reports", now=stamp)
    return {"resolved": ids, "station": record}
