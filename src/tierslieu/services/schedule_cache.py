"""What listings and bookings read besides counters, cached per process under a version.

An asset's row, its structure, opening rules and closures change a few times a week and
are read on every listing and every booking. Each process keeps them here, with the
slots they expand to, tagged with the database's ``schedule_version`` number (bumped by
triggers on every change to those tables, whoever makes it: another worker, a script,
psql). Every request that uses an entry reads the current number *in the same statement*
as its own data (counters, the caller's role and active bookings), so a stale entry is
never used, not even for one request, and nothing is trusted across workers unchecked.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tierslieu.db import fetch_rows, prepared, transient, whole
from tierslieu.domain.bookings import match_slot
from tierslieu.domain.slots import (
    OpeningRule,
    Period,
    Slot,
    expand_slots,
    local_day_period,
    public_holidays,
)
from tierslieu.domain.slots import days as local_days
from tierslieu.errors import NotFound
from tierslieu.models import (
    Asset,
    AvailabilityRule,
    Booking,
    Closure,
    ScheduleVersion,
    SlotCounter,
    Structure,
    User,
)
from tierslieu.services import booking_sql
from tierslieu.services.availability import ClosedPeriod, Schedule, to_opening_rule

T = TypeVar("T")
MAX_ASSETS = 4096
MAX_RANGES_PER_ASSET = 64


@dataclass(slots=True)
class CachedAsset:
    version: int
    asset: Asset
    structure: Structure
    tz: ZoneInfo
    rules: list[OpeningRule]
    closures: list[ClosedPeriod]  # every closure of the asset (public holidays added per range)
    _ranges: dict[tuple[dt.date, dt.date], list[tuple[Slot, ClosedPeriod | None]]] = field(
        default_factory=dict
    )
    _days: dict[dt.date, Any] = field(default_factory=dict)
    # Per range: each slot (with its closure) by its start and end, the first one if two.
    _exact: dict[
        tuple[dt.date, dt.date],
        dict[tuple[dt.datetime, dt.datetime], tuple[Slot, ClosedPeriod | None]],
    ] = field(default_factory=dict)

    def span(self, first_day: dt.date, last_day: dt.date) -> Period:
        return Period(
            local_day_period(first_day, self.tz).starts_at,
            local_day_period(last_day, self.tz).ends_at,
        )

    def schedule(self, first_day: dt.date, last_day: dt.date) -> Schedule:
        """The same Schedule ``availability.load_schedule`` builds, without a query."""
        span = self.span(first_day, last_day)
        closures = [c for c in self.closures if c.period.overlaps(span)]
        if self.structure.closed_on_public_holidays:
            closures += [
                ClosedPeriod(local_day_period(day, self.tz), "jour férié")
                for day in public_holidays(first_day, last_day, self.structure.holiday_subdivision)
            ]
        return Schedule(
            self.asset, self.structure, self.tz, self.rules, closures, first_day, last_day
        )

    def slots_with_closures(
        self, first_day: dt.date, last_day: dt.date
    ) -> list[tuple[Slot, ClosedPeriod | None]]:
        """Every slot of the range with the closure that hits it (expanded once per range)."""
        key = (first_day, last_day)
        found = self._ranges.get(key)
        if found is None:
            found = self._expand(first_day, last_day)
            if len(self._ranges) >= MAX_RANGES_PER_ASSET:
                self._ranges.clear()
            self._ranges[key] = found
        return found

    def match(
        self, first_day: dt.date, last_day: dt.date, requested: Period
    ) -> tuple[Slot, ClosedPeriod | None]:
        """``match_slot`` over the range's slots: the usual case (an open slot starting and
        ending as requested) by a dict instead of a pass over the range (72 slots of an
        hourly hall's three days made ~3 % of a booking's CPU); else ``match_slot``
        itself, which finds the same slot, or the refusal."""
        key = (first_day, last_day)
        exact = self._exact.get(key)
        if exact is None:
            exact = {}
            for pair in self.slots_with_closures(first_day, last_day):
                exact.setdefault((pair[0].starts_at, pair[0].ends_at), pair)
            if len(self._exact) >= MAX_RANGES_PER_ASSET:
                self._exact.clear()
            self._exact[key] = exact
        found = exact.get((requested.starts_at, requested.ends_at))
        if found is not None and found[1] is None and requested.starts_at < requested.ends_at:
            return found
        return match_slot(requested, self.slots_with_closures(first_day, last_day))

    def _expand(
        self, first_day: dt.date, last_day: dt.date
    ) -> list[tuple[Slot, ClosedPeriod | None]]:
        schedule = self.schedule(first_day, last_day)
        slots = expand_slots(self.rules, self.tz, first_day, last_day, self.asset.capacity)
        return [(s, schedule.closure_at(s.period)) for s in slots]

    def per_days(
        self, first_day: dt.date, last_day: dt.date, build: Callable[[list[Slot]], T]
    ) -> list[T]:
        """``build(a day's open slots)`` for each local day of the range, each made once per
        day and kept with this entry (so under its version), e.g. the day's encoded listing.
        Days, not ranges: a town's many overlapping ranges share them, and memory follows
        the days listed. The days not kept yet are expanded together, one schedule for
        their span (one a day cost ~180 µs each: the span, the closures and public
        holidays, the rules set up again), and split by the local day a slot starts on."""
        global _days_kept
        wanted = list(local_days(first_day, last_day))
        found = [self._days.get(day, _MISSING) for day in wanted]
        missing = [day for day, value in zip(wanted, found, strict=True) if value is _MISSING]
        if not missing:
            return found
        open_by_day: dict[dt.date, list[Slot]] = {day: [] for day in missing}
        for slot, closure in self._expand(missing[0], missing[-1]):
            if closure is None:
                day_slots = open_by_day.get(slot.starts_at.astimezone(self.tz).date())
                if day_slots is not None:
                    day_slots.append(slot)
        built = {day: build(slots) for day, slots in open_by_day.items()}
        if _days_kept + len(built) > MAX_DAYS_KEPT:
            for entry in _entries.values():
                entry._days.clear()
            _days_kept = 0
        self._days.update(built)
        _days_kept += len(built)
        return [
            built[day] if value is _MISSING else value
            for day, value in zip(wanted, found, strict=True)
        ]


# Days kept by per_days() over every entry; past this all are dropped (each is a few
# hundred bytes per slot: ~40 MB at most).
MAX_DAYS_KEPT = 60_000
_days_kept = 0
_MISSING = object()
_entries: dict[uuid.UUID, CachedAsset] = {}


def clear() -> None:
    global _days_kept
    _entries.clear()
    _days_kept = 0


def forget(asset_id: uuid.UUID) -> None:
    global _days_kept
    entry = _entries.pop(asset_id, None)
    if entry is not None:
        _days_kept -= len(entry._days)


def version_value():
    """The current schedule version (0 if its row is missing), as a scalar subquery."""
    return func.coalesce(
        select(ScheduleVersion.value).where(ScheduleVersion.id == 1).scalar_subquery(), 0
    )


def one_row():
    """A one-row FROM clause: ``select(version_value(), X).select_from(one_row()).outerjoin(X,
    …)`` yields the version with every matching X row, or once with NULLs when none match."""
    return select(literal(1).label("one")).subquery("one_row")


def cached(asset_id: uuid.UUID) -> CachedAsset | None:
    return _entries.get(asset_id)


_ASSET, _STRUCTURE = whole(Asset), whole(Structure)
# What ``to_opening_rule`` reads of a rule.
_RULE_COLUMNS = (
    "weekdays", "start_time", "end_time", "valid_from", "valid_until", "slot_minutes", "capacity",
)  # fmt: skip
# The version, the asset and its structure (one snapshot), then its rules, then its closures:
# by the driver itself (db.fetch_rows; through the ORM a load cost ~3 ms, 200 of them at
# the start of the rotating benchmark).
_LOAD_ASSET = prepared(
    select(
        version_value(),
        *_ASSET.columns,
        *_STRUCTURE.columns,
    )
    .join(Structure, Structure.id == Asset.structure_id)
    .where(Asset.id == bindparam("asset_id"))
)
_LOAD_RULES = prepared(
    select(*(getattr(AvailabilityRule, c) for c in _RULE_COLUMNS)).where(
        AvailabilityRule.asset_id == bindparam("asset_id")
    )
)
_LOAD_CLOSURES = prepared(
    select(Closure.starts_at, Closure.ends_at, Closure.reason).where(
        Closure.asset_id == bindparam("asset_id")
    )
)


async def load(session: AsyncSession, asset_id: uuid.UUID) -> CachedAsset:
    """Read the version with the asset (404 if absent) and its structure, then its rules
    and closures: the data is at least as new as the number it is stored under, so a
    check can only be conservative. The asset and structure are shared by requests,
    attached to no session (``db.transient``)."""
    connection = await session.connection()
    values = {"asset_id": asset_id}
    found = await fetch_rows(connection, _LOAD_ASSET, values)
    if not found:
        forget(asset_id)
        raise NotFound()
    version, *row = found[0]
    asset, structure = _ASSET.of(row), _STRUCTURE.of(row, len(_ASSET))
    asset.structure = structure
    rules = await fetch_rows(connection, _LOAD_RULES, values)
    closures = await fetch_rows(connection, _LOAD_CLOSURES, values)
    entry = CachedAsset(
        int(version),
        asset,
        structure,
        ZoneInfo(structure.timezone),
        [
            to_opening_rule(transient(AvailabilityRule, dict(zip(_RULE_COLUMNS, r, strict=True))))
            for r in rules
        ],
        [
            ClosedPeriod(Period(starts_at, ends_at), reason)
            for starts_at, ends_at, reason in closures
        ],
    )
    if len(_entries) >= MAX_ASSETS:
        clear()
    forget(asset_id)  # the previous version's days no longer count
    _entries[asset_id] = entry
    return entry


# --- the one statement of a listing -------------------------------------------------------


# The listing's statement, written once: a text statement's cache key is its string, where
# building the same select() for every listing and computing its cache key cost ~0.3 ms.
_COUNTERS_TEXT = text(
    "SELECT COALESCE((SELECT value FROM schedule_version WHERE id = 1), 0) AS version, "
    "slot_counter.starts_at, slot_counter.taken, slot_counter.waiting "
    "FROM (SELECT 1 AS one) AS one_row LEFT OUTER JOIN slot_counter "
    "ON slot_counter.asset_id = :asset_id AND slot_counter.starts_at >= :starts_at "
    "AND slot_counter.starts_at < :ends_at"
).bindparams(
    bindparam("asset_id", type_=SlotCounter.asset_id.type),
    bindparam("starts_at", type_=SlotCounter.starts_at.type),
    bindparam("ends_at", type_=SlotCounter.starts_at.type),
)
# On SQLite the slot starts come back as the stored text ("2026-12-01 08:00:00.000000", UTC)
# and are read by ``datetime.fromisoformat``: the column type's converter cost more than the
# query itself.
_COUNTERS_SQLITE = _COUNTERS_TEXT.columns(
    literal_column("version", BigInteger()),
    literal_column("starts_at", String()),
    SlotCounter.__table__.c.taken,
    SlotCounter.__table__.c.waiting,
)
# By the driver itself (db.fetch_rows); asyncpg returns the starts as datetimes.
_COUNTERS = prepared(_COUNTERS_SQLITE)

# What a slot with people on its waiting list counts as taken: newcomers get no place
# before them (``services/waitlist.py``), so it shows as full.
FULL_FOR_NEWCOMERS = 2**31 - 1


async def counters_with_version(
    connection: AsyncConnection, asset_id: uuid.UUID, span: Period
) -> tuple[int, dict[Any, int]]:
    """(schedule version, places taken per slot start in ``span``) in one round trip; a slot
    with a waiting list counts as full (``FULL_FOR_NEWCOMERS``). Core, not the ORM: no
    entities to load. Each start as the database gives it: a datetime on PostgreSQL, the
    stored text on SQLite (``db.sqlite_utc``; not read as a datetime: 62 of them were ~10 %
    of a listing), as ``DayListing.render`` looks them up."""
    values = {"asset_id": asset_id, "starts_at": span.starts_at, "ends_at": span.ends_at}
    rows = await fetch_rows(connection, _COUNTERS, values)
    version, taken = 0, {}
    for value, starts_at, count, waiting in rows:
        version = value
        if starts_at is not None:
            taken[starts_at] = FULL_FOR_NEWCOMERS if waiting else count
    return int(version), taken


async def busy_with_version(
    connection: AsyncConnection, asset_id: uuid.UUID, span: Period, active: tuple[str, ...]
) -> tuple[int, list[Period]]:
    """(schedule version, active bookings overlapping ``span``) in one round trip."""
    rows = await connection.execute(
        select(version_value(), Booking.starts_at, Booking.ends_at)
        .select_from(one_row())
        .outerjoin(
            Booking,
            and_(
                Booking.asset_id == asset_id,
                Booking.status.in_(active),
                Booking.starts_at < span.ends_at,
                Booking.ends_at > span.starts_at,
            ),
        )
    )
    version, busy = 0, []
    for value, starts_at, ends_at in rows.tuples():
        version = value
        if starts_at is not None:
            busy.append(Period(starts_at, ends_at))
    return int(version), busy


# --- the one read of a booking -------------------------------------------------------------


async def caller_facts(
    session: AsyncSession, user: User, structure_id: uuid.UUID, now: dt.datetime
) -> tuple[int, str | None, int]:
    """(schedule version, the caller's role in the structure, the caller's upcoming active
    bookings in the structure) in one round trip (a text statement, through Core)."""
    connection = await session.connection()
    row = (
        await connection.execute(
            booking_sql.CALLER_FACTS, {"user_id": user.id, "structure_id": structure_id, "now": now}
        )
    ).one()
    return int(row[0]), row[1], int(row[2] or 0)
