"""Availability, free slots, bookings and the day sheet."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import csvout, i18n
from tierslieu.api.deps import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    bearer_token_of,
    provide_caller,
    provide_lang,
    provide_user,
    request_session,
)
from tierslieu.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from tierslieu.api.idempotency import respond_once
from tierslieu.api.schemas import Strict
from tierslieu.api.series_schemas import RepeatIn
from tierslieu.domain.bookings import AccountRef, CreateBooking, Guest, cancel_deadline
from tierslieu.domain.slots import Slot
from tierslieu.errors import Unauthenticated
from tierslieu.i18n import N_
from tierslieu.labels import label
from tierslieu.models import AvailabilityRule, Booking, Closure, User
from tierslieu.services import assets, availability, bookings, series
from tierslieu.services.availability import FreeSlot
from tierslieu.services.bookings import BookingView
from tierslieu.services.clock import utcnow
from tierslieu.templating import render_day_sheet

WallClock = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])]
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]
Reason = Annotated[str, msgspec.Meta(max_length=300)]
Note = Annotated[str, msgspec.Meta(max_length=1000)]

# The day sheet's CSV columns (French msgids; the header is in the caller's language).
DAY_SHEET_CSV_COLUMNS = [
    N_("Début"),
    N_("Fin"),
    N_("Nom"),
    N_("Personnes"),
    N_("Téléphone"),
    N_("Statut"),
    N_("Note"),
]


def _time(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def _local(moment: dt.datetime, tz: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(tz))


# --- schemas ------------------------------------------------------------------------------


class RuleIn(Strict):
    weekdays: Annotated[list[Weekday], msgspec.Meta(min_length=1, max_length=7)]
    start_time: WallClock
    end_time: WallClock
    valid_from: dt.date
    valid_until: dt.date | None = None
    slot_minutes: Annotated[int, msgspec.Meta(ge=5, le=1440)] | None = None
    capacity: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None

    def fields(self) -> dict[str, Any]:
        """The rule as ``availability.add_rule`` takes it (wall-clock times as ``dt.time``)."""
        fields = msgspec.structs.asdict(self)
        fields["start_time"], fields["end_time"] = _time(self.start_time), _time(self.end_time)
        return fields


class RuleOut(msgspec.Struct):
    id: uuid.UUID
    weekdays: list[int]
    start_time: str
    end_time: str
    valid_from: dt.date
    valid_until: dt.date | None
    slot_minutes: int | None
    capacity: int | None


class ClosureIn(Strict):
    reason: Reason = ""
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class ReasonIn(Strict):
    """Optional body of a staff decline or cancellation: the reason the person is told."""

    reason: Reason = ""


class ClosureOut(msgspec.Struct):
    id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts_on: dt.date | None
    ends_on: dt.date | None
    reason: str


class AffectedBooking(msgspec.Struct):
    id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    party_size: int
    status: str


class RuleCreated(msgspec.Struct):
    rule: RuleOut
    affected_bookings: list[AffectedBooking]


class ClosureCreated(msgspec.Struct):
    closure: ClosureOut
    affected_bookings: list[AffectedBooking]


class AffectedOut(msgspec.Struct):
    affected_bookings: list[AffectedBooking]


class SlotOut(msgspec.Struct, omit_defaults=True):
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None = None
    remaining: int | None = None


def _slot_out(s: FreeSlot | Slot, zone: ZoneInfo, remaining: int | None) -> SlotOut:
    return SlotOut(s.starts_at.astimezone(zone), s.ends_at.astimezone(zone), s.capacity, remaining)


def _free_json(free: list[FreeSlot], zone: ZoneInfo) -> bytes:
    return msgspec.json.encode([_slot_out(s, zone, s.remaining) for s in free])


def _slot_head(slot: Slot, zone: ZoneInfo) -> bytes:
    """A shared slot's JSON up to its number of places left: ``…,"remaining":`` (the listing
    template appends the number and the closing brace)."""
    encoded = msgspec.json.encode(_slot_out(slot, zone, 0))
    assert encoded.endswith(b'"remaining":0}')
    return encoded[:-2]


class GuestIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    phone: Annotated[str, msgspec.Meta(max_length=30, pattern=r"^[0-9+() .-]*$")] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None


class AccountRefIn(Strict):
    """An account staff book for: its e-mail or its phone (found only if the person
    agreed to be found by staff)."""

    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=30, pattern=r"^[0-9+() .-]*$")] | None = None


class BookingIn(Strict):
    asset_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    party_size: Annotated[int, msgspec.Meta(ge=1, le=500)] = 1
    note: Note = ""
    # Staff only, exactly one: a contact of the structure, an account, or a new person
    # (``guest``: a contact made now, or the known contact with that number or name).
    contact_id: uuid.UUID | None = None
    account: AccountRefIn | None = None
    guest: GuestIn | None = None
    # Staff only: booking over the person's fair-use limit, and why (kept, never public).
    quota_override: Reason = ""
    # If the slot is full: join its waiting list (assets with one) instead of a 409.
    waitlist: bool = False
    # A recurring booking (``api/series.py``): one booking per occurrence.
    repeat: RepeatIn | None = None
    all_or_nothing: bool = False

    def command(self) -> CreateBooking:
        g, a = self.guest, self.account
        return CreateBooking(
            asset_id=self.asset_id,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            party_size=self.party_size,
            note=self.note,
            guest=Guest(g.name, g.phone, g.email) if g is not None else None,
            quota_override=self.quota_override.strip(),
            contact_id=self.contact_id,
            account=AccountRef(a.email, a.phone) if a is not None else None,
            waitlist=self.waitlist,
        )


class PersonOut(msgspec.Struct, omit_defaults=True):
    name: str | None
    phone: str | None
    # True when the person has no account (a contact of the structure).
    guest: bool
    contact_id: uuid.UUID | None = None


class BookingOut(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    status: str
    asset_id: uuid.UUID
    asset_name: str
    structure_slug: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    party_size: int
    note: str
    sequence: int
    created_at: dt.datetime
    cancellable_until: dt.datetime | None = None
    # While ``waitlisted``: the place in the slot's waiting list (1 = next).
    waitlist_position: int | None = None
    # Only for the structure's staff.
    person: PersonOut | None = None
    # The series this booking is one occurrence of (``GET /api/booking-series/{id}``).
    series_id: uuid.UUID | None = None


class AttendanceIn(Strict):
    status: Literal["attended", "no_show"]


def rule_out(rule: AvailabilityRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        weekdays=list(rule.weekdays),
        start_time=rule.start_time.strftime("%H:%M"),
        end_time=rule.end_time.strftime("%H:%M"),
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        slot_minutes=rule.slot_minutes,
        capacity=rule.capacity,
    )


def closure_out(closure: Closure, tz: str) -> ClosureOut:
    return ClosureOut(
        id=closure.id,
        starts_at=_local(closure.starts_at, tz),
        ends_at=_local(closure.ends_at, tz),
        starts_on=closure.starts_on,
        ends_on=closure.ends_on,
        reason=closure.reason,
    )


def affected_out(items: list[Booking], tz: str) -> list[AffectedBooking]:
    return [
        AffectedBooking(
            id=b.id,
            starts_at=_local(b.starts_at, tz),
            ends_at=_local(b.ends_at, tz),
            party_size=b.party_size,
            status=b.status,
        )
        for b in items
    ]


def booking_out(view: BookingView) -> BookingOut:
    b, tz = view.booking, view.structure.timezone
    cancellable_until = None
    if b.status in {"pending", "confirmed"} and not view.caller_is_staff:
        cancellable_until = _local(
            cancel_deadline(b.starts_at, view.asset.cancel_until_minutes), tz
        )
    return BookingOut(
        id=b.id,
        status=b.status,
        asset_id=view.asset.id,
        asset_name=view.asset.name,
        structure_slug=view.structure.slug,
        starts_at=_local(b.starts_at, tz),
        ends_at=_local(b.ends_at, tz),
        party_size=b.party_size,
        note=b.note,
        sequence=b.sequence,
        created_at=_local(b.created_at, tz),
        cancellable_until=cancellable_until,
        waitlist_position=b.waitlist_position,
        person=PersonOut(view.person_name, view.person_phone, b.user_id is None, b.contact_id)
        if view.caller_is_staff
        else None,
        series_id=b.series_id,
    )


# --- controllers -------------------------------------------------------------------------------

Day = Annotated[dt.date, QueryParameter()]


class AvailabilityController(Controller):
    path = "/api/assets/{asset_id:uuid}"
    tags = ["disponibilités"]

    @get("/slots", summary="What is free: slots with places left, or free intervals (public)")
    async def slots(
        self,
        request: Request[Any, Any, Any],
        asset_id: FromPath[uuid.UUID],
        from_: Annotated[dt.date, QueryParameter(name="from")],
        to: Annotated[dt.date, QueryParameter()],
    ) -> Response[list[SlotOut]]:
        """At most 92 days; times in the structure's zone; past times and closures excluded."""
        # The engine from the app's state, not a dependency: the most read route resolves none.
        body = await availability.free_slots_json(
            request.app.state.engine, asset_id, from_, to, head=_slot_head, whole=_free_json
        )
        return Response(body, media_type=MediaType.JSON)

    @get("/availability", summary="Opening rules of an asset (its staff)")
    async def list_rules(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
    ) -> list[RuleOut]:
        return [rule_out(r) for r in await availability.list_rules(db_session, user, asset_id)]

    @post(
        "/availability",
        status_code=HTTP_201_CREATED,
        summary="Add an opening rule or a one-off opening",
    )
    async def add_rule(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
        data: JSONBody[RuleIn],
    ) -> RuleCreated:
        """Local wall-clock times; ``valid_from == valid_until`` is a one-off extra opening."""
        rule = await availability.add_rule(db_session, user, asset_id, data.fields())
        return RuleCreated(rule=rule_out(rule), affected_bookings=[])

    @delete(
        "/availability/{rule_id:uuid}",
        status_code=HTTP_200_OK,
        summary="Remove an opening rule; reports bookings now outside opening hours",
    )
    async def delete_rule(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
        rule_id: FromPath[uuid.UUID],
    ) -> AffectedOut:
        """Bookings are never cancelled silently: the ones now outside opening hours are listed."""
        asset, affected = await availability.delete_rule(db_session, user, asset_id, rule_id)
        tz = asset.structure.timezone
        return AffectedOut(affected_bookings=affected_out(affected, tz))

    @get("/closures", summary="Closures of an asset (its staff)")
    async def list_closures(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
    ) -> list[ClosureOut]:
        asset, items = await availability.list_closures(db_session, user, asset_id)
        tz = asset.structure.timezone
        return [closure_out(c, tz) for c in items]

    @post(
        "/closures",
        status_code=HTTP_201_CREATED,
        summary="Close an asset for a period or whole days",
    )
    async def add_closure(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
        data: JSONBody[ClosureIn],
    ) -> ClosureCreated:
        """Either ``starts_at``/``ends_at`` or ``starts_on``/``ends_on`` (inclusive local dates)."""
        asset, closure, affected = await availability.add_closure(
            db_session,
            user,
            asset_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            reason=data.reason,
        )
        tz = asset.structure.timezone
        return ClosureCreated(
            closure=closure_out(closure, tz), affected_bookings=affected_out(affected, tz)
        )

    @delete(
        "/closures/{closure_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Remove a closure"
    )
    async def delete_closure(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
        closure_id: FromPath[uuid.UUID],
    ) -> None:
        await availability.delete_closure(db_session, user, asset_id, closure_id)

    @get("/availability/conflicts", summary="Upcoming bookings now outside opening hours (staff)")
    async def conflicts(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
    ) -> AffectedOut:
        asset = await assets.managed_asset(db_session, user, asset_id)
        affected = await availability.bookings_outside_opening(db_session, asset)
        return AffectedOut(affected_bookings=affected_out(affected, asset.structure.timezone))

    @get("/day-sheet", summary="Printable day sheet: who comes, per slot (staff); ?format=csv")
    async def day_sheet(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        lang: NamedDependency[str],
        asset_id: FromPath[uuid.UUID],
        date: Day,
        format_: Annotated[Literal["html", "csv"], QueryParameter(name="format")] = "html",
    ) -> Response[str]:
        """An A4 page (in the caller's language) with names, party sizes, phones and a tick
        box per person; the CSV has one line per booking, times as « 2027-04-06 10:00 »."""
        asset, blocks = await bookings.day_sheet(db_session, user, asset_id, date)
        tz = asset.structure.timezone
        if format_ == "csv":
            rows = [
                [
                    _local(block.starts_at, tz).strftime("%Y-%m-%d %H:%M"),
                    _local(block.ends_at, tz).strftime("%H:%M"),
                    entry.person_name or "",
                    entry.booking.party_size,
                    entry.person_phone or "",
                    label(lang, "status", entry.booking.status),
                    entry.booking.note,
                ]
                for block in blocks
                for entry in block.entries + block.waiting  # the waiting list, in order
            ]
            filename = f"feuille-{date.isoformat()}.csv"
            return Response(
                csvout.document([i18n.gettext(lang, c) for c in DAY_SHEET_CSV_COLUMNS], rows),
                media_type="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="{filename}"',
                    "Cache-Control": "no-store",
                },
            )
        html = render_day_sheet(asset, blocks, date, utcnow(), lang)
        return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})


