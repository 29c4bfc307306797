"""Tests for stations.hours: the real text forms, boundaries, time zones, JSON, errors, describe()."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stations.hours import HoursParseError, OpeningHours, open_mask, parse_hours

FULL = ((0, 1440),)
D9_17 = ((540, 1020),)
NONE = ()


def week(*days):
    return OpeningHours(tuple(days))


def every_day(*intervals):
    return OpeningHours(tuple(tuple(intervals) for _ in range(7)))


WEEKDAYS_9_17 = week(D9_17, D9_17, D9_17, D9_17, D9_17, NONE, NONE)
WEEKDAYS_9_17_PH_OFF = OpeningHours(WEEKDAYS_9_17.week, holiday=())

# 2026-11-30 is a Monday.
MON = datetime(2026, 11, 30)


def at(weekday: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return MON + timedelta(days=weekday, hours=hh, minutes=mm, seconds=ss)


# ---------------------------------------------------------------------------------------------
# every form named in the brief
# ---------------------------------------------------------------------------------------------

FORMS = [
    ("24小时", OpeningHours.always()),
    ("24h", OpeningHours.always()),
    ("24H", OpeningHours.always()),
    ("全天", OpeningHours.always()),
    ("全天24小时", OpeningHours.always()),
    ("24/7", OpeningHours.always()),
    ("24 hours", OpeningHours.always()),
    ("24小时营业", OpeningHours.always()),
    ("00:00-24:00", OpeningHours.always()),
    ("08:00-22:00", every_day((480, 1320))),
    ("8:00-22:00", every_day((480, 1320))),
    ("8:00—22:00", every_day((480, 1320))),  # em dash
    ("8:00–22:00", every_day((480, 1320))),  # en dash
    ("8:00－22:00", every_day((480, 1320))),  # full-width hyphen
    ("8:30～20:30", every_day((510, 1230))),  # full-width tilde
    ("8:30~20:30", every_day((510, 1230))),
    ("8:30〜20:30", every_day((510, 1230))),  # wave dash
    ("8:30至20:30", every_day((510, 1230))),
    ("8:30到20:30", every_day((510, 1230))),
    ("8：30-20：30", every_day((510, 1230))),  # full-width colon
    ("０８：３０－２０：３０", every_day((510, 1230))),  # full-width digits
    ("8点-22点", every_day((480, 1320))),
    ("8点半-20点半", every_day((510, 1230))),
    ("上午9点-下午5点", every_day((540, 1020))),
    ("9am-5pm", every_day((540, 1020))),
    ("周一至周五 09:00-17:00", WEEKDAYS_9_17),
    ("周一至周五09:00-17:00", WEEKDAYS_9_17),
    ("周一到周五 9:00-17:00", WEEKDAYS_9_17),
    ("周一至五 9:00-17:00", WEEKDAYS_9_17),
    ("周一至周五：9:00-17:00", WEEKDAYS_9_17),
    ("星期一至星期五 09:00-17:00", WEEKDAYS_9_17),
    ("每周一至周五 09:00-17:00", WEEKDAYS_9_17),
    ("工作日 9:00-17:00", OpeningHours(WEEKDAYS_9_17.week, workdays=True)),
    ("开放时间：周一至周五 09:00-17:00", WEEKDAYS_9_17),
    ("Mo-Fr 09:00-17:00", WEEKDAYS_9_17),
    ("Mon-Fri 09:00-17:00", WEEKDAYS_9_17),
    ("周一至周日 8:30-20:30", every_day((510, 1230))),
    ("Mo-Su 08:30-20:30", every_day((510, 1230))),
    ("每天 8:30-20:30", every_day((510, 1230))),
    ("每日 8:30-20:30", every_day((510, 1230))),
    ("8:30-20:30（周一至周日）", every_day((510, 1230))),
    ("9:00-12:00,14:00-18:00", every_day((540, 720), (840, 1080))),
    ("9:00-12:00，14:00-18:00", every_day((540, 720), (840, 1080))),
    ("9:00-12:00 14:00-18:00", every_day((540, 720), (840, 1080))),
    ("上午9:00-12:00，下午14:00-18:00", every_day((540, 720), (840, 1080))),
    ("周一至周五 09:00-17:00；周六 10:00-16:00",
     week(D9_17, D9_17, D9_17, D9_17, D9_17, ((600, 960),), NONE)),
    ("周一至周五 09:00-17:00;周六 10:00-16:00",
     week(D9_17, D9_17, D9_17, D9_17, D9_17, ((600, 960),), NONE)),
    ("周一至周五 09:00-17:00，周六 10:00-16:00",
     week(D9_17, D9_17, D9_17, D9_17, D9_17, ((600, 960),), NONE)),
    ("周一至周五 09:00-17:00、周六 10:00-16:00",
     week(D9_17, D9_17, D9_17, D9_17, D9_17, ((600, 960),), NONE)),
    ("周一至周五 09:00-17:00\n周六 10:00-16:00",
     week(D9_17, D9_17, D9_17, D9_17, D9_17, ((600, 960),), NONE)),
    ("Mo-Fr 09:00-17:00; Sa 10:00-14:00",
     week(D9_17, D9_17, D9_17, D9_17, D9_17, ((600, 840),), NONE)),
    ("Sa,Su 10:00-16:00", week(NONE, NONE, NONE, NONE, NONE, ((600, 960),), ((600, 960),))),
    ("周六、周日 10:00-16:00", week(NONE, NONE, NONE, NONE, NONE, ((600, 960),), ((600, 960),))),
    ("周六日 10:00-16:00", week(NONE, NONE, NONE, NONE, NONE, ((600, 960),), ((600, 960),))),
    ("周一三五 9:00-17:00", week(D9_17, NONE, D9_17, NONE, D9_17, NONE, NONE)),
    ("周末 10:00-16:00", week(NONE, NONE, NONE, NONE, NONE, ((600, 960),), ((600, 960),))),
    ("周一至周五 08:00-20:00 周末休息", week(*[((480, 1200),)] * 5, NONE, NONE)),
    ("Mo-Fr 08:00-20:00; Sa,Su off", week(*[((480, 1200),)] * 5, NONE, NONE)),
    ("off", OpeningHours.never()),
    ("closed", OpeningHours.never()),
    ("休息", OpeningHours.never()),
    ("每天 9:00-17:00；周三休息", week(D9_17, D9_17, NONE, D9_17, D9_17, D9_17, D9_17)),
    ("Mo-Fr 09:00-12:00; Mo-Fr 14:00-18:00", week(*[((540, 720), (840, 1080))] * 5, NONE, NONE)),
    ("周一至周五 09:00-17:00（法定节假日除外）", WEEKDAYS_9_17_PH_OFF),
    ("Mo-Fr 09:00-17:00; PH off", WEEKDAYS_9_17_PH_OFF),
    ("周五至周一 10:00-12:00",  # wrapping day range
     week(((600, 720),), NONE, NONE, NONE, ((600, 720),), ((600, 720),), ((600, 720),))),
    ("20:00-00:00", every_day((1200, 1440))),
]


@pytest.mark.parametrize("text,expected", FORMS, ids=[f[0] for f in FORMS])
def test_forms(text, expected):
    oh = parse_hours(text)
    assert oh == expected, (text, oh.week)
    assert oh.text == text.strip()


def test_past_midnight_spills_into_next_day():
    oh = parse_hours("18:00-02:00")
    for d in range(7):
        assert oh.week[d] == ((0, 120), (1080, 1440))
    assert oh.weekly_minutes == 7 * 8 * 60
    weekdays = parse_hours("周一至周五 18:00-02:00")
    assert weekdays.week[0] == ((1080, 1440),)  # Monday morning: Sunday was closed
    assert weekdays.week[5] == ((0, 120),)  # Saturday morning: Friday night's shift
    assert weekdays.week[6] == ()
    assert weekdays.is_open(at(5, 1, 30))  # Saturday 01:30
    assert not weekdays.is_open(at(5, 2, 0))  # Saturday 02:00: closing minute
    assert not weekdays.is_open(at(0, 1, 0))  # Monday 01:00
    assert weekdays.is_open(at(1, 0, 0))  # Tuesday 00:00
    sunday = parse_hours("周日 22:00-02:00")  # wraps Sunday -> Monday
    assert sunday.week[0] == ((0, 120),) and sunday.week[6] == ((1320, 1440),)
    assert sunday.is_open(at(0, 1, 0))
    assert parse_hours("08:00-次日08:00") == OpeningHours.always()


def test_boundaries_opening_minute_open_closing_minute_closed():
    oh = parse_hours("周一至周五 09:00-17:00")
    assert not oh.is_open(at(0, 8, 59, 59))
    assert oh.is_open(at(0, 9, 0, 0))
    assert oh.is_open(at(0, 16, 59, 59))
    assert not oh.is_open(at(0, 17, 0, 0))
    assert not oh.is_open(at(5, 10))  # Saturday
    assert oh.open_at_hour(9.0, 0) and not oh.open_at_hour(17.0, 0)
    assert oh.open_at_hour(16.99) and not oh.open_at_hour(8.99)
    assert not oh.open_at_hour(12, weekday=6)


def test_24h():
    oh = parse_hours("24小时")
    assert oh.is_24h and oh.weekly_minutes == 10080 and not oh.is_closed
    assert oh.is_open(at(6, 23, 59, 59)) and oh.is_open(at(0, 0, 0))
    assert not parse_hours("周一至周五 24小时").is_24h
    assert parse_hours("周一至周五 24小时").weekly_minutes == 5 * 1440
    assert not parse_hours("08:00-22:00").is_24h
    assert parse_hours("off").is_closed and parse_hours("off").weekly_minutes == 0


def test_weekly_minutes():
    assert parse_hours("周一至周五 09:00-17:00").weekly_minutes == 5 * 480
    assert parse_hours("周一至周日 8:30-20:30").weekly_minutes == 7 * 720
    assert parse_hours("9:00-12:00,14:00-18:00").weekly_minutes == 7 * 420


def test_time_zone_conversion():
    oh = parse_hours("周一至周五 09:00-17:00")
    # 01:30 UTC Monday = 09:30 in Shanghai: open; the same wall time taken as naive: closed.
    utc = datetime(2026, 11, 30, 1, 30, tzinfo=timezone.utc)
    assert oh.is_open(utc)
    assert not oh.is_open(utc.replace(tzinfo=None))
    # 09:30 UTC Friday = 17:30 Shanghai: closed
    assert not oh.is_open(datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc))
    # Sunday 23:30 UTC = Monday 07:30 Shanghai; Sunday 20:00 in New York = Monday 09:00 Shanghai
    assert not oh.is_open(datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc))
    assert oh.is_open(datetime(2026, 11, 29, 20, 0, tzinfo=ZoneInfo("America/New_York")))
    # an aware Shanghai time is used as is
    assert oh.is_open(datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))


def test_open_at_hour_validates():
    oh = parse_hours("08:00-22:00")
    assert oh.open_at_hour(8) and oh.open_at_hour(21.99) and not oh.open_at_hour(22)
    with pytest.raises(ValueError):
        oh.open_at_hour(24)
    with pytest.raises(ValueError):
        oh.open_at_hour(-1)
    with pytest.raises(ValueError):
        oh.open_at_hour(10, weekday=7)


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def test_to_json_compact_and_stable():
    oh = parse_hours("周一至周五 09:00-17:00")
    s = oh.to_json()
    assert s == '{"v":2,"days":[[[540,1020]],[[540,1020]],[[540,1020]],[[540,1020]],[[540,1020]],[],[]]}'
    assert " " not in s
    # the same hours written differently give the same JSON
    assert parse_hours("Mo-Fr 09:00-17:00").to_json() == s
    assert parse_hours("星期一至星期五 9点-17点").to_json() == s
    # 工作日 follows the official calendar: not the same as Mo-Fr
    assert parse_hours("工作日 9:00-17:00").to_json() == s[:-1] + ',"wd":1}'


@pytest.mark.parametrize("text", [f[0] for f in FORMS])
def test_json_round_trip(text):
    oh = parse_hours(text)
    back = OpeningHours.from_json(oh.to_json())
    assert back == oh
    assert back.to_json() == oh.to_json()
    assert OpeningHours.from_json(oh.to_json(), text=text).text == text
    assert back.text == oh.describe("zh")


@pytest.mark.parametrize("bad,fragment", [
    ("not json", "not valid JSON"),
    ("[]", '"week"'),
    ('{"v":1}', '"week"'),
    ('{"v":9,"week":[[],[],[],[],[],[],[]]}', "version"),
    ('{"v":2,"days":[[[600,500]],[],[],[],[],[],[]]}', "invalid interval"),
    ('{"v":2,"days":[[[1440,1500]],[],[],[],[],[],[]]}', "invalid interval"),
    ('{"v":2,"days":[[],[],[],[],[],[],[]],"ph":"x"}', '"ph"'),
    ('{"v":2,"days":[[],[],[],[],[],[],[]],"seasons":[{"from":[13,1],"to":[2,1],"days":[[],[],[],[],[],[],[]]}]}',
     "season"),
    ('{"v":1,"week":[[],[],[]]}', "7 days"),
    ('{"v":1,"week":[[[600,500]],[],[],[],[],[],[]]}', "invalid interval"),
    ('{"v":1,"week":[[[0,1441]],[],[],[],[],[],[]]}', "invalid interval"),
    ('{"v":1,"week":[[["9:00","17:00"]],[],[],[],[],[],[]]}', "invalid interval"),
])
def test_from_json_errors(bad, fragment):
    with pytest.raises(HoursParseError, match=fragment.replace("[", r"\[")):
        OpeningHours.from_json(bad)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,message", [
    ("", "opening hours are empty"),
    ("   ", "opening hours are empty"),
    (None, "opening hours are missing"),
    ("看情况", "cannot read '看情况' at character 1"),
    ("Mo-Fr 09:00-17:00 xyz", "cannot read 'xyz' at character 19"),
    ("周一至周五 9:00-17:00 电话预约", "cannot read '电话预约'"),
    ("2024-05-01", "cannot read '2024-05-01'"),
    ("周六", "no hours given for '周六'"),
    ("周一至周五 9:00-17:00 周六", "no hours given for '周六'"),
    ("09:00", "time '09:00' has no end"),
    ("25:00-26:00", "invalid time '25:00'"),
    ("8:61-9:00", "invalid minute in '8:61'"),
    ("24:00-08:00", "24:00 can only end a range"),
    ("9:00-9:00", "starts and ends at the same time"),
    ("08:00-次日09:00", "longer than 24 hours"),
    ("13pm-2pm", "invalid 12-hour time '13pm'"),
    ("；", "no opening hours found"),
])
def test_error_messages(text, message):
    with pytest.raises(HoursParseError) as info:
        parse_hours(text)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_text_rejected():
    with pytest.raises(HoursParseError, match="must be text"):
        parse_hours(9)


# ---------------------------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,zh,en", [
    ("周一至周五 09:00-17:00", "周一至周五 09:00-17:00", "Mon–Fri 09:00-17:00"),
    ("星期一至星期五 9:00-17:00", "周一至周五 09:00-17:00", "Mon–Fri 09:00-17:00"),
    ("Mo-Fr 09:00-17:00", "周一至周五 09:00-17:00", "Mon–Fri 09:00-17:00"),
    ("24h", "24小时", "24 hours"),
    ("off", "休息", "closed"),
    ("周一至周日 8:30-20:30", "每天 08:30-20:30", "Daily 08:30-20:30"),
    ("周一至周五 09:00-17:00；周六 10:00-16:00",
     "周一至周五 09:00-17:00；周六 10:00-16:00", "Mon–Fri 09:00-17:00; Sat 10:00-16:00"),
    ("Sa,Su 10:00-16:00", "周六、周日 10:00-16:00", "Sat, Sun 10:00-16:00"),
    ("9:00-12:00,14:00-18:00", "每天 09:00-12:00,14:00-18:00", "Daily 09:00-12:00,14:00-18:00"),
    ("周一至周五 18:00-02:00", "周一至周五 18:00-02:00", "Mon–Fri 18:00-02:00"),
    ("18:00-02:00", "每天 18:00-02:00", "Daily 18:00-02:00"),
    ("周一至周五 24小时；周末 9:00-17:00", "周一至周五 24小时；周六、周日 09:00-17:00",
     "Mon–Fri 24 hours; Sat, Sun 09:00-17:00"),
    ("周一、周三、周五 9:00-17:00", "周一、周三、周五 09:00-17:00", "Mon, Wed, Fri 09:00-17:00"),
    ("周二至周四 9:00-17:00", "周二至周四 09:00-17:00", "Tue–Thu 09:00-17:00"),
    ("下午2:30-5:30", "每天 14:30-17:30", "Daily 14:30-17:30"),
    ("9:00-17:00 午休12:00-13:30", "每天 09:00-12:00,13:30-17:00", "Daily 09:00-12:00,13:30-17:00"),
    ("周一至周五 9:00-17:00，法定节假日休息", "周一至周五 09:00-17:00；法定节假日休息",
     "Mon–Fri 09:00-17:00; public holidays closed"),
    ("工作日 9:00-17:00", "工作日 09:00-17:00", "Working days 09:00-17:00"),
    ("工作日 9:00-17:00；周六 9:00-12:00；节假日 10:00-12:00",
     "工作日 09:00-17:00；周六 09:00-12:00；法定节假日 10:00-12:00",
     "Working days 09:00-17:00; Sat 09:00-12:00; public holidays 10:00-12:00"),
    ("夏季(5月-9月) 8:00-20:00 冬季(10月-4月) 9:00-18:00",
     "5月1日至9月30日 每天 08:00-20:00；10月1日至4月30日 每天 09:00-18:00",
     "May 1–Sep 30: Daily 08:00-20:00; Oct 1–Apr 30: Daily 09:00-18:00"),
    ("营业时间不详", "营业时间不详", "hours unknown"),
])
def test_describe(text, zh, en):
    oh = parse_hours(text)
    assert oh.describe() == zh
    assert oh.describe("en") == en
    assert parse_hours(zh) == oh and parse_hours(en) == oh
    with pytest.raises(ValueError):
        oh.describe("fr")


def test_equality_ignores_text_and_hash():
    a = parse_hours("Mo-Fr 09:00-17:00")
    b = parse_hours("周一至周五 9:00-17:00")
    assert a == b and hash(a) == hash(b) and a.text != b.text
    assert a != parse_hours("周一至周六 9:00-17:00")
    assert a != "Mo-Fr 09:00-17:00"
    assert len({a, b}) == 1


# intervals on a 1-minute grid; days may be empty, full, split, or touch midnight
_interval = st.tuples(st.integers(0, 1439), st.integers(1, 1440)).map(
    lambda t: (min(t), max(t)) if t[0] != t[1] else (t[0], t[0] + 1) if t[0] < 1440 else (1439, 1440)
).filter(lambda t: t[0] < t[1])
# pieces touching midnight make overnight ranges (describe() writes them as "18:00-02:00")
_evening = st.integers(1, 1439).map(lambda s: (s, 1440))
_morning = st.integers(1, 1439).map(lambda e: (0, e))
_any_interval = st.one_of(_interval, _evening, _morning)
_day = st.one_of(
    st.just(()), st.just(((0, 1440),)), st.lists(_any_interval, min_size=1, max_size=4).map(tuple),
)
_week = st.tuples(*[_day] * 7).map(OpeningHours)


@settings(max_examples=400, deadline=None)
@given(_week)
def test_describe_reparses_to_equal_object(oh):
    for lang in ("zh", "en"):
        text = oh.describe(lang)
        assert parse_hours(text) == oh, (lang, text, oh.week)
    assert OpeningHours.from_json(oh.to_json()) == oh


@settings(max_examples=200, deadline=None)
@given(_week, st.integers(0, 6), st.integers(0, 1439))
def test_open_at_hour_matches_is_open_and_intervals(oh, weekday, minute):
    when = at(weekday, minute // 60, minute % 60)
    expected = any(s <= minute < e for s, e in oh.week[weekday])
    assert oh.is_open(when) == expected
    assert oh.open_at_hour(minute / 60, weekday) == expected
    assert open_mask([oh.to_json()], when)[0] == expected


# ---------------------------------------------------------------------------------------------
# open_mask
# ---------------------------------------------------------------------------------------------


def test_open_mask_values():
    texts = ["24小时", "周一至周五 09:00-17:00", "18:00-02:00", "off"]
    js = [parse_hours(t).to_json() for t in texts]
    monday_10 = at(0, 10)
    assert open_mask(js, monday_10).tolist() == [True, True, False, False]
    assert open_mask(js, at(0, 1)).tolist() == [True, False, True, False]
    assert open_mask(pd.Series(js, index=[5, 6, 7, 8]), monday_10).tolist() == [True, True, False, False]
    assert open_mask(np.array(js, dtype=object), monday_10).tolist() == [True, True, False, False]
    # plain text and OpeningHours objects work too; missing values are closed
    mixed = ["Mo-Fr 09:00-17:00", parse_hours("24h"), None, float("nan"), "", js[0]]
    assert open_mask(mixed, monday_10).tolist() == [True, True, False, False, False, True]
    out = open_mask([], monday_10)
    assert out.dtype == bool and out.shape == (0,)
    # aware datetimes: 02:00 UTC = 10:00 Shanghai
    assert open_mask(js, datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)).tolist() == [True, True, False, False]


def test_open_mask_errors():
    with pytest.raises(HoursParseError, match="cannot read"):
        open_mask(["看情况"], at(0, 10))
    with pytest.raises(HoursParseError, match="not valid JSON"):
        open_mask(["{bad"], at(0, 10))
    assert open_mask(["看情况", "24h"], at(0, 10), errors="closed").tolist() == [False, True]
    with pytest.raises(ValueError):
        open_mask(["24h"], at(0, 10), errors="ignore")


def test_open_mask_200k():
    """200,000 stations, one answer each (the time is measured in bench/bench_hours.py, not here)."""
    texts = ["24小时", "周一至周五 09:00-17:00", "08:00-22:00", "周一至周日 8:30-20:30", "18:00-02:00"]
    js = [parse_hours(t).to_json() for t in texts]
    values = [js[i % len(js)] for i in range(200_000)]
    mask = open_mask(values, at(0, 10))
    assert mask.shape == (200_000,) and mask.dtype == bool
    assert mask.sum() == 4 * 40_000  # all but 18:00-02:00
    assert not mask[4::5].any()


def test_to_json_is_json():
    obj = json.loads(parse_hours("18:00-02:00").to_json())
    # each day holds the ranges that start on it; 1560 = 02:00 the next morning
    assert obj["v"] == 2 and len(obj["days"]) == 7 and obj["days"][0] == [[1080, 1560]]


def test_errors_name_their_parameter():
    oh = parse_hours("24小时")
    for call, param in ((lambda: oh.open_at_hour(25), "hour"), (lambda: oh.open_at_hour(8, weekday=7), "weekday"),
                        (lambda: oh.describe("fr"), "lang")):
        with pytest.raises(ValueError) as exc:
            call()
        assert exc.value.param == param
    with pytest.raises(HoursParseError) as exc:
        OpeningHours.from_json('{"v": 1, "week": []}')
    assert exc.value.param == "hours_json"
    with pytest.raises(HoursParseError) as exc:
        parse_hours("看心情")
    assert exc.value.param == "opening_hours"


# ---------------------------------------------------------------------------------------------
# issue 11: hours read as a Chinese office writes them
# ---------------------------------------------------------------------------------------------

from datetime import date  # noqa: E402

from stations.hours import (  # noqa: E402
    calendar_years, day_kind, open_24_7_mask, open_at_mask, refresh_hours_json, refresh_hours_column,
    resolve_open_at, unknown_mask,
)
from stations.errors import InputError  # noqa: E402


def on(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def daily(*intervals):
    return every_day(*intervals)


def weekdays_only(*intervals):
    return week(*[tuple(intervals)] * 5, NONE, NONE)


PART_OF_DAY = [
    # a part-of-day word applies to both ends of its range
    ("下午2:30-5:30", daily((870, 1050))),
    ("下午2:00-6:00", daily((840, 1080))),
    ("下午1点-5点半", daily((780, 1050))),
    ("上午8:30-11:30", daily((510, 690))),
    ("上午8:00-12:00，下午2:00-6:00", daily((480, 720), (840, 1080))),
    ("上午8:00-12:00 下午2:30-5:30", daily((480, 720), (870, 1050))),
    ("晚上7点-10点", daily((1140, 1320))),
    ("晚上10点-12点", daily((1320, 1440))),
    ("晚上8:00-2:00", daily((0, 120), (1200, 1440))),  # the evening word cannot make 2:00 later than 20:00
    ("中午12:00-2:00", daily((720, 840))),
    ("中午11:30-1:30", daily((690, 810))),
    ("早8晚8", daily((480, 1200))),
    ("早8点晚10点", daily((480, 1320))),
    ("早八点到晚八点", daily((480, 1200))),
    ("早上八点半至晚上九点", daily((510, 1260))),
    ("早上8点半到晚上9点", daily((510, 1260))),
    ("早7:30-晚22:00", daily((450, 1320))),
    ("上午9:00-下午5:30", daily((540, 1050))),
    ("下午14:00-18:00", daily((840, 1080))),
    ("晚上10点-次日早上6点", daily((0, 360), (1320, 1440))),
    ("晚上10点-次日凌晨2点", daily((0, 120), (1320, 1440))),
    ("二十四小时", OpeningHours.always()),
    ("1-5pm", daily((780, 1020))),
    ("9-5pm", daily((540, 1020))),
    ("周一至周五 下午2:30-5:30", weekdays_only((870, 1050))),
    # 24-hour clock ends are not ambiguous
    ("18:00-2:00", daily((0, 120), (1080, 1440))),
    ("10:00-02:00", daily((0, 120), (600, 1440))),
    ("17:00-8:00", daily((0, 480), (1020, 1440))),
    ("8:00-次日6:00", daily((0, 360), (480, 1440))),
    ("10:00-02:00 (next day)", daily((0, 120), (600, 1440))),
]


@pytest.mark.parametrize("text,expected", PART_OF_DAY, ids=[f[0] for f in PART_OF_DAY])
def test_part_of_day_applies_to_both_ends(text, expected):
    assert parse_hours(text) == expected, parse_hours(text).week


def test_afternoon_range_is_not_read_as_overnight():
    oh = parse_hours("下午2:30-5:30")
    assert oh.is_open(at(0, 15)) and oh.is_open(at(0, 17, 29))
    assert not oh.is_open(at(0, 17, 30)) and not oh.is_open(at(0, 22)) and not oh.is_open(at(1, 3))


@pytest.mark.parametrize("text", ["8:30-5:30", "9:00-5:00", "上午9点-5点", "12:00-2:00", "11:00-1:00", "8点-6点"])
def test_twelve_hour_ends_that_could_be_afternoon_or_next_morning_are_refused(text):
    with pytest.raises(HoursParseError) as info:
        parse_hours(text)
    msg = str(info.value)
    assert "ambiguous" in msg and "次日" in msg, msg


REST_DAYS = [
    ("9:00-17:00（周六周日休息）", WEEKDAYS_9_17),
    ("9:00-17:00 周六、周日休息", WEEKDAYS_9_17),
    ("9:00-17:00，周末休息", WEEKDAYS_9_17),
    ("8:00-18:00，周末休息", weekdays_only((480, 1080))),
    ("9:00-17:00 双休日休息", WEEKDAYS_9_17),
    ("周一闭馆 9:00-17:00", week(NONE, *[D9_17] * 6)),
    ("9:00-17:00，周一闭馆", week(NONE, *[D9_17] * 6)),
    ("每天 9:00-17:00，每周一休息", week(NONE, *[D9_17] * 6)),
    ("周一休息 周二至周日 9:00-17:00", week(NONE, *[D9_17] * 6)),
    ("周一至周五 9:00-17:00（周三除外）", week(D9_17, D9_17, NONE, D9_17, D9_17, NONE, NONE)),
    ("Mo-Su 09:00-17:00; We off", week(D9_17, D9_17, NONE, D9_17, D9_17, D9_17, D9_17)),
    ("We off; Mo-Su 09:00-17:00", week(D9_17, D9_17, NONE, D9_17, D9_17, D9_17, D9_17)),
    # a rest day does not cut the night shift that began the evening before
    ("每天 18:00-02:00，周二休息",
     week(((0, 120), (1080, 1440)), ((0, 120),), ((1080, 1440),), ((0, 120), (1080, 1440)),
          ((0, 120), (1080, 1440)), ((0, 120), (1080, 1440)), ((0, 120), (1080, 1440)))),
]


@pytest.mark.parametrize("text,expected", REST_DAYS, ids=[f[0] for f in REST_DAYS])
def test_rest_days_remove_days_wherever_they_are_written(text, expected):
    assert parse_hours(text) == expected, parse_hours(text).week


@pytest.mark.parametrize("text", ["周末休息", "周一闭馆", "周六周日休息", "每周一休息", "法定节假日休息", "节假日不开放",
                                  "周末及节假日休息", "Sa,Su off", "PH off"])
def test_rest_days_alone_are_an_error_not_never_open(text):
    with pytest.raises(HoursParseError) as info:
        parse_hours(text)
    assert "only" in str(info.value) and "no opening hours" in str(info.value), str(info.value)


def test_closed_words_without_days_still_mean_closed():
    for text in ("休息", "off", "closed", "暂停营业"):
        oh = parse_hours(text)
        assert oh.is_closed and not oh.is_open(at(0, 10)) and not oh.is_unknown


LUNCH = [
    ("9:00-17:00 午休12:00-13:30", daily((540, 720), (810, 1020))),
    ("9:00-17:00（午休12:00-13:30）", daily((540, 720), (810, 1020))),
    ("午休12:00-13:30 9:00-17:00", daily((540, 720), (810, 1020))),
    ("8:30-17:30，中午12:00-14:00休息", daily((510, 720), (840, 1050))),
    ("8:30-17:30 12:00-14:00午休", daily((510, 720), (840, 1050))),
    ("8:30-17:30，午间休息12:00-14:00", daily((510, 720), (840, 1050))),
    ("8:30-17:30，午休时间：中午12点-下午2点", daily((510, 720), (840, 1050))),
    ("周一至周五 08:30-17:30 午休 12:00-13:30；周六 09:00-12:00",
     week(*[((510, 720), (810, 1050))] * 5, ((540, 720),), NONE)),
    ("周一至周五 8:00-18:00 周一至周五午休12:00-14:00；周六日 8:00-18:00",
     week(*[((480, 720), (840, 1080))] * 5, ((480, 1080),), ((480, 1080),))),
    ("Mo-Fr 09:00-12:00,13:30-17:00", weekdays_only((540, 720), (810, 1020))),
    ("Mo-Fr 09:00-17:00, lunch break 12:00-13:00", weekdays_only((540, 720), (780, 1020))),
]


@pytest.mark.parametrize("text,expected", LUNCH, ids=[f[0] for f in LUNCH])
def test_lunch_breaks_split_the_day(text, expected):
    assert parse_hours(text) == expected, parse_hours(text).week


@pytest.mark.parametrize("text,fragment", [
    ("午休12:00-13:30", "no opening hours"),
    ("9:00-11:00 午休12:00-13:30", "outside the opening hours"),
    ("9:00-17:00 午休", "has no times"),
    ("9:00-17:00 午休22:00-02:00", "within one day"),
])
def test_lunch_break_errors(text, fragment):
    with pytest.raises(HoursParseError, match=fragment):
        parse_hours(text)


# --- public holidays: the official calendar (chinesecalendar) ----------------------------------
# 2025: National Day holiday Wed 1 Oct - Wed 8 Oct; make-up working days Sun 28 Sep and Sat 11 Oct.


def test_calendar_years_and_day_kinds():
    years = calendar_years()
    assert 2025 in years and 2026 in years and 2004 in years and 1999 not in years
    assert day_kind(date(2025, 10, 1)) == "holiday"
    assert day_kind(date(2025, 10, 4)) == "holiday"  # a Saturday inside the holiday
    assert day_kind(date(2025, 10, 8)) == "holiday"  # a Wednesday given in lieu
    assert day_kind(date(2025, 10, 11)) == "makeup"  # 调休上班 Saturday
    assert day_kind(date(2025, 9, 28)) == "makeup"  # 调休上班 Sunday
    assert day_kind(date(2025, 10, 18)) == "normal"  # an ordinary Saturday
    assert day_kind(date(2025, 10, 9)) == "normal"
    assert day_kind(date(max(years) + 3, 10, 1)) == "unknown"


def test_statutory_holidays_close_stations_that_say_so():
    for text in ("周一至周五 9:00-17:00，法定节假日休息", "Mo-Fr 09:00-17:00; PH off",
                 "周一至周五 9:00-17:00（节假日除外）", "周一至周五 9:00-17:00 节假日休息",
                 "周一至周五 9:00-17:00，逢法定节假日闭馆"):
        oh = parse_hours(text)
        assert not oh.is_open(on("2025-10-01T10:00")), text  # 国庆节, a Wednesday
        assert not oh.is_open(on("2025-10-08T10:00")), text  # given in lieu
        assert oh.is_open(on("2025-10-09T10:00")), text  # an ordinary Thursday
        assert not oh.is_open(on("2025-10-18T10:00")), text  # an ordinary Saturday
        # a make-up Saturday / Sunday follows the working-day schedule
        assert oh.is_open(on("2025-10-11T10:00")), text
        assert oh.is_open(on("2025-09-28T16:59")), text
        assert not oh.is_open(on("2025-09-28T17:00")), text


def test_working_days_follow_the_official_calendar():
    for text in ("工作日 9:00-17:00", "法定工作日 9:00-17:00", "工作日 09:00-17:00 周末休息"):
        oh = parse_hours(text)
        assert not oh.is_open(on("2025-10-01T10:00")), text
        assert oh.is_open(on("2025-10-11T10:00")), text
        assert oh.is_open(on("2025-10-09T10:00")), text
        assert not oh.is_open(on("2025-10-18T10:00")), text
    # a holiday on a weekday is a rest day: the weekend hours apply
    oh = parse_hours("工作日 9:00-17:00，周末 10:00-14:00")
    assert oh.is_open(on("2025-10-01T12:00")) and not oh.is_open(on("2025-10-01T15:00"))
    assert oh.is_open(on("2025-10-11T15:00"))  # the make-up Saturday works a full day


def test_hours_without_a_holiday_clause_keep_the_weekly_rule():
    oh = parse_hours("周一至周五 9:00-17:00")
    assert oh.is_open(on("2025-10-01T10:00"))
    assert not oh.is_open(on("2025-10-11T10:00"))
    oh = parse_hours("周一至周五 9:00-17:00，节假日照常营业")
    assert oh.is_open(on("2025-10-01T10:00")) and not oh.is_open(on("2025-10-11T10:00"))


def test_holiday_hours():
    oh = parse_hours("周一至周五 9:00-17:00；周末及法定节假日 10:00-16:00")
    assert oh.is_open(on("2025-10-01T11:00")) and not oh.is_open(on("2025-10-01T09:30"))
    assert not oh.is_open(on("2025-10-01T16:30"))
    assert oh.is_open(on("2025-10-18T11:00")) and not oh.is_open(on("2025-10-18T09:30"))
    assert oh.is_open(on("2025-10-11T09:30"))  # make-up Saturday: working day
    ph = parse_hours("Mo-Fr 09:00-17:00; PH 10:00-12:00")
    assert ph.is_open(on("2025-10-01T11:00")) and not ph.is_open(on("2025-10-01T13:00"))


def test_overnight_hours_across_a_holiday():
    oh = parse_hours("每天 18:00-02:00，法定节假日休息")
    assert oh.is_open(on("2025-10-01T01:00"))  # the night shift of Tuesday 30 September
    assert not oh.is_open(on("2025-10-01T19:00"))
    assert not oh.is_open(on("2025-10-09T01:00"))  # 8 October (a holiday) had no night shift
    assert oh.is_open(on("2025-10-09T19:00"))
    assert oh.is_open(on("2025-10-10T01:00"))


def test_dates_outside_the_known_years_fall_back_to_the_weekly_rule(caplog):
    year = max(calendar_years()) + 4
    d = date(year, 10, 1)
    while d.weekday() != 2:
        d += timedelta(days=1)
    oh = parse_hours("周一至周五 9:00-17:00，法定节假日休息")
    with caplog.at_level("WARNING", logger="stations.hours"):
        assert oh.is_open(datetime(d.year, d.month, d.day, 10))
    assert any(str(year) in r.getMessage() and "weekly rule" in r.getMessage() for r in caplog.records)


def test_holiday_clause_errors():
    with pytest.raises(HoursParseError, match="节假日"):
        parse_hours("周一闭馆（节假日除外） 9:00-17:00")
    with pytest.raises(HoursParseError, match="no hours given"):
        parse_hours("周一至周五 9:00-17:00 节假日")


# --- seasonal hours --------------------------------------------------------------------------------

SEASONAL = [
    "夏季(5月-9月) 8:00-20:00 冬季(10月-4月) 9:00-18:00",
    "夏季（5月—9月）8:00-20:00；冬季（10月—次年4月）9:00-18:00",
    "夏令时（5月1日-9月30日）8:00-20:00，冬令时（10月1日-次年4月30日）9:00-18:00",
    "5-9月 8:00-20:00；10-4月 9:00-18:00",
    "5月至9月 8:00-20:00，10月至次年4月 9:00-18:00",
    "May-Sep 08:00-20:00; Oct-Apr 09:00-18:00",
    "5月1日至9月30日 每天 08:00-20:00；10月1日至4月30日 每天 09:00-18:00",
]


@pytest.mark.parametrize("text", SEASONAL)
def test_seasonal_hours_with_months(text):
    oh = parse_hours(text)
    assert oh == parse_hours(SEASONAL[0])
    assert oh.is_open(on("2026-07-01T19:00")) and oh.is_open(on("2026-05-01T08:30"))
    assert oh.is_open(on("2026-09-30T19:59")) and not oh.is_open(on("2026-10-01T19:00"))
    assert oh.is_open(on("2026-12-01T09:30")) and not oh.is_open(on("2026-12-01T08:30"))
    assert not oh.is_open(on("2026-12-01T19:00")) and not oh.is_open(on("2026-04-30T08:30"))
    back = OpeningHours.from_json(oh.to_json())
    assert back == oh and back.is_open(on("2026-07-01T19:00")) and not back.is_open(on("2026-12-01T19:00"))


def test_seasonal_hours_with_a_default_and_shared_days():
    oh = parse_hours("每天 8:00-18:00，夏季(6月-8月) 8:00-20:00")
    assert oh.is_open(on("2026-07-01T19:00")) and not oh.is_open(on("2026-09-01T19:00"))
    assert oh.is_open(on("2026-09-01T17:00"))
    oh = parse_hours("周一至周五 夏季(5-9月) 8:00-18:00 冬季(10-4月) 8:30-17:30")
    assert oh.is_open(on("2026-07-01T08:10")) and not oh.is_open(on("2026-07-04T10:00"))  # Saturday
    assert not oh.is_open(on("2026-12-01T08:10")) and oh.is_open(on("2026-12-01T08:40"))
    # holiday clauses apply in every season
    oh = parse_hours("夏季(5月-9月) 8:00-20:00 冬季(10月-4月) 9:00-18:00，法定节假日休息")
    assert not oh.is_open(on("2026-10-01T10:00")) and not oh.is_open(on("2026-05-01T10:00"))
    assert oh.is_open(on("2026-05-06T10:00"))


def test_seasonal_hours_without_a_date_use_every_season():
    oh = parse_hours(SEASONAL[0])
    assert not oh.open_at_hour(8.5) and oh.open_at_hour(10) and not oh.open_at_hour(19)
    assert oh.open_at_hour(19, on=date(2026, 7, 1)) and not oh.open_at_hour(19, on=date(2026, 12, 1))
    assert not oh.is_24h and not oh.is_closed


@pytest.mark.parametrize("text,fragment", [
    ("夏季 8:00-20:00 冬季 9:00-18:00", "without months"),
    ("夏令时 8:00-20:00", "without months"),
    ("冬季 9:00-17:00", "without months"),
    ("summer 08:00-20:00; winter 09:00-18:00", "without months"),
    ("夏季(6-8月) 8:00-20:00", "rest of the year"),
    ("夏季(5-9月) 8:00-20:00 冬季(9-4月) 9:00-18:00", "overlap"),
    ("13月-4月 9:00-18:00", "month"),
    ("5月1日-9月31日 8:00-20:00；10月1日-4月30日 9:00-18:00", "day"),
    ("夏季(5月-9月) 冬季(10月-4月) 9:00-18:00", "no hours given"),
])
def test_seasons_refused_with_reasons(text, fragment):
    with pytest.raises(HoursParseError) as info:
        parse_hours(text)
    assert fragment in str(info.value), str(info.value)


def test_season_without_months_message_says_why():
    with pytest.raises(HoursParseError) as info:
        parse_hours("夏季 8:00-20:00 冬季 9:00-18:00")
    msg = str(info.value)
    assert "夏季" in msg and "office" in msg and "5月-9月" in msg


# --- hours unknown ---------------------------------------------------------------------------------

OLD_V1_AFTERNOON = json.dumps({"v": 1, "week": [[[0, 330], [870, 1440]]] * 7}, separators=(",", ":"))


def test_unknown_is_a_state_never_open():
    for text in ("营业时间不详", "不详", "未知", "待定", "unknown", "hours unknown"):
        oh = parse_hours(text)
        assert oh.is_unknown and not oh.is_open(at(0, 10)) and not oh.is_24h and not oh.is_24_7
        assert not oh.is_closed and not oh.open_at_hour(10)
        assert oh.state_at(at(0, 10)) == "unknown"
        assert oh.describe() == "营业时间不详" and oh.describe("en") == "hours unknown"
        assert OpeningHours.from_json(oh.to_json()).is_unknown
    assert parse_hours("24h").state_at(at(0, 10)) == "open"
    assert parse_hours("off").state_at(at(0, 10)) == "closed"


def test_refresh_reparses_json_written_by_the_old_parser():
    new = refresh_hours_json("下午2:30-5:30", OLD_V1_AFTERNOON)
    oh = OpeningHours.from_json(new)
    assert oh.is_open(at(0, 16)) and not oh.is_open(at(0, 4)) and not oh.is_open(at(0, 22))
    assert json.loads(new)["v"] == 2
    # the old JSON itself is still readable (as the old parser meant it)
    assert OpeningHours.from_json(OLD_V1_AFTERNOON).is_open(at(0, 4))


def test_refresh_keeps_current_json_and_marks_unreadable_hours_unknown():
    cur = parse_hours("24小时").to_json()
    assert refresh_hours_json("24小时", cur) is cur or refresh_hours_json("24小时", cur) == cur
    bad = refresh_hours_json("看情况", OLD_V1_AFTERNOON)
    assert OpeningHours.from_json(bad).is_unknown
    assert "看情况" in OpeningHours.from_json(bad).unknown_reason
    # hours that the new parser refuses (ambiguous) become unknown, never open
    amb = OpeningHours.from_json(refresh_hours_json("8:30-5:30", '{"v":1,"week":[[[0,330],[510,1440]],[],[],[],[],[],[]]}'))
    assert amb.is_unknown and not amb.is_open(at(0, 10))
    # no text: the stored weekly form is kept; neither: unknown
    v1 = '{"v":1,"week":[[[540,1020]],[],[],[],[],[],[]]}'
    assert OpeningHours.from_json(refresh_hours_json("", v1)).is_open(at(0, 10))
    assert OpeningHours.from_json(refresh_hours_json("", "")).is_unknown
    assert OpeningHours.from_json(refresh_hours_json(None, "{}")).is_unknown
    col = refresh_hours_column(["下午2:30-5:30", "看情况", "24小时"], [OLD_V1_AFTERNOON, OLD_V1_AFTERNOON, cur])
    assert [OpeningHours.from_json(c).is_unknown for c in col] == [False, True, False]


def test_registry_load_reads_old_hours_right(tmp_path):
    from stations.registry import Registry
    from stations.schema import SERVICE_KEYS

    reg = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    base = {"name": "驿站", "address": "", "lon": 102.71, "lat": 25.04, "prefecture_adcode": "530100",
            "county_adcode": "530102", "host": "union", **{k: True for k in SERVICE_KEYS}, "phone": "",
            "status": "open", "source": "test"}
    reg.upsert(pd.DataFrame([
        {**base, "id": "A", "opening_hours": "下午2:30-5:30", "hours_json": OLD_V1_AFTERNOON},
        {**base, "id": "B", "opening_hours": "看情况", "hours_json": OLD_V1_AFTERNOON},
        {**base, "id": "C", "opening_hours": "24小时", "hours_json": parse_hours("24小时").to_json()},
    ]))
    gdf = reg.load().set_index("id")
    assert open_mask(gdf["hours_json"], at(0, 4)).tolist() == [False, False, True]
    assert open_mask(gdf["hours_json"], at(0, 16)).tolist() == [True, False, True]
    assert unknown_mask(gdf["hours_json"]).tolist() == [False, True, False]
    assert OpeningHours.from_json(gdf.loc["B", "hours_json"]).describe() == "营业时间不详"


def test_open_mask_unknown_and_calendar():
    js = [parse_hours(t).to_json() for t in ("周一至周五 9:00-17:00，法定节假日休息", "周一至周五 9:00-17:00",
                                               "工作日 9:00-17:00", "营业时间不详")]
    assert open_mask(js, on("2025-10-01T10:00")).tolist() == [False, True, False, False]
    assert open_mask(js, on("2025-10-11T10:00")).tolist() == [True, False, True, False]
    assert open_mask(js, on("2025-10-09T10:00")).tolist() == [True, True, True, False]
    assert unknown_mask(js + [None, ""]).tolist() == [False, False, False, True, True, True]


# --- 24/7 and "open at" --------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("24/7", True), ("24小时", True), ("全年无休 24小时", True), ("00:00-24:00", True), ("Mo-Su 00:00-24:00", True),
    ("周一至周五 24小时", False), ("24小时，法定节假日休息", False), ("Mo-Fr 00:00-24:00; Sa,Su 00:00-24:00; PH off", False),
    ("08:00-22:00", False), ("营业时间不详", False), ("off", False),
    ("夏季(5-9月) 24小时 冬季(10-4月) 24小时", True), ("夏季(5-9月) 24小时 冬季(10-4月) 8:00-22:00", False),
    ("24小时，节假日照常", True), ("工作日 24小时；周末 24小时", True),
])
def test_is_24_7(text, expected):
    oh = parse_hours(text)
    assert oh.is_24_7 is expected
    assert open_24_7_mask([oh.to_json()]).tolist() == [expected]


def test_open_24_7_mask_column():
    js = [parse_hours(t).to_json() for t in ("24/7", "周一至周五 24小时", "24小时")]
    assert open_24_7_mask(pd.Series(js + [None, "", "{bad"])).tolist() == [True, False, True, False, False, False]


def test_resolve_open_at():
    now = datetime(2026, 3, 2, 20, 0)  # a Monday evening
    assert resolve_open_at("22:00", now=now) == datetime(2026, 3, 2, 22, 0)
    assert resolve_open_at("20:00", now=now) == datetime(2026, 3, 2, 20, 0)
    assert resolve_open_at("06:30", now=now) == datetime(2026, 3, 3, 6, 30)  # the coming morning
    assert resolve_open_at("6:30", now=now) == datetime(2026, 3, 3, 6, 30)
    assert resolve_open_at("2026-03-05T22:00", now=now) == datetime(2026, 3, 5, 22, 0)
    assert resolve_open_at("2026-03-05 22:00", now=now) == datetime(2026, 3, 5, 22, 0)
    # an aware time is converted to Shanghai: 14:00 UTC = 22:00
    assert resolve_open_at("2026-03-05T14:00:00+00:00", now=now) == datetime(2026, 3, 5, 22, 0)
    for bad in ("25:00", "22", "晚上", "", "2026-13-01T10:00", "22:60"):
        with pytest.raises(InputError) as info:
            resolve_open_at(bad, now=now)
        assert info.value.param == "open_at"


def test_open_at_mask_for_a_night_shift_worker():
    js = [parse_hours(t).to_json() for t in ("08:00-22:00", "24小时", "18:00-02:00", "营业时间不详")]
    now = datetime(2025, 10, 9, 20, 0)
    assert open_at_mask(js, "21:59", now=now).tolist() == [True, True, True, False]
    assert open_at_mask(js, "22:00", now=now).tolist() == [False, True, True, False]
    assert open_at_mask(js, "01:30", now=now).tolist() == [False, True, True, False]  # tonight, after midnight
    assert open_at_mask(js, datetime(2025, 10, 9, 12), now=now).tolist() == [True, True, False, False]
    ph = [parse_hours("每天 8:00-20:00，法定节假日休息").to_json()]
    assert open_at_mask(ph, "2025-10-01T10:00").tolist() == [False]


# --- JSON compatibility --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [t for t, _ in PART_OF_DAY + REST_DAYS + LUNCH] + SEASONAL + [
    "周一至周五 9:00-17:00，法定节假日休息", "工作日 9:00-17:00，周末 10:00-14:00", "Mo-Fr 09:00-17:00; PH 10:00-12:00",
    "每天 18:00-02:00，法定节假日休息", "每天 8:00-18:00，夏季(6月-8月) 8:00-20:00", "营业时间不详",
    "周一至周五 夏季(5-9月) 8:00-18:00 冬季(10-4月) 8:30-17:30 节假日休息",
])
def test_new_forms_round_trip_json_and_describe(text):
    oh = parse_hours(text)
    back = OpeningHours.from_json(oh.to_json())
    assert back == oh and back.to_json() == oh.to_json()
    for lang in ("zh", "en"):
        again = parse_hours(oh.describe(lang))
        assert again == oh, (lang, oh.describe(lang))
        assert again.to_json() == oh.to_json(), (lang, oh.describe(lang))
    # the same answers on holidays, make-up days and season edges
    for when in ("2025-10-01T01:00", "2025-10-01T10:00", "2025-10-11T10:00", "2025-10-09T01:00",
                 "2026-09-30T19:30", "2026-10-01T19:30", "2026-07-04T10:00"):
        assert back.is_open(on(when)) == oh.is_open(on(when)), when


def test_every_json_the_old_code_wrote_is_still_read():
    old = {
        "24小时": '{"v":1,"week":[[[0,1440]],[[0,1440]],[[0,1440]],[[0,1440]],[[0,1440]],[[0,1440]],[[0,1440]]]}',
        "周一至周五 09:00-17:00": '{"v":1,"week":[[[540,1020]],[[540,1020]],[[540,1020]],[[540,1020]],[[540,1020]],[],[]]}',
        "18:00-02:00": json.dumps({"v": 1, "week": [[[0, 120], [1080, 1440]]] * 7}, separators=(",", ":")),
        "off": '{"v":1,"week":[[],[],[],[],[],[],[]]}',
        "no version": '{"week":[[[540,1020]],[],[],[],[],[],[]]}',
    }
    for text, js in old.items():
        oh = OpeningHours.from_json(js)
        if text != "no version":
            assert oh == parse_hours(text), text
        assert json.loads(oh.to_json())["v"] == 2
        assert OpeningHours.from_json(oh.to_json()) == oh
    assert OpeningHours.from_json(old["18:00-02:00"]).is_open(at(1, 1))


REAL_FORMS = [
    # days written after the times, then a holiday clause after a comma: two clauses, not one list
    ("08:30-17:30，周一至周五，法定节假日休息",
     OpeningHours(weekdays_only((510, 1050)).week, holiday=())),
    ("工作日：9:00-12:00 14:00-17:30；周末及节假日休息",
     OpeningHours(weekdays_only((540, 720), (840, 1050)).week, holiday=(), workdays=True)),
    ("上午8:30-11:30 下午2:30-5:30（周六、周日及法定节假日休息）",
     OpeningHours(weekdays_only((510, 690), (870, 1050)).week, holiday=())),
    ("Mo-Fr 08:00-18:00; Sa 09:00-12:00; Su,PH off",
     OpeningHours(week(*[((480, 1080),)] * 5, ((540, 720),), NONE).week, holiday=())),
    ("周一至周五：上午8:30-12:00，下午14:30-17:30", weekdays_only((510, 720), (870, 1050))),
    ("上午：8:00-12:00 下午：14:30-17:30", daily((480, 720), (870, 1050))),
    ("周一至周五 9:00-17:00 中午不休", WEEKDAYS_9_17),
    ("周一至周五8:30-17:30（午休12:00-14:00），周六日休息", weekdays_only((510, 720), (840, 1050))),
    ("每天8:00-20:00（节假日不休）", daily((480, 1200))),
    ("8:00-20:00 全年无休", daily((480, 1200))),
    ("24小时开放（节假日照常）", OpeningHours.always()),
    ("周一至周日 早上7点至晚上10点", daily((420, 1320))),
    ("晚上6点到早上6点", daily((0, 360), (1080, 1440))),
    ("8:30-12:00/14:00-17:30", daily((510, 720), (840, 1050))),
    ("8.30-17.30", daily((510, 1050))),
    ("工作日8:30-17:00 节假日9:00-16:00", OpeningHours(weekdays_only((510, 1020)).week, holiday=((540, 960),),
                                                  workdays=True)),
]


@pytest.mark.parametrize("text,expected", REAL_FORMS, ids=[f[0] for f in REAL_FORMS])
def test_real_forms(text, expected):
    assert parse_hours(text) == expected, parse_hours(text).describe()


@pytest.mark.parametrize("text,fragment", [
    ("8:00-20:00，春节休息", "one festival"),
    ("8:00-18:00（夏季）", "without months"),
    ("7:00-19:00（冬季8:00-18:00）", "without months"),
    ("Mo-Fr 09:00-17:00; SH off", "cannot read 'SH'"),  # OSM school holidays: no calendar for them
])
def test_real_forms_refused(text, fragment):
    with pytest.raises(HoursParseError, match=fragment):
        parse_hours(text)


def test_hours_column_answers_like_the_plain_column():
    from stations.hours import HoursColumn

    texts = ["24小时", "周一至周五 9:00-17:00，法定节假日休息", "18:00-02:00", "营业时间不详", "工作日 9:00-17:00"]
    js = [parse_hours(t).to_json() for t in texts] * 3 + [None, "", float("nan")]
    col = HoursColumn(pd.Series(js))
    assert len(col) == len(js)
    for when in ("2025-10-01T10:00", "2025-10-11T10:00", "2025-10-09T01:00", "2025-10-09T12:00"):
        assert open_mask(col, on(when)).tolist() == open_mask(js, on(when)).tolist(), when
    assert open_24_7_mask(col).tolist() == open_24_7_mask(js).tolist()
    assert unknown_mask(col).tolist() == unknown_mask(js).tolist()
    assert unknown_mask(col).sum() == 3 + 3
    bad = HoursColumn(["{bad", js[0]])
    with pytest.raises(HoursParseError, match="not valid JSON"):
        open_mask(bad, on("2025-10-09T10:00"))
    assert open_mask(bad, on("2025-10-09T10:00"), errors="closed").tolist() == [False, True]
    assert open_mask(HoursColumn([]), on("2025-10-09T10:00")).shape == (0,)
