"""Pages reached from the account mails: « Mot de passe oublié ? », the new-password form of
a reset link, the address confirmation, the one-click unsubscribe from reminders; and the
« Mon compte » forms for reminders and a new confirmation link.

The unsubscribe path alone is exempt from CSRF (``web.CSRF_EXCLUDE``): mail clients POST
``List-Unsubscribe=One-Click`` to it without any cookie (RFC 8058). It only ever turns
reminders off, for the person its HMAC names, and is idempotent.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, PathParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import i18n
from tierslieu.api.schemas import PasswordResetConfirmIn, PasswordResetIn
from tierslieu.clients import client_of
from tierslieu.errors import DomainError
from tierslieu.models import Structure
from tierslieu.services import account_links, behalf
from tierslieu.services.clock import utcnow
from tierslieu.web import forms, text
from tierslieu.web.pages import FormErrors, page, read_form, redirect
from tierslieu.web.session import SIGNED_IN, SignedIn, Viewer

Token = Annotated[str, PathParameter(max_length=200)]


class AccountLinkPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/mot-de-passe-oublie", summary="Forgotten password: ask for a link (web)")
    async def forgot_page(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Viewer]
    ) -> Template:
        _ = text.translator(viewer.lang)
        return page(request, viewer, "forgot_password.html", title=_("Mot de passe oublié ?"))

    @post("/mot-de-passe-oublie", summary="Forgotten password: send the link (web form)")
    async def forgot(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
    ) -> Template | Redirect:
        """Same answer whether or not the address has an account (as the API's 202)."""
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            data = forms.parse(PasswordResetIn, {"email": str(form.get("email", "")).strip()})
            await account_links.request_password_reset(
                db_session,
                viewer.settings,
                email=data.email,
                client=client_of(request, viewer.settings),
            )
        except DomainError as exc:
            return page(
                request,
                viewer,
                "forgot_password.html",
                title=_("Mot de passe oublié ?"),
                errors=FormErrors.of(exc, viewer.lang),
                form={"email": form.get("email", "")},
                status_code=exc.status,
            )
        return redirect(
            request, viewer, "/connexion", i18n.notice("password-reset-requested", viewer.lang)
        )

    @get("/mot-de-passe/nouveau/{token:str}", summary="New password form of a reset link (web)")
    async def reset_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        token: FromPath[Token],
    ) -> Template:
        """Only shows the form: the link is spent when the new password is sent."""
        _ = text.translator(viewer.lang)
        valid = await account_links.reset_link_is_valid(db_session, token)
        return page(
            request,
            viewer,
            "reset_password.html",
            title=_("Choisir un nouveau mot de passe"),
            token=token,
            valid=valid,
            status_code=200 if valid else 400,
        )

    @post("/mot-de-passe/nouveau/{token:str}", summary="Set a new password (web form)")
    async def reset(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        token: FromPath[Token],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            data = forms.parse(
                PasswordResetConfirmIn,
                {"token": token, "password": form.get("password", "")},
            )
            await account_links.reset_password(
                db_session, viewer.settings, token=data.token, password=data.password
            )
        except account_links.InvalidLink:
            return page(
                request,
                viewer,
                "reset_password.html",
                title=_("Choisir un nouveau mot de passe"),
                token=token,
                valid=False,
                status_code=400,
            )
        except DomainError as exc:
            return page(
                request,
                viewer,
                "reset_password.html",
                title=_("Choisir un nouveau mot de passe"),
                token=token,
                valid=True,
                errors=FormErrors.of(exc, viewer.lang),
                status_code=exc.status,
            )
        return redirect(
            request,
            viewer,
            "/connexion",
            _("Mot de passe changé. Connectez-vous avec le nouveau mot de passe."),
        )

    @get("/confirmer-adresse/{token:str}", summary="Confirm my address: the page (web)")
    async def confirm_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        token: FromPath[Token],
    ) -> Template:
        """A button, not an action: mail scanners that open links do not confirm anything."""
        _ = text.translator(viewer.lang)
        valid = await account_links.confirm_link_is_valid(db_session, token)
        return page(
            request,
            viewer,
            "confirm_email.html",
            title=_("Confirmer mon adresse e-mail"),
            token=token,
            valid=valid,
            status_code=200 if valid else 400,
        )

    @post("/confirmer-adresse/{token:str}", summary="Confirm my address (web form)")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        token: FromPath[Token],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        try:
            await account_links.confirm_email(db_session, token)
        except account_links.InvalidLink:
            return page(
                request,
                viewer,
                "confirm_email.html",
                title=_("Confirmer mon adresse e-mail"),
                token=token,
                valid=False,
                status_code=400,
            )
        target = "/mon-compte" if viewer.user else "/connexion"
        return redirect(request, viewer, target, _("Merci : votre adresse e-mail est confirmée."))

    # --- one-click unsubscribe (RFC 8058): no CSRF token, no sign-in ------------------------

    @get("/desabonnement/{token:str}", summary="Stop reminders: confirmation page (web)")
    async def unsubscribe_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Viewer],
        token: FromPath[Token],
    ) -> Template:
        """Opening the link changes nothing (mail scanners open links); the button does."""
        from tierslieu.errors import NotFound

        _ = text.translator(viewer.lang)
        if account_links.user_of_unsubscribe_token(viewer.settings, token) is None:
            raise NotFound()
        return page(
            request,
            viewer,
            "unsubscribe.html",
            title=_("Ne plus recevoir de rappels"),
            token=token,
            done=False,
        )

    @post("/desabonnement/{token:str}", status_code=200, summary="Stop reminders (one click)")
    async def unsubscribe(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        token: FromPath[Token],
    ) -> Template:
        """``List-Unsubscribe-Post: List-Unsubscribe=One-Click``: 200, idempotent; 404 for
        a token we did not sign. The body is not needed (mail clients send the field)."""
        _ = text.translator(viewer.lang)
        await account_links.unsubscribe(db_session, viewer.settings, token)
        return page(
            request,
            viewer,
            "unsubscribe.html",
            title=_("Rappels désactivés"),
            token=token,
            done=True,
        )


