"""A structure's contacts: find, add, correct and merge the people staff book for.

Staff of the structure only (manager, staff): anyone else gets 404 for a contact and
403 for the list, as for bookings. Contacts never appear in a public output.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.contacts import email_key, name_key, phone_key
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES
from tierslieu.errors import Conflict, InvalidInput, NotFound
from tierslieu.i18n import N_
from tierslieu.models import Booking, Contact, MealOrder, Structure, User
from tierslieu.services.access import has_role, structure_for
from tierslieu.services.clock import utcnow

SEARCH_MAX = 50


class ContactExists(Conflict):
    code = "contact-exists"
    title = N_("Contact déjà connu")
    detail = N_(
        "{name} est déjà dans les contacts avec ce numéro ou cette adresse : "
        "choisissez ce contact plutôt que d'en créer un autre."
    )


class SameContact(Conflict):
    code = "same-contact"
    title = N_("Même contact")
    detail = N_("Un contact ne peut pas être fusionné avec lui-même.")


@dataclass(frozen=True, slots=True)
class ContactView:
    contact: Contact
    bookings: int = 0
    orders: int = 0


def _keys(values: dict[str, Any]) -> dict[str, Any]:
    """The compared forms of whatever of name, phone, email ``values`` holds."""
    keys: dict[str, Any] = {}
    if "name" in values:
        keys["name_key"] = name_key(values["name"])
        if not keys["name_key"]:
            raise InvalidInput("name", "required")
    if "phone" in values:
        values["phone"] = values["phone"] or None
        keys["phone_key"] = phone_key(values["phone"])
        if values["phone"] and keys["phone_key"] is None:
            raise InvalidInput("phone", "bad-format")
    if "email" in values:
        values["email"] = (values["email"] or "").strip() or None
        keys["email_key"] = email_key(values["email"])
    return keys


async def _duplicate(
    session: AsyncSession,
    structure_id: uuid.UUID,
    phone: str | None,
    email: str | None,
    *,
    besides: uuid.UUID | None = None,
) -> Contact | None:
    """A live contact of the structure with the same number or address."""
    same = []
    if phone:
        same.append(Contact.phone_key == phone)
    if email:
        same.append(Contact.email_key == email)
    if not same:
        return None
    query = select(Contact).where(
        Contact.structure_id == structure_id, Contact.erased_at.is_(None), or_(*same)
    )
    if besides is not None:
        query = query.where(Contact.id != besides)
    return await session.scalar(query.order_by(Contact.created_at).limit(1))


async def search(
    session: AsyncSession, user: User, slug: str, q: str = "", *, limit: int = 20
) -> tuple[Structure, list[Contact]]:
    """Contacts whose name contains ``q`` (case and accents aside), or whose number
    contains its digits; the most recently changed first. At most ``SEARCH_MAX``."""
    structure = await structure_for(session, user, slug, ASSET_MANAGING_ROLES)
    query = select(Contact).where(Contact.structure_id == structure.id, Contact.erased_at.is_(None))
    wanted = name_key(q)
    if wanted:
        digits = "".join(c for c in q if c.isdigit())
        matches = [Contact.name_key.contains(wanted, autoescape=True)]
        if len(digits) >= 2:
            number = phone_key(q) or digits
            matches.append(Contact.phone_key.contains(number, autoescape=True))
        if "@" in q:
            matches.append(Contact.email_key == email_key(q))
        query = query.where(or_(*matches))
    found = await session.scalars(
        query.order_by(Contact.updated_at.desc(), Contact.id).limit(min(limit, SEARCH_MAX))
    )
    return structure, list(found.all())


async def create(session: AsyncSession, user: User, slug: str, values: dict[str, Any]) -> Contact:
    """A new contact; 409 ``contact-exists`` (with its id) when the number or address
    is already a contact's (a duplicate is merged, not made)."""
    structure = await structure_for(session, user, slug, ASSET_MANAGING_ROLES)
    values = dict(values)
    keys = _keys({"phone": None, "email": None, **values})
    values.setdefault("phone", None)
    values.setdefault("email", None)
    existing = await _duplicate(session, structure.id, keys["phone_key"], keys["email_key"])
    if existing is not None:
        raise ContactExists({"name": existing.name}, extra={"existing_id": str(existing.id)})
    contact = Contact(structure_id=structure.id, **values, **keys)
    session.add(contact)
    await session.commit()
    return contact


