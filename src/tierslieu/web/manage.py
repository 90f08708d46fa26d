"""Managers' page of a structure: its contact facts, its members (roles) and its canteen tariffs."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.canteen_schemas import TariffIn
from tierslieu.api.schemas import MemberIn, StructurePatch, given
from tierslieu.domain.vocabulary import MemberRole, PersonKind
from tierslieu.errors import DomainError, UnknownPerson
from tierslieu.services import canteen, structures
from tierslieu.services.access import structure_for
from tierslieu.web import forms, queries, text
from tierslieu.web.pages import (
    FormErrors,
    page,
    read_form,
    redirect,
    refusals_to,
)
from tierslieu.web.session import SIGNED_IN, SignedIn

# Shown on the structure's and its places' pages, for people who book by phone.
CONTACT_FIELDS = ("phone", "address", "postcode")


class ManagePages(Controller):
    path = "/structures/{slug:str}/equipe"
    include_in_schema = False
    dependencies = SIGNED_IN

    @get("/", summary="Members and tariffs of a structure (web, managers)")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Template:
        return await _manage_page(request, db_session, viewer, slug)

    @post("/coordonnees", summary="Phone and address of a structure (web, managers)")
    async def put_contact_facts(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        # Emptied fields are cleared (a number no longer answered), not left as they were.
        changes = {name: str(form.get(name, "")).strip() for name in CONTACT_FIELDS}
        try:
            forms.parse(StructurePatch, changes)  # the API's own rules for each filled field
            await structures.update_structure(db_session, viewer.user, slug, changes)
        except DomainError as exc:
            return await _manage_page(
                request, db_session, viewer, slug,
                contact_errors=FormErrors.of(exc, viewer.lang), contact_form=form,
                status=exc.status,
            )  # fmt: skip
        return redirect(
            request, viewer, f"/structures/{slug}/equipe", _("Coordonnées enregistrées.")
        )

    @post("/membres", summary="Give a person a role (web)")
    async def put_member(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            member = forms.parse(
                MemberIn, {"email": form.get("email", ""), "role": form.get("role", "")}
            )
            await structures.put_member(
                db_session, viewer.user, slug, email=member.email, role=member.role.value
            )
        except DomainError as exc:
            return await _manage_page(
                request, db_session, viewer, slug,
                member_errors=FormErrors.of(exc, viewer.lang), member_form=form,
                status=exc.status,
            )  # fmt: skip
        return redirect(request, viewer, f"/structures/{slug}/equipe", _("Équipe mise à jour."))

    @post("/membres/{user_id:uuid}/retirer", summary="Remove a member (web)")
    async def remove_member(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        user_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        back = f"/structures/{slug}/equipe"
        with refusals_to(back):
            await structures.remove_member(db_session, viewer.user, slug, user_id)
        return redirect(request, viewer, back, _("Équipe mise à jour."))

    @post("/tarifs", summary="Create or change a tariff (web)")
    async def put_tariff(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            code = str(form.get("code", "")).strip().lower()  # checked by the service
            tariff = forms.parse(  # the API's own schema: same lengths, no NUL
                TariffIn,
                {
                    "label": str(form.get("label", "")).strip(),
                    "description": str(form.get("description", "")).strip(),
                    "default_for": form.get("default_for[]", []),
                },
            )
            await canteen.put_tariff(db_session, viewer.user, slug, code, given(tariff))
        except DomainError as exc:
            return await _manage_page(
                request, db_session, viewer, slug,
                tariff_errors=FormErrors.of(exc, viewer.lang), tariff_form=form,
                status=exc.status,
            )  # fmt: skip
        return redirect(request, viewer, f"/structures/{slug}/equipe", _("Tarif enregistré."))

    @post("/tarifs-personnes", summary="Assign a person a tariff (web)")
    async def assign(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        email = str(form.get("email", ""))
        try:
            person_id = await queries.person_id_by_email(db_session, email)
            if person_id is None:
                raise UnknownPerson(
                    {"email": email.strip()}, extra={"errors": [{"field": "email"}]}
                )
            await canteen.assign_tariff(
                db_session, viewer.user, slug, person_id, str(form.get("code", ""))
            )
        except DomainError as exc:
            return await _manage_page(
                request, db_session, viewer, slug,
                assign_errors=FormErrors.of(exc, viewer.lang), assign_form=form,
                status=exc.status,
            )  # fmt: skip
        return redirect(request, viewer, f"/structures/{slug}/equipe", _("Tarif enregistré."))

    @post("/tarifs-personnes/{user_id:uuid}/retirer", summary="Back to the default tariff (web)")
    async def unassign(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        user_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        await canteen.unassign_tariff(db_session, viewer.user, slug, user_id)
        return redirect(request, viewer, f"/structures/{slug}/equipe", _("Tarif enregistré."))


async def _manage_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: SignedIn,
    slug: str,
    *,
    contact_errors: FormErrors | None = None,
    contact_form: dict[str, Any] | None = None,
    member_errors: FormErrors | None = None,
    member_form: dict[str, Any] | None = None,
    tariff_errors: FormErrors | None = None,
    tariff_form: dict[str, Any] | None = None,
    assign_errors: FormErrors | None = None,
    assign_form: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    _ = text.translator(viewer.lang)
    structure = await structure_for(db_session, viewer.user, slug, (MemberRole.MANAGER,))
    return page(
        request,
        viewer,
        "manage.html",
        title=_("Équipe et tarifs — {name}", name=structure.name),
        structure=structure,
        contact_errors=contact_errors or FormErrors(),
        contact_form=contact_form or {n: getattr(structure, n) for n in CONTACT_FIELDS},
        members=await structures.list_members(db_session, viewer.user, slug),
        tariffs=await canteen.list_tariffs(db_session, slug),
        roles=[r.value for r in MemberRole],
        kinds=[k.value for k in PersonKind],
        member_errors=member_errors or FormErrors(),
        member_form=member_form or {"role": "staff"},
        tariff_errors=tariff_errors or FormErrors(),
        tariff_form=tariff_form or {},
        assignments=await canteen.list_assignments(db_session, viewer.user, slug),
        assign_errors=assign_errors or FormErrors(),
        assign_form=assign_form or {},
        status_code=status,
    )
