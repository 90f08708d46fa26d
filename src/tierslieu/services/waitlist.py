"""Waiting lists of full shared slots: join, leave, and automatic promotion.

Everything happens in the slot counter's row (``slot_counter``), the row that already
serialises places: joining is one conditional ``UPDATE … SET waiting = waiting + 1 WHERE
(still full) AND waiting < max RETURNING waiting`` whose result is the new entry's
position; PostgreSQL's row lock (SQLite: the single ``BEGIN IMMEDIATE`` writer) makes the
next joiner wait and read the new count, so positions are unique (also a partial unique
index) and gap-free (1..waiting).

Promotion is strict first come, first served, in the transaction of whatever frees places
(``promote``): while the entry at position 1 fits in the free places, it takes them with
the same conditional ``taken + n <= capacity`` update as a booking and becomes confirmed
(or pending, when the asset requires approval and the person joined by themselves); the
first entry that does not fit stops the promotion: those behind it wait too, even if
they would fit (staff may promote by hand, ``promote_by_hand``). Positions are then moved
up to close the gap. Newcomers never get a place while anyone waits
(``services.bookings``: the take requires ``waiting = 0``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.bookings import BookingStatus, NotOnTheList, PartyDoesNotFit
from tierslieu.models import Asset, Booking, SlotCounter, Structure
from tierslieu.services import notify, schedule_cache
from tierslieu.services.clock import utcnow

WAITLISTED = BookingStatus.WAITLISTED.value
# Moving positions up happens in two statements (to above OFFSET, then back): a unique
# index is checked row by row, and ``position - 1`` in one statement could meet a row
# not yet moved. Lists are much shorter than this (``waitlist_max_length`` <= 500).
_OFFSET = 1_000_000


# --- joining ------------------------------------------------------------------------------

JOINED, NOT_FULL, LIST_FULL = "joined", "not-full", "list-full"


async def join(
    session: AsyncSession,
    asset: Asset,
    booking: Booking,
    capacity: int,
    now: dt.datetime,
) -> str:
    """Put ``booking`` (not yet added to the session) at the end of its slot's list.

    JOINED: the booking is added as ``waitlisted`` with its position; NOT_FULL: the slot
    has room for it again and nobody waits (book it instead); LIST_FULL: the list holds
    ``asset.waitlist_max_length`` entries already.
    """
    row = (
        await session.execute(
            update(SlotCounter)
            .where(
                SlotCounter.asset_id == asset.id,
                SlotCounter.starts_at == booking.starts_at,
                (SlotCounter.taken + booking.party_size > capacity) | (SlotCounter.waiting > 0),
                SlotCounter.waiting < asset.waitlist_max_length,
            )
            .values(waiting=SlotCounter.waiting + 1, updated_at=now)
            .returning(SlotCounter.waiting)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        state = (
            await session.execute(
                select(SlotCounter.taken, SlotCounter.waiting).where(
                    SlotCounter.asset_id == asset.id, SlotCounter.starts_at == booking.starts_at
                )
            )
        ).first()
        if state is not None and state[1] >= asset.waitlist_max_length:
            return LIST_FULL
        return NOT_FULL
    booking.status = WAITLISTED
    booking.waitlist_position = row[0]
    session.add(booking)
    return JOINED


# --- leaving ------------------------------------------------------------------------------


async def leave(session: AsyncSession, booking: Booking, now: dt.datetime) -> bool:
    """Take a waiting entry off its list (no commit): the row is deleted — it held no place
    and was never in anyone's calendar — and those behind move up. False if it was no
    longer waiting (promoted meanwhile)."""
    # The counter first, as every writer of this slot: no deadlock with a promotion.
    await _lock_counter(session, booking.asset_id, booking.starts_at)
    gone = await session.execute(
        delete(Booking)
        .where(Booking.id == booking.id, Booking.status == WAITLISTED)
        .returning(Booking.waitlist_position)
        .execution_options(synchronize_session=False)
    )
    row = gone.first()
    if row is None:
        return False
    position = row[0]
    await session.execute(
        update(SlotCounter)
        .where(SlotCounter.asset_id == booking.asset_id, SlotCounter.starts_at == booking.starts_at)
        .values(waiting=SlotCounter.waiting - 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await _move_up(session, booking.asset_id, booking.starts_at, above=position, by=1)
    if booking in session:
        session.expunge(booking)
    return True


async def _move_up(
    session: AsyncSession, asset_id: uuid.UUID, starts_at: dt.datetime, *, above: int, by: int
) -> None:
    """Close a gap: every entry behind position ``above`` moves ``by`` places forward."""
    if by <= 0:
        return
    in_slot = and_(
        Booking.asset_id == asset_id, Booking.starts_at == starts_at, Booking.status == WAITLISTED
    )
    await session.execute(
        update(Booking)
        .where(in_slot, Booking.waitlist_position > above)
        .values(waitlist_position=Booking.waitlist_position + _OFFSET)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Booking)
        .where(in_slot, Booking.waitlist_position > _OFFSET)
        .values(waitlist_position=Booking.waitlist_position - _OFFSET - by)
        .execution_options(synchronize_session=False)
    )


# --- promotion ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotFacts:
    """What promotion needs of a slot now: its capacity, and whether it is open."""

    capacity: int
    open: bool


async def slot_facts(
    session: AsyncSession, asset_id: uuid.UUID, starts_at: dt.datetime
) -> SlotFacts | None:
    """The slot starting at ``starts_at`` as the current rules offer it (None: no longer
    offered)."""
    entry = await schedule_cache.load(session, asset_id)
    # Read inside a write that may have changed the rules (uncommitted, maybe rolled back):
    # not for the process cache, which other requests trust under its version number.
    schedule_cache.forget(asset_id)
    day = starts_at.astimezone(entry.tz).date()
    for slot, closure in entry.slots_with_closures(
        day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    ):
        if slot.starts_at == starts_at:
            return SlotFacts(slot.capacity, closure is None)
    return None


async def _lock_counter(
    session: AsyncSession, asset_id: uuid.UUID, starts_at: dt.datetime
) -> tuple[int, int] | None:
    """(taken, waiting) of the slot's counter, locked until commit (PostgreSQL; SQLite's
    transaction is already the only writer)."""
    row = (
        await session.execute(
            select(SlotCounter.taken, SlotCounter.waiting)
            .where(SlotCounter.asset_id == asset_id, SlotCounter.starts_at == starts_at)
            .with_for_update()
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def _take_for(
    session: AsyncSession, booking: Booking, capacity: int, now: dt.datetime
) -> bool:
    """The entry's places into the counter while they fit; one fewer waiting."""
    row = (
        await session.execute(
            update(SlotCounter)
            .where(
                SlotCounter.asset_id == booking.asset_id,
                SlotCounter.starts_at == booking.starts_at,
                SlotCounter.taken + booking.party_size <= capacity,
                SlotCounter.waiting > 0,
            )
            .values(
                taken=SlotCounter.taken + booking.party_size,
                waiting=SlotCounter.waiting - 1,
                capacity=capacity,
                updated_at=now,
            )
            .returning(SlotCounter.taken)
            .execution_options(synchronize_session=False)
        )
    ).first()
    return row is not None


