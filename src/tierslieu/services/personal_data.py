"""Personal data (RGPD): a person's export, deleting an account, erasing a guest, retention.

What erasure keeps: bookings and meal orders stay as anonymous rows so that the
statistics still count them. A deleted account keeps its ``user_account`` row as a
scrubbed placeholder (no name, e-mail, phone or password, ``erased_at`` set), so
``user_id`` still groups that person's bookings. An erased guest's rows get one
stable anonymous label per person (``guest_name = "anonyme-<8 hex>"``, contact and
notes removed, ``erased_at`` set): counting distinct guest names still counts that
person once. A guest is identified by their name, case and surrounding spaces
ignored, within one structure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.bookings import CANCELLABLE_STATUSES, LEAVABLE_STATUSES
from tierslieu.domain.canteen import ACTIVE_STATUSES as ACTIVE_ORDER_STATUSES
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES, MemberRole
from tierslieu.errors import (
    DomainError,
    LastManagerOf,
    LastPlatformAdmin,
    NotAGuest,
    NotFound,
    PasswordNotConfirmed,
)
from tierslieu.i18n import Texts, texts
from tierslieu.models import (
    AccountToken,
    ApiToken,
    Asset,
    Booking,
    Contact,
    FeedToken,
    IdempotencyKey,
    LoginFailure,
    MealOrder,
    MealOrderLine,
    MealService,
    Membership,
    MenuItem,
    OutboxMessage,
    PickupWindow,
    Structure,
    SuspendedMealVoucher,
    Tariff,
    TariffAssignment,
    User,
)
from tierslieu.services import accounts, listing_cache
from tierslieu.services.access import require_role
from tierslieu.services.bookings import release_booking
from tierslieu.services.canteen_orders import release_order
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

ERASED_NAME = "Compte supprimé"
GUEST_LABEL_PREFIX = "anonyme-"
# Rows changed per write transaction by the purge: short transactions, writers keep going.
PURGE_BATCH = 200
# Failed logins are kept this many times the throttling window (they count only inside it).
LOGIN_FAILURE_KEEP_FACTOR = 2
# Notifications delivered (or given up, or called) are kept this long for the admins'
# view, then deleted: they hold addresses and texts.
OUTBOX_KEEP_DAYS = 90
# The export lists the person's latest notifications, at most this many.
EXPORT_MESSAGES_MAX = 500


def anonymous_label() -> str:
    """A new anonymous person: the same label goes on every row of that person."""
    return GUEST_LABEL_PREFIX + secrets.token_hex(4)


# --- export ----------------------------------------------------------------------------------


@dataclass
class ExportedOrder:
    order: MealOrder
    window: PickupWindow
    service: MealService
    structure: Structure
    lines: list[tuple[int, str, int]]  # quantity, dish, unit price in cents
    voucher_hint: str | None = None


@dataclass
class PersonalExport:
    """Everything the service holds about one person (never a secret or a token)."""

    user: User
    memberships: list[tuple[Membership, Structure]]
    tariffs: list[tuple[Structure, Tariff]]
    bookings: list[tuple[Booking, Asset, Structure]]
    orders: list[ExportedOrder]
    feed_tokens: list[tuple[FeedToken, Structure | None]]
    sessions: list[ApiToken]
    login_failures: list[dt.datetime] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    # The structures' contact cards linked to the account (staff's notes included).
    contacts: list[tuple[Contact, Structure]] = field(default_factory=list)


async def export_of(session: AsyncSession, user: User) -> PersonalExport:
    """The caller's data: account, roles, tariffs, bookings, orders, feeds, sessions,
    recent failed logins on their address (times only: the address that failed may be
    someone else's)."""
    memberships = list(
        (
            await session.execute(
                select(Membership, Structure)
                .join(Structure, Structure.id == Membership.structure_id)
                .where(Membership.user_id == user.id)
                .order_by(Structure.name)
            )
        ).tuples()
    )
    tariffs = list(
        (
            await session.execute(
                select(Structure, Tariff)
                .join(TariffAssignment, TariffAssignment.structure_id == Structure.id)
                .join(Tariff, Tariff.id == TariffAssignment.tariff_id)
                .where(TariffAssignment.user_id == user.id)
                .order_by(Structure.name)
            )
        ).tuples()
    )
    bookings = list(
        (
            await session.execute(
                select(Booking, Asset, Structure)
                .join(Asset, Asset.id == Booking.asset_id)
                .join(Structure, Structure.id == Asset.structure_id)
                .where(Booking.user_id == user.id)
                .order_by(Booking.starts_at)
            )
        ).tuples()
    )
    order_rows = list(
        (
            await session.execute(
                select(MealOrder, PickupWindow, MealService, Structure)
                .join(PickupWindow, PickupWindow.id == MealOrder.pickup_window_id)
                .join(MealService, MealService.id == MealOrder.service_id)
                .join(Structure, Structure.id == MealOrder.structure_id)
                .where(MealOrder.user_id == user.id)
                .order_by(PickupWindow.starts_at)
            )
        ).tuples()
    )
    lines: dict[uuid.UUID, list[tuple[int, str, int]]] = {o.id: [] for o, *_ in order_rows}
    if lines:
        rows = await session.execute(
            select(MealOrderLine.order_id, MealOrderLine.quantity, MenuItem.name)
            .add_columns(MealOrderLine.unit_cents)
            .join(MenuItem, MenuItem.id == MealOrderLine.item_id)
            .where(MealOrderLine.order_id.in_(list(lines)))
            .order_by(MenuItem.position, MenuItem.name)
        )
        for order_id, quantity, name, unit in rows.tuples():
            lines[order_id].append((quantity, name, unit))
    voucher_ids = [o.voucher_id for o, *_ in order_rows if o.voucher_id is not None]
    hints: dict[uuid.UUID, str] = {}
    if voucher_ids:
        hints = dict(
            (
                await session.execute(
                    select(SuspendedMealVoucher.id, SuspendedMealVoucher.code_hint).where(
                        SuspendedMealVoucher.id.in_(voucher_ids)
                    )
                )
            ).tuples()
        )
    orders = [
        ExportedOrder(o, w, s, st, lines[o.id], hints.get(o.voucher_id) if o.voucher_id else None)
        for o, w, s, st in order_rows
    ]
    feed_tokens = list(
        (
            await session.execute(
                select(FeedToken, Structure)
                .outerjoin(Structure, Structure.id == FeedToken.structure_id)
                .where(FeedToken.user_id == user.id)
                .order_by(FeedToken.created_at)
            )
        ).tuples()
    )
    now = utcnow()
    sessions = list(
        (
            await session.scalars(
                select(ApiToken)
                .where(
                    ApiToken.user_id == user.id,
                    ApiToken.revoked_at.is_(None),
                    ApiToken.expires_at > now,
                )
                .order_by(ApiToken.created_at)
            )
        ).all()
    )
    failures = list(
        (
            await session.scalars(
                select(LoginFailure.occurred_at)
                .where(LoginFailure.email == user.email)
                .order_by(LoginFailure.occurred_at)
            )
        ).all()
    )
    messages = list(
        (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.user_id == user.id)
                .order_by(OutboxMessage.created_at.desc())
                .limit(EXPORT_MESSAGES_MAX)
            )
        ).all()
    )
    contact_cards = list(
        (
            await session.execute(
                select(Contact, Structure)
                .join(Structure, Structure.id == Contact.structure_id)
                .where(Contact.user_id == user.id, Contact.erased_at.is_(None))
                .order_by(Structure.name)
            )
        ).tuples()
    )
    return PersonalExport(
        contacts=contact_cards,
        user=user,
        memberships=memberships,
        tariffs=tariffs,
        bookings=bookings,
        orders=orders,
        feed_tokens=feed_tokens,
        sessions=sessions,
        login_failures=failures,
        messages=messages,
    )


