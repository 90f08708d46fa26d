"""The staff agenda of a structure: any week, every asset, bookings with their state, the
requests to decide and the closures; and the confirmation pages of destructive staff actions
(a GET page holding the POST form, so nothing is lost without JavaScript)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import labels
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES, MemberRole
from tierslieu.errors import InvalidInput, NotFound
from tierslieu.services import assets, availability, bookings, structures
from tierslieu.services.access import require_role, structure_by_slug, structure_for
from tierslieu.services.clock import utcnow
from tierslieu.templating import long_date, moment, time_of_day
from tierslieu.web import text
from tierslieu.web.pages import local_today, page, safe_next
from tierslieu.web.session import SIGNED_IN, SignedIn

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# States whose attendance can be noted or corrected once the slot has started.
ATTENDANCE_FIXABLE = {"confirmed", "attended", "no_show"}


def week_start(semaine: str | None, du: dt.date | None, today: dt.date) -> dt.date:
    """The Monday of ``semaine`` (ISO week, ``2027-W14``), of the week holding ``du``, or of
    this week; a malformed week is a 400 beside the field, never a 500."""
    if semaine:
        match = WEEK.match(semaine)
        if not match:
            raise InvalidInput("semaine", "invalid")
        try:
            return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        except ValueError:
            raise InvalidInput("semaine", "invalid") from None
    day = du or today
    return day - dt.timedelta(days=day.weekday())


def iso_week(monday: dt.date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def back_to(form: dict[str, Any], slug: str) -> str:
    """Where a staff action returns: the page it was sent from (the agenda or the dashboard,
    of this structure only), else the dashboard."""
    fallback = f"/structures/{slug}/tableau"
    target = safe_next(str(form.get("retour") or ""), fallback)
    return target if target.startswith(f"/structures/{slug}/") else fallback


class AgendaPages(Controller):
    path = "/structures/{slug:str}"
    include_in_schema = False
    dependencies = SIGNED_IN

    @get("/agenda", summary="Staff agenda of a structure, one week (web)")
    async def agenda(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        semaine: Annotated[str | None, QueryParameter(max_length=10)] = None,
        du: Annotated[dt.date | None, QueryParameter()] = None,
    ) -> Template:
        _ = text.translator(viewer.lang)
        structure = await structure_by_slug(db_session, slug)
        await require_role(db_session, viewer.user, structure.id, ASSET_MANAGING_ROLES)
        tz = ZoneInfo(structure.timezone)
        today = local_today(structure.timezone)
        monday = week_start(semaine, du, today)
        sunday = monday + dt.timedelta(days=6)
        views = await bookings.structure_bookings(
            db_session,
            viewer.user,
            slug,
            asset_id=None,
            first_day=monday,
            last_day=sunday,
            status=None,
            limit=2000,
            offset=0,
        )
        opened = [
            a
            for a in await assets.list_assets(
                db_session,
                structure=slug,
                kind=None,
                commune=None,
                wheelchair=None,
                limit=500,
                offset=0,
            )
            if a.kind != "canteen"
        ]
        span_start = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
        span_end = span_start + dt.timedelta(days=7)
        closures: list[tuple[Any, Any]] = []
        for asset in opened:
            _asset, items = await availability.list_closures(db_session, viewer.user, asset.id)
            closures += [
                (asset, c) for c in items if c.starts_at < span_end and c.ends_at > span_start
            ]
        days = []
        for offset in range(7):
            day = monday + dt.timedelta(days=offset)
            day_views = [v for v in views if v.booking.starts_at.astimezone(tz).date() == day]
            day_closures = [
                (a, c)
                for a, c in closures
                if c.starts_at.astimezone(tz).date() <= day
                and (c.ends_at - dt.timedelta(microseconds=1)).astimezone(tz).date() >= day
            ]
            days.append((day, day_views, day_closures))
        here = f"/structures/{slug}/agenda?semaine={iso_week(monday)}"
        return page(
            request,
            viewer,
            "agenda.html",
            title=_(
                "Agenda — {name} — semaine du {day}",
                name=structure.name,
                day=long_date(monday, viewer.lang),
            ),
            structure=structure,
            tz=structure.timezone,
            assets=opened,
            days=days,
            pending=[v for v in views if v.booking.status == "pending"],
            monday=monday,
            previous_week=iso_week(monday - dt.timedelta(days=7)),
            next_week=iso_week(monday + dt.timedelta(days=7)),
            this_week=iso_week(today - dt.timedelta(days=today.weekday())),
            now=utcnow(),
            today=today,
            here=here,
            fixable=ATTENDANCE_FIXABLE,
        )

    @get(
        "/reservations/{booking_id:uuid}/annuler",
        summary="Cancel a booking as staff: confirmation page (web)",
    )
    async def confirm_cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        booking_id: FromPath[uuid.UUID],
        retour: Annotated[str | None, QueryParameter(max_length=300)] = None,
    ) -> Template:
        _ = text.translator(viewer.lang)
        return await _booking_confirmation(
            request, db_session, viewer, slug, booking_id, retour,
            title=_("Annuler cette réservation ?"),
            action=f"/structures/{slug}/reservations/{booking_id}/annuler",
            confirm=_("Oui, annuler la réservation"),
        )  # fmt: skip

    @get(
        "/reservations/{booking_id:uuid}/refuser",
        summary="Decline a booking request: confirmation page with the reason (web)",
    )
    async def confirm_decline(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        booking_id: FromPath[uuid.UUID],
        retour: Annotated[str | None, QueryParameter(max_length=300)] = None,
    ) -> Template:
        _ = text.translator(viewer.lang)
        return await _booking_confirmation(
            request, db_session, viewer, slug, booking_id, retour,
            title=_("Refuser cette demande ?"),
            action=f"/structures/{slug}/reservations/{booking_id}/decision",
            confirm=_("Oui, refuser la demande"),
            hidden={"approve": "0"},
        )  # fmt: skip

    # --- confirmation pages of the opening hours and the team ------------------------------

    @get(
        "/ressources/{asset_id:uuid}/horaires/regles/{rule_id:uuid}/supprimer",
        summary="Delete an opening rule: confirmation page (web)",
    )
    async def confirm_delete_rule(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        rule_id: FromPath[uuid.UUID],
    ) -> Template:
        _ = text.translator(viewer.lang)
        asset = await assets.managed_asset(db_session, viewer.user, asset_id)
        if asset.structure.slug != slug:
            raise NotFound()
        rules = await availability.list_rules(db_session, viewer.user, asset_id)
        rule = next((r for r in rules if r.id == rule_id), None)
        if rule is None:
            raise NotFound()
        names = text.weekdays(viewer.lang)
        days = ", ".join(names[d - 1] for d in rule.weekdays)
        until = long_date(rule.valid_until, viewer.lang) if rule.valid_until else _("sans fin")
        back = f"/structures/{slug}/ressources/{asset_id}/horaires"
        return page(
            request,
            viewer,
            "confirm.html",
            title=_("Supprimer cette règle d'ouverture ?"),
            what=[
                asset.name,
                f"{days} : {time_of_day(rule.start_time, viewer.lang)} – "
                f"{time_of_day(rule.end_time, viewer.lang)}",
                _(
                    "du {first} au {last}",
                    first=long_date(rule.valid_from, viewer.lang),
                    last=until,
                ),
            ],
            warning=_(
                "Les créneaux de cette règle ne seront plus proposés ; les réservations déjà "
                "faites restent valables."
            ),
            action=f"{back}/regles/{rule_id}/supprimer",
            confirm=_("Oui, supprimer la règle"),
            back=back,
            hidden={},
        )

    @get(
        "/ressources/{asset_id:uuid}/horaires/fermetures/{closure_id:uuid}/supprimer",
        summary="Remove a closure: confirmation page (web)",
    )
    async def confirm_delete_closure(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        closure_id: FromPath[uuid.UUID],
    ) -> Template:
        _ = text.translator(viewer.lang)
        asset, closures = await availability.list_closures(db_session, viewer.user, asset_id)
        closure = next((c for c in closures if c.id == closure_id), None)
        if closure is None or asset.structure.slug != slug:
            raise NotFound()
        tz = asset.structure.timezone
        if closure.starts_on:
            when = long_date(closure.starts_on, viewer.lang)
            if closure.ends_on and closure.ends_on != closure.starts_on:
                when += " – " + long_date(closure.ends_on, viewer.lang)
        else:
            when = (
                moment(closure.starts_at, viewer.lang, tz)
                + " – "
                + moment(closure.ends_at, viewer.lang, tz)
            )
        back = f"/structures/{slug}/ressources/{asset_id}/horaires"
        return page(
            request,
            viewer,
            "confirm.html",
            title=_("Supprimer cette fermeture ?"),
            what=[asset.name, when] + ([closure.reason] if closure.reason else []),
            warning=_("Les créneaux de cette période seront de nouveau proposés à la réservation."),
            action=f"{back}/fermetures/{closure_id}/supprimer",
            confirm=_("Oui, supprimer la fermeture"),
            back=back,
            hidden={},
        )

    @get(
        "/equipe/membres/{user_id:uuid}/retirer",
        summary="Remove a member: confirmation page (web)",
    )
    async def confirm_remove_member(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        user_id: FromPath[uuid.UUID],
    ) -> Template:
        _ = text.translator(viewer.lang)
        structure = await structure_for(db_session, viewer.user, slug, (MemberRole.MANAGER,))
        members = await structures.list_members(db_session, viewer.user, slug)
        found = next(((m, p) for m, p in members if p.id == user_id), None)
        if found is None:
            raise NotFound()
        member, person = found
        back = f"/structures/{slug}/equipe"
        return page(
            request,
            viewer,
            "confirm.html",
            title=_("Retirer {name} de l'équipe ?", name=person.display_name),
            what=[
                structure.name,
                person.display_name,
                labels.label(viewer.lang, "role", member.role),
            ],
            warning=_("Cette personne n'aura plus accès aux pages de la structure."),
            action=f"{back}/membres/{user_id}/retirer",
            confirm=_("Oui, retirer de l'équipe"),
            back=back,
            hidden={},
        )


async def _booking_confirmation(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: SignedIn,
    slug: str,
    booking_id: uuid.UUID,
    retour: str | None,
    *,
    title: str,
    action: str,
    confirm: str,
    hidden: dict[str, str] | None = None,
) -> Template:
    """The page that asks before staff cancel or decline someone's booking, with the
    reason the person is told."""
    _ = text.translator(viewer.lang)
    view = await bookings.visible_booking(db_session, viewer.user, booking_id)
    if view.structure.slug != slug:
        raise NotFound()
    await require_role(db_session, viewer.user, view.structure.id, ASSET_MANAGING_ROLES)
    back = back_to({"retour": retour}, slug)
    return page(
        request,
        viewer,
        "confirm.html",
        title=title,
        what=[
            view.asset.name,
            view.person_name or "—",
            moment(view.booking.starts_at, viewer.lang, view.structure.timezone),
            _.ngettext("{n} personne", "{n} personnes", view.booking.party_size),
        ],
        warning=_(
            "La personne est prévenue par e-mail ; si elle n'a qu'un téléphone, elle "
            "apparaît dans « À prévenir par téléphone » du tableau de bord."
        ),
        action=action,
        confirm=confirm,
        back=back,
        hidden={"retour": back, **(hidden or {})},
        reason_label=_("Motif, dit à la personne"),
    )
