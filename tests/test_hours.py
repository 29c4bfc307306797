"""Tests for stations.hours: the real text forms, boundaries, time zones, JSON, errors, describe()."""

from __future__ import annotations

import json
import time
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
    ("工作日 9:00-17:00", WEEKDAYS_9_17),
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
    ("周一至周五 09:00-17:00（法定节假日除外）", WEEKDAYS_9_17),
    ("Mo-Fr 09:00-17:00; PH off", WEEKDAYS_9_17),
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
    assert s == '{"v":1,"week":[[[540,1020]],[[540,1020]],[[540,1020]],[[540,1020]],[[540,1020]],[],[]]}'
    assert " " not in s
    # the same hours written differently give the same JSON
    assert parse_hours("Mo-Fr 09:00-17:00").to_json() == s
    assert parse_hours("工作日 9:00-17:00").to_json() == s


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
    ('{"v":2,"week":[[],[],[],[],[],[],[]]}', "version"),
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
    ("周一至周五 09:00-17:00", "周一至周五 09:00-17:00", "Mo-Fr 09:00-17:00"),
    ("星期一至星期五 9:00-17:00", "周一至周五 09:00-17:00", "Mo-Fr 09:00-17:00"),
    ("24h", "24小时", "24 hours"),
    ("off", "休息", "off"),
    ("周一至周日 8:30-20:30", "每天 08:30-20:30", "Mo-Su 08:30-20:30"),
    ("周一至周五 09:00-17:00；周六 10:00-16:00",
     "周一至周五 09:00-17:00；周六 10:00-16:00", "Mo-Fr 09:00-17:00; Sa 10:00-16:00"),
    ("Sa,Su 10:00-16:00", "周六、周日 10:00-16:00", "Sa,Su 10:00-16:00"),
    ("9:00-12:00,14:00-18:00", "每天 09:00-12:00,14:00-18:00", "Mo-Su 09:00-12:00,14:00-18:00"),
    ("周一至周五 18:00-02:00", "周一至周五 18:00-02:00", "Mo-Fr 18:00-02:00"),
    ("18:00-02:00", "每天 18:00-02:00", "Mo-Su 18:00-02:00"),
    ("周一至周五 24小时；周末 9:00-17:00", "周一至周五 24小时；周六、周日 09:00-17:00",
     "Mo-Fr 00:00-24:00; Sa,Su 09:00-17:00"),
    ("周一、周三、周五 9:00-17:00", "周一、周三、周五 09:00-17:00", "Mo,We,Fr 09:00-17:00"),
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


def test_open_mask_200k_is_fast():
    texts = ["24小时", "周一至周五 09:00-17:00", "08:00-22:00", "周一至周日 8:30-20:30", "18:00-02:00"]
    js = [parse_hours(t).to_json() for t in texts]
    values = [js[i % len(js)] for i in range(200_000)]
    open_mask(values[:10], at(0, 10))  # warm up imports
    t0 = time.perf_counter()
    mask = open_mask(values, at(0, 10))
    elapsed = time.perf_counter() - t0
    assert mask.shape == (200_000,) and mask.dtype == bool
    assert mask.sum() == 4 * 40_000  # all but 18:00-02:00
    assert elapsed < 1.0, elapsed


def test_to_json_is_json():
    obj = json.loads(parse_hours("18:00-02:00").to_json())
    assert obj["v"] == 1 and len(obj["week"]) == 7 and obj["week"][0] == [[0, 120], [1080, 1440]]


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
