"""Assets: public directory, and their management by the structure's staff."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.deps import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tierslieu.api.schemas import (
    Accessibility,
    AssetIn,
    AssetKind,
    AssetOut,
    AssetPatch,
    Quotas,
    RulesOut,
    StructureRef,
    given,
)
from tierslieu.models import Asset, User
from tierslieu.services import assets


def asset_out(a: Asset | assets.Listed) -> AssetOut:
    s = a.structure
    return AssetOut(
        id=a.id,
        structure=StructureRef(slug=s.slug, name=s.name, commune=s.commune, timezone=s.timezone),
        name=a.name,
        kind=a.kind,
        booking_mode=a.booking_mode,
        capacity=a.capacity,
        audience=list(a.audience),
        description=a.description,
        accessibility=Accessibility(
            wheelchair=a.wheelchair, step_free=a.step_free, accessible_toilets=a.accessible_toilets
        ),
        rules=RulesOut(
            min_notice_minutes=a.min_notice_minutes,
            max_advance_days=a.max_advance_days,
            cancel_until_minutes=a.cancel_until_minutes,
            max_party_size=a.max_party_size,
            requires_approval=a.requires_approval,
            reminder_hours=a.reminder_hours,
            waitlist=a.waitlist,
            waitlist_max_length=a.waitlist_max_length,
        ),
        quotas=Quotas(
            bookings_per_week=a.quota_bookings_per_week,
            bookings_per_month=a.quota_bookings_per_month,
            hours_per_week=a.quota_hours_per_week,
            upcoming=a.quota_upcoming,
        ),
        archived=a.archived_at is not None,
    )


class StructureAssetController(Controller):
    path = "/api/structures/{slug:str}/assets"
    tags = ["ressources"]

    @post(
        "/", status_code=HTTP_201_CREATED, summary="Open a new asset (structure manager or staff)"
    )
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        data: JSONBody[AssetIn],
    ) -> AssetOut:
        return asset_out(await assets.create_asset(db_session, user, slug, given(data)))


class AssetController(Controller):
    path = "/api/assets"
    tags = ["ressources"]

    @get("/", summary="Public directory of opened assets")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        structure: Annotated[str | None, QueryParameter(max_length=60)] = None,
        kind: Annotated[AssetKind | None, QueryParameter()] = None,
        commune: Annotated[str | None, QueryParameter(max_length=120)] = None,
        wheelchair: Annotated[bool | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[AssetOut]:
        found = await assets.directory(
            db_session,
            structure=structure,
            kind=kind.value if kind else None,
            commune=commune,
            wheelchair=wheelchair,
            limit=limit,
            offset=offset,
        )
        return [asset_out(a) for a in found]

    @get("/{asset_id:uuid}", summary="One asset's public description")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[User | None],
        asset_id: FromPath[uuid.UUID],
    ) -> AssetOut:
        return asset_out(await assets.get_asset(db_session, asset_id, caller))

    @patch("/{asset_id:uuid}", summary="Change an asset (structure manager or staff)")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
        data: JSONBody[AssetPatch],
    ) -> AssetOut:
        return asset_out(await assets.update_asset(db_session, user, asset_id, given(data)))

    @delete(
        "/{asset_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Archive an asset (it leaves public lists)",
    )
    async def archive(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
    ) -> None:
        await assets.archive_asset(db_session, user, asset_id)
