"""Request parameters, parsed and range-checked in one place, for query strings and JSON bodies alike.

``Params.query()`` reads the current request's query string, ``Params.json(body)`` a decoded JSON object.
Ranges come from :data:`stations.limits.LIMITS`. A bad value raises :class:`stations.errors.InputError`
naming the parameter; the app-wide handler (:mod:`webmap.errors`) answers it with HTTP 400 and
``{"error": {"parameter": NAME, "message": TEXT}}``.

In a query string a parameter given twice is an error, surrounding blanks are ignored and an empty value
counts as absent. In a JSON body numbers must be JSON numbers (``"1000"`` or ``true`` is not a radius).
Integers accept whole numbers written as decimals (``3.0``, ``1e1``).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from flask import request

from stations.errors import InputError
from stations.hours import resolve_open_at
from stations.limits import LIMITS, Limit
from stations.schema import SERVICE_KEYS, SERVICES, STATUSES
from webmap import state
from webmap.network_common import default_radius, distance_kind

TZ = ZoneInfo("Asia/Shanghai")
_ADCODE = re.compile(r"^\d{6}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _num(x: float) -> str:
    """A limit as people write it: ``50``, ``0.01``, ``1000000000`` (no exponent for whole numbers)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def finite(v) -> bool:
    """A finite number (a 400-digit JSON integer overflows ``math.isfinite``: not finite here)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def choice(name: str, value: str, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options`` (path parts such as a file format), else an error naming ``name``."""
    options = list(options)
    if value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}, got {value[:40]!r}", param=name)
    return value


