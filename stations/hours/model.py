"""The structured form of opening hours, :class:`OpeningHours`, and its JSON.

Minutes count from local midnight (Asia/Shanghai). Two views of a week:

- **own** ranges (``days``): for each weekday, Monday first, the ranges that *start* on it, ``0 <= start
  < 1440`` and ``start < end <= 2880``; an end past 1440 runs into the next morning (``18:00-02:00`` is
  ``(1080, 1560)``). This is what is stored, because on a holiday or a make-up working day the day's own
  hours change while last night's shift still runs into its morning.
- **folded** ranges (``week``): what is open on each weekday of an ordinary week, ``0 <= start < end <=
  1440``, the evening before's overflow included (``18:00-02:00`` daily is ``((0, 120), (1080, 1440))``).
"""

from __future__ import annotations

import calendar as _cal
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Sequence

from stations.errors import HoursParseError, InputError

from .holidays import day_kind

try:  # pragma: no cover - depends on the system time zone database / tzdata
    from zoneinfo import ZoneInfo

    SHANGHAI = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - no tz database: China has used UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

DAY_MINUTES = 1440
JSON_VERSION = 2
ALL_DAYS = frozenset(range(7))
ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Interval = tuple[int, int]
Day = tuple[Interval, ...]
Week = tuple[Day, ...]
EMPTY_WEEK: Week = ((),) * 7


# --------------------------------------------------------------------------------------------
# interval arithmetic (sorted, merged tuples)
# --------------------------------------------------------------------------------------------


def _merge(items: list[tuple[int, int]]) -> Day:
    items.sort()
    merged: list[list[int]] = []
    for s, e in items:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return tuple((s, e) for s, e in merged)


def normalise_day(intervals: Iterable[Sequence[int]]) -> Day:
    """Folded ranges of one day: ``0 <= start < end <= 1440``, sorted and merged (ValueError otherwise)."""
    items = []
    for iv in intervals:
        s, e = int(iv[0]), int(iv[1])
        if not (0 <= s < e <= DAY_MINUTES):
            raise ValueError(f"interval ({s}, {e}) is not within one day (0 <= start < end <= 1440)")
        items.append((s, e))
    return _merge(items)


def normalise_own(intervals: Iterable[Sequence[int]]) -> Day:
    """Own ranges of one day: ``0 <= start < 1440``, ``start < end <= 2880``, sorted and merged."""
    items = []
    for iv in intervals:
        s, e = int(iv[0]), int(iv[1])
        if not (0 <= s < DAY_MINUTES and s < e <= 2 * DAY_MINUTES):
            raise ValueError(f"interval ({s}, {e}) must start within its day and end by the next midnight "
                             "(0 <= start < 1440, start < end <= 2880)")
        items.append((s, e))
    return _merge(items)


def intersect(a: Day, b: Day) -> Day:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def intersect_all(days: Iterable[Day]) -> Day:
    days = list(days)
    out = days[0]
    for d in days[1:]:
        out = intersect(out, d)
    return out


def subtract(day: Day, s: int, e: int) -> Day:
    out = []
    for a, b in day:
        if b <= s or a >= e:
            out.append((a, b))
            continue
        if a < s:
            out.append((a, s))
        if b > e:
            out.append((e, b))
    return tuple(out)


def fold(own: Week) -> Week:
    """Folded week from own ranges (each day's own part plus the previous day's overflow)."""
    days = []
    for d in range(7):
        items = [(s, min(e, DAY_MINUTES)) for s, e in own[d]]
        items += [(0, e - DAY_MINUTES) for s, e in own[(d - 1) % 7] if e > DAY_MINUTES]
        days.append(_merge(items))
    return tuple(days)


