"""One rule for local times (domain/localtime.py): spring gap refused, autumn fold first."""

from __future__ import annotations

import datetime as dt

import pytest

from tierslieu.domain import localtime

Z = dt.UTC
N = dt.datetime  # a naive wall-clock time


@pytest.mark.parametrize(
    ("zone", "wall", "utc"),
    [
        ("Europe/Paris", N(2026, 12, 3, 10, 30), N(2026, 12, 3, 9, 30, tzinfo=Z)),  # winter
        ("Europe/Paris", N(2027, 6, 3, 10, 30), N(2027, 6, 3, 8, 30, tzinfo=Z)),  # summer
        ("Europe/Paris", N(2027, 3, 28, 1, 59), N(2027, 3, 28, 0, 59, tzinfo=Z)),  # before gap
        ("Europe/Paris", N(2027, 3, 28, 3, 0), N(2027, 3, 28, 1, 0, tzinfo=Z)),  # gap's end
        ("Europe/Paris", N(2026, 10, 25, 2, 30), N(2026, 10, 25, 0, 30, tzinfo=Z)),  # fold: 1st
        ("Europe/Paris", N(2026, 10, 25, 3, 0), N(2026, 10, 25, 2, 0, tzinfo=Z)),  # after fold
        ("America/New_York", N(2026, 11, 1, 1, 30), N(2026, 11, 1, 5, 30, tzinfo=Z)),  # fold: 1st
        ("Indian/Reunion", N(2027, 3, 28, 2, 30), N(2027, 3, 27, 22, 30, tzinfo=Z)),  # no DST
    ],
)
def test_a_wall_time_is_one_instant(zone, wall, utc):
    assert localtime.to_utc(wall, zone) == utc
    assert localtime.wall_to_utc(wall.date(), wall.time(), zone) == utc
    assert localtime.exists(wall, zone)
    assert localtime.to_local(utc, zone).replace(tzinfo=None) == wall


@pytest.mark.parametrize(
    ("zone", "wall"),
    [
        ("Europe/Paris", N(2027, 3, 28, 2, 0)),
        ("Europe/Paris", N(2027, 3, 28, 2, 30)),
        ("Europe/Paris", N(2027, 3, 28, 2, 59)),
        ("America/New_York", N(2027, 3, 14, 2, 30)),
        ("America/Santiago", N(2026, 9, 6, 0, 0)),  # the gap at midnight
    ],
)
def test_a_wall_time_in_the_spring_gap_is_refused(zone, wall):
    assert not localtime.exists(wall, zone)
    with pytest.raises(localtime.NonexistentLocalTime):
        localtime.to_utc(wall, zone)
    with pytest.raises(localtime.NonexistentLocalTime):
        localtime.wall_to_utc(wall.date(), wall.time(), zone)


@pytest.mark.parametrize(
    ("zone", "wall", "utc"),
    [
        ("Europe/Paris", N(2027, 3, 28, 2, 30), N(2027, 3, 28, 1, 30, tzinfo=Z)),  # → 03:30
        ("America/Santiago", N(2026, 9, 6, 0, 0), N(2026, 9, 6, 4, 0, tzinfo=Z)),  # → 01:00
        ("Europe/Paris", N(2027, 3, 28, 4, 0), N(2027, 3, 28, 2, 0, tzinfo=Z)),  # exists: same
        ("Europe/Paris", N(2026, 10, 25, 2, 30), N(2026, 10, 25, 0, 30, tzinfo=Z)),  # fold: 1st
    ],
)
def test_a_computed_boundary_in_the_gap_moves_forward_by_the_gap(zone, wall, utc):
    assert localtime.boundary_to_utc(wall, zone) == utc


def test_an_instant_with_an_offset_is_only_converted():
    aware = dt.datetime(2027, 3, 28, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert localtime.to_utc(aware, "Europe/Paris") == N(2027, 3, 28, 1, 30, tzinfo=Z)
    assert localtime.boundary_to_utc(aware, "Europe/Paris") == N(2027, 3, 28, 1, 30, tzinfo=Z)


def test_a_naive_stored_value_is_utc_when_shown():
    shown = localtime.to_local(N(2026, 12, 3, 9, 30), "Europe/Paris")
    assert shown.isoformat() == "2026-12-03T10:30:00+01:00"
    assert localtime.local_date(N(2026, 12, 3, 23, 30), "Europe/Paris") == dt.date(2026, 12, 4)
