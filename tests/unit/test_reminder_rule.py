"""When a reminder goes out: the day before on the wall clock, never in the night, never
after the start (``domain.notifications.reminder_at``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tierslieu.domain.notifications import reminder_at

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def utc_of(local: dt.datetime) -> dt.datetime:
    return local.astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("starts", "hours", "expected"),
    [
        # 10:00 on Tuesday: 10:00 on Monday.
        (paris(2027, 4, 6, 10, 0), 24, paris(2027, 4, 5, 10, 0)),
        # 08:00 on Tuesday, 24 h: 08:00 on Monday (the end of the night is allowed).
        (paris(2027, 4, 6, 8, 0), 24, paris(2027, 4, 5, 8, 0)),
        # 07:30: 07:30 the day before is in the night → 20:00 two evenings before.
        (paris(2027, 4, 6, 7, 30), 24, paris(2027, 4, 4, 20, 0)),
        # 22:00: 22:00 the day before is in the night → 20:00 the same evening.
        (paris(2027, 4, 6, 22, 0), 24, paris(2027, 4, 5, 20, 0)),
        # 20:59 is still the evening.
        (paris(2027, 4, 6, 20, 59), 24, paris(2027, 4, 5, 20, 59)),
        # 21:00 is the night.
        (paris(2027, 4, 6, 21, 0), 24, paris(2027, 4, 5, 20, 0)),
        # Two hours before a 09:00 start is 07:00, in the night: 20:00 the evening before.
        (paris(2027, 4, 6, 9, 0), 2, paris(2027, 4, 5, 20, 0)),
        # Two hours before 14:00 is 12:00.
        (paris(2027, 4, 6, 14, 0), 2, paris(2027, 4, 6, 12, 0)),
        # A week before.
        (paris(2027, 4, 13, 10, 0), 168, paris(2027, 4, 6, 10, 0)),
    ],
)
def test_the_day_before_out_of_the_night(starts, hours, expected):
    assert reminder_at(utc_of(starts), hours, "Europe/Paris") == utc_of(expected)


def test_daylight_saving_days_count_on_the_wall_clock():
    # Sunday 28 March 2027: clocks go from 02:00 to 03:00 in Paris.
    sunday = paris(2027, 3, 28, 10, 0)
    at = reminder_at(utc_of(sunday), 24, "Europe/Paris")
    assert at.astimezone(PARIS) == paris(2027, 3, 27, 10, 0)
    assert utc_of(sunday) - at == dt.timedelta(hours=23)  # a 23-hour night
    # Sunday 31 October 2027: clocks go back from 03:00 to 02:00.
    sunday = paris(2027, 10, 31, 10, 0)
    at = reminder_at(utc_of(sunday), 24, "Europe/Paris")
    assert at.astimezone(PARIS) == paris(2027, 10, 30, 10, 0)
    assert utc_of(sunday) - at == dt.timedelta(hours=25)
    # A start in the skipped hour's night is moved to the evening before, never into the gap.
    sunday = paris(2027, 3, 28, 3, 30)
    at = reminder_at(utc_of(sunday), 1, "Europe/Paris")
    assert at.astimezone(PARIS) == paris(2027, 3, 27, 20, 0)


def test_never_after_the_start_and_short_notice_is_in_the_past():
    starts = utc_of(paris(2027, 4, 6, 10, 0))
    for hours in (1, 2, 24, 168):
        assert reminder_at(starts, hours, "Europe/Paris") < starts
    # Booked at 09:00 for 10:00 the same day: the reminder time (10:00 the day before) is
    # already past; the job does not send it (the confirmation just told them).
    booked_at = utc_of(paris(2027, 4, 6, 9, 0))
    assert reminder_at(starts, 24, "Europe/Paris") < booked_at


def test_local_time_of_the_place():
    # 10:00 in Nouméa (UTC+11) the day after: 10:00 local the day before, not Paris time.
    noumea = dt.datetime(2027, 4, 6, 10, 0, tzinfo=ZoneInfo("Pacific/Noumea"))
    at = reminder_at(noumea.astimezone(dt.UTC), 24, "Pacific/Noumea")
    assert at.astimezone(ZoneInfo("Pacific/Noumea")) == dt.datetime(
        2027, 4, 5, 10, 0, tzinfo=ZoneInfo("Pacific/Noumea")
    )