def _fmt(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def to_shanghai(at: datetime) -> datetime:
    """Naive datetimes are taken as Asia/Shanghai local time; aware ones are converted to it."""
    if not isinstance(at, datetime):
        raise TypeError(f"expected a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
        return at
    return at.astimezone(SHANGHAI)


def _clock(at: datetime) -> tuple[date, float]:
    local = to_shanghai(at)
    return local.date(), local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60.0


# --------------------------------------------------------------------------------------------
# seasons
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Season:
    """Hours that hold from ``start`` to ``end`` (``(month, day)``, both inclusive; may wrap the new year)."""

    start: tuple[int, int]
    end: tuple[int, int]
    days: Week

    def __post_init__(self):
        for md in (self.start, self.end):
            m, d = md
            if not (1 <= m <= 12) or not (1 <= d <= _cal.monthrange(2024, m)[1]):
                raise ValueError(f"season boundary {md!r} is not a day of the year")
        object.__setattr__(self, "days", tuple(normalise_own(day) for day in self.days))
        if len(self.days) != 7:
            raise ValueError("a season needs 7 days (Monday first)")

    def contains(self, d: date) -> bool:
        key = (d.month, d.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end

    def label(self, zh: bool) -> str:
        (m1, d1), (m2, d2) = self.start, self.end
        if zh:
            return f"{m1}月{d1}日至{m2}月{d2}日"
        return f"{EN_MONTHS[m1 - 1]} {d1}–{EN_MONTHS[m2 - 1]} {d2}:"

    def key(self):
        return self.start, self.end, fold(self.days)


def season_days_covered(seasons: Sequence[Season]) -> list[list[int]]:
    """For each day of a leap year (366), the indices of the seasons holding it."""
    out = []
    d = date(2024, 1, 1)
    for _ in range(366):
        out.append([i for i, s in enumerate(seasons) if s.contains(d)])
        d += timedelta(days=1)
    return out


# --------------------------------------------------------------------------------------------
# OpeningHours
# --------------------------------------------------------------------------------------------


class OpeningHours:
    """Opening hours: a weekly rule, with optional public-holiday hours, the official working-day calendar
    and seasons; or "hours unknown".

    ``OpeningHours(week)`` takes 7 folded days (Monday first, each a sequence of ``(start, end)`` minutes,
    ``0 <= start < end <= 1440``), as before. Keyword arguments:

    ``days``
        own ranges instead of ``week`` (see the module docstring): ranges may end up to 2880;
    ``holiday``
        None (no holiday clause: the calendar is not used for closing), or own ranges on official
        holidays, ``()`` meaning closed (``法定节假日休息``, ``PH off``);
    ``workdays``
        True when the hours are written for official working days (``工作日``, ``法定工作日``): see
        :meth:`own_on` for what the calendar then does;
    ``seasons``
        :class:`Season` objects; dates outside every season use ``days``/``week``;
    ``unknown``
        a reason (str) makes this "hours unknown": never open, described as 营业时间不详.

    Equality compares what the hours answer (the folded weekly rules, holiday hours, flags and seasons),
    not the text they were written in. Instances are immutable.
    """

    __slots__ = ("days", "holiday", "workdays", "seasons", "unknown_reason", "text", "_week", "_base_used")

    def __init__(self, week=None, text: str | None = "", *, days=None, holiday=None, workdays: bool = False,
                 seasons: Iterable[Season] = (), unknown: str | None = None):
        set_ = object.__setattr__
        if unknown is not None:
            own = EMPTY_WEEK
            holiday, workdays, seasons = None, False, ()
        elif days is not None:
            own = tuple(days)
            if len(own) != 7:
                raise ValueError(f"days must have 7 days (Monday first), got {len(own)}")
            own = tuple(normalise_own(day) for day in own)
        else:
            folded = tuple(week if week is not None else EMPTY_WEEK)
            if len(folded) != 7:
                raise ValueError(f"week must have 7 days (Monday first), got {len(folded)}")
            own = tuple(normalise_day(day) for day in folded)
        seasons = tuple(seasons)
        set_(self, "days", own)
        set_(self, "holiday", None if holiday is None else normalise_own(holiday))
        set_(self, "workdays", bool(workdays))
        set_(self, "seasons", seasons)
        set_(self, "unknown_reason", None if unknown is None else str(unknown))
        set_(self, "text", "" if text is None else str(text))
        set_(self, "_week", fold(own))
        base_used = not seasons or any(not held for held in season_days_covered(seasons))
        set_(self, "_base_used", base_used)

    def __setattr__(self, name, value):
        raise AttributeError("OpeningHours is immutable")

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def always(cls, text: str = "24小时") -> "OpeningHours":
        return cls(tuple(((0, DAY_MINUTES),) for _ in range(7)), text)

    @classmethod
    def never(cls, text: str = "休息") -> "OpeningHours":
        return cls(EMPTY_WEEK, text)

    @classmethod
    def unknown(cls, text: str = "", reason: str = "") -> "OpeningHours":
        """Hours unknown: never open; ``reason`` says why (the parse error, or empty when stated so)."""
        return cls(None, text, unknown=reason)

    # -- identity -----------------------------------------------------------------------------
    def _key(self):
        if self.unknown_reason is not None:
            return ("unknown",)
        return (self._week if self._base_used else None, self.holiday, self.workdays,
                tuple(s.key() for s in self.seasons))

    def __eq__(self, other):
        if not isinstance(other, OpeningHours):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"OpeningHours({self.describe('en')!r}, text={self.text!r})"

    # -- the week -----------------------------------------------------------------------------
    @property
    def week(self) -> Week:
        """The folded ordinary week (outside any season; for seasonal hours see :meth:`intervals_on`)."""
        return self._week

    def _weeks(self) -> list[Week]:
        """The own weeks in use: each season's, and the base week when some dates fall outside seasons."""
        out = [s.days for s in self.seasons]
        if self._base_used:
            out.append(self.days)
        return out

    @property
    def is_unknown(self) -> bool:
        return self.unknown_reason is not None

    @property
    def calendar_applies(self) -> bool:
        """Whether the official holiday calendar changes these hours (a holiday clause, or 工作日)."""
        return self.holiday is not None or self.workdays

    @property
    def is_24h(self) -> bool:
        """Open all day on every day of the week, in every season (public holidays not considered)."""
        if self.is_unknown:
            return False
        return all(day == ((0, DAY_MINUTES),) for own in self._weeks() for day in fold(own))

    @property
    def is_24_7(self) -> bool:
        """Open all day every day, public holidays included ("24/7"; "周一至周五 24小时" is not)."""
        if not self.is_24h:
            return False
        return self.holiday is None or any(s <= 0 and e >= DAY_MINUTES for s, e in self.holiday)

    @property
    def is_closed(self) -> bool:
        """Never open (a known state; "hours unknown" is not closed)."""
        if self.is_unknown:
            return False
        return not any(any(own) for own in self._weeks()) and not self.holiday

    @property
    def weekly_minutes(self) -> int:
        """Total open minutes in an ordinary week outside seasons (10080 for 24/7)."""
        return sum(e - s for day in self._week for s, e in day)

    # -- dates --------------------------------------------------------------------------------
    def _season_week(self, d: date) -> Week:
        for s in self.seasons:
            if s.contains(d):
                return s.days
        return self.days

    def own_on(self, d: date) -> Day:
        """The ranges that start on date ``d`` (own ranges, ends up to 2880).

        The week of ``d``'s season (or the base week) decides, changed by the official calendar only when
        :attr:`calendar_applies` and ``d``'s year is known (:func:`stations.hours.calendar_years`):

        - an official holiday (``day_kind(d) == "holiday"``): the holiday hours when the text gives them
          (``()`` when closed); for hours written as 工作日 without a holiday clause, the rest-day hours
          (what Saturday and Sunday both have: a holiday is a day off like a weekend);
        - a make-up working day (a Saturday or Sunday worked, 调休上班): the working-day hours (what
          Monday to Friday all have);
        - otherwise the weekday's own hours.
        """
        wk = self._season_week(d)
        if self.calendar_applies:
            kind = day_kind(d)
            if kind == "holiday":
                return self.holiday if self.holiday is not None else intersect(wk[5], wk[6])
            if kind == "makeup":
                return intersect_all(wk[:5])
        return wk[d.weekday()]

    def intervals_on(self, d: date) -> Day:
        """What is open on date ``d`` (folded: ``0 <= start < end <= 1440``), last night's overflow included."""
        if self.is_unknown:
            return ()
        items = [(s, min(e, DAY_MINUTES)) for s, e in self.own_on(d)]
        items += [(0, e - DAY_MINUTES) for s, e in self.own_on(d - timedelta(days=1)) if e > DAY_MINUTES]
        return _merge(items)

    def _open_on(self, d: date, minute: float) -> bool:
        if self.is_unknown:
            return False
        for s, e in self.own_on(d):
            if s <= minute < e:
                return True
        m2 = minute + DAY_MINUTES
        for s, e in self.own_on(d - timedelta(days=1)):
            if s <= m2 < e:
                return True
        return False

    def is_open(self, at: datetime) -> bool:
        """Open at ``at``? Naive datetimes are Asia/Shanghai local time; aware ones are converted.

        The opening minute is open, the closing minute closed (09:00-17:00: open at 09:00:00 and
        16:59:59, closed at 17:00:00). The date matters: seasons, official holidays and make-up working
        days (:meth:`own_on`). "Hours unknown" is never open (see :meth:`state_at`).
        """
        d, minute = _clock(at)
        return self._open_on(d, minute)

    def state_at(self, at: datetime) -> str:
        """``"open"``, ``"closed"`` or ``"unknown"`` (hours unknown) at ``at``."""
        if self.is_unknown:
            return "unknown"
        return "open" if self.is_open(at) else "closed"

    def open_at_hour(self, hour: float, weekday: int = 2, on: date | None = None) -> bool:
        """Open at local clock time ``hour`` (0 <= hour < 24, fractions allowed: 8.5 = 08:30)?

        With ``on`` (a date), that date decides (holidays, seasons) and ``weekday`` is ignored. Without it,
        ``weekday`` (Monday = 0; default Wednesday) of an ordinary week: seasonal hours count as open only
        when every season's hours are open then (a planner's "typical week" never says open when shut).
        """
        if not 0 <= hour < 24:
            raise InputError(f"hour must be in [0, 24), got {hour!r}", param="hour")
        if on is not None:
            return self._open_on(on, hour * 60.0)
        if int(weekday) != weekday or not 0 <= weekday <= 6:
            raise InputError(f"weekday must be an integer 0 (Monday) .. 6 (Sunday), got {weekday!r}", param="weekday")
        if self.is_unknown:
            return False
        minute = hour * 60.0
        return all(any(s <= minute < e for s, e in fold(own)[int(weekday)]) for own in self._weeks())

    # -- serialisation ------------------------------------------------------------------------
    def to_json(self) -> str:
        """Compact, stable JSON, version 2.

        ``{"v":2,"days":[[[540,1020]],...]}``: 7 lists of own ranges, Monday first (ends up to 2880).
        Optional keys: ``"ph"`` (holiday ranges, ``[]`` = closed), ``"wd":1`` (工作日: the official
        working-day calendar), ``"seasons": [{"from": [m, d], "to": [m, d], "days": [...]}, ...]``.
        Hours unknown: ``{"v":2,"unknown":true[,"reason":"..."]}``. Version 1 (``{"v":1,"week":[...]}``,
        folded ranges, no calendar) is still read by :meth:`from_json`.
        """
        if self.is_unknown:
            obj = {"v": JSON_VERSION, "unknown": True}
            if self.unknown_reason:
                obj["reason"] = self.unknown_reason
            return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        obj = {"v": JSON_VERSION, "days": _week_json(self.days)}
        if self.holiday is not None:
            obj["ph"] = [[s, e] for s, e in self.holiday]
        if self.workdays:
            obj["wd"] = 1
        if self.seasons:
            obj["seasons"] = [{"from": list(s.start), "to": list(s.end), "days": _week_json(s.days)}
                              for s in self.seasons]
        return json.dumps(obj, separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str, text: str | None = None) -> "OpeningHours":
        """Inverse of :meth:`to_json`; reads every version written so far. ``text`` defaults to the
        normalised Chinese description."""
        obj = hours_from_json(s)
        if text is None:
            text = obj.describe("zh")
        return obj._with_text(text)

    def _with_text(self, text: str) -> "OpeningHours":
        if self.is_unknown:
            return OpeningHours.unknown(text, self.unknown_reason)
        return OpeningHours(None, text, days=self.days, holiday=self.holiday, workdays=self.workdays,
                            seasons=self.seasons)

    # -- description --------------------------------------------------------------------------
    def describe(self, lang: str = "zh") -> str:
        """Normalised human text that :func:`stations.hours.parse_hours` reads back to an equal object.

        ``"周一至周五 09:00-17:00；周六 10:00-16:00"`` / ``"Mon–Fri 09:00-17:00; Sat 10:00-16:00"``,
        ``"24小时"`` / ``"24 hours"``, ``"休息"`` / ``"closed"``, ``"营业时间不详"`` / ``"hours unknown"``;
        ``"工作日 …"`` / ``"Working days …"``, ``"法定节假日休息"`` / ``"public holidays closed"``, seasons as
        ``"5月1日至9月30日 每天 08:00-20:00；…"`` / ``"May 1–Sep 30: Daily 08:00-20:00; …"``. Overnight opening
        is one range (``"18:00-02:00"``).
        """
        if lang not in ("zh", "en"):
            raise InputError(f"lang must be 'zh' or 'en', got {lang!r}", param="lang")
        zh = lang == "zh"
        if self.is_unknown:
            return "营业时间不详" if zh else "hours unknown"
        closed = "休息" if zh else "closed"
        parts: list[str] = []
        if self._base_used:
            base = _week_parts(self.days, zh, self.workdays)
            if not base and (self.seasons or not self.holiday):
                base = [closed]
            parts += base
        for s in self.seasons:
            body = _week_parts(s.days, zh, self.workdays) or [closed]
            parts.append(f"{s.label(zh)} {body[0]}")
            parts += body[1:]
        if self.workdays and not any(p.startswith(("工作日", "Working days")) for p in parts):
            parts.append("按法定工作日" if zh else "official working days")
        if self.holiday is not None:
            if not self.holiday:
                parts.append("法定节假日休息" if zh else "public holidays closed")
            else:
                word = "法定节假日" if zh else "public holidays"
                parts.append(f"{word} {_fmt_ranges(list(self.holiday), zh)}")
        return ("；" if zh else "; ").join(parts)


def _week_json(own: Week) -> list:
    return [[[s, e] for s, e in day] for day in own]


def _display(own: Week) -> list[list[tuple[int, int]]]:
    """Own ranges as shown: a day's piece ending at midnight joins the next day's piece starting at
    midnight (``18:00-24:00`` + ``00:00-02:00`` = ``18:00-02:00``); pieces longer than a day are split."""
    disp = [list(day) for day in own]
    for _ in range(8):  # longer than a day: today until midnight, the rest tomorrow morning (may cascade)
        long = [(d, i) for d in range(7) for i, (s, e) in enumerate(disp[d]) if e - s > DAY_MINUTES]
        if not long:
            break
        for d, i in long:
            s, e = disp[d][i]
            disp[d][i] = (s, DAY_MINUTES)
            disp[(d + 1) % 7].append((0, e - DAY_MINUTES))
        disp = [list(_merge(day)) for day in disp]
    for d in range(7):
        nxt = (d + 1) % 7
        day, following = disp[d], disp[nxt]
        if day and following and day[-1][1] == DAY_MINUTES and day[-1][0] > 0:
            s = day[-1][0]
            fs, fe = following[0]
            if fs == 0 and fe < s and fe < DAY_MINUTES:
                day[-1] = (s, DAY_MINUTES + fe)
                disp[nxt] = following[1:]
    return disp


def _fmt_ranges(ranges: list[tuple[int, int]], zh: bool) -> str:
    if ranges == [(0, DAY_MINUTES)]:
        return "24小时" if zh else "24 hours"
    out = []
    for s, e in ranges:
        if e > DAY_MINUTES and (e - DAY_MINUTES >= s or (600 <= e - DAY_MINUTES < 720 and s < 780)):
            # "10:01-10:00" would read as 10:01 to 10:00 the same day, "10:00-11:00" as ambiguous: say so
            out.append(f"{_fmt(s)}-次日{_fmt(e - DAY_MINUTES)}" if zh else f"{_fmt(s)}-{_fmt(e - DAY_MINUTES)} (next day)")
        elif e > DAY_MINUTES:
            out.append(f"{_fmt(s)}-{_fmt(e - DAY_MINUTES)}")
        else:
            out.append(f"{_fmt(s)}-{_fmt(e)}")
    return ",".join(out)


def _week_parts(own: Week, zh: bool, workdays: bool) -> list[str]:
    disp = _display(own)
    groups: dict[tuple, list[int]] = {}
    for d in range(7):
        if disp[d]:
            groups.setdefault(tuple(disp[d]), []).append(d)
    if len(groups) == 1 and next(iter(groups)) == ((0, DAY_MINUTES),) and len(next(iter(groups.values()))) == 7:
        return ["24小时" if zh else "24 hours"]
    parts = []
    for ranges, days in sorted(groups.items(), key=lambda kv: kv[1][0]):
        if workdays and days == [0, 1, 2, 3, 4]:
            label = "工作日" if zh else "Working days"
        else:
            label = describe_days(days, zh)
        parts.append(f"{label} {_fmt_ranges(list(ranges), zh)}")
    return parts


def describe_days(days: list[int], zh: bool) -> str:
    """``周一至周五`` / ``Mon–Fri``, ``周六、周日`` / ``Sat, Sun``, ``每天`` / ``Daily``."""
    if len(days) == 7:
        return "每天" if zh else "Daily"
    names = ZH_DAYS if zh else EN_DAYS
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    out = []
    for run in runs:
        if len(run) >= 3:
            out.append(f"{names[run[0]]}{'至' if zh else '–'}{names[run[-1]]}")
        else:
            out.extend(names[d] for d in run)
    return ("、" if zh else ", ").join(out)


# --------------------------------------------------------------------------------------------
# JSON reading
# --------------------------------------------------------------------------------------------


def _bad(msg: str, s) -> HoursParseError:
    return HoursParseError("%(problem)s: %(json)s", param="hours_json", problem=msg, json=repr(str(s)[:80]))


def _read_week(obj, key: str, own: bool, s) -> Week:
    week = obj.get(key)
    if not isinstance(week, list) or len(week) != 7:
        raise _bad(f'hours JSON "{key}" must be a list of 7 days (Monday first)', s)
    hi_end = 2 * DAY_MINUTES if own else DAY_MINUTES
    days = []
    for d, day in enumerate(week):
        if not isinstance(day, list):
            raise _bad(f'hours JSON "{key}"[{d}] must be a list of [start, end] pairs', s)
        ivs = []
        for iv in day:
            if (not isinstance(iv, list) or len(iv) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in iv)
                    or not (0 <= iv[0] < DAY_MINUTES and iv[0] < iv[1] <= hi_end)):
                raise _bad(f'hours JSON "{key}"[{d}] has an invalid interval {iv!r} (expected [start, end] '
                           f"minutes, 0 <= start < end <= {hi_end})", s)
            ivs.append((iv[0], iv[1]))
        days.append(tuple(ivs))
    return tuple(days)


def hours_from_json(s) -> OpeningHours:
    """Read hours JSON of any version (raises :class:`HoursParseError`)."""
    try:
        obj = json.loads(s)
    except (TypeError, ValueError) as exc:
        raise HoursParseError("hours JSON is not valid JSON (%(reason)s): %(json)s", param="hours_json",
                              reason=str(exc), json=repr(str(s)[:80])) from None
    if not isinstance(obj, dict):
        raise _bad('hours JSON must be an object with a "week" (version 1) or "days" (version 2) list', s)
    version = obj.get("v", 1)
    if version == 1:
        if "week" not in obj:
            raise _bad('hours JSON must be an object with a "week" list', s)
        return OpeningHours(_read_week(obj, "week", False, s))
    if version != JSON_VERSION:
        raise _bad(f"hours JSON version {version!r} is not supported (expected 1 or 2)", s)
    if obj.get("unknown"):
        reason = obj.get("reason", "")
        return OpeningHours.unknown("", reason if isinstance(reason, str) else "")
    if "days" not in obj:
        raise _bad('hours JSON version 2 must have a "days" list', s)
    days = _read_week(obj, "days", True, s)
    holiday = None
    if "ph" in obj:
        ph = _read_week({"ph": [obj["ph"]] + [[]] * 6}, "ph", True, s) if isinstance(obj["ph"], list) else None
        if ph is None:
            raise _bad('hours JSON "ph" must be a list of [start, end] pairs ([] = closed on public holidays)', s)
        holiday = ph[0]
    seasons = []
    for i, item in enumerate(obj.get("seasons") or []):
        try:
            start, end = tuple(item["from"]), tuple(item["to"])
            seasons.append(Season(start, end, _read_week(item, "days", True, s)))
        except HoursParseError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(f'hours JSON "seasons"[{i}] is not a season ({exc})', s) from None
    return OpeningHours(None, "", days=days, holiday=holiday, workdays=bool(obj.get("wd")), seasons=seasons)
