"""Staff pages of a structure: today's and tomorrow's bookings, check-in and no-show,
the printable day sheet, opening rules and closures."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import OrderedDict
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.bookings import AttendanceIn, ClosureIn, ReasonIn, RuleIn
from tierslieu.api.schemas import Quotas, RulesIn, given
from tierslieu.calendar.errors import CalendarTooLarge
from tierslieu.calendar.parse import MAX_BYTES
from tierslieu.domain.bookings import ACTIVE_STATUSES, BookingStatus, NotOnTheList
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES
from tierslieu.errors import DomainError, NotFound
from tierslieu.services import assets, availability, bookings, feeds, phone_notices
from tierslieu.services.access import has_role, require_role, structure_by_slug
from tierslieu.services.clock import utcnow
from tierslieu.templating import render_day_sheet
from tierslieu.web import forms, text
from tierslieu.web.agenda import back_to
from tierslieu.web.pages import (
    FormErrors,
    local_today,
    page,
    read_form,
    redirect,
    refusals_to,
)
from tierslieu.web.session import SIGNED_IN, SignedIn

ACTIVE = {s.value for s in ACTIVE_STATUSES}
# The dashboard's day lists: who comes, and who waits for a place (with their rank).
SHOWN = ACTIVE | {BookingStatus.WAITLISTED.value}


class StaffController(Controller):
    path = "/structures/{slug:str}"
    include_in_schema = False
    dependencies = SIGNED_IN

    @get("/tableau", summary="Staff dashboard of a structure (web)")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Template:
        _ = text.translator(viewer.lang)
        structure = await structure_by_slug(db_session, slug)
        is_staff = await has_role(db_session, viewer.user, structure.id, ASSET_MANAGING_ROLES)
        role = viewer.role_in(structure)
        if role is None:
            await require_role(db_session, viewer.user, structure.id, ASSET_MANAGING_ROLES)
        today = local_today(structure.timezone)
        tomorrow = today + dt.timedelta(days=1)
        opened = await assets.list_assets(
            db_session,
            structure=slug,
            kind=None,
            commune=None,
            wheelchair=None,
            limit=500,
            offset=0,
        )
        days: list[tuple[str, dt.date, list[tuple[Any, list[Any]]]]] = []
        if is_staff:
            views = await bookings.structure_bookings(
                db_session,
                viewer.user,
                slug,
                asset_id=None,
                first_day=today,
                last_day=tomorrow,
                status=None,
                limit=2000,
                offset=0,
            )
            for heading, day in ((_("Aujourd'hui"), today), (_("Demain"), tomorrow)):
                per_asset: OrderedDict[Any, list[Any]] = OrderedDict((a.id, []) for a in opened)
                for v in views:
                    local_day = v.booking.starts_at.astimezone(ZoneInfo(structure.timezone)).date()
                    if local_day == day and v.booking.status in SHOWN:
                        per_asset.setdefault(v.asset.id, []).append(v)
                by_id = {a.id: a for a in opened}
                days.append(
                    (
                        heading,
                        day,
                        [(by_id[k], vs) for k, vs in per_asset.items() if k in by_id],
                    )
                )
        calls = (
            (
                await phone_notices.pending_notices(
                    db_session, viewer.user, slug, viewer.settings, viewer.lang
                )
            )[1]
            if is_staff
            else []
        )
        return page(
            request,
            viewer,
            "dashboard.html",
            title=_("Tableau de bord — {name}", name=structure.name),
            calls=calls,
            structure=structure,
            tz=structure.timezone,
            role=role,
            is_staff=is_staff,
            assets=[a for a in opened if a.kind != "canteen"],
            canteens=[a for a in opened if a.kind == "canteen"],
            days=days,
            today=today,
            tomorrow=tomorrow,
        )

    @post("/appels/{notice_id:uuid}/prevenu", summary="« Prévenu·e »: the call is made (web)")
    async def called(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        notice_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        back = f"/structures/{slug}/tableau#appels"
        with refusals_to(back):
            await phone_notices.mark_called(db_session, viewer.user, notice_id)
        return redirect(request, viewer, back, _("Appel noté."))

    @post("/reservations/{booking_id:uuid}/presence", summary="Check in or no-show (web)")
    async def attendance(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        booking_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        back = back_to(form, slug)
        with refusals_to(back):
            data = forms.parse(AttendanceIn, {"status": form.get("status", "")})
            await bookings.mark_attendance(db_session, viewer.user, booking_id, data.status)
        return redirect(request, viewer, back, _("Présence enregistrée."))

    @post("/reservations/{booking_id:uuid}/decision", summary="Approve or decline (web)")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        booking_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        back = back_to(form, slug)
        with refusals_to(back):
            reason = forms.parse(ReasonIn, {"reason": _reason(form)}).reason
            await bookings.decide_booking(
                db_session,
                viewer.user,
                booking_id,
                approve=form.get("approve") == "1",
                reason=reason,
            )
        return redirect(request, viewer, back, _("Décision enregistrée."))

    @post("/reservations/{booking_id:uuid}/annuler", summary="Cancel a booking as staff (web)")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        booking_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        back = back_to(form, slug)
        with refusals_to(back):
            reason = forms.parse(ReasonIn, {"reason": _reason(form)}).reason
            await bookings.cancel_booking(db_session, viewer.user, booking_id, reason=reason)
        return redirect(request, viewer, back, _("Réservation annulée."))

    @post(
        "/reservations/{booking_id:uuid}/promouvoir",
        summary="Confirm a waiting-list entry out of order (web)",
    )
    async def promote(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        booking_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        back = back_to(await read_form(request), slug)
        with refusals_to(back):
            await bookings.promote_booking(db_session, viewer.user, booking_id)
        return redirect(request, viewer, back, _("Réservation confirmée hors tour."))

    @post(
        "/reservations/{booking_id:uuid}/retirer",
        summary="Take an entry off a waiting list (web)",
    )
    async def remove_from_list(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        booking_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        back = back_to(await read_form(request), slug)
        with refusals_to(back):
            view = await bookings.visible_booking(db_session, viewer.user, booking_id)
            if not view.caller_is_staff or view.booking.status != BookingStatus.WAITLISTED.value:
                raise NotOnTheList()
            await bookings.cancel_booking(db_session, viewer.user, booking_id)
        return redirect(request, viewer, back, _("Retiré·e de la liste d'attente."))

    @get("/ressources/{asset_id:uuid}/feuille", summary="Printable day sheet (web, signed in)")
    async def day_sheet(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        date: Annotated[dt.date | None, QueryParameter()] = None,
    ) -> Response[str]:
        """The same A4 sheet as ``/api/assets/{id}/day-sheet``, with the sign-in cookie."""
        asset = await assets.get_asset(db_session, asset_id, viewer.user)
        structure = await structure_by_slug(db_session, slug)
        if asset.structure_id != structure.id:
            raise _not_found()
        day = date or local_today(structure.timezone)
        asset, blocks = await bookings.day_sheet(db_session, viewer.user, asset_id, day)
        html = render_day_sheet(
            asset, blocks, day, utcnow(), viewer.lang, back=f"/structures/{slug}/tableau"
        )
        return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})

    # --- opening rules and closures ------------------------------------------------------

    @get("/ressources/{asset_id:uuid}/horaires", summary="Opening rules and closures (web)")
    async def schedule(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template:
        return await _schedule_page(request, db_session, viewer, slug, asset_id)

    @post("/ressources/{asset_id:uuid}/horaires/regles", summary="Add an opening rule (web)")
    async def add_rule(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            fields = _rule_fields(form)
            await availability.add_rule(db_session, viewer.user, asset_id, fields)
        except DomainError as exc:
            return await _schedule_page(
                request, db_session, viewer, slug, asset_id,
                rule_errors=FormErrors.of(exc, viewer.lang), rule_form=form, status=exc.status,
            )  # fmt: skip
        return redirect(
            request,
            viewer,
            f"/structures/{slug}/ressources/{asset_id}/horaires",
            _("Règle ajoutée."),
        )

    @post(
        "/ressources/{asset_id:uuid}/horaires/conditions",
        summary="Booking conditions of an asset: notice, horizon, approval, reminder (web)",
    )
    async def put_conditions(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            values = {name: form.get(name, "") for name in CONDITION_FIELDS}
            # An unticked box is not sent: « no » must still be said.
            values.update({box: form.get(box) == "1" for box in CONDITION_BOXES})
            rules = forms.parse(RulesIn, values)
            limits = _quota_fields(form)
            await assets.update_asset(
                db_session,
                viewer.user,
                asset_id,
                {"rules": given(rules), "quotas": given(limits)},
            )
        except DomainError as exc:
            return await _schedule_page(
                request, db_session, viewer, slug, asset_id,
                conditions_errors=FormErrors.of(exc, viewer.lang), conditions_form=form,
                status=exc.status,
            )  # fmt: skip
        return redirect(
            request,
            viewer,
            f"/structures/{slug}/ressources/{asset_id}/horaires",
            _("Conditions de réservation enregistrées."),
        )

    @post(
        "/ressources/{asset_id:uuid}/horaires/regles/{rule_id:uuid}/supprimer",
        summary="Delete an opening rule (web)",
    )
    async def delete_rule(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        rule_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        _asset, affected = await availability.delete_rule(
            db_session, viewer.user, asset_id, rule_id
        )
        message = _("Règle supprimée.")
        if affected:
            message += " " + _.ngettext(
                "Attention : {n} réservation tombe hors des horaires d'ouverture.",
                "Attention : {n} réservations tombent hors des horaires d'ouverture.",
                len(affected),
            )
        return redirect(
            request, viewer, f"/structures/{slug}/ressources/{asset_id}/horaires", message
        )

    @post("/ressources/{asset_id:uuid}/horaires/fermetures", summary="Add a closure (web)")
    async def add_closure(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            starts_on = form.get("starts_on", "")
            closure = forms.parse(  # the API's own schema: same dates, lengths, no NUL
                ClosureIn,
                {
                    "reason": form.get("reason", ""),
                    "starts_on": starts_on,
                    "ends_on": form.get("ends_on", "") or starts_on,
                },
            )
            _asset, _closure, affected = await availability.add_closure(
                db_session,
                viewer.user,
                asset_id,
                starts_at=None,
                ends_at=None,
                starts_on=closure.starts_on,
                ends_on=closure.ends_on,
                reason=closure.reason,
            )
        except DomainError as exc:
            return await _schedule_page(
                request, db_session, viewer, slug, asset_id,
                closure_errors=FormErrors.of(exc, viewer.lang, CLOSURE_FIELDS), closure_form=form,
                status=exc.status,
            )  # fmt: skip
        message = _("Fermeture ajoutée.")
        if affected:
            message += " " + _.ngettext(
                "Attention : {n} réservation tombe hors des horaires d'ouverture.",
                "Attention : {n} réservations tombent hors des horaires d'ouverture.",
                len(affected),
            )
        return redirect(
            request, viewer, f"/structures/{slug}/ressources/{asset_id}/horaires", message
        )

    @post("/ressources/{asset_id:uuid}/horaires/import", summary="Import closures (.ics) (web)")
    async def import_closures(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """The same import as ``POST /api/assets/{id}/closures/import``, from a file field."""
        _ = text.translator(viewer.lang)
        back = f"/structures/{slug}/ressources/{asset_id}/horaires"
        form = await request.form()
        upload = form.get("file")
        data = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
        with refusals_to(back):
            if len(data) > MAX_BYTES:
                raise CalendarTooLarge({"limit_kb": MAX_BYTES // 1024})
            result = await feeds.import_asset_closures(db_session, viewer.user, asset_id, data)
        counts = ", ".join(
            (
                _.ngettext("{n} fermeture créée", "{n} fermetures créées", result.created),
                _.ngettext("{n} modifiée", "{n} modifiées", result.updated),
                _.ngettext("{n} inchangée", "{n} inchangées", result.unchanged),
            )
        )
        message = _("Import terminé : {counts}.", counts=counts)
        if result.bookings_affected:
            message += " " + _.ngettext(
                "Attention : {n} réservation tombe hors des horaires d'ouverture.",
                "Attention : {n} réservations tombent hors des horaires d'ouverture.",
                result.bookings_affected,
            )
        return redirect(request, viewer, back, message)

    @post("/calendrier-equipe", summary="New staff feed link of the structure (web)")
    async def rotate_staff_feed(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        links = await feeds.rotate_staff_token(db_session, viewer.user, slug, viewer.settings)
        return redirect(
            request,
            viewer,
            f"/structures/{slug}/tableau",
            _("Votre nouveau lien d'abonnement est prêt ; l'ancien ne fonctionne plus."),
            links={"https": links.https, "webcal": links.webcal},
        )

    @post(
        "/ressources/{asset_id:uuid}/horaires/fermetures/{closure_id:uuid}/supprimer",
        summary="Delete a closure (web)",
    )
    async def delete_closure(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        closure_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        await availability.delete_closure(db_session, viewer.user, asset_id, closure_id)
        return redirect(
            request,
            viewer,
            f"/structures/{slug}/ressources/{asset_id}/horaires",
            _("Fermeture supprimée."),
        )


def _not_found() -> DomainError:
    return NotFound()


# A closure's fields as the service names them → the form's (whole days only).
CLOSURE_FIELDS = {"starts_at": "starts_on", "ends_at": "ends_on"}
RULE_FIELDS = ("start_time", "end_time", "valid_from", "valid_until", "slot_minutes", "capacity")
CONDITION_BOXES = ("requires_approval", "waitlist")
QUOTA_FIELDS = ("bookings_per_week", "bookings_per_month", "hours_per_week", "upcoming")
CONDITION_FIELDS = (
    "min_notice_minutes",
    "max_advance_days",
    "cancel_until_minutes",
    "max_party_size",
    "reminder_hours",
    "waitlist_max_length",
)


def _quota_fields(form: dict[str, Any]) -> Quotas:
    """The limits of the conditions form (fields ``quota_…``), read with the API's schema."""
    try:
        return forms.parse(Quotas, {n: form.get(f"quota_{n}", "") for n in QUOTA_FIELDS})
    except DomainError as exc:
        for field in exc.fields:
            field.field = f"quota_{field.field}"
        raise


