"""Statistics: reporting periods in local time, and the shapes of the figures (pure).

Periods are local calendar months or ISO weeks (Monday to Sunday) of the structure's
zone, clipped to the requested window; each is also a half-open UTC interval, so the
database groups instants with plain comparisons (no time-zone functions in SQL: the
same query is exact on SQLite and PostgreSQL, daylight-saving changes included).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec

from tierslieu.domain.slots import Period, Slot, local_day_period

# A year and a day: a calendar year with its leap day.
MAX_STATS_DAYS = 366


class Grouping(StrEnum):
    MONTH = "month"
    WEEK = "week"


class PersonCategory(StrEnum):
    """Who booked: an account's kind, or a person booked by staff without an account."""

    NEIGHBOUR = "neighbour"
    RESIDENT = "resident"
    PROFESSIONAL = "professional"
    GUEST = "guest"


@dataclass(frozen=True, slots=True)
class StatPeriod:
    key: str  # "2026-03" or "2026-W10"
    first_day: dt.date
    last_day: dt.date  # inclusive
    starts_at: dt.datetime  # UTC, local midnight of first_day
    ends_at: dt.datetime  # UTC, local midnight after last_day


def stat_periods(
    first_day: dt.date, last_day: dt.date, group: Grouping, tz: ZoneInfo
) -> list[StatPeriod]:
    """Consecutive local months or ISO weeks covering [first_day, last_day], clipped to it."""
    periods: list[StatPeriod] = []
    day = first_day
    while day <= last_day:
        if group == Grouping.MONTH:
            next_start = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            key = f"{day.year:04d}-{day.month:02d}"
        else:
            next_start = day + dt.timedelta(days=7 - day.weekday())
            iso = day.isocalendar()
            key = f"{iso.year:04d}-W{iso.week:02d}"
        end = min(next_start - dt.timedelta(days=1), last_day)
        periods.append(
            StatPeriod(
                key,
                day,
                end,
                local_day_period(day, tz).starts_at,
                local_day_period(end, tz).ends_at,
            )
        )
        day = end + dt.timedelta(days=1)
    return periods


def period_index(periods: list[StatPeriod], moment: dt.datetime) -> int | None:
    """Which period an instant falls in (None outside the window)."""
    for index, period in enumerate(periods):
        if period.starts_at <= moment < period.ends_at:
            return index
    return None


def offered_seconds_shared(slots: list[Slot], periods: list[StatPeriod]) -> list[int]:
    """Place-seconds offered per period: each slot's capacity × length, by its start."""
    totals = [0] * len(periods)
    for slot in slots:
        index = period_index(periods, slot.starts_at)
        if index is not None:
            totals[index] += slot.capacity * int((slot.ends_at - slot.starts_at).total_seconds())
    return totals


def offered_seconds_exclusive(opening: list[Period], periods: list[StatPeriod]) -> list[int]:
    """Seconds of opening per period (an exclusive asset offers itself whole)."""
    totals = [0] * len(periods)
    for index, period in enumerate(periods):
        for open_ in opening:
            start = max(open_.starts_at, period.starts_at)
            end = min(open_.ends_at, period.ends_at)
            if end > start:
                totals[index] += int((end - start).total_seconds())
    return totals


def hours(seconds: int | None) -> float:
    return round(int(seconds or 0) / 3600, 2)


def occupancy_percent(booked_seconds: int, offered_seconds: int) -> float | None:
    """Booked place-hours over offered place-hours, in percent (None when nothing was offered)."""
    if offered_seconds <= 0:
        return None
    return round(100 * booked_seconds / offered_seconds, 1)


# --- the figures (also the API's response shapes) ------------------------------------


class BookingFigures(msgspec.Struct, kw_only=True):
    period: str
    first_day: dt.date
    last_day: dt.date
    bookings: int = 0
    places: int = 0
    people: int = 0
    people_by_kind: dict[str, int] = msgspec.field(default_factory=dict)
    bookings_by_kind: dict[str, int] = msgspec.field(default_factory=dict)
    attended: int = 0
    attended_places: int = 0
    no_show: int = 0
    cancelled: int = 0
    cancelled_late: int = 0
    declined: int = 0
    hours_of_use: float = 0.0
    booked_place_hours: float = 0.0
    offered_place_hours: float = 0.0
    occupancy_percent: float | None = None
    waiting_list_promotions: Annotated[
        int | None,
        msgspec.Meta(
            description="Promotions from the waiting list: not counted yet (null); "
            "a promotion leaves no trace to count once it is confirmed."
        ),
    ] = None


class AssetStats(msgspec.Struct, kw_only=True):
    asset_id: str
    name: str
    kind: str
    booking_mode: str
    cancel_deadline_minutes: int | None
    periods: list[BookingFigures]
    total: BookingFigures


class TariffFigures(msgspec.Struct, kw_only=True):
    period: str
    tariff: str
    orders: int
    meals: int
    revenue_cents: int
    suspended_meals_served: int


class SuspendedFigures(msgspec.Struct, kw_only=True):
    period: str
    bought: int
    given: int
    pool_at_end: int


class PickupFigures(msgspec.Struct, kw_only=True):
    window: str  # local wall-clock start, "12:15"
    orders: int


class SoldOutDish(msgspec.Struct, kw_only=True):
    service_date: dt.date
    meal: str
    dish: str
    portions: int
    sold_out_at: dt.datetime | None


class CanteenStats(msgspec.Struct, kw_only=True):
    by_tariff: list[TariffFigures]
    suspended_meals: list[SuspendedFigures]
    pickup_windows: list[PickupFigures]
    sold_out: list[SoldOutDish]
    services: int
    services_sold_out: int


class StatsReport(msgspec.Struct, kw_only=True):
    structure: str
    name: str
    timezone: str
    first_day: dt.date = msgspec.field(name="from")
    last_day: dt.date = msgspec.field(name="to")
    group: str
    periods: list[str]
    assets: list[AssetStats]
    canteen: CanteenStats | None