class BookingController(Controller):
    path = "/api/bookings"
    tags = ["réservations"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Book a slot or an interval (staff: on behalf of a person)",
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[BookingIn]
    ) -> Response[BookingOut]:
        """409 ``slot-full`` / ``interval-taken``; each broken rule has its own problem type.

        Staff name the person, exactly one of: ``contact_id`` (a contact of the structure),
        ``account`` (``email`` or ``phone`` of an account whose person agreed to be found;
        else 422 ``account-not-found``) or ``guest`` (a name with an optional phone and
        e-mail: the contact with that number, or made now; 409 ``contact-exists`` when the
        number is another name's). Without one: 422 ``person-required``.
        A full shared slot of an asset with a waiting list: ``slot-full`` says
        ``waitlist_available: true``; with ``"waitlist": true`` the booking is created
        ``waitlisted`` with its ``waitlist_position`` instead (409 ``waitlist-full`` when the
        list is full). Leave the list with ``/cancel``.
        With ``repeat`` (``{"every_weeks": 1, "count": 6}`` or ``"until": date``): a series,
        one booking per occurrence at the same local time, in one transaction; the answer is
        the series (``api/series.SeriesOut``) with the occurrences refused and skipped, or
        409 ``series-refused`` with ``all_or_nothing`` (nothing booked).

        With an ``Idempotency-Key`` header a retry returns the stored response instead of
        booking twice (same key, other body: 422; while the first still runs: 409).
        """
        cmd = data.command()
        token = bearer_token_of(request)
        if token is None:
            raise Unauthenticated()
        if data.repeat is None and request.headers.get(IDEMPOTENCY_HEADER) is None:
            # A person booking for themself: no ORM session (services/bookings.py).
            view = await bookings.book_for_oneself(request.app.state.engine, token, cmd)
            if view is not None:
                return Response(booking_out(view), status_code=HTTP_201_CREATED)
        # Dependencies named here would be resolved before the quick path, in a task group.
        db_session = request_session(request)
        user = await provide_user(await provide_caller(request, db_session))
        if data.repeat is not None:
            from tierslieu.api.series import series_out  # it imports this module's BookingOut

            repeat = data.repeat.repeat()

            async def write_series(commit: bool) -> tuple[int, Any]:
                view = await series.create_series(
                    db_session,
                    user,
                    cmd,
                    repeat,
                    all_or_nothing=data.all_or_nothing,
                    commit=commit,
                )
                return HTTP_201_CREATED, series_out(view, provide_lang(request))

            return await respond_once(request, db_session, user, write_series)

        async def write(commit: bool) -> tuple[int, BookingOut]:
            view = await bookings.create_booking(db_session, user, cmd, commit=commit)
            return HTTP_201_CREATED, booking_out(view)

        return await respond_once(request, db_session, user, write)

    @get("/", summary="The caller's own bookings")
    async def mine(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        upcoming: Annotated[bool, QueryParameter()] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[BookingOut]:
        views = await bookings.my_bookings(
            db_session, user, upcoming_only=upcoming, limit=limit, offset=offset
        )
        return [booking_out(v) for v in views]

    @get("/{booking_id:uuid}", summary="One booking (its owner or the structure's staff)")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
    ) -> BookingOut:
        return booking_out(await bookings.visible_booking(db_session, user, booking_id))

    @post(
        "/{booking_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel a booking, or leave a waiting list; places go to the list at once",
    )
    async def cancel(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
        data: JSONBody[ReasonIn | None] = None,
    ) -> BookingOut:
        reason = data.reason.strip() if data is not None else ""
        return booking_out(
            await bookings.cancel_booking(db_session, user, booking_id, reason=reason)
        )

    @post(
        "/{booking_id:uuid}/promote",
        status_code=HTTP_200_OK,
        summary="Confirm a waiting-list entry out of order, if it fits (staff)",
    )
    async def promote(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
    ) -> BookingOut:
        """409 ``places-missing`` if its party does not fit in the free places,
        ``not-waitlisted`` if it is not (or no longer) waiting."""
        return booking_out(await bookings.promote_booking(db_session, user, booking_id))

    @post(
        "/{booking_id:uuid}/approve",
        status_code=HTTP_200_OK,
        summary="Approve a pending booking (staff)",
    )
    async def approve(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
    ) -> BookingOut:
        return booking_out(
            await bookings.decide_booking(db_session, user, booking_id, approve=True)
        )

    @post(
        "/{booking_id:uuid}/decline",
        status_code=HTTP_200_OK,
        summary="Decline a pending booking (staff)",
    )
    async def decline(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
        data: JSONBody[ReasonIn | None] = None,
    ) -> BookingOut:
        reason = data.reason.strip() if data is not None else ""
        return booking_out(
            await bookings.decide_booking(
                db_session, user, booking_id, approve=False, reason=reason
            )
        )

    @post(
        "/{booking_id:uuid}/attendance",
        status_code=HTTP_200_OK,
        summary="Check in or mark a no-show (staff)",
    )
    async def attendance(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
        data: JSONBody[AttendanceIn],
    ) -> BookingOut:
        return booking_out(
            await bookings.mark_attendance(db_session, user, booking_id, data.status)
        )


class StructureBookingController(Controller):
    path = "/api/structures/{slug:str}/bookings"
    tags = ["réservations"]

    @get("/", summary="Bookings of a structure with names and phones (its staff)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        from_: Annotated[dt.date | None, QueryParameter(name="from")] = None,
        to: Annotated[dt.date | None, QueryParameter()] = None,
        asset: Annotated[uuid.UUID | None, QueryParameter()] = None,
        status: Annotated[
            Literal[
                "pending", "confirmed", "cancelled", "declined", "attended", "no_show", "waitlisted"
            ]
            | None,
            QueryParameter(),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[BookingOut]:
        """Defaults to today and the next 30 days; at most 92 days."""
        views = await bookings.structure_bookings(
            db_session,
            user,
            slug,
            asset_id=asset,
            first_day=from_,
            last_day=to,
            status=status,
            limit=limit,
            offset=offset,
        )
        return [booking_out(v) for v in views]
