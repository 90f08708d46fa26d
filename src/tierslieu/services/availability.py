"""Opening rules, closures, public holidays, and what is free (slots or intervals)."""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from tierslieu.db import only_small_statements, read_only, sqlite_utc
from tierslieu.domain import localtime
from tierslieu.domain.bookings import ACTIVE_STATUSES, BookingStatus, RangeTooLong
from tierslieu.domain.horizon import check_dates, latest_date
from tierslieu.domain.slots import (
    OpeningRule,
    Period,
    Slot,
    date_runs,
    expand_slots,
    holidays_known,
    local_day_period,
    merge,
    opening_periods,
    public_holidays,
    subtract,
)
from tierslieu.domain.vocabulary import BookingMode
from tierslieu.errors import InvalidInput, NotFound
from tierslieu.models import Asset, AvailabilityRule, Booking, Closure, Structure, User
from tierslieu.services import listing_cache
from tierslieu.services.assets import managed_asset
from tierslieu.services.clock import utcnow

MAX_RANGE_DAYS = 92


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    period: Period
    reason: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """Everything needed to know when an asset is open between two local dates."""

    asset: Asset
    structure: Structure
    tz: ZoneInfo
    rules: list[OpeningRule]
    closures: list[ClosedPeriod]
    first_day: dt.date
    last_day: dt.date

    @property
    def span(self) -> Period:
        return Period(
            local_day_period(self.first_day, self.tz).starts_at,
            local_day_period(self.last_day, self.tz).ends_at,
        )

    def slots(self) -> list[Slot]:
        """Shared asset: the slots of the span, closures removed (past ones kept).

        One pass over the sorted slots and merged closures: linear, not slots × closures.
        """
        slots = expand_slots(
            self.rules, self.tz, self.first_day, self.last_day, self.asset.capacity
        )
        return self._open(slots)

    def slots_on(self, days: Iterable[dt.date]) -> list[Slot]:
        """Like ``slots``, only on the given days (each run of consecutive days at once)."""
        slots: list[Slot] = []
        for first, last in date_runs(days):
            slots += expand_slots(self.rules, self.tz, first, last, self.asset.capacity)
        return self._open(sorted(slots))

    def opening_on(self, days: Iterable[dt.date]) -> list[Period]:
        """Like ``opening``, only on the given days."""
        periods: list[Period] = []
        for first, last in date_runs(days):
            periods += opening_periods(self.rules, self.tz, first, last)
        return subtract(periods, [c.period for c in self.closures])

    def _open(self, slots: list[Slot]) -> list[Slot]:
        holes = merge(c.period for c in self.closures)
        kept: list[Slot] = []
        index = 0
        for slot in slots:  # sorted by start; holes are disjoint and sorted
            while index < len(holes) and holes[index].ends_at <= slot.starts_at:
                index += 1
            if index < len(holes) and holes[index].starts_at < slot.ends_at:
                continue
            kept.append(slot)
        return kept

    def opening(self) -> list[Period]:
        """Exclusive asset: opening periods of the span, closures removed."""
        periods = opening_periods(self.rules, self.tz, self.first_day, self.last_day)
        return subtract(periods, [c.period for c in self.closures])

    def slots_with_closures(self) -> list[tuple[Slot, ClosedPeriod | None]]:
        """Every slot of the span with the closure that hits it, if any.

        One sweep over slots and closures sorted by start (closures may overlap each
        other): about slots + closures steps, not slots × closures.
        """
        slots = expand_slots(
            self.rules, self.tz, self.first_day, self.last_day, self.asset.capacity
        )
        pending = sorted(self.closures, key=lambda c: c.period.starts_at)
        active: list[tuple[dt.datetime, int, ClosedPeriod]] = []  # heap by end
        index, result = 0, []
        for slot in slots:
            while index < len(pending) and pending[index].period.starts_at < slot.ends_at:
                closure = pending[index]
                heapq.heappush(active, (closure.period.ends_at, index, closure))
                index += 1
            while active and active[0][0] <= slot.starts_at:
                heapq.heappop(active)
            hit = next((c for _, _, c in active if c.period.overlaps(slot.period)), None)
            result.append((slot, hit))
        return result

    def raw_opening(self) -> list[Period]:
        """Exclusive asset: opening periods, closures not removed."""
        return opening_periods(self.rules, self.tz, self.first_day, self.last_day)

    def closure_at(self, period: Period) -> ClosedPeriod | None:
        return next((c for c in self.closures if c.period.overlaps(period)), None)


