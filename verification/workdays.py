"""Working days under the official Chinese holiday calendar (行政许可法 Art. 42, 45).

Weekends and statutory holidays are skipped; adjusted working weekends (调休) count, e.g.
Saturday 2016-10-08. The calendar (the chinesecalendar package) only knows the years it was
published for; outside them we say so instead of guessing.
"""

from datetime import date, timedelta
from functools import cache

import chinese_calendar


class CalendarNotCovered(ValueError):
    """The official calendar has no data for this date."""

    def __init__(self, day: date):
        super().__init__(f"no official holiday calendar for {day.isoformat()}")
        self.day = day


@cache
def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarNotCovered(day) from None


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end ≤ start)."""
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start`."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        days -= is_working_day(day)
    return day


def official_calendar() -> list[tuple[date, int]]:
    """Every day the official calendar covers, with the working days counted up to it.

    The count starts at 0 on the day before the calendar's first day, so that for any two days
    of the list working_days_between(start, end) is the difference of their counts: what lets
    the database count processing times (verification.models.CalendarDay). A day missing from
    the list is one the calendar does not cover.
    """
    years = chinese_calendar.constants.holidays
    first = date(min(years).year, 1, 1)
    last = date(max(years).year, 12, 31)
    day, count, rows = first - timedelta(days=1), 0, []
    while day <= last:
        rows.append((day, count))
        day += timedelta(days=1)
        if day <= last:
            count += is_working_day(day)
    return rows
