"""Personal data (RGPD): the caller's export (JSON and .ics), deleting one's account,
staff erasing a guest."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.schemas import Password, Strict
from tierslieu.calendar import MEDIA_TYPE, make_uid
from tierslieu.domain.vocabulary import PersonKind
from tierslieu.models import User
from tierslieu.services import personal_data
from tierslieu.services.canteen_orders import order_ref
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

# --- schemas -----------------------------------------------------------------------------------


class DeleteAccountIn(Strict):
    password: Password


class ErasureOut(msgspec.Struct):
    bookings_cancelled: int
    orders_cancelled: int
    bookings_anonymised: int
    orders_anonymised: int


class ExportAccount(msgspec.Struct):
    id: uuid.UUID
    email: str
    display_name: str
    kind: PersonKind
    phone: str | None
    locale: str
    is_admin: bool
    reminders: bool
    email_confirmed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ExportMembership(msgspec.Struct):
    structure_slug: str
    structure_name: str
    role: str
    since: dt.datetime


class ExportTariff(msgspec.Struct):
    structure_slug: str
    tariff_code: str
    tariff_label: str


class ExportBooking(msgspec.Struct):
    id: uuid.UUID
    calendar_uid: Annotated[str, msgspec.Meta(description="UID of the event in your feeds")]
    structure_slug: str
    structure_name: str
    asset_id: uuid.UUID
    asset_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    party_size: int
    status: str
    note: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class ExportOrderLine(msgspec.Struct):
    quantity: int
    dish: str
    unit_cents: int


class ExportOrder(msgspec.Struct):
    id: uuid.UUID
    reference: str
    calendar_uid: str
    structure_slug: str
    structure_name: str
    service_date: dt.date
    pickup_starts_at: dt.datetime
    pickup_ends_at: dt.datetime
    status: str
    tariff_code: str
    total_cents: int
    suspended_meals: int
    paid: bool
    paid_at: dt.datetime | None
    note: str
    lines: list[ExportOrderLine]
    voucher_code_hint: Annotated[
        str | None, msgspec.Meta(description="last characters of a voucher you used")
    ]
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class ExportFeed(msgspec.Struct):
    """A private calendar link exists; the secret itself is never stored nor shown."""

    scope: Annotated[str, msgspec.Meta(description="'me' (yours) or 'staff' (a structure's)")]
    structure_slug: str | None
    created_at: dt.datetime


class ExportSession(msgspec.Struct):
    """A signed-in session (login token); the token itself is never stored nor shown."""

    created_at: dt.datetime
    expires_at: dt.datetime


class ExportMessage(msgspec.Struct):
    """A notification the service wrote to you (an e-mail, or a phone call by staff)."""

    kind: str
    channel: str
    status: str
    subject: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    called_at: dt.datetime | None


class ExportContactCard(msgspec.Struct):
    """What a structure's staff keep about you to book on your behalf (your contact card)."""

    structure_slug: str
    name: str
    phone: str | None
    email: str | None
    note: Annotated[str, msgspec.Meta(description="staff's note, e.g. when to call you")]
    created_at: dt.datetime


class PersonalDataOut(msgspec.Struct):
    """Everything tierslieu holds about you. Instants are UTC."""

    generated_at: dt.datetime
    account: ExportAccount
    memberships: list[ExportMembership]
    tariffs: list[ExportTariff]
    bookings: list[ExportBooking]
    meal_orders: list[ExportOrder]
    calendar_feeds: list[ExportFeed]
    sessions: list[ExportSession]
    recent_failed_logins: Annotated[
        list[dt.datetime],
        msgspec.Meta(description="recent failed sign-ins on your address (times only)"),
    ]
    calendar_export: Annotated[str, msgspec.Meta(description="your bookings and orders as .ics")]
    notifications: Annotated[
        list[ExportMessage],
        msgspec.Meta(description="the latest notifications written to you (at most 500)"),
    ]
    contact_cards: list[ExportContactCard] = msgspec.field(default_factory=list)


