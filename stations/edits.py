"""Officials' changes to single stations: add, edit, close, reopen, mark verified and revert an audit entry.

Every change here:

- validates the record as an import does (:func:`normalise`): a name; coordinates in WGS-84 or GCJ-02
  (Amap) degrees, converted to WGS-84 and inside a county of Yunnan, whose county and prefecture come from
  the point-in-county join, never from the form; hours that :func:`stations.hours.parse_hours` reads; known
  services, host and status;
- checks the official's area on the server (:meth:`stations.users.User.covers`) for the station's location
  before **and** after the change, so an editor of 昆明市 can neither change a station in 大理州 nor move one
  of hers there, whatever the request says;
- is refused when the station's ``version`` is not the one the official started from (optimistic locking):
  the :class:`~stations.errors.EditConflictError` names who changed which fields since, and nothing is
  overwritten;
- writes the station, its audit entry and the data version in one transaction
  (:meth:`stations.registry.Registry.write`), so the registry and the log agree whatever fails.

Coordinates are stored in WGS-84 degrees (EPSG:4326).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from . import audit, hours
from .errors import AccessError, EditConflictError, HoursParseError, InputError, UnknownServiceError
from .importer import clean_text, stable_id
from .registry import bump
from .schema import COLUMNS, DATA_COLUMNS, HOSTS, SERVICE_KEYS, STATUSES, stations_table
from .users import User, area_name
from .validation import check_lonlat

SHANGHAI = ZoneInfo("Asia/Shanghai")
CRS_CHOICES = ("wgs84", "gcj02")
TEXT_LIMITS = {"name": 200, "address": 400, "phone": 40, "opening_hours": 200}


def today() -> str:
    """Today's date in Asia/Shanghai (``YYYY-MM-DD``): the form of ``last_verified``."""
    return datetime.now(SHANGHAI).date().isoformat()


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------------------------- validation
def normalise(fields: Mapping, *, crs: str = "wgs84", station_id: str | None = None,
              source: str = "manage") -> dict:
    """A station record (every column of :data:`DATA_COLUMNS`) from a form's fields.

    ``fields``: ``name``, ``address``, ``lon``, ``lat`` (degrees in ``crs``: ``wgs84`` or ``gcj02`` as copied
    from Amap), ``host``, ``services`` (a list of service keys), ``opening_hours``, ``phone``, ``status``.
    Raises an :class:`~stations.errors.InputError` naming the field (``param``) at the first bad one.
    """
    if crs not in CRS_CHOICES:
        raise InputError("unknown coordinate system %(crs)s: use wgs84 or gcj02", param="crs", crs=str(crs)[:20])
    name = clean_text(fields.get("name", ""), TEXT_LIMITS["name"])
    if not name:
        raise InputError("the station needs a name", param="name")
    lon_raw, lat_raw = fields.get("lon", ""), fields.get("lat", "")
    check = check_lonlat([lon_raw], [lat_raw], [1], ("lon", "lat"), crs=crs)
    for kind, err in check.problems:
        if kind == "number":
            if err.column == "lat":
                raise InputError("the latitude is missing or not a number", param="lat")
            raise InputError("the longitude is missing or not a number", param="lon")
        if kind == "swapped":
            raise InputError("latitude and longitude appear swapped (longitude %(lon)s, latitude %(lat)s)",
                             param="lon", lon=str(lon_raw)[:20], lat=str(lat_raw)[:20])
        if kind == "outside":
            raise InputError("the point (%(lon)s, %(lat)s) lies outside Yunnan", param="lon",
                             lon=str(lon_raw)[:20], lat=str(lat_raw)[:20])
        raise InputError("(%(lon)s, %(lat)s) are not longitude/latitude degrees", param="lon",
                         lon=str(lon_raw)[:20], lat=str(lat_raw)[:20])
    county = str(check.county[0])
    from . import geo

    counties = geo.load_counties()
    prefecture = str(counties.loc[counties["adcode"] == county, "prefecture_adcode"].iloc[0])
    text = clean_text(fields.get("opening_hours", ""), TEXT_LIMITS["opening_hours"])
    if not text:
        raise HoursParseError("the opening hours are missing")
    try:
        hours_json = hours.parse_hours(text).to_json()
    except HoursParseError as exc:
        raise HoursParseError("cannot read the opening hours %(text)s: %(detail)s", text=repr(text),
                              detail=exc.message) from None
    services = fields.get("services") or []
    if isinstance(services, str):
        services = [s for s in services.replace("，", ",").split(",") if s.strip()]
    for key in services:
        if key not in SERVICE_KEYS:
            raise UnknownServiceError("unknown service %(key)s; known: %(known)s", param="services",
                                      key=repr(str(key)[:40]), known=", ".join(SERVICE_KEYS))
    host = str(fields.get("host") or "other")
    if host not in HOSTS:
        raise InputError("unknown host type %(key)s", param="host", key=repr(host[:40]))
    status = str(fields.get("status") or "open")
    if status not in STATUSES:
        raise InputError("unknown status %(key)s (open, temp_closed or closed)", param="status", key=repr(status[:40]))
    lon, lat = round(float(check.lon[0]), 7), round(float(check.lat[0]), 7)
    rec = {
        "id": station_id or stable_id(name, lon, lat),
        "name": name,
        "address": clean_text(fields.get("address", ""), TEXT_LIMITS["address"]),
        "lon": lon,
        "lat": lat,
        "prefecture_adcode": prefecture,
        "county_adcode": county,
        "host": host,
        **{k: k in services for k in SERVICE_KEYS},
        "opening_hours": text,
        "hours_json": hours_json,
        "phone": clean_text(fields.get("phone", ""), TEXT_LIMITS["phone"]),
        "status": status,
        "source": str(fields.get("source") or source)[:100],
    }
    assert set(rec) == set(DATA_COLUMNS)
    return rec