async def for_guest(
    session: AsyncSession,
    structure_id: uuid.UUID,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    *,
    field: str = "guest",
) -> Contact:
    """The contact a staff member means by a typed name (and number or address), made
    now if new — flushed, not committed: it goes with the booking or order it is for.

    The duplicate rules of ``create``, kept for a person typed again: the same number or
    address under the same name (case and accents aside) is that contact (a detail it
    lacked is added); under another name, 409 ``contact-exists`` with its id (staff pick
    it or correct the number). A name alone is the structure's oldest contact of that
    name, if any: the old guest bookings were told apart by name only."""
    phone = (phone or "").strip() or None
    email = (email or "").strip() or None
    keys = _keys({"name": name, "phone": phone, "email": email})
    if phone and keys["phone_key"] is None:
        raise InvalidInput(f"{field}.phone", "bad-format")
    existing = await _duplicate(session, structure_id, keys["phone_key"], keys["email_key"])
    if existing is None and keys["phone_key"] is None and keys["email_key"] is None:
        existing = await session.scalar(
            select(Contact)
            .where(
                Contact.structure_id == structure_id,
                Contact.erased_at.is_(None),
                Contact.name_key == keys["name_key"],
            )
            .order_by(Contact.created_at)
            .limit(1)
        )
    if existing is None:
        contact = Contact(structure_id=structure_id, name=name, phone=phone, email=email, **keys)
        session.add(contact)
        await session.flush()
        return contact
    if existing.name_key != keys["name_key"]:
        problem = ContactExists({"name": existing.name}, extra={"existing_id": str(existing.id)})
        await session.rollback()
        raise problem
    added = False
    for detail, value in (("phone", phone), ("email", email)):
        if value and getattr(existing, detail) is None:
            setattr(existing, detail, value)
            setattr(existing, f"{detail}_key", keys[f"{detail}_key"])
            added = True
    if added:
        existing.updated_at = utcnow()
        await session.flush()
        await _copy_details(session, existing)
    return existing


async def _owned(session: AsyncSession, user: User, contact_id: uuid.UUID) -> Contact:
    """The contact, for staff of its structure; 404 for anyone else (no hint it exists)."""
    contact = await session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.erased_at.is_(None))
    )
    if contact is None or not await has_role(
        session, user, contact.structure_id, ASSET_MANAGING_ROLES
    ):
        raise NotFound()
    return contact


async def get(session: AsyncSession, user: User, slug: str, contact_id: uuid.UUID) -> ContactView:
    structure = await structure_for(session, user, slug, ASSET_MANAGING_ROLES)
    contact = await _owned(session, user, contact_id)
    if contact.structure_id != structure.id:
        raise NotFound()
    bookings = await session.scalar(
        select(func.count()).select_from(Booking).where(Booking.contact_id == contact.id)
    )
    orders = await session.scalar(
        select(func.count()).select_from(MealOrder).where(MealOrder.contact_id == contact.id)
    )
    return ContactView(contact, bookings or 0, orders or 0)


async def change(
    session: AsyncSession, user: User, slug: str, contact_id: uuid.UUID, changes: dict[str, Any]
) -> Contact:
    """Correct a contact. Its bookings' and orders' copies of the name, phone and address
    follow, so day sheets and call lists show the corrected details."""
    view = await get(session, user, slug, contact_id)
    contact = view.contact
    changes = dict(changes)
    keys = _keys(changes)
    if "phone_key" in keys or "email_key" in keys:
        existing = await _duplicate(
            session,
            contact.structure_id,
            keys.get("phone_key", contact.phone_key),
            keys.get("email_key", contact.email_key),
            besides=contact.id,
        )
        if existing is not None:
            problem = ContactExists(
                {"name": existing.name}, extra={"existing_id": str(existing.id)}
            )
            await session.rollback()  # expires ``existing``: its details were read before
            raise problem
    for field, value in {**changes, **keys}.items():
        setattr(contact, field, value)
    contact.updated_at = utcnow()
    await _copy_details(session, contact)
    await session.commit()
    return contact


async def _copy_details(session: AsyncSession, contact: Contact) -> None:
    now = utcnow()
    await session.execute(
        update(Booking)
        .where(
            Booking.contact_id == contact.id,
            Booking.user_id.is_(None),  # a linked person's bookings show their account
            Booking.erased_at.is_(None),
        )
        .values(
            guest_name=contact.name,
            guest_phone=contact.phone,
            guest_email=contact.email,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(MealOrder)
        .where(
            MealOrder.contact_id == contact.id,
            MealOrder.user_id.is_(None),
            MealOrder.erased_at.is_(None),
        )
        .values(guest_name=contact.name, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def merge(
    session: AsyncSession, user: User, slug: str, keep_id: uuid.UUID, other_id: uuid.UUID
) -> Contact:
    """Merge the duplicate ``other_id`` into ``keep_id``, in one transaction: its bookings
    and orders move over, the details ``keep_id`` lacks are taken from it (its note is
    appended), and it is deleted. Both must be contacts of the structure (404)."""
    if keep_id == other_id:
        raise SameContact()
    keep = (await get(session, user, slug, keep_id)).contact
    other = (await get(session, user, slug, other_id)).contact
    for field in ("phone", "email", "user_id"):
        if getattr(keep, field) is None and getattr(other, field) is not None:
            setattr(keep, field, getattr(other, field))
    keep.phone_key, keep.email_key = phone_key(keep.phone), email_key(keep.email)
    if other.note and other.note not in keep.note:
        keep.note = f"{keep.note}\n{other.note}".strip()
    keep.updated_at = utcnow()
    for model in (Booking, MealOrder):
        await session.execute(
            update(model)
            .where(model.contact_id == other.id)
            .values(contact_id=keep.id)
            .execution_options(synchronize_session=False)
        )
    await session.delete(other)
    await session.flush()
    await _copy_details(session, keep)
    await session.commit()
    return keep
