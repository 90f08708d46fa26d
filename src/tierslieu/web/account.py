"""Register, sign in and out, « Mon compte » (change the password); « Mes réservations et
commandes » with cancel, .ics and feed links."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import i18n
from tierslieu.api.personal_data import DeleteAccountIn
from tierslieu.api.schemas import LoginIn, PasswordChangeIn, RegisterIn
from tierslieu.clients import client_of
from tierslieu.domain.bookings import CANCELLABLE_STATUSES, cancel_deadline, owner_may_cancel
from tierslieu.errors import DomainError, NotFound
from tierslieu.services import accounts, bookings, canteen_orders, feeds
from tierslieu.services.clock import utcnow
from tierslieu.templating import moment
from tierslieu.web import forms, text
from tierslieu.web.pages import (
    FormErrors,
    page,
    read_form,
    redirect,
    refusals_to,
    safe_next,
)
from tierslieu.web.session import (
    SESSION_COOKIE,
    SIGNED_IN,
    SignedIn,
    Viewer,
    cleared,
    session_cookie,
)

CANCELLABLE = {s.value for s in CANCELLABLE_STATUSES}


class AccountController(Controller):
    path = "/"
    include_in_schema = False

    @get("/connexion", summary="Sign-in page")
    async def login_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Viewer],
        next_: Annotated[str | None, QueryParameter(name="next", max_length=2000)] = None,
    ) -> Template:
        _ = text.translator(viewer.lang)
        return page(
            request, viewer, "login.html", title=_("Connexion"), next_url=safe_next(next_, "")
        )

    @post("/connexion", summary="Sign in (web form)")
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        next_url = safe_next(str(form.get("next", "")), "")
        try:
            credentials = forms.parse(LoginIn, _fields(form, "email", "password"))
            issued = await accounts.login(
                db_session,
                viewer.settings,
                email=credentials.email,
                password=credentials.password,
                client=client_of(request, viewer.settings),
            )
        except DomainError as exc:
            return page(
                request,
                viewer,
                "login.html",
                title=_("Connexion"),
                errors=FormErrors.of(exc, viewer.lang),
                form={"email": form.get("email", "")},
                next_url=next_url,
                status_code=exc.status,
            )
        user = await accounts.user_for_token(db_session, issued.token)
        if not next_url:  # staff start their day on their dashboard, others on their bookings
            mine = await accounts.memberships_of(db_session, user) if user else []
            next_url = f"/structures/{mine[0][1].slug}/tableau" if mine else "/mes-reservations"
        return redirect(
            request,
            viewer,
            next_url,
            _("Bienvenue, {name} !", name=first_name(user.display_name) if user else ""),
            cookies=[session_cookie(request, viewer.settings, issued.token)],
        )

    @post("/deconnexion", summary="Sign out (web form)")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        if viewer.token:
            await accounts.logout(db_session, viewer.token)
        return redirect(
            request,
            viewer,
            "/",
            _("Vous êtes déconnecté·e."),
            cookies=[cleared(request, viewer.settings, SESSION_COOKIE)],
        )

    @get("/inscription", summary="Registration page")
    async def register_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Viewer],
        next_: Annotated[str | None, QueryParameter(name="next", max_length=2000)] = None,
    ) -> Template:
        _ = text.translator(viewer.lang)
        return page(
            request,
            viewer,
            "register.html",
            title=_("Inscription"),
            form={"kind": "neighbour"},
            next_url=safe_next(next_, ""),
        )

    @post("/inscription", summary="Register (web form)")
    async def register(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
    ) -> Template | Redirect:
        """Same checks as the API. Whether or not the address already had an account, the
        answer is the same: to the sign-in page with the same message (nobody is revealed)."""
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        next_url = safe_next(str(form.get("next", "")), "/")
        try:
            data = forms.parse(  # as the API
                RegisterIn,
                {
                    **_fields(form, "email", "password", "display_name", "kind"),
                    "phone": str(form.get("phone", "")).strip(),
                },
            )
            await accounts.register(
                db_session,
                viewer.settings,
                email=data.email,
                password=data.password,
                display_name=data.display_name,
                kind=data.kind.value,
                phone=data.phone,
                locale=viewer.lang,
                client=client_of(request, viewer.settings),
            )
        except DomainError as exc:
            safe_form = {k: v for k, v in form.items() if k != "password"}
            return page(
                request,
                viewer,
                "register.html",
                title=_("Inscription"),
                errors=FormErrors.of(exc, viewer.lang),
                form=safe_form,
                next_url=next_url,
                status_code=exc.status,
            )
        login_url = "/connexion" + (f"?next={quote(next_url)}" if next_url != "/" else "")
        return redirect(
            request, viewer, login_url, i18n.notice("registration-accepted", viewer.lang)
        )

    # --- my account ---------------------------------------------------------------------

    @get("/mon-compte", summary="My account (web)", dependencies=SIGNED_IN)
    async def account_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Template:
        """Who I am, my roles, changing my password, my data, deleting my account."""
        return await _account_page(request, db_session, viewer)

    @post(
        "/mon-compte/mot-de-passe", summary="Change my password (web form)", dependencies=SIGNED_IN
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Template | Redirect:
        """Same rules as ``POST /api/me/password``: this session stays signed in, every
        other session and token of the person is signed out."""
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            change = forms.parse(
                PasswordChangeIn, _fields(form, "current_password", "new_password")
            )
            await accounts.change_password(
                db_session,
                viewer.settings,
                viewer.user,
                current_password=change.current_password,
                new_password=change.new_password,
                client=client_of(request, viewer.settings),
                current_token=viewer.token,
            )
        except DomainError as exc:
            return await _account_page(
                request,
                db_session,
                viewer,
                errors=FormErrors.of(exc, viewer.lang),
                status_code=exc.status,
            )
        return redirect(
            request,
            viewer,
            "/mon-compte",
            _("Mot de passe changé. Vos autres sessions ont été déconnectées."),
        )

    # --- my bookings and orders -------------------------------------------------------

    @get("/mes-reservations", summary="My bookings and orders (web)", dependencies=SIGNED_IN)
    async def mine(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Template:
        _ = text.translator(viewer.lang)
        now = utcnow()
        views = await bookings.my_bookings(
            db_session, viewer.user, upcoming_only=False, limit=500, offset=0
        )
        # A cancelled booking is not « à venir »: it gets its own list, without an agenda link.
        upcoming = [v for v in views if v.booking.ends_at > now and v.booking.status != "cancelled"]
        cancelled = [
            v for v in views if v.booking.ends_at > now and v.booking.status == "cancelled"
        ]
        past = [v for v in reversed(views) if v.booking.ends_at <= now]
        orders = await canteen_orders.my_orders(
            db_session, viewer.user, include_past=True, limit=200, offset=0
        )
        return page(
            request,
            viewer,
            "mine.html",
            title=_("Mes réservations et commandes"),
            upcoming=upcoming,
            cancelled=cancelled,
            past=past,
            orders=orders,
            may_cancel=lambda v: (
                v.booking.status in CANCELLABLE
                and owner_may_cancel(v.booking.starts_at, now, v.asset.cancel_until_minutes)
            ),
            cancel_limit=lambda v: cancel_deadline(
                v.booking.starts_at, v.asset.cancel_until_minutes
            ),
            has_feeds=True,
        )

    @get(
        "/mes-reservations/{booking_id:uuid}/annuler",
        summary="Cancel my booking: confirmation page (web)",
        dependencies=SIGNED_IN,
    )
    async def confirm_cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        booking_id: FromPath[uuid.UUID],
    ) -> Template:
        """Asks before cancelling (no JavaScript needed); only the person's own booking."""
        _ = text.translator(viewer.lang)
        view = await bookings.visible_booking(db_session, viewer.user, booking_id)
        if view.booking.user_id != viewer.user.id:
            raise NotFound()
        return page(
            request,
            viewer,
            "confirm.html",
            title=_("Annuler cette réservation ?"),
            what=[
                view.asset.name,
                moment(view.booking.starts_at, viewer.lang, view.structure.timezone),
                _.ngettext("{n} personne", "{n} personnes", view.booking.party_size),
            ],
            warning=_("La place est rendue aussitôt à d'autres personnes."),
            action=f"/mes-reservations/{booking_id}/annuler",
            confirm=_("Oui, annuler la réservation"),
            back="/mes-reservations",
            hidden={"back": "/mes-reservations"},
        )

    @post(
        "/mes-reservations/{booking_id:uuid}/annuler",
        summary="Cancel my booking (web)",
        dependencies=SIGNED_IN,
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        booking_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        back = safe_next(str(form.get("back", "")), "/mes-reservations")
        with refusals_to(back):
            await bookings.cancel_booking(db_session, viewer.user, booking_id)
        if form.get("leave"):
            return redirect(request, viewer, back, _("Vous avez quitté la liste d'attente."))
        return redirect(request, viewer, back, _("Réservation annulée."))

    @get(
        "/mes-reservations/{booking_id:uuid}/calendrier.ics",
        summary="One booking as .ics (web)",
        dependencies=SIGNED_IN,
    )
    async def booking_ics(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        booking_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        body = await feeds.booking_calendar(db_session, viewer.user, booking_id)
        return _ics(body, f"reservation-{booking_id}.ics")

    @get(
        "/mes-commandes/{order_id:uuid}/calendrier.ics",
        summary="One meal order as .ics (web)",
        dependencies=SIGNED_IN,
    )
    async def order_ics(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        order_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        body = await feeds.order_calendar(db_session, viewer.user, order_id)
        return _ics(body, f"repas-{order_id}.ics")

    @post(
        "/mes-reservations/abonnement",
        summary="New private feed link (web)",
        dependencies=SIGNED_IN,
    )
    async def rotate_feed(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        links = await feeds.rotate_person_token(db_session, viewer.user, viewer.settings)
        return redirect(
            request,
            viewer,
            "/mes-reservations",  # the links are in the message at the top (no #calendrier)
            _("Votre nouveau lien d'abonnement est prêt ; l'ancien ne fonctionne plus."),
            links={"https": links.https, "webcal": links.webcal},
        )


def _fields(form: dict[str, Any], *names: str) -> dict[str, Any]:
    """The named fields of a form, as the browser sent them (the schema reads them)."""
    return {name: form.get(name, "") for name in names}


def first_name(display_name: str) -> str:
    """« Sophie » of « Sophie Bernard », to greet a person (a title such as « Mme » keeps the name)."""
    words = display_name.split()
    if len(words) < 2 or words[0].endswith(".") or words[0].lower() in {"mme", "m", "mlle", "dr"}:
        return display_name.strip()
    return words[0]


def _ics(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


async def _account_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: SignedIn,
    **extra: Any,
) -> Template:
    memberships = await accounts.memberships_of(db_session, viewer.user)
    return page(
        request,
        viewer,
        "account.html",
        title=text.translator(viewer.lang)("Mon compte"),
        account=viewer.user,
        memberships=memberships,
        **extra,
    )


# --- « Mon compte »: my data and deleting my account (personal data, RGPD) ----------------------


class MyAccountPages(Controller):
    path = "/"
    include_in_schema = False
    dependencies = SIGNED_IN

    @get("/mon-compte/mes-donnees.json", summary="Download my data as JSON (web)")
    async def my_data(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Response[bytes]:
        import msgspec

        from tierslieu.api.personal_data import export_out
        from tierslieu.services import personal_data

        data = export_out(await personal_data.export_of(db_session, viewer.user))
        return Response(
            msgspec.json.encode(data),
            media_type="application/json",
            headers={
                "Content-Disposition": 'attachment; filename="mes-donnees-tierslieu.json"',
                "Cache-Control": "no-store",
            },
        )

    @get("/mon-compte/mes-reservations.ics", summary="Download all my bookings as .ics (web)")
    async def my_calendar(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Response[bytes]:
        from tierslieu.services import personal_data

        body = await personal_data.export_calendar(db_session, viewer.user)
        return _ics(body, "mes-reservations-tierslieu.ics")

    @get("/mon-compte/supprimer", summary="Delete my account: confirmation page (web)")
    async def delete_page(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[SignedIn]
    ) -> Template:
        _ = text.translator(viewer.lang)
        return page(request, viewer, "delete_account.html", title=_("Supprimer mon compte"))

    @post("/mon-compte/supprimer", summary="Delete my account (web form)")
    async def delete_account(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
    ) -> Template | Redirect:
        from tierslieu.services import personal_data

        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            await personal_data.delete_account(
                db_session,
                viewer.settings,
                viewer.user,
                password=forms.parse(DeleteAccountIn, _fields(form, "password")).password,
                client=client_of(request, viewer.settings),
            )
        except DomainError as exc:
            errors = FormErrors.of(exc, viewer.lang)
            if exc.code == "password-not-confirmed":
                errors.fields["password"] = errors.detail
            return page(
                request,
                viewer,
                "delete_account.html",
                title=_("Supprimer mon compte"),
                errors=errors,
                status_code=exc.status,
            )
        return redirect(
            request,
            viewer,
            "/",
            _("Votre compte est supprimé. Merci d'avoir utilisé tierslieu."),
            cookies=[cleared(request, viewer.settings, SESSION_COOKIE)],
        )
