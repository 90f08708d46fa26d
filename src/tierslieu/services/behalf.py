"""Who a staff booking or meal order is for: an account, a contact, or a contact made now.

Staff never book « for nobody »: ``domain.bookings.check_request`` refuses a staff request
without a person (422 ``person-required``). Here the person named is looked up, in the
caller's transaction, so a new contact made on the fly is rolled back with a refused
booking:

- an **account**, by its e-mail or phone, only if the person agreed to be found by
  staff (``User.findable_by_staff``, « Mon compte »); the same 422 ``account-not-found``
  whether there is no such account or it did not agree, so staff learn nothing more;
- a **contact** of the structure, by id (422 on ``contact_id`` for anyone else's);
- a **new contact** from a name with an optional phone and e-mail (the old ``guest``
  form), under the contacts' duplicate rules (``contacts.for_guest``).

A contact linked to an account books for that account: the booking carries both ids and
no copy of the details (the account's are shown).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tierslieu.domain.bookings import AccountRef, Guest
from tierslieu.domain.canteen import ACTIVE_STATUSES as ACTIVE_ORDER_STATUSES
from tierslieu.domain.contacts import email_key, phone_key
from tierslieu.domain.notifications import Kind
from tierslieu.errors import DomainError, InvalidInput
from tierslieu.i18n import N_
from tierslieu.models import Booking, Contact, MealOrder, Structure, User
from tierslieu.services import contacts, outbox
from tierslieu.services.accounts import normalise_email
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings


class AccountNotFound(DomainError):
    code = "account-not-found"
    status = 422
    title = N_("Compte introuvable")
    detail = N_(
        "Aucun compte ne correspond à cette adresse ou à ce téléphone, ou la personne n'a "
        "pas accepté que l'équipe la retrouve : choisissez ou créez un contact."
    )


@dataclass(frozen=True, slots=True)
class Person:
    """Whom a booking or an order is for, as the rows store it."""

    user_id: uuid.UUID | None
    contact_id: uuid.UUID | None = None
    # Copies shown on sheets and call lists when there is no account to read them from.
    name: str | None = None
    phone: str | None = None
    email: str | None = None

    @classmethod
    def of_contact(cls, contact: Contact) -> Person:
        if contact.user_id is not None:
            return cls(contact.user_id, contact.id)
        return cls(None, contact.id, contact.name, contact.phone, contact.email)


async def find_account(session: AsyncSession, caller: User, ref: AccountRef) -> User:
    """The active account with this e-mail or phone that agreed to be found by staff
    (the caller may always name themself). 422 ``account-not-found`` otherwise."""
    wanted_email = normalise_email(ref.email) if ref.email and ref.email.strip() else None
    wanted_phone = phone_key(ref.phone)
    if ref.phone and wanted_phone is None:
        raise InvalidInput("account.phone", "bad-format")
    live = select(User).where(User.is_active.is_(True), User.erased_at.is_(None))
    if wanted_email is not None:
        found = await session.scalar(live.where(User.email == wanted_email))
        if found is not None and (found.findable_by_staff or found.id == caller.id):
            return found
    if wanted_phone is not None:
        # Numbers are stored as typed: compare their keys among the consenting accounts.
        candidates = await session.scalars(
            live.where(User.phone.is_not(None), User.findable_by_staff.is_(True)).order_by(
                User.created_at
            )
        )
        for user in candidates:
            if phone_key(user.phone) == wanted_phone:
                return user
        if phone_key(caller.phone) == wanted_phone:
            return caller
    raise AccountNotFound()


async def contact_of(
    session: AsyncSession, structure_id: uuid.UUID, contact_id: uuid.UUID, field: str
) -> Contact:
    """A live contact of the structure (422 on ``field`` for any other id)."""
    contact = await session.scalar(
        select(Contact).where(
            Contact.id == contact_id,
            Contact.structure_id == structure_id,
            Contact.erased_at.is_(None),
        )
    )
    if contact is None:
        raise InvalidInput(field, "invalid")
    return contact


async def person_for(
    session: AsyncSession,
    caller: User,
    structure_id: uuid.UUID,
    *,
    account: AccountRef | None = None,
    contact_id: uuid.UUID | None = None,
    guest: Guest | None = None,
    field: str = "contact_id",
) -> Person:
    """The person named by a staff member of ``structure_id`` (the caller checked that);
    a new contact is added (flushed, not committed) when ``guest`` is a new person."""
    if account is not None:
        return Person((await find_account(session, caller, account)).id)
    if contact_id is not None:
        return Person.of_contact(await contact_of(session, structure_id, contact_id, field))
    if guest is None:
        raise InvalidInput(field, "required")
    return Person.of_contact(
        await contacts.for_guest(session, structure_id, guest.name, guest.phone, guest.email)
    )


# --- a contact becomes an account's -----------------------------------------------------------

# How long a staff invitation to link a contact stays valid.
INVITE_TTL = dt.timedelta(days=14)
INVITE_PATH = "/rattacher"
_INVITE_PURPOSE = "contact-link"
_ACTIVE_ORDERS = sorted(s.value for s in ACTIVE_ORDER_STATUSES)


class InvalidInvitation(DomainError):
    code = "invalid-invitation"
    status = 400
    title = N_("Invitation expirée ou déjà utilisée")
    detail = N_(
        "Ce lien d'invitation n'est plus valable : il a expiré, l'adresse du contact a "
        "changé, ou ses réservations sont déjà rattachées à un compte. Demandez-en un "
        "nouveau à l'équipe de la structure."
    )


class NoAddressToInvite(DomainError):
    code = "contact-without-email"
    status = 422
    title = N_("Pas d'adresse e-mail")
    detail = N_(
        "Ce contact n'a pas d'adresse e-mail : ajoutez-en une pour lui envoyer l'invitation."
    )


@dataclass(frozen=True, slots=True)
class Linked:
    """What followed the person into their account."""

    contacts: int = 0
    bookings: int = 0
    orders: int = 0


async def link_contacts(
    session: AsyncSession, user_id: uuid.UUID, contact_ids: list[uuid.UUID], now: dt.datetime
) -> Linked:
    """Make these live, unlinked contacts ``user_id``'s, in the caller's transaction: their
    bookings and meal orders become the account's (« Mes réservations », the feed, the
    statistics' one person), without their copies of the details (the account's are shown).

    A meal order is left to the contact when the account already has an active order for
    the same service (one active order per person and service)."""
    if not contact_ids:
        return Linked()
    contacts_done = await session.execute(
        update(Contact)
        .where(Contact.id.in_(contact_ids), Contact.user_id.is_(None), Contact.erased_at.is_(None))
        .values(user_id=user_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    bookings_done = await session.execute(
        update(Booking)
        .where(
            Booking.contact_id.in_(contact_ids),
            Booking.user_id.is_(None),
            Booking.erased_at.is_(None),
        )
        .values(
            user_id=user_id, guest_name=None, guest_phone=None, guest_email=None, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    other = aliased(MealOrder)
    already = (
        select(other.id)
        .where(
            other.service_id == MealOrder.service_id,
            other.user_id == user_id,
            other.status.in_(_ACTIVE_ORDERS),
        )
        .exists()
    )
    orders_done = await session.execute(
        update(MealOrder)
        .where(
            MealOrder.contact_id.in_(contact_ids),
            MealOrder.user_id.is_(None),
            MealOrder.erased_at.is_(None),
            ~(MealOrder.status.in_(_ACTIVE_ORDERS) & already),
        )
        .values(user_id=user_id, guest_name=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return Linked(
        int(contacts_done.rowcount or 0),  # type: ignore[attr-defined]
        int(bookings_done.rowcount or 0),  # type: ignore[attr-defined]
        int(orders_done.rowcount or 0),  # type: ignore[attr-defined]
    )


async def link_by_confirmed_email(
    session: AsyncSession, user_id: uuid.UUID, email: str, now: dt.datetime
) -> Linked:
    """The person just proved they own ``email``: every structure's unlinked contact with
    that address becomes theirs (in the caller's transaction)."""
    key = email_key(email)
    if key is None:
        return Linked()
    ids = list(
        await session.scalars(
            select(Contact.id).where(
                Contact.email_key == key, Contact.user_id.is_(None), Contact.erased_at.is_(None)
            )
        )
    )
    return await link_contacts(session, user_id, ids, now)


def _invite_mac(settings: Settings, contact_id: uuid.UUID, key: str, until: int) -> str:
    message = f"tierslieu-{_INVITE_PURPOSE}:{contact_id}:{key}:{until}".encode()
    digest = hmac.new(settings.secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invitation_token(settings: Settings, contact: Contact, now: dt.datetime) -> str:
    """``<contact id hex>.<expiry, epoch days>.<HMAC>``: names the contact and the address
    it was sent to (a changed address kills it) without a database row."""
    until = (now + INVITE_TTL).date().toordinal()
    mac = _invite_mac(settings, contact.id, contact.email_key or "", until)
    return f"{contact.id.hex}.{until}.{mac}"


def _invited_contact_id(token: str) -> uuid.UUID:
    parts = token.split(".") if len(token) <= 200 else []
    if len(parts) != 3 or not parts[1].isdigit():
        raise InvalidInvitation()
    try:
        contact_id = uuid.UUID(hex=parts[0])
    except ValueError:
        raise InvalidInvitation() from None
    if contact_id.hex != parts[0]:
        raise InvalidInvitation()
    return contact_id


async def invited_contact(
    session: AsyncSession, settings: Settings, token: str, now: dt.datetime
) -> Contact:
    """The live, unlinked contact a genuine, unexpired invitation names (400 otherwise)."""
    contact_id = _invited_contact_id(token)
    _hex, until, mac = token.split(".")
    contact = await session.scalar(
        select(Contact).where(
            Contact.id == contact_id, Contact.user_id.is_(None), Contact.erased_at.is_(None)
        )
    )
    expected = _invite_mac(
        settings, contact_id, (contact.email_key if contact else "") or "", int(until)
    )
    if (
        contact is None
        or not contact.email_key
        or not hmac.compare_digest(mac.encode(), expected.encode())
        or int(until) < now.date().toordinal()
    ):
        raise InvalidInvitation()
    return contact


async def invite(
    session: AsyncSession, settings: Settings, user: User, slug: str, contact_id: uuid.UUID
) -> Contact:
    """Staff of the structure mail the contact a link that, once the person signs in (or
    registers) and confirms, makes the contact and its bookings and orders theirs.
    422 ``contact-without-email`` when the contact has no address."""
    contact = (await contacts.get(session, user, slug, contact_id)).contact
    if not contact.email:
        await session.rollback()
        raise NoAddressToInvite()
    structure = await session.get(Structure, contact.structure_id)
    now = utcnow()
    outbox.enqueue(
        session,
        Kind.CONTACT_INVITE,
        outbox.guest_recipient(contact.name, contact.email, None),
        {
            "link": f"{settings.public_url}{INVITE_PATH}/{invitation_token(settings, contact, now)}",
            "expires_at": outbox.instant(now + INVITE_TTL),
            "name": contact.name,
            "structure": structure.name if structure else "",
        },
        public_url=settings.public_url,
        structure_id=contact.structure_id,
    )
    await session.commit()
    return contact


async def accept_invitation(
    session: AsyncSession, settings: Settings, user: User, token: str
) -> tuple[Contact, Linked]:
    """The signed-in person accepts a staff invitation: the contact, its bookings and its
    meal orders become theirs, in one transaction (400 ``invalid-invitation``)."""
    await session.commit()
    now = utcnow()
    contact = await invited_contact(session, settings, token, now)
    linked = await link_contacts(session, user.id, [contact.id], now)
    if not linked.contacts:  # another request linked it in between
        await session.rollback()
        raise InvalidInvitation()
    await session.commit()
    return contact, linked


async def structure_slug(session: AsyncSession, structure_id: uuid.UUID) -> str:
    return await session.scalar(select(Structure.slug).where(Structure.id == structure_id)) or ""