def to_opening_rule(rule: AvailabilityRule) -> OpeningRule:
    return OpeningRule(
        weekdays=frozenset(rule.weekdays),
        start=rule.start_time,
        end=rule.end_time,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        slot_minutes=rule.slot_minutes,
        capacity=rule.capacity,
    )


async def load_schedule(
    session: AsyncSession, asset: Asset, first_day: dt.date, last_day: dt.date
) -> Schedule:
    """Rules, closures and holidays of an asset over local dates, in three queries."""
    structure: Structure = asset.structure
    tz = ZoneInfo(structure.timezone)
    rules = list(
        await session.scalars(
            select(AvailabilityRule).where(
                AvailabilityRule.asset_id == asset.id,
                AvailabilityRule.valid_from <= last_day,
                (AvailabilityRule.valid_until.is_(None))
                | (AvailabilityRule.valid_until >= first_day),
            )
        )
    )
    span_start = local_day_period(first_day, tz).starts_at
    span_end = local_day_period(last_day, tz).ends_at
    closures = [
        ClosedPeriod(Period(c.starts_at, c.ends_at), c.reason)
        for c in await session.scalars(
            select(Closure).where(
                Closure.asset_id == asset.id,
                Closure.starts_at < span_end,
                Closure.ends_at > span_start,
            )
        )
    ]
    if structure.closed_on_public_holidays:
        subdivision = structure.holiday_subdivision
        if holidays_known(first_day, last_day, subdivision):
            days = public_holidays(first_day, last_day, subdivision)
        else:  # a year's first computation is CPU work: off the event loop
            days = await anyio.to_thread.run_sync(public_holidays, first_day, last_day, subdivision)
        closures += [ClosedPeriod(local_day_period(day, tz), "jour férié") for day in days]
    return Schedule(
        asset, structure, tz, [to_opening_rule(r) for r in rules], closures, first_day, last_day
    )


# --- what is free -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FreeSlot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None = None
    remaining: int | None = None


def check_range(first_day: dt.date, last_day: dt.date) -> None:
    """A listing's local dates: both inside the date horizon, in order, at most 92 days."""
    check_dates(utcnow().date(), **{"from": first_day, "to": last_day})
    if last_day < first_day:
        raise InvalidInput("to", "invalid")
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise RangeTooLong({"max_days": MAX_RANGE_DAYS})


async def free_slots(
    session: AsyncSession, asset_id: uuid.UUID, first_day: dt.date, last_day: dt.date
) -> tuple[Asset, list[FreeSlot]]:
    """What can still be booked: shared slots with places left, or free intervals.

    Past times and closures are excluded. A constant number of queries, whatever
    the number of slots. Never any personal data.
    """
    check_range(first_day, last_day)
    now = utcnow()
    key = (asset_id, first_day, last_day)
    return await listing_cache.get_or_compute(
        key, now, lambda: _compute_free_slots(session, asset_id, first_day, last_day, now)
    )


@dataclass(frozen=True, slots=True)
class DayListing:
    """A local day's open slots, each already encoded up to its number of places left: the
    only part of a public listing that changes between two reads (made once per day and
    schedule version, kept with the asset in ``schedule_cache``)."""

    # The slots' starts, in order, as the database gives them back (``instant_key``): the
    # counters are looked up by them (on SQLite, reading 62 texts as datetimes was ~10 %
    # of a listing) and ``now`` is compared with them (SQLite's text sorts as its instants).
    starts: tuple[Any, ...]
    capacities: tuple[int, ...]
    heads: tuple[bytes, ...]

    @classmethod
    def build(
        cls,
        slots: list[Slot],
        tz: ZoneInfo,
        head: Callable[[Slot, ZoneInfo], bytes],
        key: Callable[[dt.datetime], Any],
    ) -> DayListing:
        return cls(
            tuple(key(s.starts_at) for s in slots),
            tuple(s.capacity for s in slots),
            tuple(head(s, tz) for s in slots),
        )

    def render(self, taken: dict[Any, int], now: Any) -> list[bytes]:
        """The day's slots after ``now``, with their places left (JSON objects); ``taken``
        and ``now`` in the form of ``starts``."""
        first = bisect.bisect_right(self.starts, now)
        return [
            b"%s%d}" % (head, max(0, capacity - taken.get(start, 0)))
            for start, capacity, head in zip(
                self.starts[first:], self.capacities[first:], self.heads[first:], strict=True
            )
        ]


