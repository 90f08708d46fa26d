"""Book, see, cancel, approve and check in — without ever selling a place twice.

Shared assets: one atomic conditional UPDATE on the slot's counter row
(``taken + n <= capacity``; zero rows means full) plus a CHECK constraint.
Exclusive assets: on PostgreSQL an exclusion constraint refuses any overlap of
active bookings; on SQLite the overlap check and the insert run in one
``BEGIN IMMEDIATE`` transaction, so no other writer can slip in between.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from uuid_utils.compat import uuid7

from tierslieu.db import (
    fetch_raw,
    fetch_rows,
    only_small_statements,
    public_url,
    read_only,
    transient,
    write_rows,
)
from tierslieu.domain.bookings import (
    ACTIVE_STATUSES,
    ATTENDANCE_STATUSES,
    MAX_ACTIVE_BOOKINGS_PER_STRUCTURE,
    AssetRules,
    AttendanceTooEarly,
    BookingStatus,
    CreateBooking,
    Guest,  # noqa: F401 (re-exported: api and web build the command with it)
    IntervalTaken,
    InvalidTransition,
    NotCancellable,
    SlotFull,
    TooManyActiveBookings,
    WaitlistFull,
    allowed_from,
    check_interval,
    check_request,
    owner_may_cancel,
)
from tierslieu.domain.horizon import check_dates
from tierslieu.domain.quotas import QuotaOverrideNotAllowed
from tierslieu.domain.slots import Period, Slot
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES, BookingMode
from tierslieu.errors import DomainError, InvalidInput, NotFound
from tierslieu.group_commit import grouped
from tierslieu.models import Asset, Booking, SlotCounter, Structure, User
from tierslieu.services import behalf, listing_cache, notify, quotas, schedule_cache, waitlist
from tierslieu.services import booking_sql as sql
from tierslieu.services.access import has_role, require_role, structure_for
from tierslieu.services.accounts import person_for_token
from tierslieu.services.assets import get_asset
from tierslieu.services.availability import check_range, load_schedule
from tierslieu.services.clock import utcnow
from tierslieu.services.reminders import drop_pending_reminders


@dataclass(slots=True)
class BookingView:
    """A booking with what the caller may see of it."""

    booking: Booking
    asset: Asset
    structure: Structure
    # Name and phone of the person; only filled for the structure's staff.
    person_name: str | None = None
    person_phone: str | None = None
    caller_is_staff: bool = False


@only_small_statements
async def create_booking(
    session: AsyncSession,
    user: User,
    cmd: CreateBooking,
    *,
    commit: bool = True,
    _attempt: int = 0,
    rollback_on_refusal: bool = True,
    announce: bool = True,
) -> BookingView:
    """Book places in a slot (shared) or an interval (exclusive).

    Guarantees: every rule checked (``domain.bookings.check_request``: audience, window,
    times, party size; ``match_slot``/``check_interval``: opening hours, closures, slot
    alignment); capacity and non-overlap enforced by the database, so concurrent
    requests can never oversell; the booking is stored ``confirmed``, or ``pending``
    when the asset requires approval (staff bookings are confirmed). Staff book for a
    person (``services.behalf``: an account, a contact, or a contact made now, in this
    transaction), never for nobody. A full shared slot with a waiting list takes
    ``cmd.waitlist`` requests on its list (``waitlisted``, with a position;
    ``services/waitlist.py``); nobody gets places while others wait there.
    With ``commit=False`` the booking is only flushed, for a caller that commits it
    together with other rows (an idempotency record).
    ``rollback_on_refusal=False`` (with ``commit=False``) leaves the transaction to the
    caller when the booking is refused, so that a caller booking inside a savepoint (a
    series, ``services/series.py``) rolls back only that savepoint; ``announce=False``
    sends no message for this booking (the caller tells the person once).
    """
    now = utcnow()
    # The asset, its rules and closures come from the per-process cache; the version they
    # were loaded under is read with the caller's role and active bookings, in one statement.
    entry = schedule_cache.cached(cmd.asset_id) or await schedule_cache.load(session, cmd.asset_id)
    if commit and announce and rollback_on_refusal and _attempt == 0:
        quick = await _quick_booking(session, user, cmd, entry, now)
        if quick is not None:
            return quick
    version, role, active = await schedule_cache.caller_facts(
        session, user, entry.asset.structure_id, now
    )
    if version != entry.version:
        entry = await schedule_cache.load(session, cmd.asset_id)
        version, role, active = await schedule_cache.caller_facts(
            session, user, entry.asset.structure_id, now
        )
    asset, structure, tz = entry.asset, entry.structure, entry.tz
    is_staff = user.is_admin or (role is not None and role in ASSET_MANAGING_ROLES)
    if asset.archived_at is not None and not is_staff:
        raise NotFound()
    accepted = check_request(
        cmd,
        asset_rules(asset, structure),
        now=now,
        person_kind=user.kind,
        is_staff=is_staff,
        active_bookings=active,
    )
    requested = accepted.period
    # Staff always book for someone (an account, a contact, or a contact made now).
    person = (
        await behalf.person_for(
            session,
            user,
            structure.id,
            account=cmd.account,
            contact_id=cmd.contact_id,
            guest=accepted.guest,
        )
        if is_staff
        else behalf.Person(user.id)
    )
    starts_at, ends_at, party_size = requested.starts_at, requested.ends_at, cmd.party_size
    if cmd.quota_override and not is_staff:
        raise QuotaOverrideNotAllowed()
    override = await quotas.enforce(
        session, asset, user_id=person.user_id, contact_id=person.contact_id,
        starts_at=starts_at, ends_at=ends_at, now=now, timezone=structure.timezone,
        is_staff=is_staff, override=cmd.quota_override,
    )  # fmt: skip
    day = starts_at.astimezone(tz).date()
    first, last = day - dt.timedelta(days=1), day + dt.timedelta(days=1)

    # Not yet in the session: added with its places (or inserted with them on PostgreSQL).
    booking = Booking(
        **_booking_columns(cmd, user, person, requested, asset, accepted.status, override)
    )
    inserted = False  # True when the booking row went in with the places (PostgreSQL)
    if asset.booking_mode == BookingMode.SHARED:
        slot, _closure = entry.match(first, last, requested)
        may_wait = cmd.waitlist and asset.waitlist and party_size <= slot.capacity
        written = await _take_places(
            session,
            asset,
            slot.starts_at,
            slot.ends_at,
            slot.capacity,
            booking,
            now,
            entry.version,
            may_wait=may_wait,
            rollback=rollback_on_refusal,
        )
        if written is None:
            # The rules changed between our read and the write (PostgreSQL, another
            # process): nothing was written; check everything again on the new rules.
            schedule_cache.forget(asset.id)
            return await create_booking(
                session,
                user,
                cmd,
                commit=commit,
                rollback_on_refusal=rollback_on_refusal,
                announce=announce,
            )
        if written == FULL:
            joined = await waitlist.join(session, asset, booking, slot.capacity, now)
            if joined == waitlist.LIST_FULL:
                if rollback_on_refusal:
                    await session.rollback()
                raise WaitlistFull()
            if joined == waitlist.NOT_FULL and _attempt < 3:
                # Places came free between the two statements: book them after all.
                return await create_booking(
                    session,
                    user,
                    cmd,
                    commit=commit,
                    _attempt=_attempt + 1,
                    rollback_on_refusal=rollback_on_refusal,
                    announce=announce,
                )
            if joined == waitlist.NOT_FULL:
                if rollback_on_refusal:
                    await session.rollback()
                raise SlotFull({"remaining": 0, "requested": party_size})
            inserted = True  # added by waitlist.join
        else:
            inserted = written == WITH_BOOKING
    else:
        schedule = entry.schedule(first, last)
        check_interval(requested, schedule.raw_opening(), schedule.closure_at(requested))
        overlapping = await session.scalar(
            select(func.count()).where(
                Booking.asset_id == asset.id,
                Booking.exclusive.is_(True),
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.starts_at < ends_at,
                Booking.ends_at > starts_at,
            )
        )
        if overlapping:
            raise IntervalTaken()

    if not inserted:
        session.add(booking)
    # Joining the list sends nothing; a series announces itself once (services/series.py).
    if announce and booking.status != BookingStatus.WAITLISTED.value:
        await notify.booking_created(session, user, booking, asset, structure)
    try:
        await (session.commit() if commit else session.flush())
    except DBAPIError as exc:
        if rollback_on_refusal:
            await session.rollback()
        if _is_exclusion_violation(exc) or (booking.exclusive and _is_deadlock(exc)):
            raise IntervalTaken() from None
        raise
    listing_cache.forget(asset.id)
    return await _view(session, user, booking, asset, structure, is_staff)


async def _quick_booking(
    session: AsyncSession,
    user: User,
    cmd: CreateBooking,
    entry: schedule_cache.CachedAsset,
    now: dt.datetime,
) -> BookingView | None:
    """``_quick_write`` in the request's transaction: committed, or rolled back with the
    refusal it explains; None to go the general way (in the same transaction)."""
    if not _quick_may_try(cmd, entry):
        return None
    prepared = _quick_prepare(user, cmd, entry, now, session)
    if prepared is None:
        return None
    outcome = await _quick_write(await session.connection(), prepared)
    if outcome is None:
        return None
    if isinstance(outcome, DomainError):
        await session.rollback()
        raise outcome
    await session.commit()
    return _booked(outcome, entry)


@only_small_statements
async def book_for_oneself(
    engine: AsyncEngine, token: str, cmd: CreateBooking
) -> BookingView | None:
    """``POST /api/bookings`` without an ORM session: the token's person, then
    ``_quick_write``. On PostgreSQL in autocommit on one pooled connection, two statements
    and no BEGIN/COMMIT (the write is one atomic statement). On SQLite the person is read
    first, without a transaction that writes, and the booking and its message are made
    before the write transaction (``BEGIN IMMEDIATE``) begins: it holds the process's write
    turn only for its statements. None (nothing written) for anything else: the general way
    takes the request from the start (the token again, its refusals, its 401)."""
    entry = schedule_cache.cached(cmd.asset_id)
    if entry is None or not _quick_may_try(cmd, entry):
        return None
    now = utcnow()
    outcome: Booking | DomainError | None = None
    if engine.dialect.name == "postgresql":
        async with engine.connect() as pooled:
            connection = await pooled.execution_options(isolation_level="AUTOCOMMIT")
            user = await person_for_token(connection, token)
            prepared = None if user is None else _quick_prepare(user, cmd, entry, now, engine)
            if prepared is not None:
                outcome = await _quick_write(connection, prepared)
    else:
        async with read_only(engine).connect() as reading:
            user = await person_for_token(reading, token)
        prepared = None if user is None else _quick_prepare(user, cmd, entry, now, engine)
        if prepared is not None:
            # With the other bookings under way: one write transaction and one COMMIT.
            found = await grouped(engine, functools.partial(_quick_sqlite, quick=prepared))
            outcome = prepared.booking if found is None else _quick_refusal(prepared, found)
    if outcome is None:
        return None
    if isinstance(outcome, DomainError):
        raise outcome
    return _booked(outcome, entry)


def _booked(booking: Booking, entry: schedule_cache.CachedAsset) -> BookingView:
    listing_cache.forget(entry.asset.id)
    return BookingView(booking, entry.asset, entry.structure)


def _quick_may_try(cmd: CreateBooking, entry: schedule_cache.CachedAsset) -> bool:
    """What the one statement covers, as far as the request and the asset tell: not on
    someone's behalf, no quota, a shared asset open to the public, and no wish to join a
    waiting list (the general way joins it when the slot is full)."""
    asset = entry.asset
    return not (
        cmd.on_behalf
        or cmd.quota_override
        or (cmd.waitlist and asset.waitlist)
        or asset.archived_at is not None
        or asset.booking_mode != BookingMode.SHARED
        or quotas.of(asset)
    )


@dataclass(frozen=True, slots=True)
class _QuickBooking:
    """What ``_quick_write`` writes, made before any write begins."""

    booking: Booking
    slot: Slot
    entry: schedule_cache.CachedAsset
    values: dict[str, object]  # every parameter of the statements
    row: dict[str, object]  # the booking's columns (SQLite's INSERT)
    message: dict[str, object] | None  # the « confirmed » message's columns, if one is sent


def _quick_prepare(
    user: User,
    cmd: CreateBooking,
    entry: schedule_cache.CachedAsset,
    now: dt.datetime,
    bind: AsyncEngine | AsyncSession,
) -> _QuickBooking | None:
    """The common booking's checks and rows (``_quick_write``), in Python and before any
    write: a person books a shared slot for themself, confirmed at once, with no quota to
    count. The checks run as for anyone who is not staff; the statement re-checks in the
    database what they assumed. None to go the general way: an administrator, a request a
    staff member might be allowed (the general way decides), a party larger than the slot.
    """
    asset, structure = entry.asset, entry.structure
    if user.is_admin:
        return None
    rules = asset_rules(asset, structure)
    try:
        accepted = check_request(
            cmd, rules, now=now, person_kind=user.kind, is_staff=False, active_bookings=0
        )
        if accepted.status != BookingStatus.CONFIRMED:
            return None
        requested = accepted.period
        day = requested.starts_at.astimezone(entry.tz).date()
        one_day = dt.timedelta(days=1)
        slot, _closure = entry.match(day - one_day, day + one_day, requested)
    except DomainError:
        return None  # a staff member may be allowed more: the general way decides
    if cmd.party_size > slot.capacity:
        return None
    row = _booking_columns(cmd, user, behalf.Person(user.id), requested, asset, accepted.status)
    booking = transient(Booking, row)  # written by the statement, never by a session
    values: dict[str, object] = {
        "id": uuid7(),
        "asset_id": asset.id,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "capacity": slot.capacity,
        "taken": cmd.party_size,
        "now": now,
        "version": entry.version,
        "user_id": user.id,
        "structure_id": structure.id,
        **{f"b_{c}": v for c, v in row.items()},
    }
    message = notify.own_confirmation(user, booking, asset, structure, public_url(bind))
    if message is not None:
        values.update({f"m_{c}": message[c] for c in sql.MESSAGE_COLUMNS})
    return _QuickBooking(booking, slot, entry, values, row, message)


# Built once: constructing an INSERT cost more than running it on SQLite.


async def _quick_write(
    connection: AsyncConnection, quick: _QuickBooking
) -> Booking | DomainError | None:
    """The common booking (``_quick_prepare``) in one statement (``booking_sql``), which
    re-checks in the database what the checks assumed (the schedule version, that the
    caller is not staff of the structure, the limit of bookings to come) and writes the
    places, the booking and its « confirmed » message together, or nothing. Returns the
    booking written; the refusal it can explain (the caller ends the transaction); or None
    to go the general way (an assumption that did not hold: staff, rules changed; nothing
    was written)."""
    values = quick.values
    if connection.dialect.name == "postgresql":
        statement = (
            sql.QUICK_BOOK_PG_RAW if quick.message is not None else sql.QUICK_BOOK_PG_SILENT_RAW
        )
        (found,) = await fetch_raw(connection, statement, values)
        if found["booked"]:
            return quick.booking
    else:
        if not connection.in_transaction():  # a session's is begun already
            await connection.begin()  # BEGIN IMMEDIATE, after this process's writers before it
        found = await _quick_sqlite(connection, quick)
        if found is None:
            return quick.booking
    return _quick_refusal(quick, found)


async def _quick_sqlite(connection: AsyncConnection, quick: _QuickBooking) -> dict[str, Any] | None:
    """SQLite, in a write transaction: the guarded counter, then the booking and its message
    if it took the places (None), else what it found (``_quick_refusal``). Only statements:
    it may run again in a group's new transaction (``group_commit``)."""
    values = quick.values
    if await write_rows(connection, sql.QUICK_TAKE_PLACES_FAST, values):
        await write_rows(connection, sql.INSERT_BOOKING, quick.row)
        if quick.message is not None:
            await write_rows(connection, sql.INSERT_MESSAGE, quick.message)
        return None
    (row,) = await fetch_rows(connection, sql.QUICK_FOUND_FAST, values)
    return dict(zip(sql.FOUND_NAMES, row, strict=True))