async def export_calendar(session: AsyncSession, user: User) -> bytes:
    """All the person's bookings and meal orders as one .ics, with the UIDs of their feed."""
    from tierslieu.calendar import FeedCalendar, build_calendar
    from tierslieu.services.feeds import booking_event, order_event

    data = await export_of(session, user)
    events = [booking_event(b, a, s) for b, a, s in data.bookings]
    events += [
        order_event(o.order, o.window, o.structure, [(q, n) for q, n, _ in o.lines])
        for o in data.orders
    ]
    calendar = FeedCalendar(
        name="Mes réservations et repas — tierslieu",
        description="Export de toutes vos réservations et commandes de repas",
        events=tuple(events),
    )
    # A long history is a lot of text to build: off the event loop.
    return await asyncio.to_thread(build_calendar, calendar)


# --- deleting an account ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure changed."""

    bookings_cancelled: int = 0
    orders_cancelled: int = 0
    bookings_anonymised: int = 0
    orders_anonymised: int = 0


async def delete_account(
    session: AsyncSession, settings: Settings, user: User, *, password: str, client: str
) -> Erasure:
    """Delete the caller's account after checking their password.

    In one transaction: upcoming bookings are cancelled (places freed) and unpaid
    upcoming meal orders cancelled (portions freed), through the usual cancellation
    code; the person's name, e-mail, phone, password, notes, roles, tariffs, login
    and feed tokens and stored idempotent answers are removed. Past bookings and
    orders stay, anonymous. The last platform admin, or the last manager of a
    structure, is refused (409) with what to do first. A wrong password is 403 and
    counts as a failed sign-in of this client (the sign-in throttle applies).
    """
    email = user.email
    if await accounts.confirm_password(session, settings, user, password, client=client) is None:
        raise PasswordNotConfirmed()

    now = utcnow()
    try:
        await _check_still_needed(session, user)
        erasure, assets = await _cancel_upcoming(session, now, Booking.user_id == user.id)
        orders_cancelled = await _cancel_upcoming_orders(session, now, user.id)
        bookings_anonymised = await _scrub_rows(session, Booking, Booking.user_id == user.id, now)
        orders_anonymised = await _scrub_rows(session, MealOrder, MealOrder.user_id == user.id, now)
        for model in (
            ApiToken,
            FeedToken,
            Membership,
            TariffAssignment,
            IdempotencyKey,
            AccountToken,
        ):
            await session.execute(delete(model).where(model.user_id == user.id))
        # Nothing more is sent to them; what was sent keeps only its kind and time.
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.user_id == user.id)
            .values(
                email=None,
                phone=None,
                name=None,
                params={},
                subject="",
                body_text="",
                status=case(
                    (OutboxMessage.status == "pending", "dropped"), else_=OutboxMessage.status
                ),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(LoginFailure).where(LoginFailure.email == email))
        # The structures' contact cards of this person go with the account.
        await _erase_contacts(session, Contact.user_id == user.id, now)
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(
                email=f"supprime-{user.id.hex}@invalid",
                display_name=ERASED_NAME,
                phone=None,
                password_hash="!",  # noqa: S106 (not an argon2 hash: never verifies)
                locale="fr",
                is_admin=False,
                is_active=False,
                erased_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    except DomainError:
        await session.rollback()  # nothing is half done
        raise
    await session.commit()
    for asset_id in assets:
        listing_cache.forget(asset_id)
    return Erasure(
        bookings_cancelled=erasure,
        orders_cancelled=orders_cancelled,
        bookings_anonymised=bookings_anonymised,
        orders_anonymised=orders_anonymised,
    )


async def _check_still_needed(session: AsyncSession, user: User) -> None:
    """409 if the platform or a structure would lose its last admin or manager.

    The rows counted are locked (PostgreSQL), so two people deleting at once cannot
    both pass; SQLite runs one write transaction at a time anyway.
    """
    if await session.scalar(select(User.is_admin).where(User.id == user.id)):
        admins = (
            await session.scalars(
                select(User.id)
                .where(User.is_admin.is_(True), User.is_active.is_(True))
                .order_by(User.id)
                .with_for_update()
            )
        ).all()
        if not [a for a in admins if a != user.id]:
            await session.rollback()
            raise LastPlatformAdmin()
    managed = select(Membership.structure_id).where(
        Membership.user_id == user.id, Membership.role == MemberRole.MANAGER.value
    )
    managers = (
        await session.execute(
            select(Membership.structure_id, Membership.user_id)
            .where(
                Membership.structure_id.in_(managed),
                Membership.role == MemberRole.MANAGER.value,
            )
            .order_by(Membership.id)
            .with_for_update()
        )
    ).all()
    alone = {s for s, _ in managers} - {s for s, u in managers if u != user.id}
    if alone:
        names = (
            await session.scalars(
                select(Structure.name).where(Structure.id.in_(alone)).order_by(Structure.name)
            )
        ).all()
        await session.rollback()
        raise LastManagerOf({"structures": ", ".join(names)})


async def _cancel_upcoming(
    session: AsyncSession, now: dt.datetime, whose: object
) -> tuple[int, set[uuid.UUID]]:
    """Cancel the upcoming active bookings matching ``whose``, freeing their places."""
    upcoming = (
        await session.scalars(
            select(Booking)
            .where(
                whose,  # type: ignore[arg-type]
                Booking.status.in_([s.value for s in CANCELLABLE_STATUSES + LEAVABLE_STATUSES]),
                Booking.starts_at > now,
            )
            .order_by(Booking.asset_id, Booking.starts_at)
        )
    ).all()
    for booking in upcoming:
        await release_booking(session, booking, now)
    return len(upcoming), {b.asset_id for b in upcoming}


async def _cancel_upcoming_orders(
    session: AsyncSession, now: dt.datetime, user_id: uuid.UUID
) -> int:
    """Cancel unpaid active orders whose pickup is still ahead (paid ones are the kitchen's
    and the accounts' business: they stay, anonymous)."""
    orders = (
        await session.scalars(
            select(MealOrder)
            .join(PickupWindow, PickupWindow.id == MealOrder.pickup_window_id)
            .where(
                MealOrder.user_id == user_id,
                MealOrder.status.in_([s.value for s in ACTIVE_ORDER_STATUSES]),
                MealOrder.paid.is_(False),
                PickupWindow.starts_at > now,
            )
            .order_by(MealOrder.id)
        )
    ).all()
    for order in orders:
        lines = list(
            (
                await session.execute(
                    select(MealOrderLine, MenuItem)
                    .join(MenuItem, MenuItem.id == MealOrderLine.item_id)
                    .where(MealOrderLine.order_id == order.id)
                )
            ).tuples()
        )
        await release_order(session, order, lines)
    return len(orders)


async def _scrub_rows(
    session: AsyncSession, model: type[Booking] | type[MealOrder], whose: object, now: dt.datetime
) -> int:
    values: dict[str, object] = {"note": "", "erased_at": now, "updated_at": now}
    if model is Booking:
        values.update(guest_phone=None, guest_email=None)
    result = await session.execute(
        update(model)
        .where(whose)  # type: ignore[arg-type]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _erase_contacts(session: AsyncSession, whose: Any, now: dt.datetime) -> int:
    """Contact cards made anonymous (each its own label); their bookings keep theirs."""
    ids = list(await session.scalars(select(Contact.id).where(whose, Contact.erased_at.is_(None))))
    for contact_id in ids:
        label = anonymous_label()
        await session.execute(
            update(Contact)
            .where(Contact.id == contact_id, Contact.erased_at.is_(None))
            .values(
                name=label,
                name_key=label,
                phone=None,
                phone_key=None,
                email=None,
                email_key=None,
                note="",
                erased_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    return len(ids)


# --- erasing a guest (staff) -----------------------------------------------------------------


def _guest_key(column: Any) -> Any:
    return func.lower(func.trim(column))


async def erase_guest(
    session: AsyncSession,
    user: User,
    *,
    booking_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
) -> Erasure:
    """Erase the guest (a person without an account) of a booking or meal order.

    Manager or staff of the structure only (404 otherwise). Every booking and order of
    the structure for a guest of the same name gets one anonymous label; contact
    details and notes go; upcoming bookings are cancelled (places freed). Erasing an
    already erased guest changes nothing. An account's booking is 409 ``not-a-guest``.
    """
    if booking_id is not None:
        row = (
            await session.execute(
                select(Booking.user_id, Booking.guest_name, Booking.erased_at, Asset.structure_id)
                .join(Asset, Asset.id == Booking.asset_id)
                .where(Booking.id == booking_id)
            )
        ).first()
    else:
        row = (
            await session.execute(
                select(
                    MealOrder.user_id,
                    MealOrder.guest_name,
                    MealOrder.erased_at,
                    MealOrder.structure_id,
                ).where(MealOrder.id == order_id)
            )
        ).first()
    if row is None:
        raise NotFound()
    owner, name, erased_at, structure_id = row
    try:
        await require_role(session, user, structure_id, ASSET_MANAGING_ROLES)
    except DomainError:
        await session.rollback()
        raise NotFound() from None
    if owner is not None:
        await session.rollback()
        raise NotAGuest()
    if erased_at is not None or name is None:
        await session.rollback()
        return Erasure()
    now = utcnow()
    result = await _anonymise_guest(session, structure_id, name.strip().lower(), now, cancel=True)
    await session.commit()
    return result


def _guest_bookings(structure_id: uuid.UUID, key: str) -> object:
    return and_(
        Booking.user_id.is_(None),
        Booking.erased_at.is_(None),
        Booking.asset_id.in_(select(Asset.id).where(Asset.structure_id == structure_id)),
        _guest_key(Booking.guest_name) == key,  # type: ignore[operator]
    )


def _guest_orders(structure_id: uuid.UUID, key: str) -> object:
    return and_(
        MealOrder.user_id.is_(None),
        MealOrder.erased_at.is_(None),
        MealOrder.structure_id == structure_id,
        _guest_key(MealOrder.guest_name) == key,  # type: ignore[operator]
    )


async def _anonymise_guest(
    session: AsyncSession, structure_id: uuid.UUID, key: str, now: dt.datetime, *, cancel: bool
) -> Erasure:
    cancelled, assets = 0, set()
    if cancel:
        cancelled, assets = await _cancel_upcoming(session, now, _guest_bookings(structure_id, key))
    label = anonymous_label()
    bookings = await session.execute(
        update(Booking)
        .where(_guest_bookings(structure_id, key))  # type: ignore[arg-type]
        .values(
            guest_name=label,
            guest_phone=None,
            guest_email=None,
            note="",
            erased_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    orders = await session.execute(
        update(MealOrder)
        .where(_guest_orders(structure_id, key))  # type: ignore[arg-type]
        .values(guest_name=label, note="", erased_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    # The structure's contact card for this person goes too (its bookings keep the label).
    await session.execute(
        update(Contact)
        .where(
            Contact.structure_id == structure_id,
            Contact.erased_at.is_(None),
            _guest_key(Contact.name) == key,
        )
        .values(
            name=label,
            name_key=label,
            phone=None,
            phone_key=None,
            email=None,
            email_key=None,
            note="",
            erased_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    # Notifications to this guest (sent, kept or still to send or call) go with them.
    await session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.structure_id == structure_id,
            OutboxMessage.user_id.is_(None),
            _guest_key(OutboxMessage.name) == key,
        )
        .execution_options(synchronize_session=False)
    )
    for asset_id in assets:
        listing_cache.forget(asset_id)
    return Erasure(
        bookings_cancelled=cancelled,
        bookings_anonymised=int(bookings.rowcount or 0),  # type: ignore[attr-defined]
        orders_anonymised=int(orders.rowcount or 0),  # type: ignore[attr-defined]
    )


# --- retention purge -------------------------------------------------------------------------


@dataclass
class PurgeReport:
    guests: int = 0
    guest_bookings: int = 0
    guest_orders: int = 0
    login_failures: int = 0
    idempotency_keys: int = 0
    api_tokens: int = 0
    messages: int = 0
    account_tokens: int = 0
    contacts: int = 0

    def lines(self, _: Texts) -> list[str]:
        """The report for the operator (CLI, log), in the language of ``_``."""
        return [
            _(
                "Personnes invitées anonymisées : {n} "
                "(réservations : {bookings}, commandes : {orders})",
                n=self.guests,
                bookings=self.guest_bookings,
                orders=self.guest_orders,
            ),
            _("Échecs de connexion effacés : {n}", n=self.login_failures),
            _("Clés d'idempotence expirées effacées : {n}", n=self.idempotency_keys),
            _("Jetons de connexion expirés ou révoqués effacés : {n}", n=self.api_tokens),
            _("Notifications anciennes effacées : {n}", n=self.messages),
            _("Liens à usage unique expirés effacés : {n}", n=self.account_tokens),
            _("Contacts sans réservation ni commande effacés : {n}", n=self.contacts),
        ]


async def purge(session: AsyncSession, settings: Settings) -> PurgeReport:
    """Apply the retention periods; safe to run at any time and from several workers.

    Guests whose last booking or order is more than ``retention_days`` old are
    anonymised; failed logins older than twice the throttling window, expired
    idempotency keys and expired or revoked login tokens are deleted; last, contact cards
    with nothing left to keep them for (``_purge_unused_contacts``). Every step works
    in batches of ``PURGE_BATCH`` rows, one short transaction each, and every delete or
    update is conditional, so two workers purging at once do no harm.
    """
    now = utcnow()
    report = PurgeReport()
    cutoff = now - dt.timedelta(days=settings.retention_days)
    booking_key = _guest_key(Booking.guest_name)
    booking_groups = (
        select(Asset.structure_id, booking_key)
        .join(Asset, Asset.id == Booking.asset_id)
        .where(Booking.user_id.is_(None), Booking.erased_at.is_(None))
        .group_by(Asset.structure_id, booking_key)
        .having(func.max(Booking.starts_at) < cutoff)
    )
    order_key = _guest_key(MealOrder.guest_name)
    order_groups = (
        select(MealOrder.structure_id, order_key)
        .join(PickupWindow, PickupWindow.id == MealOrder.pickup_window_id)
        .where(MealOrder.user_id.is_(None), MealOrder.erased_at.is_(None))
        .group_by(MealOrder.structure_id, order_key)
        .having(func.max(PickupWindow.starts_at) < cutoff)
    )
    for groups, columns in (
        (booking_groups, (Asset.structure_id, booking_key)),
        (order_groups, (MealOrder.structure_id, order_key)),
    ):
        await _purge_guest_groups(session, groups, columns, cutoff, now, report)

    failures_before = now - dt.timedelta(
        minutes=settings.login_failure_window_minutes * LOGIN_FAILURE_KEEP_FACTOR
    )
    report.login_failures = await _delete_in_batches(
        session, LoginFailure, LoginFailure.occurred_at < failures_before
    )
    report.idempotency_keys = await _delete_in_batches(
        session, IdempotencyKey, IdempotencyKey.expires_at <= now
    )
    report.api_tokens = await _delete_in_batches(
        session,
        ApiToken,
        (ApiToken.expires_at <= now) | (ApiToken.revoked_at < now - dt.timedelta(days=1)),
    )
    report.messages = await _delete_in_batches(
        session,
        OutboxMessage,
        (OutboxMessage.status != "pending")
        & (OutboxMessage.updated_at < now - dt.timedelta(days=OUTBOX_KEEP_DAYS)),
    )
    report.account_tokens = await _delete_in_batches(
        session, AccountToken, AccountToken.expires_at < now - dt.timedelta(days=1)
    )
    report.contacts = await _purge_unused_contacts(session, cutoff, now)
    return report


async def _purge_guest_groups(
    session: AsyncSession,
    groups: Select[tuple[uuid.UUID, str]],
    columns: tuple[Any, Any],
    cutoff: dt.datetime,
    now: dt.datetime,
    report: PurgeReport,
) -> None:
    after: tuple[uuid.UUID, str] | None = None
    while True:
        page = groups.order_by(*columns)
        if after is not None:
            # Keyset paging over (structure, guest): each page is a short read.
            page = page.having(
                tuple_(*columns)
                > tuple_(*(literal(v, type_=c.type) for v, c in zip(after, columns, strict=True)))
            )
        rows = list((await session.execute(page.limit(PURGE_BATCH))).tuples())
        for structure_id, key in rows:
            # The person may have a newer booking or order in the other table.
            last = max(
                await session.scalar(
                    select(func.max(Booking.starts_at)).where(_guest_bookings(structure_id, key))  # type: ignore[arg-type]
                )
                or cutoff - dt.timedelta(seconds=1),
                await session.scalar(
                    select(func.max(PickupWindow.starts_at))
                    .join(MealOrder, MealOrder.pickup_window_id == PickupWindow.id)
                    .where(_guest_orders(structure_id, key))  # type: ignore[arg-type]
                )
                or cutoff - dt.timedelta(seconds=1),
                key=_utc,
            )
            if _utc(last) >= cutoff:
                continue
            done = await _anonymise_guest(session, structure_id, key, now, cancel=False)
            if done.bookings_anonymised or done.orders_anonymised:
                report.guests += 1
                report.guest_bookings += done.bookings_anonymised
                report.guest_orders += done.orders_anonymised
        await session.commit()
        if len(rows) < PURGE_BATCH:
            return
        after = rows[-1]
        await asyncio.sleep(0)


async def _purge_unused_contacts(
    session: AsyncSession, cutoff: dt.datetime, now: dt.datetime
) -> int:
    """Contacts with no account, unchanged since ``cutoff`` and with no booking or order
    left that is not anonymous: nothing more to keep them for. (A contact's own bookings
    and orders are anonymised by the guest retention, which erases its card with them.)"""
    unused = and_(
        Contact.user_id.is_(None),
        Contact.updated_at < cutoff,
        ~select(Booking.id)
        .where(Booking.contact_id == Contact.id, Booking.erased_at.is_(None))
        .exists(),
        ~select(MealOrder.id)
        .where(MealOrder.contact_id == Contact.id, MealOrder.erased_at.is_(None))
        .exists(),
    )
    total = 0
    while True:
        batch = list(
            await session.scalars(
                select(Contact.id).where(unused, Contact.erased_at.is_(None)).limit(PURGE_BATCH)
            )
        )
        if batch:
            total += await _erase_contacts(session, and_(Contact.id.in_(batch), unused), now)
        await session.commit()  # one short transaction per batch, empty or not
        if len(batch) < PURGE_BATCH:
            return total
        await asyncio.sleep(0)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


async def _delete_in_batches(session: AsyncSession, model: type, condition: object) -> int:
    total = 0
    while True:
        ids = select(model.id).where(condition).limit(PURGE_BATCH)  # type: ignore[attr-defined,arg-type]
        result = await session.execute(
            delete(model)
            .where(model.id.in_(ids))  # type: ignore[attr-defined]
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        total += count
        if count < PURGE_BATCH:
            return total
        await asyncio.sleep(0)


async def run_purge_forever(
    sessionmaker: object, settings: Settings, *, first_delay: float, every: float
) -> None:
    """The daily purge inside the service (a lifespan task); errors are logged, never fatal."""
    import logging

    logger = logging.getLogger("tierslieu.retention")
    await asyncio.sleep(first_delay)
    while True:
        try:
            async with sessionmaker() as session:  # type: ignore[operator]
                report = await purge(session, settings)
            logger.info("retention purge: %s", "; ".join(report.lines(texts("en"))))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("retention purge failed; retried at the next run")
        await asyncio.sleep(every)


# First run a few minutes after start-up (not during a quick restart loop), then every period.
PURGE_FIRST_DELAY_SECONDS = 300.0


def start_daily_purge(engine: Any, settings: Settings) -> asyncio.Task[None] | None:
    """Start the retention purge as a background task of the running service."""
    if settings.purge_every_hours <= 0:
        return None
    from sqlalchemy.ext.asyncio import async_sessionmaker

    return asyncio.create_task(
        run_purge_forever(
            async_sessionmaker(engine, expire_on_commit=False),
            settings,
            first_delay=PURGE_FIRST_DELAY_SECONDS,
            every=settings.purge_every_hours * 3600.0,
        ),
        name="tierslieu-retention-purge",
    )
