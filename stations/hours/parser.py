"""Reading opening-hours text: :func:`parse_hours`. The forms read and refused are listed in the package
docstring (:mod:`stations.hours`) and in ``docs/opening-hours.md``.

The text is normalised (NFKC: full-width digits, colons and brackets become ASCII), season markers are
split off (:func:`_split_seasons`), then each part is cut into tokens (:data:`_TOKENS`, tried in order at
each position) and the tokens are read left to right into rules (:func:`_read_rules`).
"""

from __future__ import annotations

import calendar as _cal
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from stations.errors import HoursParseError

from .model import ALL_DAYS, DAY_MINUTES, EMPTY_WEEK, OpeningHours, Season, Week, fold, normalise_own, \
    season_days_covered, subtract

__all__ = ["parse_hours"]

# --------------------------------------------------------------------------------------------
# tokens
# --------------------------------------------------------------------------------------------

_RANGE_SEP = r"(?:-|–|—|―|−|‐|‑|~|〜|～|﹣|－|至|到|to(?![a-z]))+"
_NEXT = r"次日|翌日|第二天|隔天"
_PRE = r"上午|早上|早晨|凌晨|清晨|中午|下午|傍晚|晚上|夜间|夜里|晚|早"
_MORNING = r"早上|早晨|上午|早"
_EVENING = r"晚上|下午|傍晚|晚"
_CN_HOUR = r"二十[一二三四]?|十[一二三四五六七八九]?|[零〇一二两三四五六七八九]"
_CN_MIN = r"[一二三四五]十[一二三四五六七八九]?|十[一二三四五六七八九]?|零[一二三四五六七八九]"
_PM_WORDS = {"下午", "傍晚", "晚上", "夜间", "夜里", "晚"}
_NIGHT_WORDS = {"晚上", "夜间", "夜里", "晚"}


def _time_re(p: str, pre: str = _PRE, pre_required: bool = False) -> str:
    pre_part = rf"(?P<{p}pre>{pre})\s*:?\s*" if pre_required else rf"(?:(?P<{p}pre>{pre})\s*:?\s*)?"
    return (
        rf"(?P<{p}all>(?:(?P<{p}nx>{_NEXT})\s*)?{pre_part}"
        rf"(?:(?P<{p}h>\d{{1,2}})"
        rf"(?:\s*[:：.]\s*(?P<{p}m>\d{{2}})(?!\d)"
        rf"|\s*[点點时時]\s*(?:(?P<{p}m2>\d{{1,2}})\s*分?|(?P<{p}half>半))?)?"
        rf"|(?P<{p}hc>{_CN_HOUR})\s*[点點时時]\s*(?:(?P<{p}mc>{_CN_MIN})\s*分?|(?P<{p}halfc>半))?)"
        rf"(?:\s*(?P<{p}ap>a\.?m\.?|p\.?m\.?)(?![a-z]))?)"
    )


_FLAGS = re.IGNORECASE
_DAY_CN = "一二三四五六日天七"
_EN_DAY = (r"(?:mon(?:day)?|mo|tue(?:s(?:day)?)?|tu|wed(?:nesday)?|we|thu(?:r(?:s(?:day)?)?)?|th"
           r"|fri(?:day)?|fr|sat(?:urday)?|sa|sun(?:day)?|su)")

