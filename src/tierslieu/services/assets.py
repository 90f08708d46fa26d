"""The assets a structure opens: create, describe, change, archive, find."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Boolean, String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.db import (
    Prepared,
    fetch_page,
    only_small_statements,
    paged,
    whole,
)
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


# The directory's filters, each one statement's condition (the values are bound).
_FILTERS = {
    "structure": Structure.slug == bindparam("structure", type_=String),
    "kind": Asset.kind == bindparam("kind", type_=String),
    "commune": func.lower(Structure.commune) == bindparam("commune", type_=String),
    "wheelchair": Asset.wheelchair == bindparam("wheelchair", type_=Boolean),
}
_ASSET, _STRUCTURE = whole(Asset), whole(Structure)


class ListedStructure(NamedTuple):
    """What the public directory shows of an asset's structure."""

    slug: str
    name: str
    commune: str
    timezone: str


class Listed(NamedTuple):
    """What the public directory shows of an asset: the attributes of ``Asset`` the API's
    answer reads (``asset_out`` takes either)."""

    id: uuid.UUID
    name: str
    kind: str
    booking_mode: str
    capacity: int
    audience: list[str]
    description: str
    wheelchair: bool
    step_free: bool
    accessible_toilets: bool
    min_notice_minutes: int
    max_advance_days: int
    cancel_until_minutes: int
    max_party_size: int
    requires_approval: bool
    reminder_hours: int | None
    waitlist: bool
    waitlist_max_length: int | None
    quota_bookings_per_week: int | None
    quota_bookings_per_month: int | None
    quota_hours_per_week: int | None
    quota_upcoming: int | None
    archived_at: dt.datetime | None
    structure: ListedStructure


_LISTED = [getattr(Asset, f) for f in Listed._fields[:-1]]
_LISTED_STRUCTURE = [getattr(Structure, f) for f in ListedStructure._fields]


@functools.cache
def _directory(filters: tuple[str, ...], listed: bool) -> Prepared:
    """The directory's statement with these filters (one per combination, made once): the
    listed columns, else whole rows."""
    columns = [*_LISTED, *_LISTED_STRUCTURE] if listed else [*_ASSET.columns, *_STRUCTURE.columns]
    return paged(
        select(*columns)
        .join(Structure, Structure.id == Asset.structure_id)
        .where(Asset.archived_at.is_(None), *(_FILTERS[f] for f in filters))
        .order_by(Structure.commune, Structure.name, Asset.name)
    )


@only_small_statements
async def _directory_rows(
    session: AsyncSession,
    listed: bool,
    *,
    structure: str | None,
    kind: str | None,
    commune: str | None,
    wheelchair: bool | None,
    limit: int,
    offset: int,
) -> Sequence[Sequence[Any]]:
    """Opened assets (archived ones never appear), by the driver (``db.fetch_rows``:
    through the ORM, a page of 50 cost ~4 ms of the event loop, the most of any public
    read). A small statement: a top-N sort over the opened assets (a town's hundreds)."""
    given = {
        "structure": structure or None,
        "kind": kind or None,
        "commune": commune.strip().lower() if commune else None,
        "wheelchair": wheelchair,
    }
    return await fetch_page(
        await session.connection(),
        functools.partial(_directory, listed=listed),
        given,
        limit=limit,
        offset=offset,
    )


async def list_assets(session: AsyncSession, **filters: Any) -> list[Asset]:
    """The directory's assets whole, each with its structure (pages that show more than
    the API's answer), as instances attached to no session (``db.transient``)."""
    found = []
    for row in await _directory_rows(session, False, **filters):
        asset = _ASSET.of(row)
        asset.structure = _STRUCTURE.of(row, len(_ASSET))
        found.append(asset)
    return found


async def directory(session: AsyncSession, **filters: Any) -> list[Listed]:
    """The public directory as the API shows it: only the columns its answer reads
    (half the conversions of whole rows, no ORM instance)."""
    at = len(Listed._fields) - 1  # the structure's columns follow
    return [
        Listed(*row[:at], ListedStructure(*row[at:]))
        for row in await _directory_rows(session, True, **filters)
    ]


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
