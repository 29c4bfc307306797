"""Opening hours of rest stations: free text read as a Chinese office writes it, into a structured form.

Station lists give opening hours as free text, in Chinese or in the OpenStreetMap ``opening_hours`` style.
:func:`parse_hours` reads (full list with examples: ``docs/opening-hours.md``)::

    24小时  24h  全天  二十四小时  24/7                    all day
    08:00-22:00  8:00—22:00  8:30～20:30  8:00至22:00  8点-22点半  八点到六点半  9am-5pm  1-5pm
    下午2:30-5:30 (= 14:30-17:30)   上午8:00-12:00，下午2:00-6:00   早8晚8   晚上7点-10点   中午12:00-2:00
    周一至周五 09:00-17:00   星期一至五   周六日   周一三五   工作日   法定工作日   每天   Mo-Fr   Sa,Su
    周一至周五 09:00-17:00；周六 10:00-16:00        Mo-Fr 09:00-17:00; Sa 10:00-14:00
    9:00-17:00（周六周日休息）  周末休息  周一闭馆  （周三除外）  We off         rest days
    9:00-17:00 午休12:00-13:30   8:30-17:30，中午12:00-14:00休息   Mo-Fr 09:00-12:00,13:30-17:00   lunch
    法定节假日休息  节假日除外  PH off  周末及法定节假日 10:00-16:00  PH 10:00-12:00  节假日照常营业
    夏季(5月-9月) 8:00-20:00 冬季(10月-4月) 9:00-18:00   5-9月 …；10-4月 …   May-Sep …; Oct-Apr …
    18:00-02:00  晚上10点-次日早上6点  10:00-02:00 (next day)                past midnight
    营业时间不详  不详  unknown                                               hours unknown

Reading rules:

- A part-of-day word (上午, 中午, 下午, 晚上, 早, 晚 …) before the start of a range also applies to its end
  when the end has none and that keeps the end after the start: ``下午2:30-5:30`` is 14:30-17:30,
  ``晚上8:00-2:00`` stays 20:00-02:00. ``早8晚8`` is 08:00-20:00.
- A 12-hour end that could be the same afternoon or the next morning (``8:30-5:30``, ``上午9点-5点``,
  ``12:00-2:00``: start written 0-12, end 1-11 without a leading zero or any word) is refused as
  ambiguous, never guessed; ``18:00-2:00``, ``10:00-02:00`` and ``8:00-次日6:00`` are past midnight.
- Rules are read left to right; a rule is an optional day selector and time ranges. A rule without days
  applies to every day; a later rule for the same days adds to them, one for other days replaces what was
  said about those days. Days written after the times apply to them (``8:30-20:30（周一至周日）``).
- Rest days are exceptions, not hours: ``周末休息``, ``周一闭馆``, ``（周三除外）``, ``We off`` remove their
  days wherever they are written (``周一闭馆 9:00-17:00`` is Tuesday-Sunday). Alone, with no hours, they
  are an error; only a bare ``休息``/``off``/``closed``/``暂停营业`` means never open.
- Lunch breaks (``午休12:00-13:30``, ``12:00-14:00休息`` after the day's hours, ``lunch break 12:00-13:00``)
  are cut out of every day's hours, or only of the days written right before the break word
  (``周一至周五午休12:00-13:30``); a break outside the hours is an error.
- Seasons need their months: ``夏季(5月-9月) …``, ``5月1日-9月30日 …``, ``10月-次年4月``, ``May-Sep …``.
  Hours written before the first season hold outside the seasons; a day selector alone before them is
  shared by every season. Seasons may not overlap, and must cover the year unless such hours are given.
  Season words without months (``夏季``, ``冬令时``, ``summer``) are refused: the day summer hours begin
  differs from office to office (5月1日, 清明, 国庆 …) and is not guessed.

Public holidays and the official calendar (:mod:`stations.hours.holidays`, PyPI ``chinesecalendar``):
the calendar applies to hours that have a holiday clause (``法定节假日休息``, ``节假日除外``,
``节假日 10:00-16:00``, ``PH off``, ``PH 10:00-12:00``, ``非工作日休息``) or that are written for working
days (``工作日``, ``法定工作日``; ``Working days``). For those, on a date of a known year:

- an official holiday (every day of a holiday period, weekends and days in lieu included) has the holiday
  hours of the clause (closed for 休息/off); with no clause (工作日 only) it has the rest-day hours, what
  Saturday and Sunday both have;
- a make-up working day (调休上班: a Saturday or Sunday worked) has the working-day hours, what Monday to
  Friday all have;
- every other day has its weekday's hours.

Hours with no holiday clause and no 工作日 (``周一至周五 9:00-17:00``, ``24小时``) follow the plain weekly
rule on every date, holidays included: the text does not say what happens on holidays. ``节假日照常营业``
says holidays are as usual and brings no calendar. Dates in years the package does not know
(:func:`calendar_years`) fall back to the plain weekly rule, and a warning is logged once per year.

The result, :class:`OpeningHours`, holds own ranges per weekday (Monday = 0; minutes, ends up to 2880 for
hours past midnight), the holiday hours, the 工作日 flag and seasons; or "hours unknown", which is never
open and is described as 营业时间不详 / hours unknown. Times are Asia/Shanghai local time (one time zone, no
daylight saving). ``hours_json`` in the station table is :meth:`OpeningHours.to_json` (version 2; version
1 is still read); :func:`refresh_hours_json` brings rows stored by an older parser up to date.
:func:`open_mask`, :func:`open_at_mask`, :func:`open_24_7_mask` and :func:`unknown_mask` answer for a
whole column (a :class:`HoursColumn` reads a column once for many questions). Anything unreadable raises
:class:`HoursParseError` naming the part and the reason.
"""

from stations.errors import HoursParseError  # noqa: F401 (re-exported: the classes live in stations.errors)

from .columns import (HoursColumn, open_24_7_mask, open_at_mask, open_mask, refresh_hours_column, refresh_hours_json,
                      resolve_open_at, unknown_mask)
from .holidays import calendar_years, day_kind, holiday_name
from .model import DAY_MINUTES, JSON_VERSION, SHANGHAI, OpeningHours, Season, to_shanghai
from .parser import parse_hours

__all__ = [
    "HoursParseError",
    "OpeningHours",
    "HoursColumn",
    "Season",
    "parse_hours",
    "open_mask",
    "open_at_mask",
    "open_24_7_mask",
    "unknown_mask",
    "resolve_open_at",
    "refresh_hours_json",
    "refresh_hours_column",
    "calendar_years",
    "day_kind",
    "holiday_name",
    "to_shanghai",
    "SHANGHAI",
    "DAY_MINUTES",
    "JSON_VERSION",
]
