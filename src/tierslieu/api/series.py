"""Recurring bookings: the series' schemas, its answer, reading and cancelling it.

A series is created by ``POST /api/bookings`` with ``repeat`` (``api/bookings.py``);
one occurrence is cancelled by ``POST /api/bookings/{id}/cancel``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.bookings import BookingOut, booking_out
from tierslieu.api.schemas import Strict
from tierslieu.api.series_schemas import RepeatIn
from tierslieu.domain.series import refusal_title
from tierslieu.models import User
from tierslieu.services import series as series_service
from tierslieu.services.series import SeriesView, local_moment


class SkippedOut(msgspec.Struct):
    starts_at: dt.datetime
    ends_at: dt.datetime
    code: str
    reason: str


class SeriesOut(msgspec.Struct):
    id: uuid.UUID
    asset_id: uuid.UUID
    every_weeks: int
    local_time: str
    count: int | None
    until: dt.date | None
    requested: int
    # Every occurrence booked (for GET: every occurrence, cancelled ones too).
    bookings: list[BookingOut]
    skipped: list[SkippedOut]


class SeriesCancelIn(Strict):
    """Without ``from_booking``: every upcoming occurrence; with it: that one and the later."""

    from_booking: uuid.UUID | None = None
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


class SeriesCancelledOut(msgspec.Struct):
    series: SeriesOut
    cancelled: list[uuid.UUID]
    # Occurrences the person may no longer cancel online (past the cancellation deadline).
    kept: list[uuid.UUID]


def series_out(view: SeriesView, lang: str) -> SeriesOut:
    s, tz = view.series, view.structure.timezone
    return SeriesOut(
        id=s.id,
        asset_id=s.asset_id,
        every_weeks=s.every_weeks,
        local_time=s.local_time,
        count=s.count,
        until=s.until,
        requested=s.requested,
        bookings=[booking_out(b) for b in view.bookings],
        skipped=[
            SkippedOut(
                starts_at=local_moment(k.starts_at, tz),
                ends_at=local_moment(k.ends_at, tz),
                code=k.code,
                reason=refusal_title(k.code, lang),
            )
            for k in view.skipped
        ],
    )


class SeriesController(Controller):
    path = "/api/booking-series"
    tags = ["réservations"]

    @get("/{series_id:uuid}", summary="A booking series and its occurrences (its person or staff)")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        lang: NamedDependency[str],
        series_id: FromPath[uuid.UUID],
    ) -> SeriesOut:
        return series_out(await series_service.get_series(db_session, user, series_id), lang)

    @post(
        "/{series_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel a whole series, or one occurrence and the following ones",
    )
    async def cancel(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        lang: NamedDependency[str],
        series_id: FromPath[uuid.UUID],
        data: JSONBody[SeriesCancelIn | None] = None,
    ) -> SeriesCancelledOut:
        """Places are freed in the same transaction; one message tells the person. The
        person cancels until each occurrence's deadline (later ones are ``kept``)."""
        body = data or SeriesCancelIn()
        done = await series_service.cancel_series(
            db_session,
            user,
            series_id,
            from_booking_id=body.from_booking,
            reason=body.reason.strip(),
        )
        return SeriesCancelledOut(
            series=series_out(done.view, lang),
            cancelled=[b.id for b in done.cancelled],
            kept=[b.id for b in done.kept],
        )


__all__ = ["RepeatIn", "SeriesController", "SeriesOut", "series_out"]