def _quick_refusal(quick: _QuickBooking, found: Mapping[str, Any]) -> DomainError | None:
    """Why the guarded counter took nothing (what ``_quick_write`` found): the refusal to
    answer, or None to go the general way (nothing was written)."""
    asset = quick.entry.asset
    if found["version"] != quick.entry.version:
        schedule_cache.forget(asset.id)  # the rules changed: whoever books next reloads them
        return None  # the general way checks again under the new rules
    if found["role"] is not None and found["role"] in ASSET_MANAGING_ROLES:
        return None  # staff: the general way (in this transaction; nothing was written)
    if found["active"] >= MAX_ACTIVE_BOOKINGS_PER_STRUCTURE:
        return TooManyActiveBookings({"limit": MAX_ACTIVE_BOOKINGS_PER_STRUCTURE})
    capacity = quick.slot.capacity
    remaining = 0 if found["waiting"] else max(0, capacity - (found["taken"] or 0))
    extra: dict[str, object] = {"remaining": remaining}
    if asset.waitlist:
        extra["waitlist_available"] = True
    return SlotFull({"remaining": remaining, "requested": quick.booking.party_size}, extra=extra)


def _booking_columns(
    cmd: CreateBooking,
    user: User,
    person: behalf.Person,
    requested: Period,
    asset: Asset,
    status: BookingStatus,
    override: str | None = None,
) -> dict[str, object]:
    """The columns of an accepted request's booking (``booking_sql.BOOKING_COLUMNS``)."""
    created = dt.datetime.now(dt.UTC)  # the real time, like the ORM default (not the test clock)
    return {
        "id": uuid7(),
        "created_at": created,
        "updated_at": created,
        "asset_id": asset.id,
        "user_id": person.user_id,
        "created_by_id": user.id,
        "contact_id": person.contact_id,
        "guest_name": person.name,
        "guest_phone": person.phone,
        "guest_email": person.email,
        "starts_at": requested.starts_at,
        "ends_at": requested.ends_at,
        "party_size": cmd.party_size,
        "note": cmd.note,
        "status": status.value,
        "exclusive": asset.booking_mode == BookingMode.EXCLUSIVE,
        "sequence": 0,
        "quota_override": override,
        "series_id": cmd.series_id,
    }