def _reason(form: dict[str, Any]) -> str:
    """The reason staff typed for the person (a browser sends CRLF line ends)."""
    return str(form.get("reason", "")).replace("\r\n", "\n").strip()


def _rule_fields(form: dict[str, Any]) -> dict[str, Any]:
    """The rule form read with the API's ``RuleIn``: the same bounds and formats."""
    values = {name: form.get(name, "") for name in RULE_FIELDS}
    return forms.parse(RuleIn, {**values, "weekdays": form.get("weekdays[]", [])}).fields()


async def _schedule_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: SignedIn,
    slug: str,
    asset_id: uuid.UUID,
    *,
    rule_errors: FormErrors | None = None,
    rule_form: dict[str, Any] | None = None,
    closure_errors: FormErrors | None = None,
    closure_form: dict[str, Any] | None = None,
    conditions_errors: FormErrors | None = None,
    conditions_form: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    _ = text.translator(viewer.lang)
    asset = await assets.managed_asset(db_session, viewer.user, asset_id)
    if asset.structure.slug != slug:
        raise _not_found()
    rules = await availability.list_rules(db_session, viewer.user, asset_id)
    _asset, closures = await availability.list_closures(db_session, viewer.user, asset_id)
    return page(
        request,
        viewer,
        "schedule.html",
        title=_("Horaires et fermetures — {name}", name=asset.name),
        asset=asset,
        structure=asset.structure,
        tz=asset.structure.timezone,
        rules=rules,
        closures=closures,
        weekdays=text.weekdays(viewer.lang),
        rule_errors=rule_errors or FormErrors(),
        rule_form=rule_form or {"valid_from": local_today(asset.structure.timezone).isoformat()},
        closure_errors=closure_errors or FormErrors(),
        closure_form=closure_form or {},
        conditions_errors=conditions_errors or FormErrors(),
        conditions_form=conditions_form
        or {
            **{name: getattr(asset, name) for name in CONDITION_FIELDS},
            **{box: "1" if getattr(asset, box) else "" for box in CONDITION_BOXES},
            **{f"quota_{n}": getattr(asset, f"quota_{n}") for n in QUOTA_FIELDS},
        },
        status_code=status,
    )