_TOKENS: list[tuple[str, re.Pattern]] = [
    ("SEP", re.compile(r"(?:[\s;,.、/|&+()\[\]{}<>【】（）〔〕「」『』。:：'\"]|和|及|以及|与|and(?![a-z]))+", _FLAGS)),
    ("H24", re.compile(
        r"24\s*/\s*7|全天\s*24\s*(?:小时|小時|h)|24\s*(?:小时|小時)|二十四\s*(?:小时|小時)"
        r"|24\s*(?:hours?|hrs?|h)(?![a-z])|全天候|全天|全日|通宵|round\s+the\s+clock|around\s+the\s+clock",
        _FLAGS)),
    ("RANGE", re.compile(
        _time_re("a") + r"\s*" + _RANGE_SEP + r"\s*" + _time_re("b") + r"(?!\d)"
        r"(?:\s*\(?\s*(?P<nd>next\s+day)\s*\)?)?", _FLAGS)),
    # 早8晚8: a morning time and an evening time with nothing between them
    ("RANGE", re.compile(_time_re("a", _MORNING, True) + r"\s*" + _time_re("b", _EVENING, True) + r"(?!\d)",
                         _FLAGS)),
    ("TIME", re.compile(_time_re("a"), _FLAGS)),
    ("DAYS_CNLIST", re.compile(rf"每?(?:周|週|星期|礼拜|禮拜)(?P<list>[{_DAY_CN}]{{2,}})", _FLAGS)),
    ("DAYS_CN", re.compile(
        rf"每?(?:周|週|星期|礼拜|禮拜)(?P<d1>[{_DAY_CN}1-7])"
        rf"(?:\s*{_RANGE_SEP}\s*(?:(?:周|週|星期|礼拜|禮拜)(?P<d2>[{_DAY_CN}1-7])|(?P<d2b>[{_DAY_CN}]|[1-7](?![\d:.点]))))?",
        _FLAGS)),
    ("DAYS_EN", re.compile(
        rf"(?<![a-z])(?P<e1>{_EN_DAY})(?![a-z])(?:\s*(?:-|–|—|~|to)\s*(?P<e2>{_EN_DAY})(?![a-z]))?", _FLAGS)),
    ("GROUP", re.compile(
        r"(?:国家)?法定工作日|非工作日|工作日|周末|週末|双休日|每天|每日|天天|全周|全年无休|无休|一周七天|七天"
        r"|(?<![a-z])(?:daily|every\s*day|working\s+days?|work\s*days?|week\s*days?|week\s*ends?)(?![a-z])",
        _FLAGS)),
    ("HOLIDAY", re.compile(
        r"(?:国家)?(?:法定|公共|公众)?(?:节假日|假日|节日|假期)"
        r"|(?<![a-z])(?:ph|public\s+holidays?|holidays?)(?![a-z])", _FLAGS)),
    ("FESTIVAL", re.compile(r"春节|元旦|清明节?|五一|劳动节|端午节?|中秋节?|国庆节?|十一黄金周|黄金周|除夕|寒假|暑假")),
    ("CALFLAG", re.compile(r"按(?:国家)?法定工作日|(?<![a-z])official\s+working\s+days(?![a-z])", _FLAGS)),
    ("BREAK", re.compile(
        r"午休(?:时间|時間)?|午间休息|午間休息|中午休息|午餐时间"
        r"|(?<![a-z])(?:lunch(?:\s+break)?|break)(?![a-z])", _FLAGS)),
    ("OPENWORD", re.compile(r"照常营业|照常开放|正常营业|正常开放|照常|正常|不休", _FLAGS)),
    ("CLOSED", re.compile(
        r"暂停营业|停止营业|暂停开放|停业|歇业|休息|休馆|闭馆|閉館|闭店|关闭|关门|不对外开放|不开放|不营业|除外|休"
        r"|(?<![a-z])(?:off|closed?)(?![a-z])", _FLAGS)),
    ("FILLER", re.compile(
        r"营业时间|開放時間|开放时间|服务时间|服務時間|办公时间|工作时间|时间|時間|营业|開放|开放|开门|对外|服务"
        r"|中午不休息?|午间不休息?|每周|全年|期间|均|为|是|从|自|起|逢|如遇|遇到|遇"
        r"|(?<![a-z])(?:opening|open|hours?|from|on)(?![a-z])", _FLAGS)),
]

_CONTENT = {"RANGE", "H24", "CLOSED"}
_DAY_KINDS = {"DAYS_CN", "DAYS_CNLIST", "DAYS_EN", "GROUP"}

_CN_NUM = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
           "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_GROUPS = {"工作日": range(0, 5), "法定工作日": range(0, 5), "国家法定工作日": range(0, 5), "非工作日": range(5, 7),
           "周末": range(5, 7), "週末": range(5, 7), "双休日": range(5, 7)}

_UNKNOWN = re.compile(
    r"(?:(?:营业|开放|服务|办公)?时间)?(?:不详|未知|待定|不定|不固定)|(?:opening\s+)?(?:hours\s+)?unknown",
    _FLAGS)


def _cn_number(s: str) -> int:
    if "十" in s:
        left, _, right = s.partition("十")
        return (_CN_DIGIT[left] if left else 1) * 10 + (_CN_DIGIT[right] if right else 0)
    return _CN_DIGIT[s]


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
    if w.startswith(("weekday", "working", "workday")):
        return frozenset(range(5))
    if w.startswith("weekend"):
        return frozenset((5, 6))
    return ALL_DAYS


