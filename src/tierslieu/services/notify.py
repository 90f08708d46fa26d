"""What bookings and meal orders tell people: the snapshot of facts, and the enqueue calls.

Each function here is called by a service just before it commits its change, in the same
transaction (``services/outbox.py``): the message exists if and only if the change does.
The ``params`` snapshot holds everything the renderer (``services/mail/bookings.py``,
``orders.py``, ``digest.py``) says — names, times as UTC instants, the structure's time
zone, the calendar event's UID and SEQUENCE after the change — so the renderer needs no
database and tells what happened then. Links are paths; the renderer makes them absolute
with ``settings.public_url``.

Who hears it: the account holder (the ``User`` already in hand when the caller is the
person, one small query otherwise), or the guest staff booked for (by e-mail, else a phone
notice on the staff call list: ``outbox.enqueue`` chooses). An order placed by the team
for a guest (a name, no contact) or with a voucher and no account tells no one.

Staff digest: a ``pending`` booking adds, for each manager and staff member of the
structure who has an e-mail address, one STAFF_DIGEST row per UTC hour
(``dedupe_key = digest:<structure>:<hour>:<user>``, ``enqueue_once``), delivered at the
end of that hour. The first request of the hour writes it; the next ones find it and add
nothing, so the digest does not count them: it says that new requests are waiting since
that hour and links to the dashboard, where staff see the current list (requests decided
meanwhile are not announced as waiting by a stale count).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.calendar import make_uid
from tierslieu.db import public_url
from tierslieu.domain.bookings import BookingStatus
from tierslieu.domain.notifications import Kind
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES
from tierslieu.models import (
    Asset,
    Booking,
    MealOrder,
    MealOrderLine,
    MealService,
    Membership,
    MenuItem,
    PickupWindow,
    Structure,
    User,
)
from tierslieu.services import outbox
from tierslieu.services.clock import utcnow
from tierslieu.services.outbox import Recipient, instant

MY_BOOKINGS = "/mes-reservations"


def address(structure: Structure) -> str:
    """« EHPAD Les Tilleuls, 12 rue des Tilleuls, 93140 Bondy » (as in the feeds)."""
    town = " ".join(p for p in (structure.postcode, structure.commune) if p)
    return ", ".join(p for p in (structure.name, structure.address, town) if p)


def _structure_facts(structure: Structure) -> dict[str, Any]:
    return {
        "structure": structure.name,
        "structure_slug": structure.slug,
        "structure_phone": structure.phone or "",
        "address": address(structure),
        "timezone": structure.timezone,
    }


def _aware(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return utcnow()
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# --- bookings ------------------------------------------------------------------------------


def booking_facts(
    booking: Booking, asset: Asset, structure: Structure, to: Recipient, **extra: Any
) -> dict[str, Any]:
    """The snapshot a booking message is rendered from (JSON only)."""
    return {
        "booking_id": str(booking.id),
        "uid": make_uid("booking", booking.id),
        "sequence": booking.sequence,
        "status": booking.status,
        "asset": asset.name,
        "asset_id": str(asset.id),
        **_structure_facts(structure),
        "starts_at": instant(booking.starts_at),
        "ends_at": instant(booking.ends_at),
        "party_size": booking.party_size,
        "updated_at": instant(_aware(booking.updated_at)),
        "created_at": instant(_aware(booking.created_at)),
        "name": to.name or "",
        "email": to.email or "",
        # An account holder finds it in « Mes réservations »; a guest has no account.
        "path": MY_BOOKINGS if booking.user_id else f"/ressources/{asset.id}",
        "by_staff": False,
        "reason": "",
        **extra,
    }


def _booking_recipient(booking: Booking, caller: User) -> Recipient | None:
    """The booking's person when known without a query (the caller or a guest)."""
    if booking.user_id is None:
        return outbox.guest_recipient(booking.guest_name, booking.guest_email, booking.guest_phone)
    if booking.user_id == caller.id:
        return outbox.user_recipient(caller)
    return None


async def _recipient(session: AsyncSession, booking: Booking, caller: User) -> Recipient:
    known = _booking_recipient(booking, caller)
    if known is not None:
        return known
    return await outbox.recipient_of(session, booking.user_id)  # type: ignore[arg-type]