# --------------------------------------------------------------------------------------------- the checks
def check_area(user: User, old: dict | None, new: dict | None, lang: str = "zh") -> None:
    """:class:`AccessError` unless ``user`` may change a station located at ``old`` into ``new``."""
    if not user.can_edit:
        raise AccessError("your role (%(role)s) may not change stations", param="role", role=user.role)
    if old is not None and not user.covers(old.get("prefecture_adcode"), old.get("county_adcode")):
        raise AccessError("this station lies in %(where)s, outside your area %(area)s; you may not change it",
                          param="id", where=area_name(old.get("county_adcode") or "", lang),
                          area=area_name(user.area, lang))
    if new is not None and not user.covers(new.get("prefecture_adcode"), new.get("county_adcode")):
        raise AccessError("the location (%(lon)s, %(lat)s) lies in %(where)s, outside your area %(area)s",
                          param="lon", lon=f"{float(new['lon']):.6f}", lat=f"{float(new['lat']):.6f}",
                          where=area_name(new.get("county_adcode") or "", lang), area=area_name(user.area, lang))


def _conflict(conn, station_id: str, seen_version: int, current: dict | None) -> EditConflictError:
    """The error for a save based on ``seen_version``: who changed what since."""
    if current is None:
        return EditConflictError("this station was deleted after you opened it; nothing was saved", param="version")
    rows, _ = audit.search(conn, station_id=station_id, limit=20)
    since = [e for e in rows if e["after"] is not None and int(e["after"].get("version") or 0) > seen_version]
    fields = sorted({f for e in since for f in e["changes"]})
    who = ", ".join(sorted({e["actor"] for e in since})) or "someone"
    when = since[0]["at"] if since else current.get("updated_at", "")
    return EditConflictError(
        "%(who)s changed this station at %(when)s after you opened it (version %(seen)s, now %(now)s; changed: "
        "%(fields)s); nothing was saved: reload the station and make your change again",
        param="version", who=who, when=when, seen=seen_version, now=int(current.get("version") or 1),
        fields=", ".join(fields) or "—")