def _snippet(text: str, pos: int) -> str:
    m = re.compile(r"[^\s;,、，；]{1,20}").match(text, pos)
    return m.group(0) if m else text[pos:pos + 20]


def _tokens(text: str, whole: str) -> list[tuple[str, re.Match]]:
    out = []
    pos, n = 0, len(text)
    while pos < n:
        for kind, pat in _TOKENS:
            m = pat.match(text, pos)
            if m and m.end() > pos:
                break
        else:
            m = None
        if m is None or (kind == "TIME" and not _has_marker(m)):  # a bare number is not a time
            offset = whole.find(text) if text in whole else 0
            raise HoursParseError("cannot read %(part)s at character %(pos)d of %(text)s",
                                  part=repr(_snippet(text, pos)), pos=offset + pos + 1, text=repr(whole))
        out.append((kind, m))
        pos = m.end()
    return out


# --------------------------------------------------------------------------------------------
# times and ranges
# --------------------------------------------------------------------------------------------


@dataclass
class _Side:
    h: int
    minute: int
    pre: str
    nx: bool
    ap: str
    raw: str
    h_text: str  # the hour as written ("08", "8", "八")


def _side(m: re.Match, p: str, text: str) -> _Side:
    g = m.group
    if g(p + "h") is not None:
        h_text = g(p + "h")
        h = int(h_text)
        mm = g(p + "m") or g(p + "m2")
        minute = int(mm) if mm else (30 if g(p + "half") else 0)
    else:
        h_text = g(p + "hc")
        h = _cn_number(h_text)
        minute = _cn_number(g(p + "mc").rstrip("分")) if g(p + "mc") else (30 if g(p + "halfc") else 0)
    raw = g(p + "all").strip()
    if minute > 59:
        raise HoursParseError("invalid minute in %(time)s (in %(text)s)", time=repr(raw), text=repr(text))
    return _Side(h, minute, g(p + "pre") or "", bool(g(p + "nx")),
                 (g(p + "ap") or "").lower().replace(".", ""), raw, h_text)


def _clock(side: _Side, text: str, is_end: bool, pre: str | None = None, ap: str | None = None) -> int:
    """Minutes since midnight of one side of a range; ``pre``/``ap`` override the side's own words."""
    h, minute = side.h, side.minute
    pre = side.pre if pre is None else pre
    ap = side.ap if ap is None else ap
    if ap:
        if not 1 <= h <= 12:
            raise HoursParseError("invalid 12-hour time %(time)s (in %(text)s)", time=repr(side.raw), text=repr(text))
        h = h % 12 + (12 if ap == "pm" else 0)
    elif pre in _PM_WORDS and h < 12:
        h += 12
    elif pre in _NIGHT_WORDS and h == 12:
        h = 24 if is_end else 0  # 晚上12点: midnight
    elif pre == "中午" and h < 11:
        h += 12
    if h > 24 or (h == 24 and minute):
        raise HoursParseError("invalid time %(time)s: hour must be 0-24 (in %(text)s)", time=repr(side.raw),
                              text=repr(text))
    if h == 24 and not is_end:
        raise HoursParseError("invalid start time %(time)s: 24:00 can only end a range (in %(text)s)",
                              time=repr(side.raw), text=repr(text))
    return h * 60 + minute


def _has_marker(m: re.Match) -> bool:
    return bool(m.group("am") or m.group("am2") or m.group("ahalf") or m.group("aap") or m.group("ahc")
                or re.search(r"[点點时時]", m.group("aall")))


