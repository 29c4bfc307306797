"""Registry files uploaded in the management area: a preview first, the registry changed only when accepted.

:func:`preview` reads the file through the same validation as ``yizhan import``
(:func:`stations.importer.read_stations`) and sorts its rows into **additions** (new ids), **changes** (ids
already stored, with the fields that would change, from what to what), **unchanged** rows and **rejected**
rows (row and column as a spreadsheet shows them, and why). For an editor, a row whose location, or whose
stored station's location, lies outside her area is rejected too. The valid rows and the versions of the
stations they were compared with are kept in the ``uploads`` table (so any server process can apply them);
nothing in ``stations`` changes.

:func:`apply` writes the valid rows in one transaction with their audit entries (``source = upload``, the
upload's id as the ``batch``), refusing the whole file when any of its stations changed since the preview
(:class:`~stations.errors.EditConflictError`): the official makes the preview again and sees the new state.
A failure at any point leaves the registry and the audit log as they were.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from . import audit
from .edits import check_area
from .errors import AccessError, InputError, RowError
from .importer import read_stations
from .schema import DATA_COLUMNS, uploads_table
from .users import User, area_name

#: previews not applied within this time are discarded
PENDING_FOR = timedelta(days=1)


@dataclass
class Preview:
    id: str
    filename: str
    rows_read: int
    additions: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # {"row", "id", "name", "changes": {field: [old, new]}}
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)

    @property
    def writable(self) -> int:
        return len(self.additions) + len(self.changes)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def preview(registry, user: User, path: str | Path, *, filename: str | None = None, crs: str = "wgs84",
            lang: str = "zh") -> Preview:
    """Validate an uploaded file and keep its valid rows as a pending upload; see the module docstring."""
    if not user.can_edit:
        raise AccessError("your role (%(role)s) may not change stations", param="role", role=user.role)
    name = (filename or Path(path).name)[:200]
    stored = registry.load()
    result = read_stations(path, crs=crs, existing=stored)
    by_id = {r["id"]: r for r in stored.drop(columns="geometry").to_dict("records")}
    out = Preview(id=secrets.token_hex(16), filename=name, rows_read=result.rows_read,
                  rejected=list(result.errors))
    keep_rows, expect = [], {}
    for row_no, rec in zip(result.valid_rows, result.valid.to_dict("records")):
        old = by_id.get(rec["id"])
        try:
            check_area(user, old, rec, lang)
        except AccessError as exc:
            out.rejected.append(RowError(row_no, "id" if old is not None and not user.covers(
                old.get("prefecture_adcode"), old.get("county_adcode")) else "lon/lat", exc.message))
            continue
        rec = {c: rec[c] for c in DATA_COLUMNS}
        if old is None:
            out.additions.append({"row": row_no, **rec})
        else:
            diff = audit.changes(old, {**old, **rec})
            if not diff:
                out.unchanged += 1
                continue
            out.changes.append({"row": row_no, "id": rec["id"], "name": rec["name"], "changes": diff})
        keep_rows.append(rec)
        expect[rec["id"]] = None if old is None else int(old["version"])
    out.rejected.sort(key=lambda e: (e.row, e.column))
    payload = json.dumps({"rows": keep_rows, "expect": expect, "crs": crs}, ensure_ascii=False)
    now = _now()
    with registry.write("upload preview") as conn:
        conn.execute(uploads_table.update().where(uploads_table.c.status == "pending",
                                                  uploads_table.c.created_at < (now - PENDING_FOR).isoformat())
                     .values(status="expired"))
        conn.execute(uploads_table.insert().values(id=out.id, username=user.name, created_at=now.isoformat(),
                                                   filename=name, status="pending", payload=payload))
    return out


def apply(registry, user: User, upload_id: str, *, reason: str = "", lang: str = "zh"):
    """Write a pending upload's valid rows (one transaction with their audit entries); returns the
    :class:`~stations.registry.UpsertResult`."""
    with registry.engine.connect() as conn:
        row = conn.execute(sa.select(uploads_table).where(uploads_table.c.id == str(upload_id)[:40])).mappings().first()
    if row is None:
        raise InputError("no upload %(id)s; upload the file again", param="upload", status=404, id=str(upload_id)[:40])
    if row["username"] != user.name and not user.is_admin:
        raise AccessError("this upload belongs to %(who)s", param="upload", who=row["username"])
    if row["status"] != "pending":
        raise InputError("this upload was %(state)s already; upload the file again", param="upload", status=409,
                         state=row["status"])
    payload = json.loads(row["payload"])
    rows = pd.DataFrame(payload["rows"], columns=list(DATA_COLUMNS))

    def still_allowed(old, new):  # the area rule again, on the rows as they are now (inside the write)
        check_area(user, old, new, lang)

    def mark_applied(conn):
        done = conn.execute(uploads_table.update().where(uploads_table.c.id == row["id"],
                                                         uploads_table.c.status == "pending")
                            .values(status="applied"))
        if done.rowcount != 1:
            raise InputError("this upload was applied already", param="upload", status=409)

    why = reason or f"upload {row['filename']}"
    return registry.upsert(rows, actor=user.name, source="upload", reason=why, batch=row["id"],
                           expect=payload["expect"], check=still_allowed, also=mark_applied)


def discard(registry, user: User, upload_id: str) -> None:
    """Drop a pending upload (its owner's or, for an administrator, anyone's)."""
    t = uploads_table.c
    mine = sa.true() if user.is_admin else t.username == user.name
    with registry.write("discard upload") as conn:
        conn.execute(uploads_table.update().where(t.id == str(upload_id)[:40], t.status == "pending", mine)
                     .values(status="discarded"))


def describe_area(user: User, lang: str = "zh") -> str:
    return area_name(user.area, lang) if user.area else ("all of Yunnan" if lang == "en" else "云南全省")
