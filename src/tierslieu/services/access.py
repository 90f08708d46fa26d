"""Who may act on a structure. Every check reads the caller's membership in the query."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.errors import Forbidden, NotFound
from tierslieu.models import Membership, Structure, User


async def structure_by_slug(session: AsyncSession, slug: str) -> Structure:
    structure = await session.scalar(select(Structure).where(Structure.slug == slug))
    if structure is None:
        raise NotFound()
    return structure


async def role_of(session: AsyncSession, user: User, structure_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.structure_id == structure_id
        )
    )


async def has_role(
    session: AsyncSession, user: User | None, structure_id: uuid.UUID, roles: Iterable[str]
) -> bool:
    if user is None:
        return False
    if user.is_admin:
        return True
    role = await role_of(session, user, structure_id)
    return role is not None and role in set(roles)


async def require_role(
    session: AsyncSession, user: User, structure_id: uuid.UUID, roles: Iterable[str]
) -> None:
    """Platform admins pass; others need one of ``roles`` in this structure, else 403."""
    if not await has_role(session, user, structure_id, roles):
        raise Forbidden()


async def structure_for(
    session: AsyncSession, user: User, slug: str, roles: Iterable[str]
) -> Structure:
    """The structure ``slug`` (404 if none) for a caller with one of ``roles`` there (403)."""
    structure = await structure_by_slug(session, slug)
    await require_role(session, user, structure.id, roles)
    return structure
