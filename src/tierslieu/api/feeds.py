"""Calendar feeds (.ics), feed tokens, and closures imported from .ics files."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.calendar import FeedCalendar, etag_of, http_date
from tierslieu.calendar.errors import CalendarTooLarge
from tierslieu.calendar.parse import MAX_BYTES
from tierslieu.errors import NotFound
from tierslieu.models import User
from tierslieu.services import feeds, listing_cache
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

# Litestar appends "; charset=utf-8" to text/* types: the header reads
# "text/calendar; charset=utf-8" (calendar.MEDIA_TYPE).
ICS_MEDIA_TYPE = "text/calendar"

# --- access logs never show a feed secret --------------------------------------------------

_SECRET_PATHS = re.compile(r"(/ical/(?:me|structures/[^/?#\s]+))/[^/?#\s]+")


def mask_feed_tokens(text: str) -> str:
    """``/ical/me/<token>.ics`` → ``/ical/me/***``, likewise for staff feeds."""
    return _SECRET_PATHS.sub(r"\1/***", text)


class FeedTokenLogFilter(logging.Filter):
    """Masks feed tokens in uvicorn's access log records (path is one of the args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                mask_feed_tokens(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = mask_feed_tokens(record.msg)
        return True


def install_log_filter() -> None:
    """Idempotent: add the filter to uvicorn's access logger (called by create_app)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, FeedTokenLogFilter) for f in access.filters):
        access.addFilter(FeedTokenLogFilter())


# --- responses -------------------------------------------------------------------------------


def _cache_headers(public: bool) -> dict[str, str]:
    # Referrer-Policy: no-referrer and nosniff come from tierslieu.headers (every /ical/ URL).
    return {"Cache-Control": ("public" if public else "private") + ", max-age=900"}


def _not_modified(request: Request[Any, Any, Any], rendered: feeds.RenderedFeed) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or rendered.etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return rendered.last_modified <= since
    return False


def _feed_headers(rendered: feeds.RenderedFeed, public: bool) -> dict[str, str]:
    return {
        "ETag": rendered.etag,
        "Last-Modified": http_date(rendered.last_modified),
        **_cache_headers(public),
    }


async def _serve(
    request: Request[Any, Any, Any],
    feed_id: str,
    marker: feeds.Marker,
    build: Callable[[], Awaitable[FeedCalendar]],
    *,
    public: bool,
    filename: str,
) -> Response[bytes]:
    """304 straight from the change marker when possible; otherwise build (or reuse) the body."""
    hit = feeds.cached(feed_id, marker)
    if hit is not None and _not_modified(request, hit):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=_feed_headers(hit, public))
    rendered = await feeds.render(feed_id, marker, build)
    if _not_modified(request, rendered):
        return Response(
            b"", status_code=HTTP_304_NOT_MODIFIED, headers=_feed_headers(rendered, public)
        )
    return Response(
        rendered.body,
        status_code=HTTP_200_OK,
        media_type=ICS_MEDIA_TYPE,
        headers={
            **_feed_headers(rendered, public),
            "Content-Disposition": f'inline; filename="{filename}"',
        },
    )


def _ics(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type=ICS_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "ETag": etag_of(body),
            **_cache_headers(False),
        },
    )


def _strip_ics(name: str) -> str:
    if not name.endswith(".ics"):
        raise NotFound()
    return name.removesuffix(".ics")


# --- schemas -------------------------------------------------------------------------------


class FeedLinksOut(msgspec.Struct):
    https: str
    webcal: str


class ImportOut(msgspec.Struct):
    assets: int
    closures: int
    created: int
    updated: int
    unchanged: int
    bookings_affected: int


@dataclass
class CalendarUpload:
    file: UploadFile


async def _read_upload(upload: CalendarUpload) -> bytes:
    data = await upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise CalendarTooLarge({"limit_kb": MAX_BYTES // 1024})
    return data


def _import_out(result: feeds.ImportResult) -> ImportOut:
    return ImportOut(
        assets=result.assets,
        closures=result.closures,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        bookings_affected=result.bookings_affected,
    )


# Room for the multipart envelope around a file of at most MAX_BYTES.
_UPLOAD_LIMIT = MAX_BYTES + 64 * 1024


# --- controllers -------------------------------------------------------------------------------


class FeedController(Controller):
    """Subscribable feeds. Their URLs end in ``.ics``: some calendar clients need it."""

    path = "/ical"
    tags = ["calendriers"]

    @get("/assets/{name:str}", summary="Public feed of an asset: opening, places left, closures")
    async def asset(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        name: FromPath[str],
    ) -> Response[bytes]:
        try:
            asset_id = uuid.UUID(_strip_ics(name))
        except ValueError:
            raise NotFound() from None
        now = utcnow()
        window = feeds.Window.around(now)
        # Many subscribers poll one public feed: its change marker is computed once a
        # second per process (a write to the asset in this process drops it at once).
        marker = await listing_cache.get_or_compute(
            (asset_id, "feed-marker", window.starts_at),
            now,
            lambda: feeds.asset_marker(db_session, asset_id, window),
        )
        return await _serve(
            request,
            f"asset:{asset_id}",
            marker,
            lambda: feeds.asset_feed(db_session, asset_id, window),
            public=True,
            filename=f"{asset_id}.ics",
        )

    @get("/me/{name:str}", summary="A person's private feed: bookings and meal orders")
    async def person(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        name: FromPath[str],
    ) -> Response[bytes]:
        user = await feeds.person_for_token(db_session, _strip_ics(name))
        window = feeds.Window.around(utcnow())
        marker = await feeds.person_marker(db_session, user, window)
        return await _serve(
            request,
            f"me:{user.id}",
            marker,
            lambda: feeds.person_feed(db_session, user, window),
            public=False,
            filename="tierslieu.ics",
        )

    @get("/structures/{slug:str}/{name:str}", summary="Staff feed of a structure: every booking")
    async def staff(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        slug: FromPath[str],
        name: FromPath[str],
    ) -> Response[bytes]:
        _user, structure = await feeds.staff_for_token(db_session, slug, _strip_ics(name))
        window = feeds.Window.around(utcnow())
        marker = await feeds.staff_marker(db_session, structure, window)
        return await _serve(
            request,
            f"staff:{structure.id}",
            marker,
            lambda: feeds.staff_feed(db_session, structure, window),
            public=False,
            filename=f"{structure.slug}.ics",
        )


class ItemCalendarController(Controller):
    """One booking or order as an .ics file, with the JSON resource's authorisation."""

    path = "/api"
    tags = ["calendriers"]

    @get("/bookings/{booking_id:uuid}/calendar.ics", summary="One booking as an .ics file")
    async def booking(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        body = await feeds.booking_calendar(db_session, user, booking_id)
        return _ics(body, f"reservation-{booking_id}.ics")

    @get("/meal-orders/{order_id:uuid}/calendar.ics", summary="One meal order as an .ics file")
    async def order(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        order_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        body = await feeds.order_calendar(db_session, user, order_id)
        return _ics(body, f"repas-{order_id}.ics")

    @post(
        "/me/feed-token",
        summary="New secret URL of the caller's feed (the previous one stops working)",
        status_code=HTTP_201_CREATED,
    )
    async def rotate_person(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        settings: NamedDependency[Settings],
    ) -> Response[FeedLinksOut]:
        links = await feeds.rotate_person_token(db_session, user, settings)
        return Response(
            FeedLinksOut(https=links.https, webcal=links.webcal),
            status_code=HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    @post(
        "/structures/{slug:str}/feed-token",
        summary="New secret URL of a structure's staff feed for the caller (its staff)",
        status_code=HTTP_201_CREATED,
    )
    async def rotate_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        settings: NamedDependency[Settings],
        slug: FromPath[str],
    ) -> Response[FeedLinksOut]:
        links = await feeds.rotate_staff_token(db_session, user, slug, settings)
        return Response(
            FeedLinksOut(https=links.https, webcal=links.webcal),
            status_code=HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    @post(
        "/assets/{asset_id:uuid}/closures/import",
        summary="Import closures from an .ics file (multipart field `file`; its staff)",
        status_code=HTTP_200_OK,
        request_max_body_size=_UPLOAD_LIMIT,
    )
    async def import_asset(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
        data: MultipartBody[CalendarUpload],
    ) -> ImportOut:
        result = await feeds.import_asset_closures(
            db_session, user, asset_id, await _read_upload(data)
        )
        return _import_out(result)

    @post(
        "/structures/{slug:str}/closures/import",
        summary="Import closures from an .ics file for every asset of a structure (its staff)",
        status_code=HTTP_200_OK,
        request_max_body_size=_UPLOAD_LIMIT,
    )
    async def import_structure(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        data: MultipartBody[CalendarUpload],
    ) -> ImportOut:
        result = await feeds.import_structure_closures(
            db_session, user, slug, await _read_upload(data)
        )
        return _import_out(result)
