from datetime import date

import pytest

from verification.workdays import (
    CalendarNotCovered,
    add_working_days,
    is_working_day,
    working_days_between,
)


def test_adjusted_working_saturday_counts():
    assert is_working_day(date(2016, 10, 8))  # Saturday, worked in exchange for National Day
    assert not is_working_day(date(2016, 10, 3))  # National Day holiday, a Monday


def test_twentieth_working_day_after_2016_09_26_is_2016_10_27():
    assert add_working_days(date(2016, 9, 26), 20) == date(2016, 10, 27)
    assert working_days_between(date(2016, 9, 26), date(2016, 10, 27)) == 20
    assert working_days_between(date(2016, 9, 26), date(2016, 10, 26)) == 19


def test_plain_weekend_is_skipped():
    # Friday 2016-06-03 → Monday 2016-06-06 is one working day.
    assert working_days_between(date(2016, 6, 3), date(2016, 6, 6)) == 1


def test_no_working_days_when_end_is_not_after_start():
    assert working_days_between(date(2016, 6, 6), date(2016, 6, 6)) == 0
    assert working_days_between(date(2016, 6, 6), date(2016, 6, 1)) == 0


@pytest.mark.parametrize("day", [date(2003, 12, 30), date(2030, 1, 2)])
def test_a_year_the_calendar_does_not_cover_is_reported_not_guessed(day):
    with pytest.raises(CalendarNotCovered) as error:
        is_working_day(day)
    assert error.value.day == day