class Params:
    """Typed access to one source of parameters: a query string (a ``MultiDict``) or a JSON object."""

    def __init__(self, source: Mapping, *, typed: bool = False):
        self.source = source
        self.typed = typed  # a JSON object: values keep their JSON types

    @classmethod
    def query(cls) -> "Params":
        """The current request's query string."""
        return cls(request.args)

    @classmethod
    def json(cls, body: Mapping) -> "Params":
        """A decoded JSON object (``request.get_json()``)."""
        return cls(body, typed=True)

    # ------------------------------------------------------------------------------------------ raw values
    def raw(self, name: str):
        """The value of ``name`` or None when absent or empty; a query parameter given twice is an error."""
        if self.typed:
            value = self.source.get(name)
            return None if value is None or value == "" else value
        values = self.source.getlist(name)
        if len(values) > 1:
            raise InputError(f"{name} given more than once", param=name)
        value = values[0].strip() if values else ""
        return value or None

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def multi(self, name: str) -> list[str]:
        """A repeatable query parameter that also accepts comma-separated values."""
        out: list[str] = []
        for raw in self.source.getlist(name):
            out.extend(v.strip() for v in raw.split(",") if v.strip())
        return out

    # ------------------------------------------------------------------------------------------ numbers
    def number(self, name: str, limit: Limit, *, default=None, required: bool = False,
               over: str | None = None) -> float | None:
        """A finite number within ``limit``; ``over`` is the message when it is above the limit."""
        raw = self.raw(name)
        if raw is None:
            if required:
                raise InputError(f"{name} is required", param=name)
            return default
        return self._check(name, raw, limit, over, integer=False)

    def integer(self, name: str, limit: Limit, *, default=None, over: str | None = None) -> int | None:
        """A whole number within ``limit``."""
        raw = self.raw(name)
        if raw is None:
            return default
        return self._check(name, raw, limit, over, integer=True)

    def _check(self, name, raw, limit: Limit, over, *, integer: bool):
        lo, hi = limit.lo, limit.hi
        if self.typed:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not finite(raw) or not lo <= raw <= hi:
                raise InputError(f"{name} must be a number between {_num(lo)} and {_num(hi)}, got {raw!r:.40}", param=name)
            if integer and raw != int(raw):
                raise InputError(f"{name} must be a whole number, got {raw!r}", param=name)
            return int(raw) if integer else float(raw)
        shown = raw[:40]
        try:
            value = float(raw)
        except ValueError:
            kind = "an integer" if integer else "a number"
            raise InputError(f"{name} must be {kind}, got {shown!r}", param=name) from None
        if over is not None and math.isfinite(value) and value > hi:
            raise InputError(over.format(name=name, hi=_num(hi), got=shown), param=name)
        if not math.isfinite(value) or not lo <= value <= hi:
            raise InputError(f"{name} must be between {_num(lo)} and {_num(hi)}, got {shown}", param=name)
        if integer:
            if value != int(value):
                raise InputError(f"{name} must be a whole number, got {shown}", param=name)
            return int(value)
        return value

    def radius(self, name: str = "radius", default=LIMITS["radius_m"].default) -> float | None:
        """A service radius in metres (geodesic), within ``LIMITS["radius_m"]``."""
        return self.number(name, LIMITS["radius_m"], default=default)

    def hour(self) -> int | None:
        """``hour``: 0-23 (Asia/Shanghai), None when absent (status only)."""
        return self.integer("hour", LIMITS["hour"])

    def weekday(self) -> int:
        """``weekday``: 0 = Monday ... 6 = Sunday; default Wednesday (2)."""
        return self.integer("weekday", LIMITS["weekday"], default=int(LIMITS["weekday"].default))

    def lat(self, required: bool = False) -> float | None:
        return self.number("lat", LIMITS["lat"], required=required)

    def lon(self, required: bool = False) -> float | None:
        return self.number("lon", LIMITS["lon"], required=required)

    # ------------------------------------------------------------------------------------------ others
    def boolean(self, name: str, *, hint: str = "true or false") -> bool:
        """``1/true/yes/on`` or ``0/false/no/off`` (absent: False)."""
        raw = self.raw(name)
        if raw is None:
            return False
        low = str(raw).lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise InputError(f"{name} must be {hint}, got {str(raw)[:40]!r}", param=name)

    def choice(self, name: str, options: Iterable[str], default: str) -> str:
        value = self.raw(name)
        return default if value is None else choice(name, value, options)

    def adcode(self, name: str) -> str | None:
        """A 6-digit administrative code (prefecture or county), None when absent."""
        raw = self.raw(name)
        if raw is not None and not _ADCODE.match(raw):
            raise InputError(f"{name} must be a 6-digit adcode, got {raw[:40]!r}", param=name)
        return raw

    def bbox(self, name: str = "bbox") -> tuple[float, float, float, float] | None:
        """``min_lon,min_lat,max_lon,max_lat`` in WGS-84 degrees, None when absent."""
        raw = self.raw(name)
        if raw is None:
            return None
        parts = raw.split(",")
        if len(parts) != 4:
            raise InputError(f"{name} must be min_lon,min_lat,max_lon,max_lat", param=name)
        try:
            x0, y0, x1, y1 = (float(p) for p in parts)
        except ValueError:
            raise InputError(f"{name} must be four numbers: min_lon,min_lat,max_lon,max_lat", param=name) from None
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise InputError(f"{name} numbers must be finite", param=name)
        if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
            raise InputError(f"{name} is outside -180..180 / -90..90", param=name)
        if x0 > x1 or y0 > y1:
            raise InputError(f"{name} minimum is greater than its maximum", param=name)
        return x0, y0, x1, y1

    def at(self, name: str = "at") -> datetime:
        """The time for open-now questions: ISO 8601 (naive = Asia/Shanghai), default now in Asia/Shanghai;
        a naive datetime in Asia/Shanghai to the minute."""
        raw = self.raw(name)
        if raw is None:
            return datetime.now(TZ).replace(tzinfo=None, second=0, microsecond=0)
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            raise InputError(f"{name} must be an ISO 8601 date-time, got {raw[:40]!r}", param=name) from None
        if at.tzinfo is not None:
            try:
                at = at.astimezone(TZ).replace(tzinfo=None)
            except OverflowError:  # 9999-12-31T23:00-12:00 is past year 9999 in Asia/Shanghai
                raise InputError(f"{name} is out of range in Asia/Shanghai, got {raw[:40]!r}", param=name) from None
        return at.replace(second=0, microsecond=0)

    def open_at(self, now: datetime, name: str = "open_at") -> datetime | None:
        """"Open at" for a night-shift worker: ``HH:MM`` (the next such time from ``now``, e.g. tonight's 22:00)
        or an ISO 8601 date and time (naive = Asia/Shanghai), as :func:`stations.hours.resolve_open_at` reads it;
        None when absent."""
        raw = self.raw(name)
        if raw is None:
            return None
        try:
            return resolve_open_at(raw if isinstance(raw, str) else str(raw), now=now)
        except InputError as exc:
            exc.param = name
            raise
        except (OverflowError, ValueError):  # 9999-12-31T23:59-12:00 is past year 9999 in Asia/Shanghai
            raise InputError(f"{name} is out of range in Asia/Shanghai, got {str(raw)[:40]!r}", param=name) from None

    def services(self, name: str = "service") -> list[str]:
        """Service keys (repeated or comma-separated), each one of :data:`stations.schema.SERVICES`."""
        services = self.multi(name)
        for s in services:
            if s not in SERVICES:
                raise InputError(f"unknown service {s[:40]!r}; known: {', '.join(SERVICE_KEYS)}", param=name)
        return list(dict.fromkeys(services))

    def statuses(self, name: str = "status") -> list[str]:
        """Station statuses (repeated or comma-separated), each one of :data:`stations.schema.STATUSES`."""
        statuses = self.multi(name)
        for s in statuses:
            if s not in STATUSES:
                raise InputError(f"unknown status {s[:40]!r}; known: {', '.join(STATUSES)}", param=name)
        return statuses

    def demand_id(self, name: str = "demand") -> str | None:
        """The id of an uploaded demand set (``POST /api/coverage/demand``); None: the bundled model."""
        token = self.raw(name)
        if token is None:
            return None
        if not isinstance(token, str) or not state.has_demand_set(token):
            raise InputError(f"unknown demand set {str(token)[:40]!r}: upload the file again", param=name)
        return token

    def coverage(self) -> state.CoverageArgs:
        """The coverage question: distance (straight | network), radius (default 1,000 m, on foot 1,125 m),
        rural_radius, hour, weekday and demand."""
        distance = distance_kind(self)  # straight | network (a 409 when no street network is loaded)
        radius = default_radius(distance, self.radius(default=None))
        rural = self.radius("rural_radius", default=None)
        hour = self.hour()
        weekday = self.weekday()
        return state.CoverageArgs(radius, rural, hour, weekday, self.demand_id(), distance)