class ContactInvitationPages(Controller):
    """The link of a staff invitation (``behalf.invite``): signed in (or sent to sign in or
    register first), the person confirms, and the bookings staff made for them are theirs."""

    path = "/rattacher"
    include_in_schema = False
    dependencies = SIGNED_IN

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        viewer: SignedIn,
        token: str,
    ) -> Template:
        _ = text.translator(viewer.lang)
        structure = None
        try:
            contact = await behalf.invited_contact(db_session, viewer.settings, token, utcnow())
            structure = await db_session.get(Structure, contact.structure_id)
        except behalf.InvalidInvitation:
            pass
        await db_session.commit()
        return page(
            request,
            viewer,
            "link_contact.html",
            title=_("Retrouver mes réservations"),
            token=token,
            structure=structure,
            status_code=200 if structure else 400,
        )

    @get("/{token:str}", summary="Accept a structure's invitation: the page (web)")
    async def invitation_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        token: FromPath[Token],
    ) -> Template:
        """A button, not an action: opening the link changes nothing."""
        return await self._page(request, db_session, viewer, token)

    @post("/{token:str}", summary="Accept a structure's invitation (web form)")
    async def accept(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        token: FromPath[Token],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        try:
            await behalf.accept_invitation(db_session, viewer.settings, viewer.user, token)
        except behalf.InvalidInvitation:
            return await self._page(request, db_session, viewer, token)
        return redirect(
            request,
            viewer,
            "/mes-reservations",
            _("Les réservations faites pour vous sont maintenant dans votre compte."),
        )


class MyAccountLinkPages(Controller):
    path = "/mon-compte"
    include_in_schema = False
    dependencies = SIGNED_IN

    @post("/rappels", summary="Reminders on or off (web form)")
    async def reminders(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        on = await _switch(request, db_session, viewer, "reminders")
        message = (
            _("Vous recevrez un rappel la veille.")
            if on
            else _("Vous ne recevrez plus de rappels.")
        )
        return redirect(request, viewer, "/mon-compte#rappels", message)

    @post("/trouvable", summary="Findable by staff on or off (web form)")
    async def findable(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        on = await _switch(request, db_session, viewer, "findable_by_staff", box="findable")
        message = (
            _("L'équipe pourra vous retrouver pour réserver à votre nom.")
            if on
            else _("L'équipe ne pourra plus vous retrouver par votre adresse ou votre téléphone.")
        )
        return redirect(request, viewer, "/mon-compte#trouver", message)

    @post("/confirmation", summary="Send me a new confirmation link (web form)")
    async def resend_confirmation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Redirect:
        await account_links.resend_email_confirmation(db_session, viewer.settings, viewer.user)
        return redirect(
            request,
            viewer,
            "/mon-compte#adresse",
            i18n.notice("email-confirm-sent", viewer.lang),
        )


async def _switch(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: SignedIn,
    switch: str,
    *,
    box: str | None = None,
) -> bool:
    """A switch of « Mon compte » as its checkbox (``box``, default the switch's name) says."""
    form = await read_form(request)
    on = "1" in form.get(f"{box or switch}[]", [])
    await account_links.set_switches(db_session, viewer.user.id, **{switch: on})
    return on
