"""Recurring bookings: book a series in one transaction, read it, cancel part or all of it.

Guarantees:
- Every occurrence is booked by ``bookings.create_booking`` (the same rules, the same
  conditional UPDATE on the slot counter, the same exclusion constraint), each inside a
  savepoint: a refused occurrence (full, closed, outside the window, over a limit, in the
  spring-forward gap) rolls back only its savepoint and is listed; with
  ``all_or_nothing`` any refusal rolls back everything and nothing is written.
- The occurrences keep the first one's local wall-clock time (``domain.series``).
- One message tells the person about the whole series (not one per occurrence).
- Cancelling « this and the following » or the whole series releases each occurrence's
  places in one transaction (``bookings.release_booking``): the counters stay equal to the
  active bookings. Only the person the series is for, or the structure's staff, may see or
  cancel it (404 for anyone else).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from tierslieu.domain import localtime
from tierslieu.domain.bookings import (
    CANCELLABLE_STATUSES,
    CreateBooking,
    NotCancellable,
    owner_may_cancel,
)
from tierslieu.domain.horizon import latest_date
from tierslieu.domain.series import (
    Occurrence,
    Repeat,
    SeriesRefused,
    is_skippable,
    occurrences,
    refusal_code,
    wall_clock,
)
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES
from tierslieu.errors import DomainError, NotFound
from tierslieu.models import Asset, Booking, BookingSeries, Structure, User
from tierslieu.services import bookings as booking_service
from tierslieu.services import listing_cache, notify_series, schedule_cache
from tierslieu.services.access import has_role
from tierslieu.services.bookings import BookingView
from tierslieu.services.clock import utcnow


@dataclass(slots=True)
class SkippedOccurrence:
    """An occurrence that could not be booked, and why (local wall-clock times)."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    error: DomainError

    @property
    def code(self) -> str:
        return refusal_code(self.error)


@dataclass(slots=True)
class SeriesView:
    series: BookingSeries
    asset: Asset
    structure: Structure
    bookings: list[BookingView]
    skipped: list[SkippedOccurrence] = field(default_factory=list)
    caller_is_staff: bool = False


@dataclass(slots=True)
class SeriesCancelled:
    view: SeriesView
    cancelled: list[Booking]
    # Occurrences the person may no longer cancel online (past the asset's deadline).
    kept: list[Booking]


def local_moment(moment: dt.datetime, tz: str) -> dt.datetime:
    """A naive local wall time as an aware local datetime, for showing (the first one in
    the autumn fold; a time in the spring gap is shown with the offset before the change)."""
    return moment.replace(tzinfo=localtime.zone(tz), fold=0)


async def create_series(
    session: AsyncSession,
    user: User,
    cmd: CreateBooking,
    repeat: Repeat,
    *,
    all_or_nothing: bool = False,
    commit: bool = True,
) -> SeriesView:
    """Book every occurrence of ``cmd`` repeated by ``repeat``, in one transaction.

    Refused before anything is written: an incomplete or too long repetition (422
    ``repeat-invalid``/``repeat-too-long``: at most 52 occurrences, the last within the
    asset's ``max_advance_days`` for people, within the date horizon for staff), and any
    refusal that is not about one occurrence (audience, party size, guest…). Refused
    occurrences are skipped and listed; with ``all_or_nothing``, or when none could be
    booked, 409 ``series-refused`` lists them (``skipped``) and nothing is written.
    """
    now = utcnow()
    entry = schedule_cache.cached(cmd.asset_id) or await schedule_cache.load(session, cmd.asset_id)
    asset, structure = entry.asset, entry.structure
    tz = structure.timezone
    is_staff = await has_role(session, user, structure.id, ASSET_MANAGING_ROLES)
    if asset.archived_at is not None and not is_staff:
        raise NotFound()
    if is_staff:
        latest = latest_date(now.date())
    else:
        latest = localtime.local_date(now + dt.timedelta(days=asset.max_advance_days), tz)
    first_start, first_end = wall_clock(cmd.starts_at, tz), wall_clock(cmd.ends_at, tz)
    planned = occurrences(first_start, first_end, repeat, latest=latest)

    created = dt.datetime.now(dt.UTC)
    series = BookingSeries(
        id=uuid7(),
        created_at=created,
        updated_at=created,
        asset_id=asset.id,
        every_weeks=repeat.every_weeks,
        first_starts_at=localtime.boundary_to_utc(first_start, tz),
        local_time=first_start.strftime("%H:%M"),
        count=repeat.count,
        until=repeat.until,
        requested=len(planned),
    )
    session.add(series)
    await session.flush()

    booked: list[BookingView] = []
    skipped: list[SkippedOccurrence] = []
    for occurrence in planned:
        view = await _book_one(session, user, cmd, series.id, occurrence, skipped)
        if view is not None:
            booked.append(view)
    if not booked or (all_or_nothing and skipped):
        await session.rollback()
        listing_cache.forget(asset.id)
        raise SeriesRefused(
            {"skipped": len(skipped)},
            extra={
                "skipped": [
                    {
                        "starts_at": local_moment(s.starts_at, tz).isoformat(),
                        "ends_at": local_moment(s.ends_at, tz).isoformat(),
                        "code": s.code,
                    }
                    for s in skipped
                ]
            },
        )
    await notify_series.series_created(
        session, user, series, [v.booking for v in booked], skipped, asset, structure
    )
    await (session.commit() if commit else session.flush())
    listing_cache.forget(asset.id)
    return SeriesView(series, asset, structure, booked, skipped, caller_is_staff=is_staff)


