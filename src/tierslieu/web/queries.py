"""Small read-only queries the pages need and no service offers (public facts only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.models import Asset, Structure


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
