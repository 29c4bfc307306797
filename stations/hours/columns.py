"""Whole columns of hours at once: "open at", "24/7", "hours unknown", and bringing stored JSON up to date.

Each helper takes a list / Series / array of ``hours_json`` strings (plain opening-hours text and
:class:`OpeningHours` objects work too) and parses each *distinct* value once (``pandas.factorize`` plus a
cache), so 200,000 stations with a few hundred distinct hours take milliseconds: the work is one hash per
row and one answer per distinct value (``bench/bench_hours.py``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd

from stations.errors import HoursParseError, InputError

from .model import JSON_VERSION, SHANGHAI, OpeningHours, _clock, hours_from_json, to_shanghai
from .parser import parse_hours

__all__ = ["HoursColumn", "open_mask", "open_at_mask", "open_24_7_mask", "unknown_mask", "resolve_open_at",
           "refresh_hours_json", "refresh_hours_column"]


@lru_cache(maxsize=4096)
def _cached_hours(value: str) -> OpeningHours:
    s = value.strip()
    if s.startswith("{"):
        return hours_from_json(s)
    return parse_hours(s)


def _as_array(hours) -> np.ndarray:
    if isinstance(hours, (pd.Series, pd.Index)):
        return hours.to_numpy(dtype=object)
    if isinstance(hours, np.ndarray):
        return hours.astype(object, copy=False).ravel()
    items = list(hours)
    values = np.empty(len(items), dtype=object)
    values[:] = items
    return values


class HoursColumn:
    """A column of hours read once: ``pandas.factorize`` of the values and one :class:`OpeningHours` per
    distinct value. Every question after that costs one answer per distinct value plus an array take,
    whatever the number of rows, so an index that asks "open at …?" for many moments keeps one of these
    (``HoursColumn(frame["hours_json"])``) and passes it to :func:`open_mask` and the other helpers.
    """

    def __init__(self, hours):
        values = _as_array(hours)
        if values.size:
            self.codes, uniques = pd.factorize(values, use_na_sentinel=True)
        else:
            self.codes, uniques = np.zeros(0, dtype=np.intp), []
        self.hours: list[OpeningHours | None] = []  # None: missing or unreadable
        self.problems: list[HoursParseError | None] = []  # why a value could not be read
        for v in uniques:
            oh, problem = None, None
            if isinstance(v, OpeningHours):
                oh = v
            elif isinstance(v, str):
                if v.strip():
                    try:
                        oh = _cached_hours(v)
                    except HoursParseError as exc:
                        problem = exc
            else:
                problem = HoursParseError("hours value must be a JSON string, got %(type)s: %(value)s",
                                          type=type(v).__name__, value=repr(v)[:80])
            self.hours.append(oh)
            self.problems.append(problem)

    def __len__(self) -> int:
        return len(self.codes)

    def answer(self, fn: Callable[[OpeningHours], bool], errors: str = "raise", missing: bool = False,
               unreadable: bool | None = None) -> np.ndarray:
        """``fn`` for each distinct value, spread over the rows; ``missing`` for None/NaN/""; unreadable
        values raise (``errors="raise"``) or get ``unreadable`` (default: ``missing``)."""
        if errors not in ("raise", "closed"):
            raise ValueError(f"errors must be 'raise' or 'closed', got {errors!r}")
        unreadable = missing if unreadable is None else unreadable
        if not len(self.codes):
            return np.zeros(0, dtype=bool)
        answers = np.full(len(self.hours) + 1, missing, dtype=bool)  # last slot: missing (code -1)
        for i, (oh, problem) in enumerate(zip(self.hours, self.problems)):
            if problem is not None:
                if errors == "raise":
                    raise problem
                answers[i] = unreadable
            elif oh is not None:
                answers[i] = fn(oh)
        return answers[self.codes]


def _per_value(hours, answer: Callable[[OpeningHours], bool], errors: str, missing: bool,
               unreadable: bool | None = None) -> np.ndarray:
    column = hours if isinstance(hours, HoursColumn) else HoursColumn(hours)
    return column.answer(answer, errors, missing, unreadable)


def open_mask(hours, at: datetime, errors: str = "raise") -> np.ndarray:
    """Boolean array: which of ``hours`` (a column, or a prepared :class:`HoursColumn`) say open at ``at``
    (naive = Asia/Shanghai).

    The date counts (seasons, official holidays, make-up working days). Missing values (None, NaN, "")
    and "hours unknown" count as not open. ``errors="closed"`` treats unreadable values as not open
    instead of raising :class:`HoursParseError`.
    """
    d, minute = _clock(at)
    return _per_value(hours, lambda oh: oh._open_on(d, minute), errors, False)


def open_at_mask(hours, when, *, now: datetime | None = None, errors: str = "closed") -> np.ndarray:
    """"Open at" for a column: ``when`` is a datetime, ``"HH:MM"`` (the next such time from ``now``, for a
    worker asking "open at 22:00" tonight) or an ISO 8601 date and time (:func:`resolve_open_at`).
    Unreadable, unknown and missing hours count as not open."""
    at = when if isinstance(when, datetime) else resolve_open_at(when, now=now)
    return open_mask(hours, at, errors=errors)


def open_24_7_mask(hours, errors: str = "closed") -> np.ndarray:
    """Boolean array: which of ``hours`` are open all day every day, public holidays included
    (:attr:`OpeningHours.is_24_7`). Unreadable, unknown and missing hours are not."""
    return _per_value(hours, lambda oh: oh.is_24_7, errors, False)


def unknown_mask(hours) -> np.ndarray:
    """Boolean array: whose hours are unknown (missing, unreadable, or "hours unknown"): show these as
    营业时间不详 / hours unknown, never as open."""
    return _per_value(hours, lambda oh: oh.is_unknown, "closed", True)


_HHMM = re.compile(r"\s*(\d{1,2})[:：](\d{2})\s*")


def resolve_open_at(value, now: datetime | None = None) -> datetime:
    """The naive Asia/Shanghai datetime meant by an "open at" parameter.

    ``"22:00"`` (or ``"6:30"``): the next such clock time at or after ``now`` (default: the current time
    in Shanghai), so at 23:00 ``"01:30"`` is tonight's 01:30; an ISO 8601 date and time
    (``2026-03-05T22:00``, ``2026-03-05 22:00``, ``…+00:00``): that moment, converted to Shanghai time;
    a datetime: converted the same way. Anything else raises :class:`stations.errors.InputError` naming
    the parameter ``open_at``.
    """
    if isinstance(value, datetime):
        return to_shanghai(value).replace(tzinfo=None)
    bad = InputError("open_at must be a time HH:MM (the next such time in Asia/Shanghai) or an ISO 8601 date "
                     "and time such as 2026-03-05T22:00, got %(value)s", param="open_at", value=repr(value)[:40])
    if not isinstance(value, str):
        raise bad
    m = _HHMM.fullmatch(value)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        if not (0 <= h <= 23 and 0 <= mi <= 59):
            raise bad
        base = (to_shanghai(now).replace(tzinfo=None) if now is not None
                else datetime.now(SHANGHAI).replace(tzinfo=None)).replace(second=0, microsecond=0)
        at = base.replace(hour=h, minute=mi)
        return at if at >= base else at + timedelta(days=1)
    text = value.strip()
    if ":" not in text:
        raise bad
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise bad from None
    return to_shanghai(at).replace(tzinfo=None)


_VERSION = re.compile(r'\s*\{\s*"v"\s*:\s*(\d+)')


@lru_cache(maxsize=65536)
def refresh_hours_json(text: str | None, stored_json: str | None) -> str:
    """Up-to-date ``hours_json`` for a stored row: ``stored_json`` itself when it was written by the
    current version (JSON version 2) and reads; otherwise ``text`` parsed again, so hours stored by an
    older parser (``下午2:30-5:30`` once read as 14:30-05:30) are read right after an upgrade.

    Text the parser now refuses becomes "hours unknown" (never open) with the reason kept; without text
    the stored weekly form is carried over; with neither, "hours unknown".
    """
    stored = stored_json if isinstance(stored_json, str) else ""
    m = _VERSION.match(stored)
    if m and int(m.group(1)) >= JSON_VERSION:
        try:
            _cached_hours(stored)
            return stored
        except HoursParseError:
            pass
    words = text.strip() if isinstance(text, str) else ""
    if words:
        try:
            return parse_hours(words).to_json()
        except HoursParseError as exc:
            return OpeningHours.unknown(words, f"cannot read opening hours {words!r}: {exc}").to_json()
    try:
        return hours_from_json(stored).to_json()
    except HoursParseError:
        return OpeningHours.unknown("", "opening hours are missing").to_json()


def refresh_hours_column(texts, jsons) -> list[str]:
    """:func:`refresh_hours_json` for two parallel columns (``opening_hours``, ``hours_json``)."""
    out = []
    for t, j in zip(_as_array(texts), _as_array(jsons)):
        t = t if isinstance(t, str) else None
        j = j if isinstance(j, str) else None
        out.append(refresh_hours_json(t, j))
    return out
