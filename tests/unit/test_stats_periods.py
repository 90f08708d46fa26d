"""Reporting periods in local time and the French-spreadsheet cells (no database)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from tierslieu.csvout import cell as csv_cell
from tierslieu.domain.slots import Period, Slot
from tierslieu.domain.stats import (
    Grouping,
    occupancy_percent,
    offered_seconds_exclusive,
    offered_seconds_shared,
    stat_periods,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def test_months_start_at_local_midnight_across_daylight_saving() -> None:
    periods = stat_periods(dt.date(2026, 1, 1), dt.date(2026, 12, 31), Grouping.MONTH, PARIS)
    assert [p.key for p in periods][:3] == ["2026-01", "2026-02", "2026-03"]
    assert len(periods) == 12
    # March starts at 23:00 UTC (winter), April at 22:00 UTC (summer time since 29 March).
    assert periods[2].starts_at == dt.datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert periods[3].starts_at == dt.datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert all(a.ends_at == b.starts_at for a, b in itertools.pairwise(periods))
    # 743 hours in March (one lost), 745 in October (one gained).
    assert periods[2].ends_at - periods[2].starts_at == dt.timedelta(hours=743)
    assert periods[9].ends_at - periods[9].starts_at == dt.timedelta(hours=745)


def test_weeks_are_iso_and_clipped() -> None:
    periods = stat_periods(dt.date(2026, 12, 30), dt.date(2027, 1, 12), Grouping.WEEK, PARIS)
    assert [(p.key, p.first_day.day, p.last_day.day) for p in periods] == [
        ("2026-W53", 30, 3),
        ("2027-W01", 4, 10),
        ("2027-W02", 11, 12),
    ]


def test_a_window_shorter_than_a_month_is_one_clipped_period() -> None:
    (only,) = stat_periods(dt.date(2026, 3, 10), dt.date(2026, 3, 12), Grouping.MONTH, PARIS)
    assert (only.key, only.first_day, only.last_day) == (
        "2026-03",
        dt.date(2026, 3, 10),
        dt.date(2026, 3, 12),
    )


def test_offered_hours_by_slot_start_and_by_opening_overlap() -> None:
    periods = stat_periods(dt.date(2026, 3, 30), dt.date(2026, 4, 5), Grouping.MONTH, PARIS)
    late_march = dt.datetime(2026, 3, 31, 21, 30, tzinfo=UTC)  # 23:30 local, 31 March
    slot = Slot(late_march, late_march + dt.timedelta(hours=1), 8)
    assert offered_seconds_shared([slot], periods) == [8 * 3600, 0]
    # An exclusive opening straddling midnight is split between the months.
    opening = Period(late_march, late_march + dt.timedelta(hours=1))
    assert offered_seconds_exclusive([opening], periods) == [1800, 1800]
    assert occupancy_percent(9 * 3600, 192 * 3600) == 4.7
    assert occupancy_percent(5, 0) is None


def test_csv_cells_for_french_spreadsheets() -> None:
    assert csv_cell(dt.date(2026, 3, 1)) == "01/03/2026"
    assert csv_cell(dt.datetime(2026, 3, 5, 10, 5)) == "05/03/2026 10:05"
    assert csv_cell(4.7) == "4,7" and csv_cell(192.0) == "192"
    assert csv_cell(Decimal("11.50")) == "11,50"
    assert csv_cell(-3) == "-3"
    for lead in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(lead + "x") == "'" + lead + "x"
    assert csv_cell(None) == "" and csv_cell(True) == "oui"