def _tell(
    session: AsyncSession,
    kind: Kind,
    to: Recipient,
    params: dict[str, Any],
    structure: Structure,
) -> None:
    outbox.enqueue(
        session, kind, to, params, public_url=public_url(session), structure_id=structure.id
    )


def own_confirmation(
    caller: User, booking: Booking, asset: Asset, structure: Structure, public_url: str
) -> dict[str, Any] | None:
    """« confirmed » for a booking the caller made for themself, as an outbox row (column
    values, None if they cannot be told) for a statement that inserts it with the booking
    (``services/bookings._quick_prepare``); the same message ``booking_created`` adds."""
    to = outbox.user_recipient(caller)
    return outbox.row(
        Kind.BOOKING_CONFIRMED,
        to,
        booking_facts(booking, asset, structure, to),
        public_url=public_url,
        structure_id=structure.id,
    )


async def booking_created(
    session: AsyncSession, caller: User, booking: Booking, asset: Asset, structure: Structure
) -> None:
    """A new booking: « received » (pending approval, and the staff digest) or « confirmed »."""
    to = await _recipient(session, booking, caller)  # staff may book for another account
    pending = booking.status == BookingStatus.PENDING.value
    kind = Kind.BOOKING_RECEIVED if pending else Kind.BOOKING_CONFIRMED
    _tell(session, kind, to, booking_facts(booking, asset, structure, to), structure)
    if pending:
        await staff_digest(session, structure)


async def booking_cancelled(
    session: AsyncSession,
    caller: User,
    booking: Booking,
    asset: Asset,
    structure: Structure,
    *,
    reason: str = "",
) -> None:
    """Cancelled by the person, or by staff (``reason`` when they gave one)."""
    to = await _recipient(session, booking, caller)
    by_staff = booking.user_id != caller.id
    params = booking_facts(
        booking, asset, structure, to, by_staff=by_staff, reason=reason if by_staff else ""
    )
    _tell(session, Kind.BOOKING_CANCELLED, to, params, structure)


async def booking_decided(
    session: AsyncSession,
    caller: User,
    booking: Booking,
    asset: Asset,
    structure: Structure,
    *,
    approved: bool,
    reason: str = "",
) -> None:
    """Staff approved or declined a pending request (the reason of a refusal, if given)."""
    to = await _recipient(session, booking, caller)
    kind = Kind.BOOKING_APPROVED if approved else Kind.BOOKING_DECLINED
    params = booking_facts(booking, asset, structure, to, by_staff=True, reason=reason)
    _tell(session, kind, to, params, structure)


async def booking_promoted(
    session: AsyncSession, booking: Booking, asset: Asset, structure: Structure
) -> None:
    """A waiting-list entry got its places: « a place is free: confirmed » (or, when the
    asset requires approval, « request received »). Whoever freed the places, the person
    on the list is told."""
    if booking.user_id is None:
        to = outbox.guest_recipient(booking.guest_name, booking.guest_email, booking.guest_phone)
    else:
        to = await outbox.recipient_of(session, booking.user_id)
    pending = booking.status == BookingStatus.PENDING.value
    kind = Kind.BOOKING_RECEIVED if pending else Kind.BOOKING_PROMOTED
    _tell(session, kind, to, booking_facts(booking, asset, structure, to), structure)
    if pending:
        await staff_digest(session, structure)


# --- staff digest --------------------------------------------------------------------------


def hour_bucket(now: dt.datetime) -> dt.datetime:
    """The UTC hour ``now`` falls in (its start)."""
    return now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


async def staff_digest(session: AsyncSession, structure: Structure) -> int:
    """One digest row per manager/staff member with an e-mail, per structure and hour.

    Returns how many rows this call inserted (0 when this hour's digests already exist)."""
    hour = hour_bucket(utcnow())
    ends = hour + dt.timedelta(hours=1)
    staff = await session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.structure_id == structure.id,
            Membership.role.in_(sorted(r.value for r in ASSET_MANAGING_ROLES)),
            User.is_active.is_(True),
            User.erased_at.is_(None),
            User.email.is_not(None),
        )
        .order_by(User.id)
    )
    params = {
        **_structure_facts(structure),
        "hour": instant(hour),
        "path": f"/structures/{structure.slug}/tableau",
    }
    url = public_url(session)
    inserted = 0
    for member in _unique(staff):
        person = outbox.user_recipient(member)
        # A digest is a screen to look at: by e-mail only, never a phone call to make.
        to = Recipient(user_id=person.user_id, email=person.email, language=person.language)
        inserted += await outbox.enqueue_once(
            session,
            Kind.STAFF_DIGEST,
            to,
            {**params, "name": person.name or ""},
            dedupe_key=f"digest:{structure.id}:{hour:%Y-%m-%dT%H}:{member.id}",
            public_url=url,
            structure_id=structure.id,
            not_before=ends,
        )
    return inserted