def _promoted_status(asset: Asset, booking: Booking) -> BookingStatus:
    """Confirmed; still to be accepted when the asset requires approval and the person
    joined the list by themselves (staff entries are confirmed like staff bookings)."""
    self_service = booking.user_id is not None and booking.created_by_id == booking.user_id
    if asset.requires_approval and self_service:
        return BookingStatus.PENDING
    return BookingStatus.CONFIRMED


async def _confirm(
    session: AsyncSession, booking: Booking, status: BookingStatus, now: dt.datetime
) -> None:
    row = (
        await session.execute(
            update(Booking)
            .where(Booking.id == booking.id, Booking.status == WAITLISTED)
            .values(
                status=status.value,
                waitlist_position=None,
                sequence=Booking.sequence + 1,
                updated_at=now,
            )
            .returning(Booking.sequence)
            .execution_options(synchronize_session=False)
        )
    ).one()  # the counter's lock is held: nobody else changes this slot's entries
    booking.status = status.value
    booking.waitlist_position = None
    booking.sequence = row[0]
    booking.updated_at = now


async def promote(
    session: AsyncSession,
    asset_id: uuid.UUID,
    starts_at: dt.datetime,
    *,
    now: dt.datetime | None = None,
) -> list[Booking]:
    """Promote, first come first served, the entries of one slot that now fit (no commit).

    Called in the transaction that freed places (or raised the capacity, or removed a
    closure). Nothing happens for a slot that has begun, is closed or is no longer offered.
    Strict order: the first entry that does not fit stops the promotion. Each promoted
    person is told, in this transaction.
    """
    now = now or utcnow()
    if starts_at <= now:
        return []
    locked = await _lock_counter(session, asset_id, starts_at)
    if locked is None or locked[1] == 0:
        return []
    facts = await slot_facts(session, asset_id, starts_at)
    if facts is None or not facts.open:
        return []
    asset, structure = await _asset_of(session, asset_id)
    queue = list(
        await session.scalars(
            select(Booking)
            .where(
                Booking.asset_id == asset_id,
                Booking.starts_at == starts_at,
                Booking.status == WAITLISTED,
            )
            .order_by(Booking.waitlist_position)
        )
    )
    promoted: list[Booking] = []
    for booking in queue:
        if not await _take_for(session, booking, facts.capacity, now):
            break  # strict order: those behind wait too
        await _confirm(session, booking, _promoted_status(asset, booking), now)
        promoted.append(booking)
    await _move_up(session, asset_id, starts_at, above=len(promoted), by=len(promoted))
    for booking in promoted:
        await notify.booking_promoted(session, booking, asset, structure)
    return promoted


