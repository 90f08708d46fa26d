"""Accounts: register, sign in and out, the caller's profile."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import i18n
from tierslieu.api.deps import bearer_token_of
from tierslieu.api.personal_data import DeleteAccountIn, ErasureOut, delete_my_account
from tierslieu.api.schemas import (
    EmailConfirmIn,
    LoginIn,
    MembershipOut,
    MeOut,
    MeUpdateIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RegisterIn,
    RegistrationOut,
    TokenOut,
)
from tierslieu.clients import client_of
from tierslieu.errors import InvalidInput
from tierslieu.models import User
from tierslieu.services import account_links, accounts
from tierslieu.settings import Settings


class AuthController(Controller):
    path = "/api/auth"
    tags = ["comptes"]

    @post(
        "/register",
        status_code=HTTP_202_ACCEPTED,
        summary="Create an account (neighbour or professional)",
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        lang: NamedDependency[str],
        data: JSONBody[RegisterIn],
    ) -> RegistrationOut:
        """Creates a person with no role (unknown fields such as ``role`` are refused, 422).

        The answer is the same 202 whether or not the address already had an account
        (nothing is created or changed then), so it reveals nobody; a new account can sign
        in at once. Throttled per client address (429 with Retry-After)."""
        await accounts.register(
            db_session,
            settings,
            email=data.email,
            password=data.password,
            display_name=data.display_name,
            kind=data.kind.value,
            phone=data.phone,
            locale=data.locale,
            client=client_of(request, settings),
        )
        return RegistrationOut(status="accepted", detail=i18n.notice("registration-accepted", lang))

    @post("/login", status_code=HTTP_200_OK, summary="Sign in and receive a bearer token")
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        data: JSONBody[LoginIn],
    ) -> TokenOut:
        """A client that failed too often on this account, or on any, gets 429 (Retry-After);
        other clients, the owner included, are not refused."""
        issued = await accounts.login(
            db_session,
            settings,
            email=data.email,
            password=data.password,
            client=client_of(request, settings),
        )
        return TokenOut(token=issued.token, token_type="Bearer", expires_at=issued.expires_at)  # noqa: S106

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        summary="Ask for a password reset link by e-mail",
    )
    async def password_reset(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        lang: NamedDependency[str],
        data: JSONBody[PasswordResetIn],
    ) -> RegistrationOut:
        """Always the same 202, whether or not the address has an account (it reveals
        nobody). If it has, a single-use link valid one hour is mailed to it and the older
        unused reset links stop working. Throttled per client address (429 with
        Retry-After); at most 5 links per account and hour (more are silently ignored)."""
        await account_links.request_password_reset(
            db_session, settings, email=data.email, client=client_of(request, settings)
        )
        return RegistrationOut(
            status="accepted", detail=i18n.notice("password-reset-requested", lang)
        )

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        summary="Choose a new password with the link's token",
    )
    async def password_reset_confirm(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        data: JSONBody[PasswordResetConfirmIn],
    ) -> None:
        """The password follows the registration policy (422 on ``password``). A spent,
        expired or unknown token is 400 ``invalid-link``; of two concurrent uses of one
        token exactly one succeeds. Every sign-in token and link of the person is revoked;
        a « password changed » notice is mailed."""
        await account_links.reset_password(
            db_session, settings, token=data.token, password=data.password
        )

    @post(
        "/email-confirm",
        status_code=HTTP_204_NO_CONTENT,
        summary="Confirm my e-mail address with the link's token",
    )
    async def email_confirm(
        self, db_session: NamedDependency[AsyncSession], data: JSONBody[EmailConfirmIn]
    ) -> None:
        """The token of the link mailed at registration (400 ``invalid-link`` when spent,
        expired or unknown). An unconfirmed address still receives every message:
        confirming only proves the person owns it."""
        await account_links.confirm_email(db_session, data.token)

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
        return await _me_out(db_session, user)

    @patch("/", summary="Change my settings (reminders; findable by staff)")
    async def update_me(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        data: JSONBody[MeUpdateIn],
    ) -> MeOut:
        """``reminders``: reminders by e-mail before bookings and meal pickups (also turned
        off by the one-click link in each reminder); ``findable_by_staff``: the structures'
        staff may find this account by its e-mail or phone to book on the person's behalf
        (off by default). Omitted fields stay as they are."""
        raw = await request.json()
        for switch in ("reminders", "findable_by_staff"):
            if not isinstance(raw.get(switch), bool | None):  # no lax 0/1 for a switch
                raise InvalidInput(switch, "wrong-type", {"expected": "boolean"})
        changes = {
            name: value
            for name, value in (
                ("reminders", data.reminders),
                ("findable_by_staff", data.findable_by_staff),
            )
            if value is not None
        }
        if changes:  # both in one statement: never one changed and not the other
            await account_links.set_switches(db_session, user.id, **changes)
            fresh = await db_session.get(User, user.id, populate_existing=True)
            user = fresh or user
        return await _me_out(db_session, user)

    @post(
        "/email-confirm",
        status_code=HTTP_202_ACCEPTED,
        summary="Send me a new address confirmation link",
    )
    async def resend_confirmation(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        lang: NamedDependency[str],
        user: NamedDependency[User],
    ) -> RegistrationOut:
        """A new link (older ones stop working); nothing is sent when the address is
        already confirmed or 5 links went out this hour. Same answer either way."""
        await account_links.resend_email_confirmation(db_session, settings, user)
        return RegistrationOut(status="accepted", detail=i18n.notice("email-confirm-sent", lang))

    @post(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        summary="Change my password (revokes my other tokens)",
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[User],
        data: JSONBody[PasswordChangeIn],
    ) -> None:
        """A wrong current password is a 422 on ``current_password`` and counts as a failed
        sign-in (429 past the limit); the new one follows the password policy. Every other
        token of the caller stops working; the one of this request keeps working."""
        await accounts.change_password(
            db_session,
            settings,
            user,
            current_password=data.current_password,
            new_password=data.new_password,
            client=client_of(request, settings),
            current_token=bearer_token_of(request),
        )

    @delete("/", status_code=HTTP_200_OK, summary="Delete the caller's account")
    async def delete_account(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[User],
        data: JSONBody[DeleteAccountIn],
    ) -> ErasureOut:
        """Needs the password (403 otherwise). Upcoming bookings and unpaid upcoming orders
        are cancelled; name, e-mail, phone, notes, roles and every token are erased at once;
        past bookings and orders stay as anonymous rows for the statistics. The last
        platform admin or the last manager of a structure gets 409 with what to do first."""
        return await delete_my_account(
            db_session, settings, user, data, client_of(request, settings)
        )


async def _me_out(db_session: AsyncSession, user: User) -> MeOut:
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
        reminders=user.reminders,
        email_confirmed_at=user.email_confirmed_at,
        findable_by_staff=user.findable_by_staff,
    )
