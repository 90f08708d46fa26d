"""Structures (public directory) and their members (managers only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.deps import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tierslieu.api.schemas import (
    MemberIn,
    MemberOut,
    StructureIn,
    StructureKind,
    StructureOut,
    StructurePatch,
    given,
)
from tierslieu.models import Membership, Structure, User
from tierslieu.services import structures
from tierslieu.services.access import structure_by_slug

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


def structure_out(s: Structure) -> StructureOut:
    return StructureOut(
        id=s.id,
        slug=s.slug,
        name=s.name,
        kind=s.kind,
        address=s.address,
        phone=s.phone,
        postcode=s.postcode,
        commune=s.commune,
        latitude=s.latitude,
        longitude=s.longitude,
        timezone=s.timezone,
        description=s.description,
        closed_on_public_holidays=s.closed_on_public_holidays,
        holiday_subdivision=s.holiday_subdivision,
        share_stats=s.share_stats,
    )


def member_out(m: Membership, u: User) -> MemberOut:
    return MemberOut(user_id=u.id, email=u.email, display_name=u.display_name, role=m.role)


class StructureController(Controller):
    path = "/api/structures"
    tags = ["structures"]

    @post("/", status_code=HTTP_201_CREATED, summary="Create a structure (platform admin)")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        data: JSONBody[StructureIn],
    ) -> StructureOut:
        """409 ``slug-taken`` when the slug is used; 422 for an unknown time zone."""
        structure = await structures.create_structure(db_session, user, **given(data))
        return structure_out(structure)

    @get("/", summary="Public directory of structures, by commune and kind")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        commune: Annotated[str | None, QueryParameter(max_length=120)] = None,
        kind: Annotated[StructureKind | None, QueryParameter()] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> list[StructureOut]:
        found = await structures.list_structures(
            db_session,
            commune=commune,
            kind=kind.value if kind else None,
            limit=limit,
            offset=offset,
        )
        return [structure_out(s) for s in found]

    @get("/{slug:str}", summary="One structure's public facts")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> StructureOut:
        return structure_out(await structure_by_slug(db_session, slug))

    @patch("/{slug:str}", summary="Change a structure (admin or its manager)")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        data: JSONBody[StructurePatch],
    ) -> StructureOut:
        structure = await structures.update_structure(db_session, user, slug, given(data))
        return structure_out(structure)

    @get("/{slug:str}/members", summary="Members of a structure (admin or its manager)")
    async def members(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
    ) -> list[MemberOut]:
        return [member_out(m, u) for m, u in await structures.list_members(db_session, user, slug)]

    @put("/{slug:str}/members", summary="Give a registered person a role (admin or manager)")
    async def put_member(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        data: JSONBody[MemberIn],
    ) -> Response[MemberOut]:
        """201 when the person joins, 200 when the role changes; 422 if they have no account."""
        membership, person, created = await structures.put_member(
            db_session, user, slug, email=data.email, role=data.role.value
        )
        return Response(
            member_out(membership, person), status_code=HTTP_201_CREATED if created else HTTP_200_OK
        )

    @delete(
        "/{slug:str}/members/{user_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a member (admin or manager)",
    )
    async def remove_member(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        user_id: FromPath[uuid.UUID],
    ) -> None:
        """409 ``last-manager`` rather than leave a structure without a manager."""
        await structures.remove_member(db_session, user, slug, user_id)