def _unique(users: Iterable[User]) -> list[User]:
    seen: set[uuid.UUID] = set()
    found = []
    for user in users:
        if user.id not in seen:
            seen.add(user.id)
            found.append(user)
    return found


# --- meal orders ---------------------------------------------------------------------------


def order_facts(
    order: MealOrder,
    service: MealService,
    window: PickupWindow,
    structure: Structure,
    dishes: Iterable[tuple[int, str]],
    to: Recipient,
    *,
    cancelled: bool = False,
) -> dict[str, Any]:
    """The snapshot a meal-order message is rendered from (JSON only)."""
    return {
        "order_id": str(order.id),
        "reference": order.id.hex[-6:].upper(),
        "uid": make_uid("meal-order", order.id),
        # As in the feed: orders have no SEQUENCE column, 0 then 1 once cancelled.
        "sequence": 1 if cancelled else 0,
        **_structure_facts(structure),
        "service_date": service.service_date.isoformat(),
        "meal": service.meal,
        "pickup_starts_at": instant(window.starts_at),
        "pickup_ends_at": instant(window.ends_at),
        "dishes": [[quantity, name] for quantity, name in dishes],
        "suspended_meals": order.suspended_meals,
        "total_cents": order.total_cents,
        "paid": bool(order.paid),
        "updated_at": instant(utcnow()),
        "name": to.name or "",
        "email": to.email or "",
        "path": f"/mes-commandes/{order.id}",
    }


async def _order_recipient(
    session: AsyncSession, order: MealOrder, caller: User | None
) -> Recipient | None:
    if order.user_id is None:
        return None  # a guest served by the team, or a voucher without account: no contact
    if caller is not None and caller.id == order.user_id:
        return outbox.user_recipient(caller)
    return await outbox.recipient_of(session, order.user_id)


def dishes(lines: Iterable[tuple[MealOrderLine, MenuItem]]) -> list[tuple[int, str]]:
    return [(line.quantity, item.name) for line, item in lines]


def own_order_confirmation(
    caller: User,
    order: MealOrder,
    service: MealService,
    window: PickupWindow,
    structure: Structure,
    lines: Iterable[tuple[MealOrderLine, MenuItem]],
    public_url: str,
) -> dict[str, Any] | None:
    """« confirmed » for an order the caller placed for themself, as an outbox row (None if
    they cannot be told), for the statement that inserts it with the order
    (``services/canteen_early``); the same message ``order_placed`` adds."""
    to = outbox.user_recipient(caller)
    return outbox.row(
        Kind.ORDER_CONFIRMED,
        to,
        order_facts(order, service, window, structure, dishes(lines), to),
        public_url=public_url,
        structure_id=structure.id,
    )


async def order_placed(
    session: AsyncSession,
    caller: User | None,
    order: MealOrder,
    service: MealService,
    window: PickupWindow,
    structure: Structure,
    lines: Iterable[tuple[MealOrderLine, MenuItem]],
) -> None:
    """A placed order is confirmed (there is no approval of meal orders)."""
    await order_changed(
        session, Kind.ORDER_CONFIRMED, caller, order, service, window, structure, dishes(lines)
    )


async def order_changed(
    session: AsyncSession,
    kind: Kind,
    caller: User | None,
    order: MealOrder,
    service: MealService,
    window: PickupWindow,
    structure: Structure,
    dishes: Iterable[tuple[int, str]],
) -> None:
    """ORDER_CONFIRMED (placed), ORDER_CANCELLED or ORDER_READY, to the order's owner."""
    to = await _order_recipient(session, order, caller)
    if to is None:
        return
    params = order_facts(
        order, service, window, structure, dishes, to, cancelled=kind is Kind.ORDER_CANCELLED
    )
    _tell(session, kind, to, params, structure)
