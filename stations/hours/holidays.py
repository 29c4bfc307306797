"""The official Chinese holiday calendar, from the maintained PyPI package ``chinesecalendar``.

China's public holidays move every year: the State Council publishes each December which days are off
(放假) and which weekend days are worked in exchange (调休上班). ``chinesecalendar`` (import name
``chinese_calendar``, MIT, https://github.com/LKI/chinese-calendar) carries those notices year by year;
a new release follows each notice. This module asks it one question per date, :func:`day_kind`:

``"holiday"``
    a day of an official holiday period (法定节假日放假), including the weekend days inside the period
    and the weekdays given in lieu (e.g. Wednesday 2025-10-08 of National Day);
``"makeup"``
    a Saturday or Sunday that is an official working day (调休上班, e.g. Saturday 2025-10-11);
``"normal"``
    any other day of a year the package knows;
``"unknown"``
    a year the package does not know (before its first year, or after the last notice it carries):
    callers fall back to the plain weekly rule, and a warning is logged once per year.

:func:`calendar_years` says which years are known.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache

import chinese_calendar

__all__ = ["calendar_years", "day_kind", "holiday_name", "DAY_KINDS"]

log = logging.getLogger("stations.hours")

DAY_KINDS = ("holiday", "makeup", "normal", "unknown")
_warned: set[int] = set()


@lru_cache(maxsize=1)
def calendar_years() -> range:
    """The years the installed ``chinesecalendar`` knows (a contiguous range, e.g. 2004..2026).

    Found by asking the package itself (it raises ``NotImplementedError`` for a year it has no notice for),
    so upgrading the package extends the range with no change here.
    """
    known = []
    for year in range(1990, 2101):
        try:
            chinese_calendar.get_holiday_detail(date(year, 1, 1))
        except NotImplementedError:
            continue
        known.append(year)
    if not known:  # pragma: no cover - a broken install
        return range(0)
    return range(known[0], known[-1] + 1)


@lru_cache(maxsize=4096)
def _detail(d: date) -> tuple[str, str | None]:
    if d.year not in calendar_years():
        return "unknown", None
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(d)
    except NotImplementedError:  # pragma: no cover - calendar_years() said the year was known
        return "unknown", None
    if on_holiday and name is not None:
        return "holiday", name
    if not on_holiday and d.weekday() >= 5:
        return "makeup", name
    return "normal", None


def day_kind(d: date) -> str:
    """``"holiday"``, ``"makeup"``, ``"normal"`` or ``"unknown"`` (year not in :func:`calendar_years`)."""
    kind = _detail(d)[0]
    if kind == "unknown" and d.year not in _warned:
        _warned.add(d.year)
        years = calendar_years()
        span = f"{years.start}-{years.stop - 1}" if len(years) else "no years"
        log.warning(
            "no official holiday calendar for %d (chinesecalendar knows %s): holiday clauses and make-up "
            "working days are not applied on its dates, the plain weekly rule is used", d.year, span)
    return kind


def holiday_name(d: date) -> str | None:
    """The English name of the holiday (``"National Day"``) for a holiday or make-up day, else None."""
    return _detail(d)[1]