async def _book_one(
    session: AsyncSession,
    user: User,
    cmd: CreateBooking,
    series_id: uuid.UUID,
    occurrence: Occurrence,
    skipped: list[SkippedOccurrence],
) -> BookingView | None:
    """One occurrence inside a savepoint, written with its series; a refusal of this
    occurrence only is recorded."""
    one = replace(
        cmd, starts_at=occurrence.starts_at, ends_at=occurrence.ends_at, series_id=series_id
    )
    try:
        async with session.begin_nested():
            return await booking_service.create_booking(
                session, user, one, commit=False, rollback_on_refusal=False, announce=False
            )
    except DomainError as exc:
        if not is_skippable(exc):
            await session.rollback()
            raise
        skipped.append(SkippedOccurrence(occurrence.starts_at, occurrence.ends_at, exc))
        return None


# --- reading -----------------------------------------------------------------------------


async def _load(
    session: AsyncSession, user: User, series_id: uuid.UUID
) -> tuple[BookingSeries, Asset, Structure, bool, list[Booking]]:
    """The series and its bookings, if the caller is its person or staff; 404 otherwise.

    The person is found through the bookings (the series row holds no personal data): a
    caller who is not staff sees only the occurrences booked on their account.
    """
    row = (
        await session.execute(
            select(BookingSeries, Asset, Structure)
            .join(Asset, Asset.id == BookingSeries.asset_id)
            .join(Structure, Structure.id == Asset.structure_id)
            .where(BookingSeries.id == series_id)
        )
    ).first()
    if row is None:
        raise NotFound()
    series, asset, structure = row
    asset.structure = structure
    is_staff = await has_role(session, user, structure.id, ASSET_MANAGING_ROLES)
    query = select(Booking).where(Booking.series_id == series.id)
    if not is_staff:
        query = query.where(Booking.user_id == user.id)
    found = list(await session.scalars(query.order_by(Booking.starts_at)))
    if not found:
        raise NotFound()
    return series, asset, structure, is_staff, found


async def _views(
    session: AsyncSession,
    user: User,
    items: list[Booking],
    asset: Asset,
    structure: Structure,
    is_staff: bool,
) -> list[BookingView]:
    person: tuple[str | None, str | None] = (None, None)
    if is_staff and items:
        person = await booking_service._person_of(session, items[0])
    return [
        BookingView(b, asset, structure, person[0], person[1], caller_is_staff=is_staff)
        for b in items
    ]


async def get_series(session: AsyncSession, user: User, series_id: uuid.UUID) -> SeriesView:
    """A series with all its occurrences (cancelled ones too), for its person or staff."""
    series, asset, structure, is_staff, items = await _load(session, user, series_id)
    views = await _views(session, user, items, asset, structure, is_staff)
    return SeriesView(series, asset, structure, views, caller_is_staff=is_staff)


# --- cancelling ----------------------------------------------------------------------------


async def cancel_series(
    session: AsyncSession,
    user: User,
    series_id: uuid.UUID,
    *,
    from_booking_id: uuid.UUID | None = None,
    reason: str = "",
) -> SeriesCancelled:
    """Cancel the upcoming occurrences of a series: all of them, or ``from_booking_id`` and
    the ones after it. One transaction: each occurrence's places are freed with it (its
    counter goes down by its party size), reminders dropped, one message sent.

    The person may cancel the occurrences still before the asset's cancellation deadline
    (later ones are ``kept`` and listed; 409 ``not-cancellable`` if none is left to
    cancel); staff cancel any upcoming one. One occurrence alone: the ordinary
    ``POST /api/bookings/{id}/cancel``.
    """
    series, asset, structure, is_staff, items = await _load(session, user, series_id)
    now = utcnow()
    targets = items
    if from_booking_id is not None:
        start = next((b for b in items if b.id == from_booking_id), None)
        if start is None:
            raise NotFound()
        targets = [b for b in items if b.starts_at >= start.starts_at]
    cancellable = {s.value for s in CANCELLABLE_STATUSES}
    targets = [b for b in targets if b.status in cancellable and b.starts_at > now]
    kept = [
        b
        for b in targets
        if not is_staff and not owner_may_cancel(b.starts_at, now, asset.cancel_until_minutes)
    ]
    to_cancel = [b for b in targets if b not in kept]
    if kept and not to_cancel:
        raise NotCancellable()
    for booking in to_cancel:
        await booking_service.release_booking(session, booking, now)
    if to_cancel:
        await notify_series.series_cancelled(
            session, user, series, to_cancel, asset, structure, reason=reason
        )
    await session.commit()
    listing_cache.forget(asset.id)
    views = await _views(session, user, items, asset, structure, is_staff)
    return SeriesCancelled(
        SeriesView(series, asset, structure, views, caller_is_staff=is_staff), to_cancel, kept
    )


async def cancel_from_booking(
    session: AsyncSession, user: User, booking_id: uuid.UUID, *, reason: str = ""
) -> SeriesCancelled:
    """``cancel_series`` from one of its occurrences: this one and the following ones (the
    page's « Annuler cette séance et les suivantes »). 404 if the caller may not see the
    booking or it belongs to no series."""
    view = await booking_service.visible_booking(session, user, booking_id)
    series_id = view.booking.series_id
    if series_id is None:
        raise NotFound()
    return await cancel_series(session, user, series_id, from_booking_id=booking_id, reason=reason)
