"""Accounts: register, sign in and out, the caller's profile."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.deps import bearer_token_of
from tierslieu.api.personal_data import DeleteAccountIn, ErasureOut, delete_my_account
from tierslieu.api.schemas import LoginIn, MembershipOut, MeOut, RegisterIn, TokenOut, UserOut
from tierslieu.models import User
from tierslieu.services import accounts
from tierslieu.settings import Settings


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        kind=user.kind,
        phone=user.phone,
        locale=user.locale,
    )


class AuthController(Controller):
    path = "/api/auth"
    tags = ["comptes"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Create an account (neighbour or professional)",
    )
    async def register(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        data: JSONBody[RegisterIn],
    ) -> UserOut:
        """Creates a person with no role; unknown fields such as ``role`` are refused (422)."""
        user = await accounts.register(
            db_session,
            settings,
            email=data.email,
            password=data.password,
            display_name=data.display_name,
            kind=data.kind.value,
            phone=data.phone,
            locale=data.locale,
        )
        return user_out(user)

    @post("/login", status_code=HTTP_200_OK, summary="Sign in and receive a bearer token")
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        data: JSONBody[LoginIn],
    ) -> TokenOut:
        """Repeated failures per account or per client address are refused with 429."""
        client = request.client.host if request.client else "unknown"
        issued = await accounts.login(
            db_session, settings, email=data.email, password=data.password, client=client
        )
        return TokenOut(token=issued.token, token_type="Bearer", expires_at=issued.expires_at)  # noqa: S106

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke the token of this request")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
    ) -> None:
        token = bearer_token_of(request)
        if token:
            await accounts.logout(db_session, token)


class MeController(Controller):
    path = "/api/me"
    tags = ["comptes"]

    @get("/", summary="The caller's profile and memberships")
    async def me(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[User]
    ) -> MeOut:
        memberships = await accounts.memberships_of(db_session, user)
        return MeOut(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            kind=user.kind,
            phone=user.phone,
            locale=user.locale,
            is_admin=user.is_admin,
            memberships=[
                MembershipOut(structure_slug=s.slug, structure_name=s.name, role=m.role)
                for m, s in memberships
            ],
        )

    @delete("/", status_code=HTTP_200_OK, summary="Delete the caller's account")
    async def delete_account(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[User],
        data: JSONBody[DeleteAccountIn],
    ) -> ErasureOut:
        """Needs the password (403 otherwise). Upcoming bookings and unpaid upcoming orders
        are cancelled; name, e-mail, phone, notes, roles and every token are erased at once;
        past bookings and orders stay as anonymous rows for the statistics. The last
        platform admin or the last manager of a structure gets 409 with what to do first."""
        return await delete_my_account(db_session, settings, user, data)
