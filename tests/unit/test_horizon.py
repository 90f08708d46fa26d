"""The one date horizon every date input goes through (domain/horizon.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from tierslieu.domain.horizon import DateOutOfRange, check_date, check_dates, latest_date
from tierslieu.domain.slots import date_runs
from tierslieu.settings import DATE_HORIZON_DAYS, EARLIEST_DATE

TODAY = dt.date(2026, 11, 27)


def test_bounds_are_included_and_one_day_beyond_is_refused():
    assert check_date(EARLIEST_DATE, today=TODAY, field="d") == EARLIEST_DATE
    last = TODAY + dt.timedelta(days=DATE_HORIZON_DAYS)
    assert latest_date(TODAY) == last
    assert check_date(last, today=TODAY, field="d") == last
    for day in (EARLIEST_DATE - dt.timedelta(days=1), last + dt.timedelta(days=1)):
        with pytest.raises(DateOutOfRange) as refused:
            check_date(day, today=TODAY, field="starts_on")
        assert refused.value.status == 422
        assert refused.value.fields[0].field == "starts_on"


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime.max.replace(tzinfo=dt.timezone(dt.timedelta(hours=-14))),
        dt.datetime.min.replace(tzinfo=dt.timezone(dt.timedelta(hours=14))),
        dt.datetime(2099, 12, 22, 9, 0, tzinfo=dt.UTC),
    ],
)
def test_extreme_datetimes_are_refused_without_overflow(moment):
    with pytest.raises(DateOutOfRange):
        check_dates(TODAY, starts_at=moment)


def test_none_values_are_skipped():
    check_dates(TODAY, starts_on=None, ends_on=TODAY)


def test_date_runs_group_consecutive_days():
    d = dt.date(2027, 1, 1)
    days = [d, d + dt.timedelta(days=1), d + dt.timedelta(days=5), d, d + dt.timedelta(days=2)]
    assert date_runs(days) == [
        (d, d + dt.timedelta(days=2)),
        (d + dt.timedelta(days=5), d + dt.timedelta(days=5)),
    ]
