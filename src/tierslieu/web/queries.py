"""Small read-only queries the pages need and no service offers (public facts only)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.models import Asset, Structure, User


async def communes(session: AsyncSession) -> list[str]:
    """Communes that have at least one opened (not archived) asset, for the directory filter."""
    rows = await session.scalars(
        select(Structure.commune)
        .join(Asset, Asset.structure_id == Structure.id)
        .where(Asset.archived_at.is_(None))
        .distinct()
        .order_by(Structure.commune)
    )
    return list(rows)


async def person_id_by_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    """The account behind an e-mail address (staff forms name people by e-mail)."""
    return await session.scalar(
        select(User.id).where(User.email == email.strip().lower(), User.is_active.is_(True))
    )