def _fmt(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _read_range(m: re.Match, text: str) -> tuple[int, int]:
    """``(start, end)`` minutes; an end past midnight is above 1440.

    A part-of-day word on the start (下午, 晚上, 上午 ...) also applies to an end written without one when
    that keeps the end after the start (下午2:30-5:30 = 14:30-17:30; 晚上8:00-2:00 stays 20:00-02:00).
    A 12-hour end that could be the same afternoon or the next morning (8:30-5:30) is refused.
    """
    raw = m.group(0).strip()
    a, b = _side(m, "a", text), _side(m, "b", text)
    if a.nx:
        raise HoursParseError("a range cannot start on the next day: %(range)s (in %(text)s)", range=repr(raw),
                              text=repr(text))
    s = _clock(a, text, is_end=False)
    e_raw = _clock(b, text, is_end=True)
    e = e_raw
    b_explicit = bool(b.pre or b.ap or b.nx)
    if not b_explicit and a.pre:
        try:
            inherited = _clock(b, text, is_end=True, pre=a.pre)
        except HoursParseError:
            inherited = None
        if inherited is not None and inherited > s:
            e = inherited
    if b.ap and not a.ap and not a.pre and a.h <= 12:
        try:
            s_pm = _clock(a, text, is_end=False, ap=b.ap)
        except HoursParseError:
            s_pm = None
        if s_pm is not None and s_pm < e:
            s = s_pm
    next_day = b.nx or bool(m.groupdict().get("nd"))
    if next_day:
        e += DAY_MINUTES
    elif e < s or (e == 0 and s > 0):
        if (e == e_raw and not b_explicit and not b.h_text.startswith("0") and 1 <= b.h <= 11
                and a.h <= 12 and e + 720 > s):
            raise HoursParseError(
                "%(range)s is ambiguous: %(end)s could be %(pm)s the same day or %(am)s the next morning; "
                "write %(start)s-%(pm)s, or %(start)s-次日%(am)s for hours past midnight (in %(text)s)",
                range=repr(raw), end=b.raw, pm=_fmt(e + 720), am=_fmt(e), start=_fmt(s), text=repr(text))
        e += DAY_MINUTES  # past midnight: 18:00-02:00, 20:00-00:00
    elif e == s:
        if s == 0:
            e = DAY_MINUTES  # 00:00-00:00: the whole day
        else:
            raise HoursParseError("range %(range)s starts and ends at the same time (in %(text)s)", range=repr(raw),
                                  text=repr(text))
    if e - s > DAY_MINUTES:
        raise HoursParseError("range %(range)s is longer than 24 hours (in %(text)s)", range=repr(raw),
                              text=repr(text))
    return s, e


# --------------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------------


class _Rule:
    __slots__ = ("days", "explicit", "holiday", "intervals", "closed", "same", "label", "for_break")

    def __init__(self, days, explicit, label, holiday=False):
        self.days: frozenset[int] = days
        self.explicit = explicit
        self.holiday = holiday
        self.intervals: list[tuple[int, int]] = []
        self.closed = False
        self.same = False  # 节假日照常: holidays as usual
        self.label = label
        self.for_break = False

    @property
    def has_content(self) -> bool:
        return bool(self.intervals) or self.closed or self.same


@dataclass
class _Parsed:
    days: Week
    holiday: tuple | None
    holiday_same: bool
    workdays: bool


def _days_of(kind: str, m: re.Match) -> frozenset[int]:
    if kind == "DAYS_CNLIST":  # 周六日, 周一三五
        return frozenset(_CN_NUM[c] for c in m.group("list"))
    if kind == "DAYS_CN":
        d2 = m.group("d2") or m.group("d2b")
        return _day_range(_CN_NUM[m.group("d1")], _CN_NUM[d2] if d2 else None)
    if kind == "DAYS_EN":
        e2 = m.group("e2")
        return _day_range(_en_day(m.group("e1")), _en_day(e2) if e2 else None)
    return _group_days(m.group(0))


def _read_rules(text: str, whole: str) -> _Parsed:
    """Read one text without season markers into own weekly ranges, holiday hours and the 工作日 flag."""
    toks = _tokens(text, whole)
    rules: list[_Rule] = []
    breaks: list[tuple[frozenset[int], int, int, str]] = []
    workdays = False
    cur: _Rule | None = None
    pending_break: tuple[frozenset[int], str] | None = None
    content: list[int] = []  # indices of the tokens that are not separators or filler
    last_range: tuple[_Rule, tuple[int, int], int] | None = None  # rule, interval, token index
    W = repr(whole)

    def err(template: str, **values):
        return HoursParseError(template + " (in %(text)s)", text=W, **values)

    def finish():
        nonlocal cur
        if cur is None:
            return
        if cur.for_break and not cur.has_content:
            pass
        elif not cur.has_content:
            prev = rules[-1] if rules else None
            if (prev is not None and not prev.explicit and not prev.holiday and prev.intervals
                    and cur.days and not cur.holiday):
                prev.days, prev.explicit = cur.days, True  # "8:30-20:30（周一至周日）": days after the times
            else:
                raise err("no hours given for %(days)s", days=repr(cur.label))
        else:
            rules.append(cur)
        cur = None

    def joined_to_previous(this_kind: str, m: re.Match) -> bool:
        """Days and a holiday word make one list only when joined by a conjunction (周末及节假日, 周六、周日、
        节假日, Su,PH is OSM's list): after a comma or a bracket they are separate (8:30-17:30，周一至周五，
        法定节假日休息)."""
        if not content:
            return False
        between = text[toks[content[-1]][1].end():m.start()]
        return bool(re.fullmatch(r"\s*(?:、|&|\+|及|和|与|以及|and)?\s*", between, _FLAGS)) or (
            between.strip() == "," and toks[content[-1]][0] == "DAYS_EN" and this_kind == "HOLIDAY"
            and m.group(0).upper() == "PH")

    def next_content(i: int) -> str | None:
        for k, _m in toks[i + 1:]:
            if k not in ("SEP", "FILLER"):
                return k
        return None

    def take_last_range_as_break(word: str) -> bool:
        """``12:00-13:30午休`` / ``12:00-14:00休息``: the range just read was the break."""
        nonlocal last_range
        if (last_range is None or cur is None or last_range[0] is not cur or not content
                or content[-1] != last_range[2] or len(cur.intervals) < 2):
            return False
        cur.intervals.remove(last_range[1])
        breaks.append((ALL_DAYS, *last_range[1], word))
        last_range = None
        return True

    for i, (kind, m) in enumerate(toks):
        if kind in ("SEP", "FILLER"):
            continue
        word = m.group(0).strip()
        if kind in _DAY_KINDS:
            days = _days_of(kind, m)
            w = re.sub(r"\s+", "", word.lower())
            if "工作日" in w and w != "非工作日" or w.startswith(("working", "workday")):
                workdays = True
            is_hol = w == "非工作日"
            if (cur is not None and cur.explicit and not cur.has_content and not cur.for_break
                    and (not cur.holiday or joined_to_previous(kind, m))):
                cur.days = cur.days | days
                cur.holiday = cur.holiday or is_hol
                cur.label = f"{cur.label} {word}"
            else:
                finish()
                cur = _Rule(days, True, word, holiday=is_hol)
        elif kind == "HOLIDAY":
            if (cur is not None and cur.explicit and not cur.has_content and not cur.for_break
                    and joined_to_previous(kind, m)):
                cur.holiday = True
                cur.label = f"{cur.label} {word}"
            else:
                finish()
                cur = _Rule(frozenset(), True, word, holiday=True)
        elif kind == "CALFLAG":
            workdays = True
        elif kind == "FESTIVAL":
            raise err("hours for one festival (%(word)s) are not supported: 法定节假日休息 closes on every official "
                      "holiday (the calendar knows each year's dates)", word=repr(word))
        elif kind == "RANGE" or kind == "H24":
            iv = _read_range(m, whole) if kind == "RANGE" else (0, DAY_MINUTES)
            if pending_break is not None:
                if kind == "H24":
                    raise err("a lunch break cannot last all day: %(part)s", part=repr(word))
                breaks.append((pending_break[0], *iv, pending_break[1]))
                pending_break = None
            else:
                if cur is None or cur.for_break or cur.closed or cur.same:
                    finish()
                    cur = _Rule(ALL_DAYS, False, "")
                cur.intervals.append(iv)
                last_range = (cur, iv, i)
        elif kind == "TIME":
            raise err("time %(time)s has no end (expected a range like 09:00-17:00)", time=repr(word))
        elif kind == "BREAK":
            if pending_break is not None:
                raise err("lunch break %(word)s has no times", word=repr(pending_break[1]))
            if next_content(i) == "RANGE":
                if cur is not None and cur.explicit and not cur.has_content and not cur.for_break:
                    cur.for_break = True  # 周一至周五午休12:00-13:30: the break's own days
                    pending_break = (cur.days, word)
                else:
                    pending_break = (ALL_DAYS, word)
            elif not take_last_range_as_break(word):
                raise err("lunch break %(word)s has no times (write e.g. 午休12:00-13:30)", word=repr(word))
        elif kind == "CLOSED":
            if pending_break is not None:
                raise err("lunch break %(word)s has no times", word=repr(pending_break[1]))
            if word == "除外" and cur is not None and cur.holiday and not cur.has_content and len(content) >= 2:
                if toks[content[-2]][0] == "CLOSED" and rules and rules[-1].closed and rules[-1].explicit:
                    raise err("closing days lifted on public holidays (%(part)s) are not supported: give the "
                              "holiday hours instead, e.g. 法定节假日 9:00-17:00",
                              part=repr(f"{rules[-1].label}…{cur.label}除外"))
            if take_last_range_as_break(word):
                pass
            else:
                if cur is None:
                    cur = _Rule(ALL_DAYS, False, "")
                if cur.intervals:
                    raise err("%(part)s after opening hours for the same days: write the closing days "
                              "(周一休息) or the break times (午休12:00-13:30)", part=repr(word))
                cur.closed = True
        elif kind == "OPENWORD":
            if cur is None or not cur.holiday or cur.intervals or cur.closed:
                raise err("%(word)s without hours: give the times", word=repr(word))
            cur.same = True
        content.append(i)
    finish()
    if pending_break is not None:
        raise err("lunch break %(word)s has no times", word=repr(pending_break[1]))
    if not rules and not breaks:
        raise err("no opening hours found")
    return _assemble(rules, breaks, workdays, err)


def _assemble(rules: list[_Rule], breaks, workdays: bool, err) -> _Parsed:
    open_rules = [r for r in rules if r.intervals]
    closed_rules = [r for r in rules if r.closed]
    if not open_rules:
        dated = [r for r in closed_rules if r.explicit or r.holiday]
        if dated or breaks or any(r.same for r in rules):
            what = "、".join(r.label for r in dated) or (breaks[0][3] if breaks else "照常")
            raise err("only closing days or breaks given (%(what)s), no opening hours: add the hours, "
                      "e.g. 9:00-17:00，%(example)s", what=repr(what), example=(dated[0].label + "休息") if dated
                      else "午休12:00-13:30")
        return _Parsed(EMPTY_WEEK, None, False, workdays)  # 休息 / off / closed: never open
    for r in closed_rules:
        if not r.explicit and not r.holiday:
            raise err("%(word)s without days contradicts the opening hours given; say which days are closed "
                      "(周一休息)", word="休息/off")

    own: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    owner: list[frozenset | None] = [None] * 7
    holiday: list[tuple[int, int]] | None = None
    for rule in open_rules:
        if rule.holiday:
            holiday = (holiday or []) + rule.intervals
        for d in rule.days:
            if owner[d] != rule.days:
                own[d] = []
                owner[d] = rule.days
            own[d].extend(rule.intervals)
    holiday_closed = any(r.holiday for r in closed_rules)
    if holiday_closed and holiday is not None:
        raise err("public holidays are given both hours and 休息; keep one")
    if holiday_closed:
        holiday = []
    for rule in closed_rules:  # rest days are exceptions, whatever their place in the text
        for d in rule.days:
            own[d] = []

    days = tuple(normalise_own(day) for day in own)
    hol = None if holiday is None else normalise_own(holiday)
    for bdays, s, e, word in breaks:
        if e > DAY_MINUTES:
            raise err("lunch break %(word)s %(range)s must lie within one day", word=repr(word),
                      range=f"{_fmt(s)}-{_fmt(e - DAY_MINUTES)}")
        folded = fold(days)
        if not any(a < e and s < b for d in bdays for a, b in folded[d]):
            raise err("lunch break %(word)s %(range)s is outside the opening hours", word=repr(word),
                      range=f"{_fmt(s)}-{_fmt(e)}")
        new = [list(x) for x in days]
        for d in bdays:
            new[d] = list(subtract(tuple(new[d]), s, e))
            prev = (d - 1) % 7
            new[prev] = list(subtract(tuple(new[prev]), s + DAY_MINUTES, e + DAY_MINUTES))
        days = tuple(normalise_own(x) for x in new)
        if hol and bdays == ALL_DAYS:
            hol = normalise_own(subtract(subtract(hol, s, e), s + DAY_MINUTES, e + DAY_MINUTES))
    return _Parsed(days, hol, any(r.same for r in rules), workdays)


# --------------------------------------------------------------------------------------------
# seasons
# --------------------------------------------------------------------------------------------

_SEASON_WORD = (r"(?:[春夏秋冬]{1,2}(?:季节?|天|令(?:时|時)(?:间|間)?|(?:时|時)制)|旺季|淡季"
                r"|(?<![a-z])(?:summer|winter)(?:\s+(?:hours|time))?(?![a-z]))")
_MON = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
        r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_NEXT_YEAR = r"(?:次年|翌年|来年|第二年|下年)"


def _md(p: str) -> str:
    return (rf"(?P<{p}m>\d{{1,2}})\s*月份?(?:\s*(?P<{p}d>\d{{1,2}})\s*[日号號]|\s*(?P<{p}x>初|底|末))?")


_MONTH_RANGE = (
    rf"(?:{_md('c1')}\s*{_RANGE_SEP}\s*{_NEXT_YEAR}?\s*{_md('c2')}"
    rf"|(?P<bm1>\d{{1,2}})\s*{_RANGE_SEP}\s*{_NEXT_YEAR}?\s*(?P<bm2>\d{{1,2}})\s*月份?"
    rf"|(?<![a-z])(?P<e1>{_MON})(?:\s*(?P<ed1>\d{{1,2}})(?!\d|\s*[:.]\s*\d))?\s*(?:-|–|—|to)\s*"
    rf"(?P<e2>{_MON})(?:\s*(?P<ed2>\d{{1,2}})(?!\d|\s*[:.]\s*\d))?(?![a-z]))"
)
_SEASON_MARK = re.compile(
    rf"(?:(?P<w>{_SEASON_WORD})\s*[:(\[]?\s*)?(?P<range>{_MONTH_RANGE})\s*[)\]]?"
    rf"(?:\s*\(\s*{_SEASON_WORD}\s*\))?\s*:?", _FLAGS)
_SEASON_ALONE = re.compile(_SEASON_WORD, _FLAGS)
_EN_MONTH_NUM = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


def _season_bounds(m: re.Match, whole: str) -> tuple[tuple[int, int], tuple[int, int]]:
    g = m.group
    if g("c1m"):
        m1, m2 = int(g("c1m")), int(g("c2m"))
        d1 = 1 if g("c1x") in (None, "初") and not g("c1d") else (int(g("c1d")) if g("c1d") else None)
        d2 = int(g("c2d")) if g("c2d") else None
        end_of_1 = g("c1x") in ("底", "末")
    elif g("bm1"):
        m1, m2, d1, d2, end_of_1 = int(g("bm1")), int(g("bm2")), 1, None, False
    else:
        m1, m2 = _EN_MONTH_NUM[g("e1")[:3].lower()], _EN_MONTH_NUM[g("e2")[:3].lower()]
        d1 = int(g("ed1")) if g("ed1") else 1
        d2 = int(g("ed2")) if g("ed2") else None
        end_of_1 = False
    for month in (m1, m2):
        if not 1 <= month <= 12:
            raise HoursParseError("month %(month)d does not exist in %(part)s (in %(text)s)", month=month,
                                  part=repr(g("range")), text=repr(whole))
    last1, last2 = _cal.monthrange(2024, m1)[1], _cal.monthrange(2024, m2)[1]
    if end_of_1:
        d1 = last1
    if d2 is None:
        d2 = last2
    for month, day, last in ((m1, d1, last1), (m2, d2, last2)):
        if not 1 <= day <= last:
            raise HoursParseError("day %(day)d does not exist in month %(month)d (%(part)s, in %(text)s)", day=day,
                                  month=month, part=repr(g("range")), text=repr(whole))
    return (m1, d1), (m2, d2)


def _split_seasons(norm: str):
    """None when the text has no season; else (prefix, [(start, end, label, body), ...]). Season words
    without months are refused."""
    marks = list(_SEASON_MARK.finditer(norm))
    rest = norm
    for m in reversed(marks):
        rest = rest[:m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    alone = _SEASON_ALONE.search(rest)
    if alone:
        raise HoursParseError(
            "seasonal hours %(word)s without months: the day summer or winter hours begin differs from office "
            "to office (5月1日, 清明, 国庆 ...), so it is not guessed; write the months, e.g. "
            "夏季(5月-9月) 8:00-20:00 冬季(10月-4月) 9:00-18:00 (in %(text)s)",
            word=repr(alone.group(0)), text=repr(norm))
    if not marks:
        return None
    segs = []
    for i, m in enumerate(marks):
        body_end = marks[i + 1].start() if i + 1 < len(marks) else len(norm)
        start, end = _season_bounds(m, norm)
        segs.append((start, end, m.group(0).strip().rstrip(":").strip(), norm[m.end():body_end]))
    return norm[:marks[0].start()], segs


def _parse_seasonal(norm: str, split) -> tuple[_Parsed, list[Season]]:
    prefix, segs = split
    kinds = {k for k, _ in _tokens(prefix, norm)} if prefix.strip() else set()
    default: _Parsed | None = None
    prepend = ""
    if kinds & (_CONTENT | {"BREAK"}):
        default = _read_rules(prefix, norm)
    elif kinds & _DAY_KINDS:
        prepend = prefix
    seasons, parsed = [], []
    for start, end, label, body in segs:
        body_kinds = {k for k, _ in _tokens(body, norm)} if body.strip() else set()
        if not body_kinds & _CONTENT:
            raise HoursParseError("no hours given for %(season)s (in %(text)s)", season=repr(label), text=repr(norm))
        p = _read_rules(prepend + " " + body if prepend else body, norm)
        parsed.append(p)
        seasons.append(Season(start, end, p.days))
    covered = season_days_covered(seasons)
    labels = [label for _s, _e, label, _b in segs]
    day0 = date(2024, 1, 1)
    for k, held in enumerate(covered):
        if len(held) > 1:
            d = day0 + timedelta(days=k)
            raise HoursParseError("seasons overlap: %(day)s is in both %(a)s and %(b)s (in %(text)s)",
                                  day=f"{d.month}月{d.day}日", a=repr(labels[held[0]]), b=repr(labels[held[1]]),
                                  text=repr(norm))
    gaps = [k for k, held in enumerate(covered) if not held]
    if gaps and default is None:
        first = day0 + timedelta(days=gaps[0])
        raise HoursParseError(
            "the seasons given do not cover the rest of the year (%(day)s has no hours): give the hours for "
            "the other months too, or hours for the whole year before the season (in %(text)s)",
            day=f"{first.month}月{first.day}日", text=repr(norm))
    everything = parsed + ([default] if default is not None else [])
    holidays = {p.holiday for p in everything if p.holiday is not None}
    if len(holidays) > 1:
        raise HoursParseError("different public-holiday hours in different seasons are not supported (in %(text)s)",
                              text=repr(norm))
    base = default if default is not None else _Parsed(EMPTY_WEEK, None, False, False)
    merged = _Parsed(base.days, next(iter(holidays)) if holidays else None,
                     any(p.holiday_same for p in everything), any(p.workdays for p in everything))
    return merged, seasons


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def _normalise_text(text: str) -> str:
    t = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", t).strip()


@lru_cache(maxsize=8192)
def _parse_norm(norm: str) -> OpeningHours:
    stripped = re.sub(r"^[\s:：,，;；.。()]+|[\s:：,，;；.。()]+$", "", norm)
    if _UNKNOWN.fullmatch(stripped):
        return OpeningHours.unknown("", "")
    split = _split_seasons(norm)
    if split is None:
        p, seasons = _read_rules(norm, norm), []
    else:
        p, seasons = _parse_seasonal(norm, split)
    return OpeningHours(None, "", days=p.days, holiday=p.holiday, workdays=p.workdays, seasons=seasons)


def parse_hours(text: str) -> OpeningHours:
    """Parse opening-hours text into :class:`OpeningHours`; raise :class:`HoursParseError`.

    The error message names the part that could not be read and why, e.g.
    ``cannot read '看情况' at character 1 of '看情况'``. ``营业时间不详`` / ``unknown`` give "hours unknown".
    """
    if text is None or (isinstance(text, float) and text != text):
        raise HoursParseError("opening hours are missing")
    if not isinstance(text, str):
        raise HoursParseError("opening hours must be text, got %(type)s", type=type(text).__name__)
    original = text.strip()
    if not original:
        raise HoursParseError("opening hours are empty")
    return _parse_norm(_normalise_text(original))._with_text(original)