def instant_key(dialect: str) -> Callable[[dt.datetime], Any]:
    """An instant as a listing's counters give it back (``counters_with_version``): the
    stored text on SQLite (``db.sqlite_utc``), the datetime itself on PostgreSQL."""
    return _itself if dialect == "postgresql" else sqlite_utc


async def free_slots_json(
    engine: AsyncEngine,
    asset_id: uuid.UUID,
    first_day: dt.date,
    last_day: dt.date,
    *,
    head: Callable[[Slot, ZoneInfo], bytes],
    whole: Callable[[list[FreeSlot], ZoneInfo], bytes],
) -> bytes:
    """``free_slots`` as the JSON body of the public listing, without building an object
    per slot: a shared asset's body is its cached ``DayListing``s filled with the
    counters (``head(slot, tz)``: one slot's JSON up to its places left; the same ``head``
    for every call, it is what the days keep); free intervals
    are encoded by ``whole(free, tz)``. Cached with the listings (``listing_cache``).
    On a connection of its own, no ORM session: the listing is the most read page."""
    check_range(first_day, last_day)
    now = utcnow()

    async def compute() -> bytes:
        async with read_only(engine).connect() as connection:
            entry, taken, busy = await _current_listing(connection, asset_id, first_day, last_day)
        if taken is None:
            return whole(_free_intervals(entry, busy, first_day, last_day, now), entry.tz)

        key = instant_key(engine.dialect.name)

        def build(slots: list[Slot]) -> DayListing:
            return DayListing.build(slots, entry.tz, head, key)

        parts: list[bytes] = []
        now_key = key(now)
        for day in entry.per_days(first_day, last_day, build):
            parts += day.render(taken, now_key)
        return b"[" + b",".join(parts) + b"]"

    return await listing_cache.get_or_compute((asset_id, first_day, last_day, "json"), now, compute)


@only_small_statements
async def _current_listing(
    connection: AsyncConnection, asset_id: uuid.UUID, first_day: dt.date, last_day: dt.date
) -> tuple[Any, dict[Any, int] | None, list[Period]]:
    """(the asset's cached schedule under the current version, places taken per slot start
    for a shared asset (else None), active bookings over the range for an exclusive one):
    one statement when the cache entry is current (see schedule_cache; imported here because
    it builds on this module's Schedule). 404 for an archived asset."""
    from tierslieu.services import schedule_cache

    entry = schedule_cache.cached(asset_id)
    fresh = entry is None
    while True:
        if entry is None:
            async with AsyncSession(bind=connection) as session:  # the ORM, on a cache miss
                entry = await schedule_cache.load(session, asset_id)
        asset, span = entry.asset, entry.span(first_day, last_day)
        taken: dict[Any, int] | None = None
        busy: list[Period] = []
        if asset.booking_mode == BookingMode.SHARED:
            version, taken = await schedule_cache.counters_with_version(connection, asset.id, span)
        else:
            version, busy = await schedule_cache.busy_with_version(
                connection, asset.id, span, tuple(s.value for s in ACTIVE_STATUSES)
            )
        if fresh or version == entry.version:
            break  # just loaded (at least as new as the counters' version), or still current
        entry, fresh = None, True  # changed since it was cached: load it again, re-read
    if asset.archived_at is not None:
        raise NotFound()
    return entry, taken, busy