def _lock(conn, station_id: str) -> dict | None:
    query = sa.select(stations_table).where(stations_table.c.id == station_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def _write(conn, *, user: User, old: dict | None, new: dict | None, action: str, source: str, reason: str,
           reverts: int | None = None) -> dict | None:
    """Write ``new`` over ``old`` (either may be None), its audit entry and the data version; returns the stored
    record."""
    stamp = _now()
    if new is not None:
        base = old.get("version") if old is not None else new.get("version")
        new = {**new, "updated_at": stamp, "version": int(base or 0) + 1}
        new.setdefault("last_verified", (old or {}).get("last_verified") or "")
        new = {c: new[c] for c in COLUMNS}
    if old is None and new is not None:
        conn.execute(stations_table.insert().values(**new))
    elif new is None and old is not None:
        conn.execute(stations_table.delete().where(stations_table.c.id == old["id"]))
    elif old is not None and new is not None:
        result = conn.execute(stations_table.update()
                              .where(stations_table.c.id == old["id"], stations_table.c.version == old["version"])
                              .values(**{c: new[c] for c in COLUMNS if c != "id"}))
        if result.rowcount != 1:  # pragma: no cover - the row is locked for this transaction
            raise _conflict(conn, old["id"], int(old["version"]), _lock(conn, old["id"]))
    audit.insert(conn, [audit.entry(actor=user.name, action=action, source=source, before=old, after=new,
                                    reason=reason, at=stamp, reverts=reverts)])
    bump(conn, "stations", now=stamp)
    return new


def _current(conn, station_id: str, version: int | str | None) -> dict:
    old = _lock(conn, station_id)
    if old is None:
        raise InputError("no station with id %(id)s", param="id", status=404, id=repr(str(station_id)[:80]))
    try:
        seen = int(version)
    except (TypeError, ValueError):
        raise InputError("the form lacks the station's version; reload the station", param="version") from None
    if seen != int(old["version"]):
        raise _conflict(conn, station_id, seen, old)
    return old


# --------------------------------------------------------------------------------------------- the changes
def create(registry, user: User, fields: Mapping, *, crs: str = "wgs84", reason: str = "",
           verified: bool = False, lang: str = "zh") -> dict:
    """Add a station; returns its record."""
    new = normalise(fields, crs=crs, source=f"manage:{user.name}")
    if verified:
        new["last_verified"] = today()
    check_area(user, None, new, lang)
    with registry.write("add station") as conn:
        if _lock(conn, new["id"]) is not None:
            raise InputError("a station with id %(id)s exists already (same name at the same place)", param="name",
                             id=new["id"])
        return _write(conn, user=user, old=None, new=new, action="create", source="form", reason=reason)


def update(registry, user: User, station_id: str, version, fields: Mapping, *, crs: str = "wgs84",
           reason: str = "", verified: bool = False, lang: str = "zh") -> dict:
    """Save an edited station (every field of the form); refused when ``version`` is stale."""
    new = normalise(fields, crs=crs, station_id=station_id)
    with registry.write("edit station") as conn:
        old = _current(conn, station_id, version)
        new["source"] = old["source"]
        new["last_verified"] = today() if verified else old.get("last_verified") or ""
        check_area(user, old, new, lang)
        if not audit.changes(old, {**old, **new}):
            return old  # nothing changed: no entry, no new version
        return _write(conn, user=user, old=old, new={**old, **new}, action="update", source="form", reason=reason)


def set_status(registry, user: User, station_id: str, version, status: str, *, reason: str = "",
               lang: str = "zh") -> dict:
    """Close (``closed`` / ``temp_closed``) or reopen (``open``) a station."""
    if status not in STATUSES:
        raise InputError("unknown status %(key)s (open, temp_closed or closed)", param="status", key=repr(str(status)[:40]))
    with registry.write("set status") as conn:
        old = _current(conn, station_id, version)
        check_area(user, old, old, lang)
        if old["status"] == status:
            return old
        action = "reopen" if status == "open" else "close"
        return _write(conn, user=user, old=old, new={**old, "status": status}, action=action, source="form",
                      reason=reason)


def mark_verified(conn, user: User, station_id: str, *, status: str | None = None, source: str = "report",
                  reason: str = "", lang: str = "zh") -> dict | None:
    """Inside the caller's write: set the station's ``last_verified`` to today (and its status, when given).
    Used by report resolution; returns the stored record (None when the station no longer exists)."""
    old = _lock(conn, station_id)
    if old is None:
        return None
    check_area(user, old, old, lang)
    new = {**old, "last_verified": today()}
    if status is not None:
        new["status"] = status
    action = "close" if status not in (None, "open") and old["status"] != status else "verify"
    if not audit.changes(old, new):
        return old
    return _write(conn, user=user, old=old, new=new, action=action, source=source, reason=reason)


def revert(registry, user: User, entry_id: int, *, reason: str = "", lang: str = "zh") -> dict | None:
    """Undo audit entry ``entry_id``: its fields go back to what they were before it (a creation is undone by
    deleting the station, a deletion by adding it back). The revert is itself an audit entry (``reverts`` =
    the entry). Refused when a later change touched the same station's same fields (revert that one first)."""
    with registry.write("revert") as conn:
        e = audit.get(conn, entry_id)
        if e is None:
            raise InputError("no audit entry %(id)s", param="entry", status=404, id=entry_id)
        sid = e["station_id"]
        later = audit.later_changes(conn, sid, int(e["id"]))
        touched = set(e["changes"]) | ({"*"} if e["before"] is None or e["after"] is None else set())
        clashes = [x for x in later if (set(x["changes"]) & touched) or x["before"] is None or x["after"] is None
                   or "*" in touched]
        if clashes:
            raise EditConflictError(
                "entry %(id)s cannot be reverted: later changes (%(later)s) touched the same station; revert them "
                "first", param="entry", id=e["id"], later=", ".join(f"#{x['id']}" for x in clashes[:10]))
        current = _lock(conn, sid)
        if e["before"] is None:  # a creation: delete
            check_area(user, current, None, lang)
            target = None
        elif e["after"] is None:  # a deletion: add back
            if current is not None:
                raise EditConflictError("station %(id)s exists again; entry %(entry)s cannot be reverted",
                                        param="entry", id=sid, entry=e["id"])
            target = {c: e["before"].get(c) for c in COLUMNS}
            check_area(user, None, target, lang)
        else:
            if current is None:
                raise EditConflictError("station %(id)s no longer exists; entry %(entry)s cannot be reverted",
                                        param="entry", id=sid, entry=e["id"])
            target = dict(current)
            for field in e["changes"]:
                target[field] = e["before"].get(field)
            if "opening_hours" in e["changes"]:
                target["hours_json"] = e["before"].get("hours_json", current["hours_json"])
            check_area(user, current, target, lang)
        note = reason or f"revert of entry #{e['id']}"
        return _write(conn, user=user, old=current, new=target, action="revert", source="revert", reason=note,
                      reverts=int(e["id"]))


def station_json(rec: dict) -> str:
    """A record as JSON (for the edit form's data block)."""
    return json.dumps({c: rec.get(c) for c in COLUMNS}, ensure_ascii=False)