def export_out(data: personal_data.PersonalExport) -> PersonalDataOut:
    user = data.user
    return PersonalDataOut(
        generated_at=utcnow(),
        account=ExportAccount(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            kind=PersonKind(user.kind),
            phone=user.phone,
            locale=user.locale,
            is_admin=user.is_admin,
            reminders=user.reminders,
            email_confirmed_at=user.email_confirmed_at,
            created_at=user.created_at,
            updated_at=user.updated_at,
        ),
        memberships=[
            ExportMembership(s.slug, s.name, m.role, m.created_at) for m, s in data.memberships
        ],
        tariffs=[ExportTariff(s.slug, t.code, t.label) for s, t in data.tariffs],
        bookings=[
            ExportBooking(
                id=b.id,
                calendar_uid=make_uid("booking", b.id),
                structure_slug=s.slug,
                structure_name=s.name,
                asset_id=a.id,
                asset_name=a.name,
                starts_at=b.starts_at,
                ends_at=b.ends_at,
                party_size=b.party_size,
                status=b.status,
                note=b.note,
                created_at=b.created_at,
                cancelled_at=b.cancelled_at,
            )
            for b, a, s in data.bookings
        ],
        meal_orders=[
            ExportOrder(
                id=o.order.id,
                reference=order_ref(o.order.id),
                calendar_uid=make_uid("meal-order", o.order.id),
                structure_slug=o.structure.slug,
                structure_name=o.structure.name,
                service_date=o.service.service_date,
                pickup_starts_at=o.window.starts_at,
                pickup_ends_at=o.window.ends_at,
                status=o.order.status,
                tariff_code=o.order.tariff_code,
                total_cents=o.order.total_cents,
                suspended_meals=o.order.suspended_meals,
                paid=o.order.paid,
                paid_at=o.order.paid_at,
                note=o.order.note,
                lines=[ExportOrderLine(q, n, u) for q, n, u in o.lines],
                voucher_code_hint=o.voucher_hint,
                created_at=o.order.created_at,
                cancelled_at=o.order.cancelled_at,
            )
            for o in data.orders
        ],
        calendar_feeds=[
            ExportFeed(f.scope, s.slug if s else None, f.created_at) for f, s in data.feed_tokens
        ],
        sessions=[ExportSession(t.created_at, t.expires_at) for t in data.sessions],
        recent_failed_logins=data.login_failures,
        calendar_export="/api/me/export.ics",
        notifications=[
            ExportMessage(
                m.kind, m.channel, m.status, m.subject, m.created_at, m.sent_at, m.called_at
            )
            for m in data.messages
        ],
        contact_cards=[
            ExportContactCard(st.slug, c.name, c.phone, c.email, c.note, c.created_at)
            for c, st in data.contacts
        ],
    )


def erasure_out(erasure: personal_data.Erasure) -> ErasureOut:
    return ErasureOut(
        bookings_cancelled=erasure.bookings_cancelled,
        orders_cancelled=erasure.orders_cancelled,
        bookings_anonymised=erasure.bookings_anonymised,
        orders_anonymised=erasure.orders_anonymised,
    )


async def delete_my_account(
    db_session: AsyncSession, settings: Settings, user: User, data: DeleteAccountIn, client: str
) -> ErasureOut:
    """DELETE /api/me (routed through ``api.auth.MeController``, which owns that path)."""
    erasure = await personal_data.delete_account(
        db_session, settings, user, password=data.password, client=client
    )
    return erasure_out(erasure)


def ics_download(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- controllers -------------------------------------------------------------------------------


class MyDataController(Controller):
    path = "/api/me"
    tags = ["données personnelles"]

    @get("/export", summary="Everything the service holds about the caller (JSON)")
    async def export(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[User]
    ) -> Response[PersonalDataOut]:
        """Account, roles, tariffs, bookings, meal orders, private feeds and sessions (never
        a token), recent failed sign-ins. The bookings and orders as .ics: ``/api/me/export.ics``."""
        data = await personal_data.export_of(db_session, user)
        return Response(
            export_out(data),
            headers={
                "Content-Disposition": 'attachment; filename="mes-donnees-tierslieu.json"',
                "Cache-Control": "no-store",
            },
        )

    @get(
        "/export.ics",
        summary="All the caller's bookings and meal orders as one .ics",
        media_type=MEDIA_TYPE,
    )
    async def export_ics(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[User]
    ) -> Response[bytes]:
        """The same events (same UIDs) as the private feed, without its time window."""
        body = await personal_data.export_calendar(db_session, user)
        return ics_download(body, "mes-reservations-tierslieu.ics")


class GuestErasureController(Controller):
    path = "/api"
    tags = ["données personnelles"]

    @post(
        "/bookings/{booking_id:uuid}/erase-guest",
        status_code=HTTP_200_OK,
        summary="Erase the guest of a booking (staff)",
    )
    async def erase_booking_guest(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        booking_id: FromPath[uuid.UUID],
    ) -> ErasureOut:
        """Manager or staff of the structure. Every booking and order of that structure for a
        guest of this name becomes anonymous (one anonymous person); upcoming ones are
        cancelled. 409 ``not-a-guest`` for an account's booking."""
        erasure = await personal_data.erase_guest(db_session, user, booking_id=booking_id)
        return erasure_out(erasure)

    @post(
        "/meal-orders/{order_id:uuid}/erase-guest",
        status_code=HTTP_200_OK,
        summary="Erase the guest of a meal order (staff)",
    )
    async def erase_order_guest(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        order_id: FromPath[uuid.UUID],
    ) -> ErasureOut:
        """As for a booking: the guest's bookings and orders in the structure become anonymous."""
        erasure = await personal_data.erase_guest(db_session, user, order_id=order_id)
        return erasure_out(erasure)
