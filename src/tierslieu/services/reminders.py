"""Reminders before a booking or a meal pickup (issue 12), queued by a periodic job.

``enqueue_due_reminders(session_factory, settings)`` runs at each cycle of the delivery
loop: it looks at confirmed bookings and placed meal orders that start within the next
``reminder_hours`` (+ 12 h, the longest move out of the night) of their asset, computes
each one's reminder time (``domain.notifications.reminder_at``: local wall clock, never in
the night, never after the start) and, for those whose time has come and whose start is
still ahead, inserts the reminder with ``outbox.enqueue_once`` keyed
``reminder:booking:<id>:<start>``. The unique key makes it exactly once across workers,
restarts and repeated runs; a booking moved to another time gets a new key.

Not reminded: cancelled, declined and pending bookings (the job only reads confirmed
ones), people with reminders off (``outbox``), assets with ``reminder_hours = 0``, and
bookings made after their reminder time minus ``SHORT_NOTICE`` (the confirmation just
told them). A reminder already queued but not yet delivered when its booking or order is
cancelled is marked ``dropped`` by ``drop_pending_reminders`` in the cancelling transaction.

Work is bounded: batches of ``BATCH`` rows, each in its own short transaction, at most
``MAX_PER_RUN`` reminders per run (the next run continues).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.bookings import BookingStatus
from tierslieu.domain.canteen import OrderStatus
from tierslieu.domain.notifications import Kind, OutboxStatus, reminder_at
from tierslieu.models import (
    Asset,
    Booking,
    MealOrder,
    MealService,
    OutboxMessage,
    PickupWindow,
    Structure,
    User,
)
from tierslieu.services import outbox
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

BATCH = 200
MAX_PER_RUN = 2000
# Made this close to (or after) its reminder time: no reminder, the confirmation suffices.
SHORT_NOTICE = dt.timedelta(hours=1)
# Beyond the asset's reminder_hours, how much earlier a reminder can be (moved out of the night).
NIGHT_MARGIN = dt.timedelta(hours=12)


def booking_key(booking_id: uuid.UUID, starts_at: dt.datetime) -> str:
    return f"reminder:booking:{booking_id}:{outbox.instant(starts_at)}"


def order_key(order_id: uuid.UUID, starts_at: dt.datetime) -> str:
    return f"reminder:order:{order_id}:{outbox.instant(starts_at)}"


async def drop_pending_reminders(
    session: AsyncSession,
    *,
    booking_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
) -> None:
    """A cancelled booking or order is no longer reminded: its queued, undelivered reminder
    (e-mail or phone notice) becomes ``dropped``. In the caller's transaction."""
    if booking_id is not None:
        prefix = f"reminder:booking:{booking_id}:"
    elif order_id is not None:
        prefix = f"reminder:order:{order_id}:"
    else:
        return
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.kind.in_([Kind.BOOKING_REMINDER.value, Kind.ORDER_REMINDER.value]),
            OutboxMessage.dedupe_key.like(f"{prefix}%"),
        )
        .values(status=OutboxStatus.DROPPED.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def _existing(session: AsyncSession, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    found = await session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
    )
    return {k for k in found if k}


async def _users(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not ids:
        return {}
    found = await session.scalars(select(User).where(User.id.in_(ids)))
    return {u.id: u for u in found}


async def _reminder_hours(session: AsyncSession, kind_filter: Any) -> list[int]:
    values = await session.scalars(
        select(Asset.reminder_hours)
        .where(Asset.reminder_hours > 0, kind_filter)
        .distinct()
        .order_by(Asset.reminder_hours)
    )
    return [v for v in values if v and v > 0]


def _booking_params(b: Booking, a: Asset, s: Structure) -> dict[str, Any]:
    return {
        "booking_id": str(b.id),
        "user_id": str(b.user_id) if b.user_id else None,
        "asset": a.name,
        "structure": s.name,
        "address": ", ".join(p for p in (s.address, f"{s.postcode} {s.commune}".strip()) if p),
        "structure_phone": s.phone or "",
        "starts_at": outbox.instant(b.starts_at),
        "ends_at": outbox.instant(b.ends_at),
        "tz": s.timezone,
        "party_size": b.party_size,
    }


def _order_params(
    o: MealOrder, w: PickupWindow, a: Asset, s: Structure, ref: str
) -> dict[str, Any]:
    return {
        "order_id": str(o.id),
        "order_ref": ref,
        "user_id": str(o.user_id) if o.user_id else None,
        "asset": a.name,
        "structure": s.name,
        "address": ", ".join(p for p in (s.address, f"{s.postcode} {s.commune}".strip()) if p),
        "structure_phone": s.phone or "",
        "starts_at": outbox.instant(w.starts_at),
        "ends_at": outbox.instant(w.ends_at),
        "tz": s.timezone,
        "total_cents": o.total_cents,
        "paid": o.paid,
    }


async def _run_kind(
    session_factory: Callable[[], AsyncSession],
    settings: Settings,
    now: dt.datetime,
    budget: int,
    *,
    kind: Kind,
) -> int:
    """Queue the due reminders of one kind (bookings or orders); returns how many."""
    is_booking = kind is Kind.BOOKING_REMINDER
    queued = 0
    async with session_factory() as session:
        canteen = Asset.kind == "canteen"
        hours_values = await _reminder_hours(session, ~canteen if is_booking else canteen)
        await session.commit()
    for hours in hours_values:
        horizon = now + dt.timedelta(hours=hours) + NIGHT_MARGIN
        after: tuple[dt.datetime, uuid.UUID] | None = None
        while queued < budget:
            async with session_factory() as session:
                if is_booking:
                    start_col, id_col = Booking.starts_at, Booking.id
                    query = (
                        select(Booking, Asset, Structure)
                        .join(Asset, Asset.id == Booking.asset_id)
                        .join(Structure, Structure.id == Asset.structure_id)
                        .where(
                            Booking.status == BookingStatus.CONFIRMED.value,
                            Asset.reminder_hours == hours,
                            Booking.starts_at > now,
                            Booking.starts_at <= horizon,
                        )
                    )
                else:
                    start_col, id_col = PickupWindow.starts_at, MealOrder.id
                    query = (
                        select(MealOrder, PickupWindow, Asset, Structure)
                        .join(PickupWindow, PickupWindow.id == MealOrder.pickup_window_id)
                        .join(MealService, MealService.id == MealOrder.service_id)
                        .join(Asset, Asset.id == MealService.asset_id)
                        .join(Structure, Structure.id == MealOrder.structure_id)
                        .where(
                            MealOrder.status == OrderStatus.PLACED.value,
                            Asset.reminder_hours == hours,
                            PickupWindow.starts_at > now,
                            PickupWindow.starts_at <= horizon,
                        )
                    )
                if after is not None:
                    query = query.where(
                        or_(
                            start_col > after[0],
                            and_(start_col == after[0], id_col > after[1]),
                        )
                    )
                rows = (await session.execute(query.order_by(start_col, id_col).limit(BATCH))).all()
                if not rows:
                    await session.commit()
                    break
                due: list[tuple[str, Any, uuid.UUID, uuid.UUID | None]] = []
                for row in rows:
                    if is_booking:
                        b, a, s = row
                        record, starts, user_id = b, b.starts_at, b.user_id
                        key = booking_key(b.id, starts)
                    else:
                        o, w, a, s = row
                        record, starts, user_id = o, w.starts_at, o.user_id
                        key = order_key(o.id, starts)
                    after = (starts, record.id)
                    at = reminder_at(starts, hours, s.timezone)
                    if at > now or record.created_at > at - SHORT_NOTICE:
                        continue
                    due.append((key, row, s.id, user_id))
                done = await _existing(session, [d[0] for d in due])
                todo = [d for d in due if d[0] not in done]
                people = await _users(session, {d[3] for d in todo if d[3] is not None})
                for key, row, structure_id, user_id in todo:
                    if is_booking:
                        b, a, s = row
                        params = _booking_params(b, a, s)
                        to = (
                            outbox.user_recipient(people[user_id])
                            if user_id in people
                            else outbox.guest_recipient(b.guest_name, b.guest_email, b.guest_phone)
                        )
                    else:
                        from tierslieu.services.canteen_orders import order_ref

                        o, w, a, s = row
                        params = _order_params(o, w, a, s, order_ref(o.id))
                        to = (
                            outbox.user_recipient(people[user_id])
                            if user_id in people
                            else outbox.guest_recipient(o.guest_name, None, None)
                        )
                    params["name"] = to.name
                    if await outbox.enqueue_once(
                        session,
                        kind,
                        to,
                        params,
                        dedupe_key=key,
                        public_url=settings.public_url,
                        structure_id=structure_id,
                    ):
                        queued += 1
                await session.commit()
                if len(rows) < BATCH:
                    break
    return queued


async def enqueue_due_reminders(
    session_factory: Callable[[], AsyncSession], settings: Settings
) -> int:
    """The periodic job: queue every reminder whose time has come (bookings, then meal
    pickups); returns how many this run inserted. Safe to run in several workers at once."""
    now = utcnow()
    queued = await _run_kind(
        session_factory, settings, now, MAX_PER_RUN, kind=Kind.BOOKING_REMINDER
    )
    queued += await _run_kind(
        session_factory, settings, now, MAX_PER_RUN - queued, kind=Kind.ORDER_REMINDER
    )
    return queued
