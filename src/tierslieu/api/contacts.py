"""A structure's contacts (its staff only): people booked and served on their behalf."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.schemas import Email, Name, Phone, Strict, given
from tierslieu.models import Contact, User
from tierslieu.services import behalf, contacts
from tierslieu.settings import Settings

Note = Annotated[str, msgspec.Meta(max_length=1000)]


class ContactIn(Strict):
    name: Name
    phone: Phone | None = None
    email: Email | None = None
    note: Note = ""


class ContactPatch(Strict):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    note: Note | msgspec.UnsetType = msgspec.UNSET


class MergeIn(Strict):
    other_id: Annotated[uuid.UUID, msgspec.Meta(description="the duplicate, deleted once merged")]


class InvitationIn(Strict):
    token: Annotated[str, msgspec.Meta(min_length=10, max_length=200)]


class LinkedOut(msgspec.Struct):
    """What followed the person into their account."""

    structure_slug: str
    contact_name: str
    bookings: int
    meal_orders: int


class ContactOut(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None
    note: str
    # True once the person linked an account: their bookings follow them there.
    has_account: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    bookings: int | None = None
    meal_orders: int | None = None


def contact_out(c: Contact, bookings: int | None = None, orders: int | None = None) -> ContactOut:
    return ContactOut(
        id=c.id,
        name=c.name,
        phone=c.phone,
        email=c.email,
        note=c.note,
        has_account=c.user_id is not None,
        created_at=c.created_at,
        updated_at=c.updated_at,
        bookings=bookings,
        meal_orders=orders,
    )


class ContactController(Controller):
    path = "/api/structures/{slug:str}/contacts"
    tags = ["contacts"]

    @get("/", summary="Find contacts by name or phone (the structure's staff)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        q: Annotated[str, QueryParameter(max_length=120, description="name or phone")] = "",
        limit: Annotated[int, QueryParameter(ge=1, le=contacts.SEARCH_MAX)] = 20,
    ) -> list[ContactOut]:
        """Name search ignores case and accents; a number matches however it is written."""
        _structure, found = await contacts.search(db_session, user, slug, q, limit=limit)
        return [contact_out(c) for c in found]

    @post("/", status_code=HTTP_201_CREATED, summary="Add a contact (the structure's staff)")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        data: JSONBody[ContactIn],
    ) -> ContactOut:
        """409 ``contact-exists`` (with ``existing_id``) when the number or address is already
        a contact's."""
        contact = await contacts.create(db_session, user, slug, msgspec.structs.asdict(data))
        return contact_out(contact, 0, 0)

    @get("/{contact_id:uuid}", summary="One contact, with how many bookings and orders")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        contact_id: FromPath[uuid.UUID],
    ) -> ContactOut:
        view = await contacts.get(db_session, user, slug, contact_id)
        return contact_out(view.contact, view.bookings, view.orders)

    @patch("/{contact_id:uuid}", summary="Correct a contact (its bookings follow)")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        contact_id: FromPath[uuid.UUID],
        data: JSONBody[ContactPatch],
    ) -> ContactOut:
        contact = await contacts.change(db_session, user, slug, contact_id, given(data))
        return contact_out(contact)

    @post(
        "/{contact_id:uuid}/merge",
        status_code=HTTP_200_OK,
        summary="Merge a duplicate into this contact (its bookings and orders move over)",
    )
    async def merge(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        contact_id: FromPath[uuid.UUID],
        data: JSONBody[MergeIn],
    ) -> ContactOut:
        contact = await contacts.merge(db_session, user, slug, contact_id, data.other_id)
        view = await contacts.get(db_session, user, slug, contact.id)
        return contact_out(view.contact, view.bookings, view.orders)

    @post(
        "/{contact_id:uuid}/invite",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail the contact a link to find their bookings in an account (staff)",
    )
    async def invite(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[User],
        slug: FromPath[str],
        contact_id: FromPath[uuid.UUID],
    ) -> ContactOut:
        """The link is valid 14 days and only for the contact's current address; once the
        person signs in (or registers) and confirms, the contact and its bookings and meal
        orders are theirs. 422 ``contact-without-email`` without an address."""
        contact = await behalf.invite(db_session, settings, user, slug, contact_id)
        return contact_out(contact)


class ContactLinkController(Controller):
    path = "/api/me/contact-links"
    tags = ["contacts"]

    @post(
        "/",
        status_code=HTTP_200_OK,
        summary="Accept a structure's invitation: its bookings for me become mine",
    )
    async def accept(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[User],
        data: JSONBody[InvitationIn],
    ) -> LinkedOut:
        """``token`` from the invitation link (``/rattacher/<token>``); 400
        ``invalid-invitation`` when expired, already used, or the address changed."""
        contact, linked = await behalf.accept_invitation(db_session, settings, user, data.token)
        slug = await behalf.structure_slug(db_session, contact.structure_id)
        return LinkedOut(slug, contact.name, linked.bookings, linked.orders)
