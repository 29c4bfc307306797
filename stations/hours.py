"""Opening hours of rest stations: parsing free text into a structured weekly form.

Station lists give opening hours as free text, in Chinese or in the OpenStreetMap
``opening_hours`` style. :func:`parse_hours` reads the real forms found in such lists::

    24小时  24h  全天  全天24小时  24/7
    08:00-22:00   8:00—22:00   8:30～20:30   8:00至22:00   8：00-22：00   8点-22点半
    周一至周五 09:00-17:00        星期一至星期五 9:00-17:00     工作日 9:00-17:00   周六日 10:00-16:00
    每天 08:00-20:00              周一至周日 8:30-20:30         周六、周日 10:00-16:00
    周一至周五 09:00-17:00；周六 10:00-16:00
    9:00-12:00,14:00-18:00        (split day)
    18:00-02:00                   (past midnight: spills into the next morning)
    周一至周五 08:00-20:00 周末休息
    Mo-Fr 09:00-17:00; Sa 10:00-14:00   Sa,Su 10:00-16:00   Mo-Su 08:30-20:30   off

Rules are read left to right. A rule is an optional day selector followed by time ranges,
``24小时`` or a closed word (``休息``, ``off`` ...). A rule without days applies to every day.
A later rule for the same days as the previous one adds to it (``Mo-Fr 09:00-12:00; Mo-Fr
14:00-18:00``); a later rule for other days replaces what earlier rules said about those days
(``每天 9:00-17:00；周三休息``). Public-holiday clauses (``节假日休息``, ``PH off``) are accepted and
ignored: there is no holiday calendar. Anything else raises :class:`HoursParseError` naming the part
that could not be read.

The result, :class:`OpeningHours`, holds per-weekday (Monday = 0) lists of ``(start, end)`` minute
intervals, ``0 <= start < end <= 1440``, sorted and merged. Times are Asia/Shanghai local time
(China has one time zone and no daylight saving time). ``hours_json`` in the station table is
:meth:`OpeningHours.to_json`; :func:`open_mask` answers "open at this moment?" for a whole column.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from stations.errors import HoursParseError, InputError  # noqa: F401 (HoursParseError re-exported: it lives in stations.errors)

__all__ = [
    "HoursParseError",
    "OpeningHours",
    "parse_hours",
    "open_mask",
    "to_shanghai",
    "SHANGHAI",
]

try:  # pragma: no cover - depends on the system time zone database / tzdata
    from zoneinfo import ZoneInfo

    SHANGHAI = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - no tz database: China has used UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

DAY_MINUTES = 1440
ALL_DAYS = frozenset(range(7))
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_EN_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_JSON_VERSION = 1


Interval = tuple[int, int]


# --------------------------------------------------------------------------------------------
# The structured form
# --------------------------------------------------------------------------------------------


def _normalise_day(intervals: Iterable[Sequence[int]]) -> tuple[Interval, ...]:
    items = []
    for iv in intervals:
        s, e = int(iv[0]), int(iv[1])
        if not (0 <= s < e <= DAY_MINUTES):
            raise ValueError(f"interval ({s}, {e}) is not within one day (0 <= start < end <= 1440)")
        items.append((s, e))
    items.sort()
    merged: list[list[int]] = []
    for s, e in items:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return tuple((s, e) for s, e in merged)


def _fmt_minute(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass(frozen=True, eq=False)
class OpeningHours:
    """Weekly opening hours: ``week[d]`` is a tuple of ``(start_minute, end_minute)`` for weekday ``d``.

    ``d`` = 0 is Monday. Intervals are sorted and merged, ``0 <= start < end <= 1440``; an interval
    that crosses midnight is stored as two pieces on consecutive days. ``text`` is the original text
    (not part of equality: two objects are equal when their weekly intervals are).
    """

    week: tuple[tuple[Interval, ...], ...]
    text: str = field(default="")

    def __post_init__(self):
        week = tuple(self.week)
        if len(week) != 7:
            raise ValueError(f"week must have 7 days (Monday first), got {len(week)}")
        object.__setattr__(self, "week", tuple(_normalise_day(day) for day in week))
        object.__setattr__(self, "text", "" if self.text is None else str(self.text))

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def always(cls, text: str = "24小时") -> "OpeningHours":
        return cls(tuple(((0, DAY_MINUTES),) for _ in range(7)), text)

    @classmethod
    def never(cls, text: str = "休息") -> "OpeningHours":
        return cls(tuple(() for _ in range(7)), text)

    # -- comparisons --------------------------------------------------------------------------
    def __eq__(self, other):
        if not isinstance(other, OpeningHours):
            return NotImplemented
        return self.week == other.week

    def __hash__(self):
        return hash(self.week)

    def __repr__(self):
        return f"OpeningHours({self.describe('en')!r}, text={self.text!r})"

    # -- queries ------------------------------------------------------------------------------
    @property
    def is_24h(self) -> bool:
        """Open all day every day of the week."""
        return all(day == ((0, DAY_MINUTES),) for day in self.week)

    @property
    def is_closed(self) -> bool:
        """Never open."""
        return not any(self.week)

    @property
    def weekly_minutes(self) -> int:
        """Total open minutes in a week (10080 for 24/7)."""
        return sum(e - s for day in self.week for s, e in day)

    def _open(self, weekday: int, minute: float) -> bool:
        for s, e in self.week[weekday]:
            if s <= minute < e:
                return True
        return False

    def is_open(self, at: datetime) -> bool:
        """Open at ``at``? Naive datetimes are Asia/Shanghai local time; aware ones are converted.

        The opening minute is open, the closing minute closed (09:00-17:00: open at 09:00:00 and
        16:59:59, closed at 17:00:00).
        """
        local = to_shanghai(at)
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60.0
        return self._open(local.weekday(), minute)

    def open_at_hour(self, hour: float, weekday: int = 2) -> bool:
        """Open at local clock time ``hour`` (0 <= hour < 24, fractions allowed: 8.5 = 08:30) on
        ``weekday`` (Monday = 0; default Wednesday, a typical working day)."""
        if not 0 <= hour < 24:
            raise InputError(f"hour must be in [0, 24), got {hour!r}", param="hour")
        if int(weekday) != weekday or not 0 <= weekday <= 6:
            raise InputError(f"weekday must be an integer 0 (Monday) .. 6 (Sunday), got {weekday!r}", param="weekday")
        return self._open(int(weekday), hour * 60.0)

    # -- serialisation ------------------------------------------------------------------------
    def to_json(self) -> str:
        """Compact, stable JSON: ``{"v":1,"week":[[[540,1020]],...]}`` (7 lists, Monday first)."""
        week = [[[s, e] for s, e in day] for day in self.week]
        return json.dumps({"v": _JSON_VERSION, "week": week}, separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str, text: str | None = None) -> "OpeningHours":
        """Inverse of :meth:`to_json`. ``text`` defaults to the normalised Chinese description."""
        obj = _week_from_json(s)
        if text is None:
            text = obj.describe("zh")
        return cls(obj.week, text)

    # -- description --------------------------------------------------------------------------
    def describe(self, lang: str = "zh") -> str:
        """Normalised human text that :func:`parse_hours` reads back to an equal object.

        ``"周一至周五 09:00-17:00；周六 10:00-16:00"`` / ``"Mo-Fr 09:00-17:00; Sa 10:00-16:00"``,
        ``"24小时"`` / ``"24 hours"``, ``"休息"`` / ``"off"``. Overnight opening is written as one
        range (``"18:00-02:00"``).
        """
        if lang not in ("zh", "en"):
            raise InputError(f"lang must be 'zh' or 'en', got {lang!r}", param="lang")
        zh = lang == "zh"
        if self.is_24h:
            return "24小时" if zh else "24 hours"
        if self.is_closed:
            return "休息" if zh else "off"

        # Display ranges per day: join (s, 1440) with the next day's (0, e) when e < s.
        display: list[list[tuple[int, int]]] = [list(day) for day in self.week]
        for d in range(7):
            nxt = (d + 1) % 7
            day, following = self.week[d], self.week[nxt]
            if day and following and day[-1][1] == DAY_MINUTES and day[-1][0] > 0:
                s = day[-1][0]
                fs, fe = following[0]
                if fs == 0 and fe < s:
                    display[d][-1] = (s, fe)
                    display[nxt] = [iv for iv in display[nxt] if iv != (0, fe)]

        def fmt_ranges(ranges):
            if ranges == [(0, DAY_MINUTES)]:
                return "24小时" if zh else "00:00-24:00"
            return ",".join(f"{_fmt_minute(s)}-{_fmt_minute(e)}" for s, e in ranges)

        groups: dict[tuple, list[int]] = {}
        for d in range(7):
            if display[d]:
                groups.setdefault(tuple(display[d]), []).append(d)
        parts = []
        for ranges, days in sorted(groups.items(), key=lambda kv: kv[1][0]):
            parts.append(f"{_describe_days(days, zh)} {fmt_ranges(list(ranges))}")
        return ("；" if zh else "; ").join(parts)


def _describe_days(days: list[int], zh: bool) -> str:
    if len(days) == 7:
        return "每天" if zh else "Mo-Su"
    names = _ZH_DAYS if zh else _EN_DAYS
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    out = []
    for run in runs:
        if len(run) >= 3:
            out.append(f"{names[run[0]]}{'至' if zh else '-'}{names[run[-1]]}")
        else:
            out.extend(names[d] for d in run)
    return ("、" if zh else ",").join(out)


def _week_from_json(s) -> OpeningHours:
    try:
        obj = json.loads(s)
    except (TypeError, ValueError) as exc:
        raise HoursParseError(f"hours JSON is not valid JSON ({exc}): {str(s)[:80]!r}", param="hours_json") from None
    if not isinstance(obj, dict) or "week" not in obj:
        raise HoursParseError(f'hours JSON must be an object with a "week" list: {str(s)[:80]!r}', param="hours_json")
    if obj.get("v", _JSON_VERSION) != _JSON_VERSION:
        raise HoursParseError(f"hours JSON version {obj.get('v')!r} is not supported (expected 1)", param="hours_json")
    week = obj["week"]
    if not isinstance(week, list) or len(week) != 7:
        raise HoursParseError('hours JSON "week" must be a list of 7 days (Monday first)', param="hours_json")
    days = []
    for d, day in enumerate(week):
        if not isinstance(day, list):
            raise HoursParseError(f'hours JSON "week"[{d}] must be a list of [start, end] pairs', param="hours_json")
        ivs = []
        for iv in day:
            if (not isinstance(iv, list) or len(iv) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in iv)
                    or not 0 <= iv[0] < iv[1] <= DAY_MINUTES):
                raise HoursParseError(
                    f'hours JSON "week"[{d}] has an invalid interval {iv!r} '
                    "(expected [start, end] minutes, 0 <= start < end <= 1440)", param="hours_json")
            ivs.append((iv[0], iv[1]))
        days.append(ivs)
    return OpeningHours(tuple(days))


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_RANGE_SEP = r"(?:-|–|—|―|−|‐|‑|~|〜|～|﹣|－|至|到|to(?![a-z]))+"
_PRE = r"上午|早上|早晨|凌晨|清晨|中午|下午|傍晚|晚上|夜间|夜里|晚|早|次日|翌日|第二天"


def _time_re(p: str) -> str:
    return (
        rf"(?P<{p}all>(?:(?P<{p}pre>{_PRE})\s*)?"
        rf"(?P<{p}h>\d{{1,2}})"
        rf"(?:\s*[:：.]\s*(?P<{p}m>\d{{2}})(?!\d)"
        rf"|\s*[点點时時]\s*(?:(?P<{p}m2>\d{{1,2}})\s*分?|(?P<{p}half>半))?)?"
        rf"(?:\s*(?P<{p}ap>a\.?m\.?|p\.?m\.?)(?![a-z]))?)"
    )


_FLAGS = re.IGNORECASE
_DAY_CN = "一二三四五六日天七"
_EN_DAY = (r"(?:mon(?:day)?|mo|tue(?:s(?:day)?)?|tu|wed(?:nesday)?|we|thu(?:r(?:s(?:day)?)?)?|th"
           r"|fri(?:day)?|fr|sat(?:urday)?|sa|sun(?:day)?|su)")

_TOKENS: list[tuple[str, re.Pattern]] = [
    ("SEP", re.compile(r"(?:[\s;,.、/|&+()\[\]{}<>【】（）〔〕「」『』。:：'\"]|和|及|以及|and(?![a-z]))+", _FLAGS)),
    ("H24", re.compile(
        r"24\s*/\s*7|全天\s*24\s*(?:小时|小時|h)|24\s*(?:小时|小時)|24\s*(?:hours?|hrs?|h)(?![a-z])"
        r"|全天候|全天|全日|通宵|round\s+the\s+clock|around\s+the\s+clock", _FLAGS)),
    ("RANGE", re.compile(_time_re("a") + r"\s*" + _RANGE_SEP + r"\s*" + _time_re("b") + r"(?!\d)", _FLAGS)),
    ("TIME", re.compile(_time_re("a"), _FLAGS)),
    ("DAYS_CNLIST", re.compile(rf"每?(?:周|週|星期|礼拜|禮拜)(?P<list>[{_DAY_CN}]{{2,}})", _FLAGS)),
    ("DAYS_CN", re.compile(
        rf"每?(?:周|週|星期|礼拜|禮拜)(?P<d1>[{_DAY_CN}1-7])"
        rf"(?:\s*{_RANGE_SEP}\s*(?:(?:周|週|星期|礼拜|禮拜)(?P<d2>[{_DAY_CN}1-7])|(?P<d2b>[{_DAY_CN}]|[1-7](?![\d:.点]))))?", _FLAGS)),
    ("DAYS_EN", re.compile(
        rf"(?<![a-z])(?P<e1>{_EN_DAY})(?![a-z])(?:\s*(?:-|–|—|~|to)\s*(?P<e2>{_EN_DAY})(?![a-z]))?", _FLAGS)),
    ("GROUP", re.compile(
        r"工作日|周末|週末|双休日|每天|每日|天天|全周|全年无休|无休|一周七天|七天"
        r"|(?<![a-z])(?:daily|every\s*day|week\s*days?|week\s*ends?)(?![a-z])", _FLAGS)),
    ("HOLIDAY", re.compile(
        r"(?:国家)?(?:法定|公共|公众)?(?:节假日|假日|节日|假期)|(?<![a-z])(?:ph|sh|public\s+holidays?|holidays?)(?![a-z])",
        _FLAGS)),
    ("OPENWORD", re.compile(r"照常营业|照常开放|正常营业|正常开放|照常|正常|不休", _FLAGS)),
    ("CLOSED", re.compile(
        r"暂停营业|停止营业|暂停开放|停业|歇业|休息|休馆|闭馆|关闭|关门|不开放|不营业|除外|休"
        r"|(?<![a-z])(?:off|closed?)(?![a-z])", _FLAGS)),
    ("FILLER", re.compile(
        r"营业时间|開放時間|开放时间|服务时间|服務時間|办公时间|工作时间|时间|時間|营业|開放|开放|开门|对外|服务|每周|全年|均|为|是|从|自|起"
        r"|(?<![a-z])(?:opening|open|hours?|from)(?![a-z])", _FLAGS)),
]

_CN_NUM = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
           "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_GROUPS = {"工作日": range(0, 5), "周末": range(5, 7), "週末": range(5, 7), "双休日": range(5, 7)}


def _en_day(name: str) -> int:
    return {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}[name[:2].lower()]


def _day_range(a: int, b: int | None) -> frozenset[int]:
    if b is None:
        return frozenset([a])
    n = (b - a) % 7
    return frozenset((a + i) % 7 for i in range(n + 1))


def _group_days(word: str) -> frozenset[int]:
    w = re.sub(r"\s+", "", word.lower())
    if w in _GROUPS:
        return frozenset(_GROUPS[w])
    if w.startswith("weekday"):
        return frozenset(range(5))
    if w.startswith("weekend"):
        return frozenset((5, 6))
    return ALL_DAYS


class _Rule:
    __slots__ = ("days", "explicit", "holiday", "intervals", "closed", "label")

    def __init__(self, days, explicit, label, holiday=False):
        self.days: frozenset[int] = days
        self.explicit = explicit
        self.holiday = holiday
        self.intervals: list[tuple[int, int]] = []  # may end beyond 1440 (spill)
        self.closed = False
        self.label = label

    @property
    def has_content(self) -> bool:
        return bool(self.intervals) or self.closed


def _time_minutes(m: re.Match, p: str, text: str, is_end: bool) -> tuple[int, bool]:
    """Minutes since midnight of one side of a range (and whether it said 次日/next day)."""
    h = int(m.group(p + "h"))
    mm = m.group(p + "m") or m.group(p + "m2")
    minute = int(mm) if mm else (30 if m.group(p + "half") else 0)
    pre = m.group(p + "pre") or ""
    ap = (m.group(p + "ap") or "").lower().replace(".", "")
    raw = m.group(p + "all")
    if minute > 59:
        raise HoursParseError(f"invalid minute in {raw.strip()!r} (in {text!r})")
    if ap:
        if not 1 <= h <= 12:
            raise HoursParseError(f"invalid 12-hour time {raw.strip()!r} (in {text!r})")
        h = h % 12 + (12 if ap == "pm" else 0)
    elif pre in ("下午", "傍晚", "晚上", "夜间", "夜里", "晚") and h < 12:
        h += 12
    elif pre == "中午" and h < 11:
        h += 12
    next_day = pre in ("次日", "翌日", "第二天")
    if h > 24 or (h == 24 and minute):
        raise HoursParseError(f"invalid time {raw.strip()!r}: hour must be 0-24 (in {text!r})")
    if h == 24 and not is_end:
        raise HoursParseError(f"invalid start time {raw.strip()!r}: 24:00 can only end a range (in {text!r})")
    return h * 60 + minute, next_day


def _has_marker(m: re.Match, p: str) -> bool:
    return bool(m.group(p + "m") or m.group(p + "m2") or m.group(p + "half") or m.group(p + "ap")
                or re.search(r"[点點时時]", m.group(p + "all")))


def _read_range(m: re.Match, text: str) -> tuple[int, int]:
    raw = m.group(0).strip()
    s, s_next = _time_minutes(m, "a", text, is_end=False)
    e, e_next = _time_minutes(m, "b", text, is_end=True)
    if s_next:
        raise HoursParseError(f"a range cannot start on the next day: {raw!r} (in {text!r})")
    if e_next:
        e += DAY_MINUTES
    elif e < s or (e == 0 and s > 0):
        e += DAY_MINUTES  # past midnight: 18:00-02:00, 20:00-00:00
    elif e == s:
        if s == 0:
            e = DAY_MINUTES  # 00:00-00:00: the whole day
        else:
            raise HoursParseError(f"range {raw!r} starts and ends at the same time (in {text!r})")
    if e - s > DAY_MINUTES:
        raise HoursParseError(f"range {raw!r} is longer than 24 hours (in {text!r})")
    return s, e


def _snippet(text: str, pos: int) -> str:
    m = re.compile(r"[^\s;,、，；]{1,20}").match(text, pos)
    return m.group(0) if m else text[pos:pos + 20]


def _days_label(days: frozenset[int]) -> str:
    return _describe_days(sorted(days), True) if days else "?"


@lru_cache(maxsize=8192)
def _parse_week(norm: str) -> tuple[tuple[Interval, ...], ...]:
    text = norm
    rules: list[_Rule] = []
    cur: _Rule | None = None

    def finish():
        nonlocal cur
        if cur is None:
            return
        if not cur.has_content and not cur.holiday:
            prev = rules[-1] if rules else None
            if prev is not None and not prev.explicit and not prev.holiday:
                # "8:30-20:30（周一至周日）": days written after the times
                prev.days, prev.explicit = cur.days, True
            else:
                raise HoursParseError(f"no hours given for {cur.label!r} (in {text!r})")
        else:
            rules.append(cur)
        cur = None

    pos, n = 0, len(text)
    while pos < n:
        for kind, pat in _TOKENS:
            m = pat.match(text, pos)
            if m and m.end() > pos:
                break
        else:
            raise HoursParseError(
                f"cannot read {_snippet(text, pos)!r} at character {pos + 1} of {text!r}")
        pos = m.end()
        if kind in ("SEP", "FILLER"):
            continue
        if kind in ("DAYS_CN", "DAYS_CNLIST", "DAYS_EN", "GROUP"):
            if kind == "DAYS_CNLIST":  # 周六日, 周一三五
                days = frozenset(_CN_NUM[c] for c in m.group("list"))
            elif kind == "DAYS_CN":
                d2 = m.group("d2") or m.group("d2b")
                days = _day_range(_CN_NUM[m.group("d1")], _CN_NUM[d2] if d2 else None)
            elif kind == "DAYS_EN":
                e2 = m.group("e2")
                days = _day_range(_en_day(m.group("e1")), _en_day(e2) if e2 else None)
            else:
                days = _group_days(m.group(0))
            if cur is not None and cur.explicit and not cur.holiday and not cur.has_content:
                cur.days = cur.days | days
                cur.label = f"{cur.label} {m.group(0).strip()}"
            else:
                finish()
                cur = _Rule(days, True, m.group(0).strip())
        elif kind == "HOLIDAY":
            finish()
            cur = _Rule(frozenset(), True, m.group(0).strip(), holiday=True)
        elif kind in ("RANGE", "H24"):
            if cur is None:
                cur = _Rule(ALL_DAYS, False, "")
            cur.intervals.append(_read_range(m, text) if kind == "RANGE" else (0, DAY_MINUTES))
        elif kind == "TIME":
            if not _has_marker(m, "a"):
                raise HoursParseError(
                    f"cannot read {_snippet(text, m.start())!r} at character {m.start() + 1} of {text!r}")
            raise HoursParseError(
                f"time {m.group(0).strip()!r} has no end (expected a range like 09:00-17:00) in {text!r}")
        elif kind == "CLOSED":
            if cur is None:
                cur = _Rule(ALL_DAYS, False, "")
            cur.closed = True
        elif kind == "OPENWORD":
            if cur is None or not cur.holiday:
                raise HoursParseError(
                    f"{m.group(0)!r} without hours: give the times (in {text!r})")
    finish()
    if not rules:
        raise HoursParseError(f"no opening hours found in {text!r}")

    own: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    owner: list[frozenset | None] = [None] * 7
    spill: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for rule in rules:
        if rule.holiday:
            continue
        for d in rule.days:
            if owner[d] != rule.days:
                own[d] = []
                owner[d] = rule.days
        for s, e in rule.intervals:
            for d in rule.days:
                own[d].append((s, min(e, DAY_MINUTES)))
                if e > DAY_MINUTES:
                    spill[(d + 1) % 7].append((0, e - DAY_MINUTES))
    return tuple(_normalise_day(own[d] + spill[d]) for d in range(7))


def _normalise_text(text: str) -> str:
    t = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", t).strip()


def parse_hours(text: str) -> OpeningHours:
    """Parse opening-hours text into :class:`OpeningHours`; raise :class:`HoursParseError`.

    The error message names the part that could not be read, e.g.
    ``cannot read '看情况' at character 1 of '看情况'``.
    """
    if text is None or (isinstance(text, float) and text != text):
        raise HoursParseError("opening hours are missing")
    if not isinstance(text, str):
        raise HoursParseError(f"opening hours must be text, got {type(text).__name__}")
    original = text.strip()
    if not original:
        raise HoursParseError("opening hours are empty")
    return OpeningHours(_parse_week(_normalise_text(original)), original)


# --------------------------------------------------------------------------------------------
# Time zone and vectorised queries
# --------------------------------------------------------------------------------------------


def to_shanghai(at: datetime) -> datetime:
    """Naive datetimes are taken as Asia/Shanghai local time; aware ones are converted to it."""
    if not isinstance(at, datetime):
        raise TypeError(f"expected a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
        return at
    return at.astimezone(SHANGHAI)


@lru_cache(maxsize=4096)
def _cached_hours(value: str) -> OpeningHours:
    s = value.strip()
    if s.startswith("{"):
        return _week_from_json(s)
    return parse_hours(s)


def open_mask(hours, at: datetime, errors: str = "raise") -> np.ndarray:
    """Boolean array: which of ``hours`` say open at ``at`` (naive = Asia/Shanghai).

    ``hours`` is a list / Series / array of ``hours_json`` strings (``to_json`` output); plain
    opening-hours text and :class:`OpeningHours` objects are accepted too. Missing values (None,
    NaN, "") count as closed. Each distinct value is parsed once (cached), so 200,000 stations with a
    handful of distinct hours take milliseconds. ``errors="closed"`` treats unreadable values as
    closed instead of raising :class:`HoursParseError`.
    """
    import pandas as pd

    if errors not in ("raise", "closed"):
        raise ValueError(f"errors must be 'raise' or 'closed', got {errors!r}")
    local = to_shanghai(at)
    weekday = local.weekday()
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60.0
    if isinstance(hours, (pd.Series, pd.Index)):
        values = hours.to_numpy(dtype=object)
    elif isinstance(hours, np.ndarray):
        values = hours.astype(object, copy=False).ravel()
    else:
        values = np.empty(len(hours := list(hours)), dtype=object)
        values[:] = hours
    if values.size == 0:
        return np.zeros(0, dtype=bool)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    answers = np.zeros(len(uniques) + 1, dtype=bool)  # last slot: missing (code -1)
    for i, v in enumerate(uniques):
        if isinstance(v, OpeningHours):
            oh = v
        elif isinstance(v, str):
            if not v.strip():
                continue
            try:
                oh = _cached_hours(v)
            except HoursParseError:
                if errors == "raise":
                    raise
                continue
        else:
            if errors == "raise":
                raise HoursParseError(f"hours value must be a JSON string, got {type(v).__name__}: {v!r}", param="hours_json")
            continue
        answers[i] = oh._open(weekday, minute)
    return answers[codes]
