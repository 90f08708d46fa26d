"""What a booking series tells its person: one message for the whole series.

Called by ``services/series.py`` before it commits, in the same transaction (the message
exists if and only if the series does). Like ``services/notify.py``, ``params`` is a JSON
snapshot: the times of the booked occurrences (UTC instants) and of the skipped ones with
the refusal's code, so that the renderer (``services/mail/series.py``) needs no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.db import public_url
from tierslieu.domain import localtime
from tierslieu.domain.bookings import BookingStatus
from tierslieu.domain.notifications import Kind
from tierslieu.models import Asset, Booking, BookingSeries, Structure, User
from tierslieu.services import notify, outbox
from tierslieu.services.outbox import Recipient, instant


class _Skipped(Protocol):
    starts_at: Any
    ends_at: Any

    @property
    def code(self) -> str: ...


def _facts(
    series: BookingSeries,
    bookings: Sequence[Booking],
    asset: Asset,
    structure: Structure,
    to: Recipient,
    **extra: Any,
) -> dict[str, Any]:
    first = bookings[0]
    return {
        "series_id": str(series.id),
        "every_weeks": series.every_weeks,
        "asset": asset.name,
        "asset_id": str(asset.id),
        "structure": structure.name,
        "structure_slug": structure.slug,
        "structure_phone": structure.phone or "",
        "address": notify.address(structure),
        "timezone": structure.timezone,
        "party_size": first.party_size,
        "status": first.status,
        "occurrences": [
            {"starts_at": instant(b.starts_at), "ends_at": instant(b.ends_at)} for b in bookings
        ],
        "skipped": [],
        "name": to.name or "",
        "email": to.email or "",
        "path": notify.MY_BOOKINGS if first.user_id else f"/ressources/{asset.id}",
        "by_staff": False,
        "reason": "",
        **extra,
    }


async def _recipient(session: AsyncSession, booking: Booking, caller: User) -> Recipient:
    if booking.user_id is None:
        return outbox.guest_recipient(booking.guest_name, booking.guest_email, booking.guest_phone)
    if booking.user_id == caller.id:
        return outbox.user_recipient(caller)
    return await outbox.recipient_of(session, booking.user_id)


async def series_created(
    session: AsyncSession,
    caller: User,
    series: BookingSeries,
    bookings: Sequence[Booking],
    skipped: Sequence[_Skipped],
    asset: Asset,
    structure: Structure,
) -> None:
    """The booked occurrences and the skipped ones (with why), in one message; pending
    occurrences (the asset needs approval) add the staff digest as a single booking does."""
    to = await _recipient(session, bookings[0], caller)
    tz = structure.timezone
    params = _facts(
        series,
        bookings,
        asset,
        structure,
        to,
        skipped=[
            {
                "starts_at": instant(localtime.boundary_to_utc(s.starts_at, tz)),
                "code": s.code,
            }
            for s in skipped
        ],
    )
    outbox.enqueue(
        session,
        Kind.BOOKING_SERIES,
        to,
        params,
        public_url=public_url(session),
        structure_id=structure.id,
    )
    if any(b.status == BookingStatus.PENDING.value for b in bookings):
        await notify.staff_digest(session, structure)


async def series_cancelled(
    session: AsyncSession,
    caller: User,
    series: BookingSeries,
    bookings: Sequence[Booking],
    asset: Asset,
    structure: Structure,
    *,
    reason: str = "",
) -> None:
    """The cancelled occurrences, in one message (with staff's reason, if any)."""
    to = await _recipient(session, bookings[0], caller)
    by_staff = bookings[0].user_id != caller.id
    params = _facts(
        series,
        bookings,
        asset,
        structure,
        to,
        by_staff=by_staff,
        reason=reason if by_staff else "",
    )
    outbox.enqueue(
        session,
        Kind.BOOKING_SERIES_CANCELLED,
        to,
        params,
        public_url=public_url(session),
        structure_id=structure.id,
    )