def asset_rules(asset: Asset, structure: Structure) -> AssetRules:
    """What of an asset ``check_request`` needs."""
    return AssetRules(
        audience=tuple(asset.audience),
        timezone=structure.timezone,
        min_notice_minutes=asset.min_notice_minutes,
        max_advance_days=asset.max_advance_days,
        max_party_size=asset.max_party_size,
        requires_approval=asset.requires_approval,
    )


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )


def _is_exclusion_violation(exc: DBAPIError) -> bool:
    return _sqlstate(exc) == "23P01" or "ex_booking_no_overlap" in str(exc)


def _is_deadlock(exc: DBAPIError) -> bool:
    """PostgreSQL checks an exclusion constraint after inserting: two overlapping inserts
    can each wait for the other, and one is aborted as a deadlock (40P01) after
    ``deadlock_timeout``. The other holds the interval: for this one it is taken (it was
    a 500 under load)."""
    return _sqlstate(exc) == "40P01"


WITH_BOOKING, PLACES_ONLY, FULL = "with-booking", "places-only", "full"


async def _take_places(
    session: AsyncSession,
    asset: Asset,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
    booking: Booking,
    now: dt.datetime,
    version: int,
    *,
    may_wait: bool = False,
    rollback: bool = True,
) -> str | None:
    """Atomically take the booking's places in the slot's counter, or raise SlotFull
    (``may_wait``: return FULL instead, the transaction still open for joining the list).

    One statement: insert the counter with the places taken, or on conflict add them to
    it only while ``taken + places <= capacity``; and only while the schedule version is
    still ``version``. On PostgreSQL the same statement inserts the booking row (a CTE):
    WITH_BOOKING; on SQLite the caller inserts it: PLACES_ONLY. None (nothing written)
    if the version moved.
    """
    places = booking.party_size
    if places <= capacity:
        values: dict[str, object] = {
            "id": uuid7(),
            "asset_id": asset.id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "capacity": capacity,
            "taken": places,
            "now": now,
            "version": version,
        }
        if session.get_bind().dialect.name == "postgresql":
            values.update({f"b_{c}": getattr(booking, c) for c in sql.BOOKING_COLUMNS})
            if (await session.execute(sql.TAKE_PLACES_AND_BOOK_PG, values)).first() is not None:
                return WITH_BOOKING
        elif (await session.execute(sql.TAKE_PLACES_SQLITE, values)).first() is not None:
            return PLACES_ONLY
    row = (
        await session.execute(
            select(schedule_cache.version_value(), SlotCounter.taken, SlotCounter.waiting)
            .select_from(schedule_cache.one_row())
            .outerjoin(
                SlotCounter,
                (SlotCounter.asset_id == asset.id) & (SlotCounter.starts_at == starts_at),
            )
        )
    ).one()
    if row[0] != version:
        return None
    if may_wait:
        return FULL
    taken = row[1]
    if rollback:
        await session.rollback()
    remaining = 0 if row[2] else max(0, capacity - (taken or 0))  # none while others wait
    extra: dict[str, object] = {"remaining": remaining}
    if asset.waitlist and places <= capacity:
        extra["waitlist_available"] = True
    raise SlotFull({"remaining": remaining, "requested": places}, extra=extra)