def _free_intervals(
    entry: Any, busy: list[Period], first_day: dt.date, last_day: dt.date, now: dt.datetime
) -> list[FreeSlot]:
    span = entry.span(first_day, last_day)
    busy = [*busy, Period(span.starts_at, max(now, span.starts_at))]
    opening = entry.schedule(first_day, last_day).opening()
    return [FreeSlot(p.starts_at, p.ends_at) for p in subtract(opening, busy)]


async def _compute_free_slots(
    session: AsyncSession,
    asset_id: uuid.UUID,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
) -> tuple[Asset, list[FreeSlot]]:
    connection = await session.connection()
    entry, taken, busy = await _current_listing(connection, asset_id, first_day, last_day)
    if taken is None:
        return entry.asset, _free_intervals(entry, busy, first_day, last_day, now)
    key = instant_key(connection.dialect.name)
    return entry.asset, [
        FreeSlot(
            s.starts_at, s.ends_at, s.capacity, max(0, s.capacity - taken.get(key(s.starts_at), 0))
        )
        for s, closure in entry.slots_with_closures(first_day, last_day)
        if closure is None and s.starts_at > now
    ]


def _itself(value: dt.datetime) -> dt.datetime:
    return value


# --- rules and closures (staff) -------------------------------------------------------


async def list_rules(
    session: AsyncSession, user: User, asset_id: uuid.UUID
) -> list[AvailabilityRule]:
    asset = await managed_asset(session, user, asset_id)
    return list(
        await session.scalars(
            select(AvailabilityRule)
            .where(AvailabilityRule.asset_id == asset.id)
            .order_by(AvailabilityRule.valid_from, AvailabilityRule.start_time)
        )
    )


async def add_rule(
    session: AsyncSession, user: User, asset_id: uuid.UUID, fields: dict[str, Any]
) -> AvailabilityRule:
    """Add an opening rule (staff). Adding opening time never invalidates a booking."""
    asset = await managed_asset(session, user, asset_id)
    check_dates(
        utcnow().date(), valid_from=fields["valid_from"], valid_until=fields.get("valid_until")
    )
    if fields["start_time"] >= fields["end_time"]:
        raise InvalidInput("end_time", "invalid")
    if fields.get("valid_until") is not None and fields["valid_until"] < fields["valid_from"]:
        raise InvalidInput("valid_until", "invalid")
    if asset.booking_mode == BookingMode.SHARED and fields.get("slot_minutes"):
        span = dt.datetime.combine(dt.date.min, fields["end_time"]) - dt.datetime.combine(
            dt.date.min, fields["start_time"]
        )
        if dt.timedelta(minutes=fields["slot_minutes"]) > span:
            raise InvalidInput("slot_minutes", "invalid")
    fields["weekdays"] = sorted(set(fields["weekdays"]))
    rule = AvailabilityRule(asset_id=asset.id, **fields)
    session.add(rule)
    await session.flush()
    await _promote(session, asset.id)  # a capacity raised: the new places go to those waiting
    await session.commit()
    listing_cache.forget(asset.id)
    return rule


async def delete_rule(
    session: AsyncSession, user: User, asset_id: uuid.UUID, rule_id: uuid.UUID
) -> tuple[Asset, list[Booking]]:
    """Remove a rule; returns the active bookings now outside opening hours (kept, for staff to decide)."""
    asset = await managed_asset(session, user, asset_id)
    rule = await session.scalar(
        select(AvailabilityRule).where(
            AvailabilityRule.id == rule_id, AvailabilityRule.asset_id == asset.id
        )
    )
    if rule is None:
        raise NotFound()
    await session.delete(rule)
    await session.flush()
    affected = await bookings_outside_opening(session, asset)
    await _promote(session, asset.id)
    await session.commit()
    listing_cache.forget(asset.id)
    return asset, affected


async def list_closures(
    session: AsyncSession, user: User, asset_id: uuid.UUID
) -> tuple[Asset, list[Closure]]:
    asset = await managed_asset(session, user, asset_id)
    closures = await session.scalars(
        select(Closure).where(Closure.asset_id == asset.id).order_by(Closure.starts_at)
    )
    return asset, list(closures)


