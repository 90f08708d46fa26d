"""Structures and their members."""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.db import Prepared, fetch_page, only_small_statements, paged, whole
from tierslieu.domain.slots import valid_subdivision
from tierslieu.domain.vocabulary import MemberRole
from tierslieu.errors import (
    Forbidden,
    InvalidInput,
    LastManager,
    NotFound,
    SlugTaken,
    UnknownPerson,
)
from tierslieu.models import Membership, Structure, User
from tierslieu.services import listing_cache
from tierslieu.services.access import structure_for
from tierslieu.services.accounts import check_email

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MANAGERS = (MemberRole.MANAGER,)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("timezone", "invalid-timezone") from None
    return name


def check_subdivision(code: str | None) -> None:
    if code is not None and not valid_subdivision(code):
        raise InvalidInput("holiday_subdivision", "invalid")


def check_slug(slug: str) -> str:
    if not (3 <= len(slug) <= 60) or not SLUG_RE.match(slug):
        raise InvalidInput("slug", "invalid-slug")
    return slug


async def create_structure(session: AsyncSession, user: User, **fields: Any) -> Structure:
    """Create a structure (platform admins only). The slug is unique: 409 if taken."""
    if not user.is_admin:
        raise Forbidden()
    check_slug(fields["slug"])
    check_timezone(fields["timezone"])
    check_subdivision(fields.get("holiday_subdivision"))
    structure = Structure(**fields)
    session.add(structure)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise SlugTaken({"slug": fields["slug"]}) from None
    return structure


_FILTERS = {
    "commune": func.lower(Structure.commune) == bindparam("commune", type_=String),
    "kind": Structure.kind == bindparam("kind", type_=String),
}
_STRUCTURE = whole(Structure)


@functools.cache
def _directory(filters: tuple[str, ...]) -> Prepared:
    """The directory's statement with these filters (one per combination, made once)."""
    return paged(
        select(*_STRUCTURE.columns)
        .where(*(_FILTERS[f] for f in filters))
        .order_by(Structure.commune, Structure.name)
    )


@only_small_statements
async def list_structures(
    session: AsyncSession, *, commune: str | None, kind: str | None, limit: int, offset: int
) -> list[Structure]:
    """The public directory of structures, by the driver (``db.fetch_rows``), as instances
    attached to no session (``db.transient``)."""
    rows = await fetch_page(
        await session.connection(),
        _directory,
        {"commune": commune.strip().lower() if commune else None, "kind": kind or None},
        limit=limit,
        offset=offset,
    )
    return [_STRUCTURE.of(row) for row in rows]


async def update_structure(
    session: AsyncSession, user: User, slug: str, changes: dict[str, Any]
) -> Structure:
    """Change a structure's public facts (admin or its manager). The slug never changes."""
    structure = await structure_for(session, user, slug, MANAGERS)
    if "timezone" in changes:
        check_timezone(changes["timezone"])
    if "holiday_subdivision" in changes:
        check_subdivision(changes["holiday_subdivision"])
    for name, value in changes.items():
        setattr(structure, name, value)
    await session.commit()
    listing_cache.clear()
    return structure


async def list_members(
    session: AsyncSession, user: User, slug: str
) -> list[tuple[Membership, User]]:
    structure = await structure_for(session, user, slug, MANAGERS)
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.structure_id == structure.id)
        .order_by(User.display_name)
    )
    return [(m, u) for m, u in rows.tuples()]


async def put_member(
    session: AsyncSession, user: User, slug: str, *, email: str, role: str
) -> tuple[Membership, User, bool]:
    """Give a registered person a role in the structure, or change it. Returns (…, created)."""
    structure = await structure_for(session, user, slug, MANAGERS)
    email = check_email(email)
    person = await session.scalar(select(User).where(User.email == email))
    if person is None:
        raise UnknownPerson({"email": email}, extra={"errors": [{"field": "email"}]})
    membership = await session.scalar(
        select(Membership).where(
            Membership.structure_id == structure.id, Membership.user_id == person.id
        )
    )
    created = membership is None
    if membership is None:
        membership = Membership(structure_id=structure.id, user_id=person.id, role=role)
        session.add(membership)
    else:
        if membership.role == MemberRole.MANAGER and role != MemberRole.MANAGER:
            await _ensure_another_manager(session, structure.id, person.id)
        membership.role = role
    try:
        await session.commit()
    except IntegrityError:
        # Two managers added the same person at once: the other request won; report it as done.
        await session.rollback()
        membership = await session.scalar(
            select(Membership).where(
                Membership.structure_id == structure.id, Membership.user_id == person.id
            )
        )
        created = False
        if membership is None:
            raise
    return membership, person, created


async def remove_member(session: AsyncSession, user: User, slug: str, user_id: uuid.UUID) -> None:
    structure = await structure_for(session, user, slug, MANAGERS)
    membership = await session.scalar(
        select(Membership).where(
            Membership.structure_id == structure.id, Membership.user_id == user_id
        )
    )
    if membership is None:
        raise NotFound()
    if membership.role == MemberRole.MANAGER:
        await _ensure_another_manager(session, structure.id, user_id)
    await session.delete(membership)
    await session.commit()


async def _ensure_another_manager(
    session: AsyncSession, structure_id: uuid.UUID, leaving: uuid.UUID
) -> None:
    others = await session.scalar(
        select(func.count()).where(
            Membership.structure_id == structure_id,
            Membership.role == MemberRole.MANAGER,
            Membership.user_id != leaving,
        )
    )
    if not others:
        raise LastManager()