async def promote_by_hand(session: AsyncSession, booking: Booking, now: dt.datetime) -> None:
    """Staff take one entry out of order (no commit): it must fit in the free places."""
    locked = await _lock_counter(session, booking.asset_id, booking.starts_at)
    current = await session.scalar(
        select(Booking.waitlist_position).where(
            Booking.id == booking.id, Booking.status == WAITLISTED
        )
    )
    if locked is None or current is None:
        raise NotOnTheList()
    facts = await slot_facts(session, booking.asset_id, booking.starts_at)
    if (
        facts is None
        or not facts.open
        or not await _take_for(session, booking, facts.capacity, now)
    ):
        await session.rollback()
        raise PartyDoesNotFit()
    asset, structure = await _asset_of(session, booking.asset_id)
    await _confirm(session, booking, BookingStatus.CONFIRMED, now)
    await _move_up(session, booking.asset_id, booking.starts_at, above=current, by=1)
    await notify.booking_promoted(session, booking, asset, structure)


async def promote_asset(
    session: AsyncSession, asset_id: uuid.UUID, *, now: dt.datetime | None = None
) -> list[Booking]:
    """Promote in every upcoming slot of an asset that has a waiting list (after its rules
    or closures changed: a capacity raised, a closure removed)."""
    now = now or utcnow()
    starts = list(
        await session.scalars(
            select(SlotCounter.starts_at)
            .where(
                SlotCounter.asset_id == asset_id,
                SlotCounter.waiting > 0,
                SlotCounter.starts_at > now,
            )
            .order_by(SlotCounter.starts_at)
        )
    )
    promoted: list[Booking] = []
    for starts_at in starts:
        promoted += await promote(session, asset_id, starts_at, now=now)
    return promoted


async def _asset_of(session: AsyncSession, asset_id: uuid.UUID) -> tuple[Asset, Structure]:
    row = (
        await session.execute(
            select(Asset, Structure)
            .join(Structure, Structure.id == Asset.structure_id)
            .where(Asset.id == asset_id)
        )
    ).one()
    return row[0], row[1]
