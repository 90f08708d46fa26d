"""Slot expansion: wall-clock rules, daylight saving, closures, holidays — no database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import DAILY, MINUTELY, rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from tierslieu.domain.slots import (
    OpeningRule,
    Period,
    Slot,
    expand_slots,
    local_day_period,
    opening_periods,
    public_holidays,
    subtract,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def rule(start: str, end: str, minutes: int | None = 60, weekdays=range(1, 8), **kw) -> OpeningRule:
    return OpeningRule(
        weekdays=frozenset(weekdays),
        start=dt.time.fromisoformat(start),
        end=dt.time.fromisoformat(end),
        valid_from=kw.get("valid_from", dt.date(2027, 1, 1)),
        valid_until=kw.get("valid_until"),
        slot_minutes=minutes,
        capacity=kw.get("capacity"),
    )


def local(slots, tz=PARIS):
    return [
        (s.starts_at.astimezone(tz).strftime("%H:%M"), s.ends_at.astimezone(tz).strftime("%H:%M"))
        for s in slots
    ]


def test_morning_rule_keeps_its_local_time_across_both_2027_changes():
    garden = rule("09:00", "12:00", weekdays=[2, 6])  # Tuesday and Saturday
    before_spring = expand_slots([garden], PARIS, dt.date(2027, 3, 27), dt.date(2027, 3, 27), 8)
    after_spring = expand_slots([garden], PARIS, dt.date(2027, 3, 30), dt.date(2027, 3, 30), 8)
    before_fall = expand_slots([garden], PARIS, dt.date(2027, 10, 30), dt.date(2027, 10, 30), 8)
    after_fall = expand_slots([garden], PARIS, dt.date(2027, 11, 2), dt.date(2027, 11, 2), 8)
    for slots in (before_spring, after_spring, before_fall, after_fall):
        assert local(slots) == [("09:00", "10:00"), ("10:00", "11:00"), ("11:00", "12:00")]
    # Same wall clock, different UTC offsets.
    assert before_spring[0].starts_at.hour == 8 and after_spring[0].starts_at.hour == 7
    assert before_fall[0].starts_at.hour == 7 and after_fall[0].starts_at.hour == 8


def test_spring_forward_night_yields_only_existing_hours():
    night = rule("01:00", "04:00")
    slots = expand_slots([night], PARIS, dt.date(2027, 3, 28), dt.date(2027, 3, 28), 5)
    assert local(slots) == [("01:00", "03:00"), ("03:00", "04:00")]
    assert all(s.ends_at - s.starts_at == dt.timedelta(hours=1) for s in slots)


def test_fall_back_night_neither_duplicates_nor_loses_a_slot():
    night = rule("01:00", "04:00")
    slots = expand_slots([night], PARIS, dt.date(2027, 10, 31), dt.date(2027, 10, 31), 5)
    assert [s.starts_at.astimezone(PARIS).strftime("%H:%M") for s in slots] == [
        "01:00",
        "02:00",
        "03:00",
    ]
    assert len({s.starts_at for s in slots}) == 3
    # The 02:00–03:00 slot really lasts two hours that night; together they cover the night.
    assert slots[0].ends_at == slots[1].starts_at and slots[1].ends_at == slots[2].starts_at
    assert slots[-1].ends_at - slots[0].starts_at == dt.timedelta(hours=4)


def test_overlapping_rules_give_one_slot_with_the_larger_capacity():
    regular = rule("09:00", "11:00", capacity=8)
    extra = rule(
        "10:00",
        "12:00",
        capacity=12,
        valid_from=dt.date(2027, 4, 6),
        valid_until=dt.date(2027, 4, 6),
    )
    slots = expand_slots([regular, extra], PARIS, dt.date(2027, 4, 6), dt.date(2027, 4, 7), 8)
    day1 = [s for s in slots if s.starts_at.astimezone(PARIS).date() == dt.date(2027, 4, 6)]
    assert [(t, s.capacity) for t, s in zip(local(day1), day1, strict=True)] == [
        (("09:00", "10:00"), 8),
        (("10:00", "11:00"), 12),
        (("11:00", "12:00"), 12),
    ]
    assert len(slots) == 5  # the extra opening was one day only


def test_opening_periods_and_subtraction():
    room = rule("09:00", "18:00", minutes=None)
    day = dt.date(2027, 4, 6)
    [period] = opening_periods([room], PARIS, day, day)
    meeting = Period(
        dt.datetime(2027, 4, 6, 8, tzinfo=UTC), dt.datetime(2027, 4, 6, 10, tzinfo=UTC)
    )
    free = subtract([period], [meeting])
    assert [
        (
            p.starts_at.astimezone(PARIS).strftime("%H:%M"),
            p.ends_at.astimezone(PARIS).strftime("%H:%M"),
        )
        for p in free
    ] == [("09:00", "10:00"), ("12:00", "18:00")]


def test_local_days_have_23_24_or_25_hours():
    assert local_day_period(dt.date(2027, 3, 28), PARIS).ends_at - local_day_period(
        dt.date(2027, 3, 28), PARIS
    ).starts_at == dt.timedelta(hours=23)
    day = local_day_period(dt.date(2027, 10, 31), PARIS)
    assert day.ends_at - day.starts_at == dt.timedelta(hours=25)


def test_french_public_holidays_and_alsace_moselle():
    may = public_holidays(dt.date(2027, 5, 1), dt.date(2027, 5, 31), None)
    assert dt.date(2027, 5, 1) in may and dt.date(2027, 5, 8) in may
    december_paris = public_holidays(dt.date(2027, 12, 1), dt.date(2027, 12, 31), None)
    december_moselle = public_holidays(dt.date(2027, 12, 1), dt.date(2027, 12, 31), "57")
    assert dt.date(2027, 12, 26) not in december_paris
    assert dt.date(2027, 12, 26) in december_moselle


# --- against an independent oracle: dateutil.rrule + zoneinfo ------------------------------

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Europe/London", "UTC"]


def oracle(r: OpeningRule, tz: ZoneInfo, first: dt.date, last: dt.date) -> list[dt.datetime]:
    expected = set()
    byweekday = [d - 1 for d in r.weekdays]
    for day in rrule(
        DAILY,
        dtstart=dt.datetime.combine(first, dt.time()),
        until=dt.datetime.combine(last, dt.time()),
        byweekday=byweekday,
    ):
        if day.date() < r.valid_from or (r.valid_until and day.date() > r.valid_until):
            continue
        step = dt.timedelta(minutes=r.slot_minutes)
        last_start = dt.datetime.combine(day.date(), r.end) - step
        first_start = dt.datetime.combine(day.date(), r.start)
        if last_start < first_start:
            continue
        for naive in rrule(
            MINUTELY, interval=r.slot_minutes, dtstart=first_start, until=last_start
        ):
            aware = naive.replace(tzinfo=tz)
            round_trip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
            if round_trip == naive:  # the wall-clock time exists that day
                expected.add(aware.astimezone(UTC))
    return sorted(expected)


times = st.integers(min_value=0, max_value=23 * 12).map(lambda n: dt.time(n // 12, (n % 12) * 5))


@st.composite
def rules_and_ranges(draw):
    start = draw(times)
    length = draw(
        st.integers(min_value=1, max_value=(24 * 60 - (start.hour * 60 + start.minute)) // 5 - 1)
    )
    end_minutes = start.hour * 60 + start.minute + length * 5
    end = dt.time(end_minutes // 60, end_minutes % 60)
    slot_minutes = draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90, 120]))
    valid_from = draw(st.dates(dt.date(2026, 1, 1), dt.date(2028, 12, 31)))
    valid_until = draw(st.none() | st.dates(valid_from, dt.date(2029, 6, 30)))
    weekdays = draw(st.sets(st.integers(1, 7), min_size=1))
    first = draw(
        st.sampled_from(
            [
                dt.date(2027, 3, 26),
                dt.date(2027, 10, 29),
                dt.date(2027, 4, 1),
                dt.date(2027, 11, 5),
                dt.date(2027, 9, 30),
            ]
        )
    )
    first = draw(st.dates(first - dt.timedelta(days=3), first + dt.timedelta(days=3)))
    last = first + dt.timedelta(days=draw(st.integers(0, 10)))
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    r = OpeningRule(frozenset(weekdays), start, end, valid_from, valid_until, slot_minutes, None)
    return r, tz, first, last


@settings(max_examples=300, deadline=None)
@given(rules_and_ranges())
def test_expansion_matches_the_rrule_oracle(case):
    r, tz, first, last = case
    slots = expand_slots([r], tz, first, last, default_capacity=4)
    assert [s.starts_at for s in slots] == oracle(r, tz, first, last)
    for s in slots:
        assert s.ends_at > s.starts_at
        assert s.capacity == 4
        # Each slot starts at a wall-clock time of the rule's grid.
        wall = s.starts_at.astimezone(tz)
        offset = (wall.hour * 60 + wall.minute) - (r.start.hour * 60 + r.start.minute)
        assert offset >= 0 and offset % r.slot_minutes == 0


def _expand_slots_slowly(rules, tz, first_day, last_day, default_capacity):
    """The expansion before the steady-offset shortcut: every wall time converted with the
    careful rules of domain.localtime (kept here as the reference)."""
    from tierslieu.domain import localtime

    by_start = {}
    day = first_day
    while day <= last_day:
        for rule in rules:
            if rule.applies_on(day):
                start_wall = dt.datetime.combine(day, rule.start)
                end_wall = dt.datetime.combine(day, rule.end)
                step = (
                    dt.timedelta(minutes=rule.slot_minutes)
                    if rule.slot_minutes
                    else end_wall - start_wall
                )
                capacity = rule.capacity or default_capacity
                wall = start_wall
                while wall + step <= end_wall:
                    if localtime.exists(wall, tz):
                        starts_at = localtime.to_utc(wall, tz)
                        ends_at = localtime.boundary_to_utc(wall + step, tz)
                        if ends_at > starts_at:
                            known = by_start.get(starts_at)
                            if known is None or known.capacity < capacity:
                                by_start[starts_at] = Slot(starts_at, ends_at, capacity)
                    wall += step
        day += dt.timedelta(days=1)
    return sorted(by_start.values())


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Paris",
        "America/New_York",
        "Australia/Lord_Howe",  # a 30-minute change
        "America/Santiago",  # changes at midnight
        "America/Havana",  # changes at midnight, into a gap
        "Pacific/Apia",
        "Asia/Kolkata",  # no change at all
    ],
)
def test_the_fast_expansion_gives_the_careful_one_across_two_years(zone):
    tz = ZoneInfo(zone)
    every_day = frozenset(range(1, 8))
    rules = [
        OpeningRule(every_day, dt.time(0, 0), dt.time(23, 59), dt.date(2026, 1, 1), None, 30, 8),
        OpeningRule(every_day, dt.time(1, 30), dt.time(3, 30), dt.date(2026, 1, 1), None, 60, 12),
        OpeningRule(every_day, dt.time(22, 0), dt.time(23, 59), dt.date(2026, 1, 1), None, None, 3),
    ]
    first, last = dt.date(2026, 1, 1), dt.date(2027, 12, 31)
    assert expand_slots(rules, tz, first, last, 5) == _expand_slots_slowly(
        rules, tz, first, last, 5
    )
