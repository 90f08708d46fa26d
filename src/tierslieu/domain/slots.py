"""Turn wall-clock opening rules into UTC slots and free intervals.

Rules are local wall-clock times in the structure's zone. Daylight saving:
a slot keeps its wall-clock start on both sides of a change; a start that does
not exist (spring forward) yields no slot; an ambiguous start (fall back) is
taken once, at its first occurrence — so no slot is ever duplicated or lost.
The conversions are ``domain/localtime.py``'s (one rule for gap and fold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays

from tierslieu.domain import localtime

UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class OpeningRule:
    weekdays: frozenset[int]  # ISO 1 (Monday) … 7 (Sunday)
    start: dt.time
    end: dt.time
    valid_from: dt.date
    valid_until: dt.date | None = None
    slot_minutes: int | None = None
    capacity: int | None = None

    def applies_on(self, day: dt.date) -> bool:
        if day < self.valid_from or (self.valid_until is not None and day > self.valid_until):
            return False
        return day.isoweekday() in self.weekdays


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A half-open UTC interval [starts_at, ends_at)."""

    starts_at: dt.datetime
    ends_at: dt.datetime

    def overlaps(self, other: Period) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def contains(self, other: Period) -> bool:
        return self.starts_at <= other.starts_at and other.ends_at <= self.ends_at


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int

    @property
    def period(self) -> Period:
        return Period(self.starts_at, self.ends_at)


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def date_runs(dates: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive days, as (first, last) pairs, in order."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(dates)):
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def expand_slots(
    rules: Iterable[OpeningRule],
    tz: ZoneInfo,
    first_day: dt.date,
    last_day: dt.date,
    default_capacity: int,
) -> list[Slot]:
    """Slots of a shared asset between two local dates (inclusive), sorted, one per start.

    When rules overlap (an extra opening over a regular one) a start appears once,
    with the larger capacity. A trailing remainder shorter than a slot is not a slot.
    """
    rules = list(rules)
    by_start: dict[dt.datetime, Slot] = {}
    for day in days(first_day, last_day):
        applying = [rule for rule in rules if rule.applies_on(day)]
        if not applying:
            continue
        # Most days the offset holds all day: a wall time is then ``wall - offset`` in UTC
        # (the careful conversion below cost eight datetime operations per slot).
        offset = localtime.steady_offset(day, tz)
        for rule in applying:
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
                if offset is not None:
                    starts_at = (wall - offset).replace(tzinfo=dt.UTC)
                    ends_at = starts_at + step
                elif localtime.exists(wall, tz):
                    starts_at = localtime.to_utc(wall, tz)
                    ends_at = localtime.boundary_to_utc(wall + step, tz)
                else:
                    wall += step
                    continue  # in the spring-forward gap: not offered
                if ends_at > starts_at:
                    known = by_start.get(starts_at)
                    if known is None or known.capacity < capacity:
                        by_start[starts_at] = Slot(starts_at, ends_at, capacity)
                wall += step
    return sorted(by_start.values())


def opening_periods(
    rules: Iterable[OpeningRule], tz: ZoneInfo, first_day: dt.date, last_day: dt.date
) -> list[Period]:
    """Opening hours of an exclusive asset as merged UTC periods."""
    rules = list(rules)
    periods = []
    for day in days(first_day, last_day):
        for rule in rules:
            if rule.applies_on(day):
                starts_at = localtime.boundary_to_utc(dt.datetime.combine(day, rule.start), tz)
                ends_at = localtime.boundary_to_utc(dt.datetime.combine(day, rule.end), tz)
                if ends_at > starts_at:
                    periods.append(Period(starts_at, ends_at))
    return merge(periods)


def merge(periods: Iterable[Period]) -> list[Period]:
    merged: list[Period] = []
    for period in sorted(periods):
        if merged and period.starts_at <= merged[-1].ends_at:
            last = merged[-1]
            merged[-1] = Period(last.starts_at, max(last.ends_at, period.ends_at))
        else:
            merged.append(period)
    return merged


def subtract(periods: Iterable[Period], removed: Iterable[Period]) -> list[Period]:
    """``periods`` minus every ``removed`` period (both sorted or not)."""
    holes = merge(removed)
    result: list[Period] = []
    first_hole = 0  # both lists are sorted and disjoint: one pass, not periods × holes
    for period in merge(periods):
        while first_hole < len(holes) and holes[first_hole].ends_at <= period.starts_at:
            first_hole += 1
        start = period.starts_at
        for hole in holes[first_hole:]:
            if hole.starts_at >= period.ends_at:
                break
            if hole.starts_at > start:
                result.append(Period(start, hole.starts_at))
            start = max(start, hole.ends_at)
        if start < period.ends_at:
            result.append(Period(start, period.ends_at))
    return result


def local_day_period(day: dt.date, tz: ZoneInfo, days_count: int = 1) -> Period:
    """The UTC period covering whole local days (23, 24 or 25 hours each)."""
    start = localtime.boundary_to_utc(dt.datetime.combine(day, dt.time()), tz)
    end_day = day + dt.timedelta(days=days_count)
    end = localtime.boundary_to_utc(dt.datetime.combine(end_day, dt.time()), tz)
    return Period(start, end)


_HOLIDAYS: dict[tuple[str | None, int], frozenset[dt.date]] = {}
_HOLIDAYS_KEPT = 256


def _holiday_calendar(subdivision: str | None, year: int) -> frozenset[dt.date]:
    key = (subdivision, year)
    known = _HOLIDAYS.get(key)
    if known is None:
        if len(_HOLIDAYS) >= _HOLIDAYS_KEPT:
            _HOLIDAYS.clear()
        # Computing a year takes tens of milliseconds: callers on an event loop check
        # holidays_known() first and compute unknown years in a worker thread.
        known = _HOLIDAYS[key] = frozenset(holidays.France(years=year, subdiv=subdivision).keys())
    return known


def holidays_known(first_day: dt.date, last_day: dt.date, subdivision: str | None) -> bool:
    """Whether public_holidays() over these dates is a cheap lookup (every year computed)."""
    return all((subdivision, y) in _HOLIDAYS for y in range(first_day.year, last_day.year + 1))


def public_holidays(
    first_day: dt.date, last_day: dt.date, subdivision: str | None
) -> list[dt.date]:
    """French public holidays between two dates, with a subdivision's own (e.g. "57")."""
    found: set[dt.date] = set()
    for year in range(first_day.year, last_day.year + 1):
        found |= {d for d in _holiday_calendar(subdivision, year) if first_day <= d <= last_day}
    return sorted(found)


def valid_subdivision(code: str) -> bool:
    return code in holidays.France.subdivisions