async def _release_places(session: AsyncSession, booking: Booking, now: dt.datetime) -> None:
    if booking.exclusive:
        return
    await session.execute(
        update(SlotCounter)
        .where(SlotCounter.asset_id == booking.asset_id, SlotCounter.starts_at == booking.starts_at)
        .values(taken=SlotCounter.taken - booking.party_size, updated_at=now)
        .execution_options(synchronize_session=False)
    )


# --- reading ----------------------------------------------------------------------------


async def _view(
    session: AsyncSession,
    user: User,
    booking: Booking,
    asset: Asset,
    structure: Structure,
    is_staff: bool,
) -> BookingView:
    view = BookingView(booking, asset, structure, caller_is_staff=is_staff)
    if is_staff:
        view.person_name, view.person_phone = await _person_of(session, booking)
    return view


async def _person_of(session: AsyncSession, booking: Booking) -> tuple[str | None, str | None]:
    if booking.user_id is None:
        return booking.guest_name, booking.guest_phone
    row = (
        await session.execute(
            select(User.display_name, User.phone).where(User.id == booking.user_id)
        )
    ).first()
    return (row[0], row[1]) if row else (None, None)


async def visible_booking(session: AsyncSession, user: User, booking_id: uuid.UUID) -> BookingView:
    """The booking if the caller owns it or is staff of its structure; 404 otherwise."""
    row = (
        await session.execute(
            select(Booking, Asset, Structure)
            .join(Asset, Asset.id == Booking.asset_id)
            .join(Structure, Structure.id == Asset.structure_id)
            .where(Booking.id == booking_id)
        )
    ).first()
    if row is None:
        raise NotFound()
    booking, asset, structure = row
    asset.structure = structure
    is_staff = await has_role(session, user, structure.id, ASSET_MANAGING_ROLES)
    if not is_staff and booking.user_id != user.id:
        raise NotFound()
    return await _view(session, user, booking, asset, structure, is_staff)


