"""The assets a structure opens: create, describe, change, archive, find."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.assets import DEFAULT_RULES
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES
from tierslieu.errors import AssetArchived, NotFound
from tierslieu.models import Asset, Structure, User
from tierslieu.services import listing_cache
from tierslieu.services.access import has_role, require_role, structure_for
from tierslieu.services.clock import utcnow

RULE_FIELDS = (
    "min_notice_minutes",
    "max_advance_days",
    "cancel_until_minutes",
    "max_party_size",
    "requires_approval",
)
ACCESSIBILITY_FIELDS = ("wheelchair", "step_free", "accessible_toilets")


def _flatten(fields: dict[str, Any]) -> dict[str, Any]:
    """Spread the nested ``accessibility``, ``rules`` and ``quotas`` objects onto the table's columns."""
    flat = {k: v for k, v in fields.items() if k not in {"accessibility", "rules", "quotas"}}
    flat.update(fields.get("accessibility") or {})
    flat.update(fields.get("rules") or {})
    flat.update({f"quota_{k}": v for k, v in (fields.get("quotas") or {}).items()})
    if "audience" in flat:
        # Keep a stable order and no duplicates.
        flat["audience"] = sorted(set(flat["audience"]))
    return flat


async def create_asset(
    session: AsyncSession, user: User, slug: str, fields: dict[str, Any]
) -> Asset:
    """Open a new asset in a structure (its manager or staff)."""
    structure = await structure_for(session, user, slug, ASSET_MANAGING_ROLES)
    values = {name: getattr(DEFAULT_RULES, name) for name in RULE_FIELDS}
    values.update(_flatten(fields))
    asset = Asset(structure_id=structure.id, **values)
    session.add(asset)
    await session.commit()
    asset.structure = structure
    return asset


async def get_asset(
    session: AsyncSession,
    asset_id: uuid.UUID,
    user: User | None = None,
    roles: Iterable[str] = ASSET_MANAGING_ROLES,
) -> Asset:
    """A public asset; an archived one only for its structure's staff, those with one of
    ``roles`` there (404 for everyone else)."""
    row = await session.execute(
        select(Asset, Structure)
        .join(Structure, Structure.id == Asset.structure_id)
        .where(Asset.id == asset_id)
    )
    found = row.tuples().first()
    if found is None:
        raise NotFound()
    asset, structure = found
    if asset.archived_at is not None and not await has_role(session, user, structure.id, roles):
        raise NotFound()
    asset.structure = structure
    return asset


async def list_assets(
    session: AsyncSession,
    *,
    structure: str | None,
    kind: str | None,
    commune: str | None,
    wheelchair: bool | None,
    limit: int,
    offset: int,
) -> list[Asset]:
    """Public directory of opened assets; archived ones never appear."""
    query = (
        select(Asset, Structure)
        .join(Structure, Structure.id == Asset.structure_id)
        .where(Asset.archived_at.is_(None))
        .order_by(Structure.commune, Structure.name, Asset.name)
    )
    if structure:
        query = query.where(Structure.slug == structure)
    if kind:
        query = query.where(Asset.kind == kind)
    if commune:
        query = query.where(func.lower(Structure.commune) == commune.strip().lower())
    if wheelchair is not None:
        query = query.where(Asset.wheelchair.is_(wheelchair))
    rows = await session.execute(query.limit(limit).offset(offset))
    assets = []
    for asset, struct in rows.tuples():
        asset.structure = struct
        assets.append(asset)
    return assets


async def managed_asset(session: AsyncSession, user: User, asset_id: uuid.UUID) -> Asset:
    """Load an asset the caller manages: 404 if it does not exist, 403 if not theirs."""
    asset = await get_asset(session, asset_id, user)
    await require_role(session, user, asset.structure_id, ASSET_MANAGING_ROLES)
    return asset


async def update_asset(
    session: AsyncSession, user: User, asset_id: uuid.UUID, changes: dict[str, Any]
) -> Asset:
    """Change an asset's description, capacity or rules (its structure's manager or staff).

    A capacity raised gives the new places to the slots' waiting lists in the same
    transaction."""
    from tierslieu.services import waitlist  # it builds on the schedule, which builds on us

    asset = await managed_asset(session, user, asset_id)
    if asset.archived_at is not None:
        raise AssetArchived()
    structure = asset.structure
    for name, value in _flatten(changes).items():
        setattr(asset, name, value)
    await session.flush()
    await waitlist.promote_asset(session, asset.id)
    await session.commit()
    listing_cache.forget(asset.id)
    asset.structure = structure
    return asset


async def archive_asset(session: AsyncSession, user: User, asset_id: uuid.UUID) -> None:
    """Archive an asset: it leaves every public list; its history is kept. Idempotent."""
    asset = await managed_asset(session, user, asset_id)
    if asset.archived_at is None:
        asset.archived_at = utcnow()
        await session.commit()
        listing_cache.forget(asset.id)