async def add_closure(
    session: AsyncSession,
    user: User,
    asset_id: uuid.UUID,
    *,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    reason: str,
) -> tuple[Asset, Closure, list[Booking]]:
    """Close an asset for a timed period or whole local days (``ends_on`` inclusive).

    Existing bookings are never cancelled: the ones now inside a closure are returned.
    """
    asset = await managed_asset(session, user, asset_id)
    check_dates(
        utcnow().date(),
        starts_at=starts_at,
        ends_at=ends_at,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    tz = ZoneInfo(asset.structure.timezone)
    if starts_on is not None or ends_on is not None:
        if starts_on is None or ends_on is None or starts_at is not None or ends_at is not None:
            raise InvalidInput("starts_on", "invalid")
        if ends_on < starts_on:
            raise InvalidInput("ends_on", "invalid")
        period = local_day_period(starts_on, tz, (ends_on - starts_on).days + 1)
    else:
        if starts_at is None or ends_at is None:
            raise InvalidInput("starts_at" if starts_at is None else "ends_at", "required")
        period = Period(
            localtime.typed_to_utc(starts_at, tz, "starts_at"),
            localtime.typed_to_utc(ends_at, tz, "ends_at"),
        )
        if period.starts_at >= period.ends_at:
            raise InvalidInput("ends_at", "invalid")
    closure = Closure(
        asset_id=asset.id,
        starts_at=period.starts_at,
        ends_at=period.ends_at,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
    )
    session.add(closure)
    await session.flush()
    affected = await bookings_outside_opening(session, asset)
    await session.commit()
    listing_cache.forget(asset.id)
    return asset, closure, affected


async def delete_closure(
    session: AsyncSession, user: User, asset_id: uuid.UUID, closure_id: uuid.UUID
) -> None:
    asset = await managed_asset(session, user, asset_id)
    closure = await session.scalar(
        select(Closure).where(Closure.id == closure_id, Closure.asset_id == asset.id)
    )
    if closure is None:
        raise NotFound()
    await session.delete(closure)
    await session.flush()
    await _promote(session, asset.id)  # the reopened slots' free places go to those waiting
    await session.commit()
    listing_cache.forget(asset.id)


async def _promote(session: AsyncSession, asset_id: uuid.UUID) -> None:
    from tierslieu.services import waitlist  # it builds on this module's schedule

    await waitlist.promote_asset(session, asset_id)


async def bookings_outside_opening(session: AsyncSession, asset: Asset) -> list[Booking]:
    """Upcoming active bookings that no longer fit the opening hours or hit a closure.

    The schedule is expanded only from now to the last upcoming booking, and never past
    the date horizon (no booking can be made beyond it; an older one there is not checked).
    """
    now = utcnow()
    tz = ZoneInfo(asset.structure.timezone)
    today = now.astimezone(tz).date()
    horizon_end = local_day_period(latest_date(today), tz).ends_at
    upcoming = list(
        await session.scalars(
            select(Booking)
            .where(
                Booking.asset_id == asset.id,
                Booking.status.in_((BookingStatus.PENDING, BookingStatus.CONFIRMED)),
                Booking.ends_at > now,
                Booking.starts_at < horizon_end,
            )
            .order_by(Booking.starts_at)
        )
    )
    if not upcoming:
        return []
    latest = latest_date(today)
    days: set[dt.date] = set()  # only the days around each booking are expanded
    for booking in upcoming:
        first = booking.starts_at.astimezone(tz).date() - dt.timedelta(days=1)
        last = min(booking.ends_at.astimezone(tz).date() + dt.timedelta(days=1), latest)
        days.update(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    schedule = await load_schedule(session, asset, min(days), max(days))
    if asset.booking_mode == BookingMode.SHARED:
        slots = await anyio.to_thread.run_sync(schedule.slots_on, days)  # CPU: off the loop
        open_slots = {(s.starts_at, s.ends_at) for s in slots}
        return [b for b in upcoming if (b.starts_at, b.ends_at) not in open_slots]
    opening = await anyio.to_thread.run_sync(schedule.opening_on, days)
    return [
        b for b in upcoming if not any(p.contains(Period(b.starts_at, b.ends_at)) for p in opening)
    ]