async def my_bookings(
    session: AsyncSession, user: User, *, upcoming_only: bool, limit: int, offset: int
) -> list[BookingView]:
    query = (
        select(Booking, Asset, Structure)
        .join(Asset, Asset.id == Booking.asset_id)
        .join(Structure, Structure.id == Asset.structure_id)
        .where(Booking.user_id == user.id)
    )
    if upcoming_only:
        query = query.where(Booking.ends_at > utcnow())
    rows = await session.execute(query.order_by(Booking.starts_at).limit(limit).offset(offset))
    views = []
    for booking, asset, structure in rows.tuples():
        asset.structure = structure
        views.append(BookingView(booking, asset, structure))
    return views


async def structure_bookings(
    session: AsyncSession,
    user: User,
    slug: str,
    *,
    asset_id: uuid.UUID | None,
    first_day: dt.date | None,
    last_day: dt.date | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[BookingView]:
    """Every booking of a structure in a date range, with names and phones (staff only).

    The range defaults to today and the next 30 days; at most 92 days, inside the horizon.
    """
    structure = await structure_for(session, user, slug, ASSET_MANAGING_ROLES)
    check_dates(utcnow().date(), **{"from": first_day, "to": last_day})
    first_day = first_day or utcnow().date()
    last_day = last_day or (first_day + dt.timedelta(days=30))
    check_range(first_day, last_day)
    tz = ZoneInfo(structure.timezone)
    span_start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    span_end = dt.datetime.combine(
        last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz
    ).astimezone(dt.UTC)
    query = (
        select(Booking, Asset, User.display_name, User.phone)
        .join(Asset, Asset.id == Booking.asset_id)
        .outerjoin(User, User.id == Booking.user_id)
        .where(
            Asset.structure_id == structure.id,
            Booking.starts_at < span_end,
            Booking.ends_at > span_start,
        )
    )
    if asset_id is not None:
        query = query.where(Asset.id == asset_id)
    if status is not None:
        query = query.where(Booking.status == status)
    rows = await session.execute(
        query.order_by(Booking.starts_at, Booking.created_at).limit(limit).offset(offset)
    )
    views = []
    for booking, asset, name, phone in rows.tuples():
        asset.structure = structure
        views.append(
            BookingView(
                booking,
                asset,
                structure,
                person_name=name if booking.user_id else booking.guest_name,
                person_phone=phone if booking.user_id else booking.guest_phone,
                caller_is_staff=True,
            )
        )
    return views


# --- changing state -------------------------------------------------------------------------


async def _transition(
    session: AsyncSession,
    booking: Booking,
    to: BookingStatus,
    now: dt.datetime,
) -> None:
    """Compare-and-swap the status from ``allowed_from(to)`` (the domain's transition
    table); 409 if the booking is in another status (or another request changed it first)."""
    values: dict[str, object] = {
        "status": to.value,
        "sequence": Booking.sequence + 1,
        "updated_at": now,
    }
    if to == BookingStatus.CANCELLED:
        values["cancelled_at"] = now
    result = await session.execute(
        update(Booking)
        .where(
            Booking.id == booking.id, Booking.status.in_(sorted(s.value for s in allowed_from(to)))
        )
        .values(**values)
        .returning(Booking.sequence)
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    if row is None:
        current = await session.scalar(select(Booking.status).where(Booking.id == booking.id))
        await session.rollback()
        raise InvalidTransition({"status": current})
    booking.status = to.value
    booking.sequence = row[0]
    booking.updated_at = now
    if to == BookingStatus.CANCELLED:
        booking.cancelled_at = now


async def release_booking(session: AsyncSession, booking: Booking, now: dt.datetime) -> bool:
    """Cancel an active booking and free its places, or take a waiting-list entry off its
    list, in the caller's transaction (no commit): the person's own cancellation and an
    account's deletion share it. The places go to the slot's waiting list at once.

    True when it only left a waiting list (no place held, nothing to tell). An entry
    promoted just before is cancelled as the booking it has become.
    """
    if booking.status == BookingStatus.WAITLISTED.value:
        if await waitlist.leave(session, booking, now):
            booking.status, booking.waitlist_position = BookingStatus.CANCELLED.value, None
            await waitlist.promote(session, booking.asset_id, booking.starts_at, now=now)
            return True
        if await session.scalar(select(Booking.id).where(Booking.id == booking.id)) is None:
            await session.rollback()
            raise NotFound()  # left already (a second click)
        await session.refresh(booking)  # promoted meanwhile: it holds places now
    await _transition(session, booking, BookingStatus.CANCELLED, now)
    await _release_places(session, booking, now)
    await drop_pending_reminders(session, booking_id=booking.id)
    if not booking.exclusive:
        await waitlist.promote(session, booking.asset_id, booking.starts_at, now=now)
    return False


async def cancel_booking(
    session: AsyncSession, user: User, booking_id: uuid.UUID, *, reason: str = ""
) -> BookingView:
    """Cancel: the owner until ``cancel_until_minutes`` before the start, staff at any time.

    The places are free again in the same transaction, given to the slot's waiting list
    (``services/waitlist.py``); the person is told (with staff's ``reason``, if any) in it
    too. On a waiting-list entry it is leaving the list: at any time, nothing to tell.
    """
    view = await visible_booking(session, user, booking_id)
    booking = view.booking
    now = utcnow()
    leaving = booking.status == BookingStatus.WAITLISTED.value  # leaving is always possible
    if (
        not leaving
        and not view.caller_is_staff
        and not owner_may_cancel(booking.starts_at, now, view.asset.cancel_until_minutes)
    ):
        raise NotCancellable()
    if not await release_booking(session, booking, now):  # a list entry: nothing to tell
        await notify.booking_cancelled(
            session, user, booking, view.asset, view.structure, reason=reason
        )
    await session.commit()
    listing_cache.forget(booking.asset_id)
    return view


async def promote_booking(session: AsyncSession, user: User, booking_id: uuid.UUID) -> BookingView:
    """Staff confirm a waiting-list entry out of order (it must fit in the free places);
    those behind it move up; the person is told in the same transaction."""
    view = await visible_booking(session, user, booking_id)
    await require_role(session, user, view.structure.id, ASSET_MANAGING_ROLES)
    await waitlist.promote_by_hand(session, view.booking, utcnow())
    await session.commit()
    listing_cache.forget(view.booking.asset_id)
    return view


async def decide_booking(
    session: AsyncSession, user: User, booking_id: uuid.UUID, approve: bool, *, reason: str = ""
) -> BookingView:
    """Approve or decline a pending booking (staff). Declining frees the places. The person
    is told in the same transaction (a refusal with ``reason``, if given)."""
    view = await visible_booking(session, user, booking_id)
    await require_role(session, user, view.structure.id, ASSET_MANAGING_ROLES)
    now = utcnow()
    target = BookingStatus.CONFIRMED if approve else BookingStatus.DECLINED
    await _transition(session, view.booking, target, now)
    if not approve:
        await _release_places(session, view.booking, now)
        if not view.booking.exclusive:
            await waitlist.promote(session, view.booking.asset_id, view.booking.starts_at, now=now)
    await notify.booking_decided(
        session, user, view.booking, view.asset, view.structure, approved=approve, reason=reason
    )
    await session.commit()
    listing_cache.forget(view.booking.asset_id)
    return view


async def mark_attendance(
    session: AsyncSession, user: User, booking_id: uuid.UUID, status: str
) -> BookingView:
    """Check in or mark a no-show (staff), from the slot's start; can be corrected later."""
    view = await visible_booking(session, user, booking_id)
    await require_role(session, user, view.structure.id, ASSET_MANAGING_ROLES)
    now = utcnow()
    if now < view.booking.starts_at:
        raise AttendanceTooEarly()
    target = BookingStatus(status)
    if target not in ATTENDANCE_STATUSES:  # the callers' schemas allow only these two
        raise InvalidInput("status", "invalid")
    await _transition(session, view.booking, target, now)
    await session.commit()
    return view


# --- the day sheet --------------------------------------------------------------------------


@dataclass(slots=True)
class SheetBlock:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None
    entries: list[BookingView]
    # The slot's waiting list, in order.
    waiting: list[BookingView] = field(default_factory=list)

    @property
    def places_taken(self) -> int:
        return sum(v.booking.party_size for v in self.entries)


async def day_sheet(
    session: AsyncSession, user: User, asset_id: uuid.UUID, day: dt.date
) -> tuple[Asset, list[SheetBlock]]:
    """Who comes on a local day, one block per slot (or per booking for exclusive assets)."""
    asset = await get_asset(session, asset_id, user)
    await require_role(session, user, asset.structure_id, ASSET_MANAGING_ROLES)
    views = await structure_bookings(
        session,
        user,
        asset.structure.slug,
        asset_id=asset.id,
        first_day=day,
        last_day=day,
        status=None,
        limit=10_000,
        offset=0,
    )
    active = [v for v in views if v.booking.status in {s.value for s in ACTIVE_STATUSES}]
    if asset.booking_mode == BookingMode.EXCLUSIVE:
        return asset, [
            SheetBlock(v.booking.starts_at, v.booking.ends_at, None, [v]) for v in active
        ]
    schedule = await load_schedule(session, asset, day, day)
    blocks = {
        s.starts_at: SheetBlock(s.starts_at, s.ends_at, s.capacity, []) for s in schedule.slots()
    }
    for view in sorted(
        (v for v in views if v.booking.status == BookingStatus.WAITLISTED.value),
        key=lambda v: v.booking.waitlist_position or 0,
    ):
        if view.booking.starts_at in blocks:
            blocks[view.booking.starts_at].waiting.append(view)
    for view in active:
        block = blocks.get(view.booking.starts_at)
        if block is None:  # a booking left outside opening hours still shows on the sheet
            block = blocks[view.booking.starts_at] = SheetBlock(
                view.booking.starts_at, view.booking.ends_at, None, []
            )
        block.entries.append(view)
    return asset, [blocks[k] for k in sorted(blocks)]
