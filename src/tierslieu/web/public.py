"""Public pages: the territory directory, an asset with its slots and booking form, the language."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import i18n
from tierslieu.api.bookings import BookingIn, WallClock
from tierslieu.domain.bookings import (
    TOO_FAR,
    TOO_SOON,
    OutsideBookingWindow,
    opens_for_booking,
    window_refusal,
)
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES, AssetKind, BookingMode
from tierslieu.errors import DomainError, InvalidInput
from tierslieu.models import Asset
from tierslieu.services import assets, availability, bookings, contacts, directory, feeds
from tierslieu.services.access import has_role
from tierslieu.services.clock import utcnow
from tierslieu.templating import moment
from tierslieu.web import forms, queries, text
from tierslieu.web.pages import (
    FormErrors,
    local_today,
    page,
    read_form,
    redirect,
    safe_next,
)
from tierslieu.web.session import LANG_COOKIE, SIGNED_IN, SignedIn, Viewer, cookie

HORIZON_DAYS = 14


def search_directory(found: list[Asset], query: str, lang: str) -> list[Asset]:
    """Assets whose name, structure, commune or kind (in either language) hold every word."""
    label = text.label_for(lang)
    words = query.casefold().split()

    def haystack(asset: Asset) -> str:
        s = asset.structure
        kinds = [text.LABELS["asset_kind"].get(asset.kind, (asset.kind,)), [asset.kind]]
        return " ".join(
            [asset.name, s.name, s.commune, s.postcode, label("structure_kind", s.kind)]
            + [k for pair in kinds for k in pair]
        ).casefold()

    return [a for a in found if all(w in haystack(a) for w in words)]


def osm_link(structure: Any) -> str:
    """The place on OpenStreetMap (a plain link: no map, script or tile loads here)."""
    if structure.latitude is not None and structure.longitude is not None:
        lat, lon = structure.latitude, structure.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"
    where = ", ".join(p for p in (structure.address, structure.postcode, structure.commune) if p)
    return "https://www.openstreetmap.org/search?query=" + quote(where)


class PublicController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", summary="Territory directory (web page)")
    async def directory(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        commune: Annotated[str | None, QueryParameter(max_length=120)] = None,
        kind: Annotated[str | None, QueryParameter(max_length=20)] = None,
        wheelchair: Annotated[str | None, QueryParameter(max_length=5)] = None,
        q: Annotated[str | None, QueryParameter(max_length=120)] = None,
    ) -> Template:
        _ = text.translator(viewer.lang)
        kind = kind if kind in {k.value for k in AssetKind} else None
        found = await assets.list_assets(
            db_session,
            structure=None,
            kind=kind,
            commune=commune or None,
            wheelchair=True if wheelchair else None,
            limit=500,
            offset=0,
        )
        if q and q.strip():
            found = search_directory(found, q, viewer.lang)
        grouped: OrderedDict[Any, list[Asset]] = OrderedDict()
        for asset in found:
            grouped.setdefault(asset.structure.id, []).append(asset)
        return page(
            request,
            viewer,
            "directory.html",
            title=_("Annuaire des ressources"),
            groups=[(items[0].structure, items) for items in grouped.values()],
            count=len(found),
            communes=await queries.communes(db_session),
            kinds=[k.value for k in AssetKind],
            chosen={
                "commune": commune or "",
                "kind": kind or "",
                "wheelchair": bool(wheelchair),
                "q": (q or "").strip(),
            },
            osm_link=osm_link,
            licence=(directory.LICENCE, directory.LICENCE_URL),
        )

    @get("/langue/{code:str}", summary="Choose the interface language (web)")
    async def language(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Viewer],
        code: FromPath[str],
        next_: Annotated[str | None, QueryParameter(name="next", max_length=2000)] = None,
    ) -> Redirect:
        lang = i18n.choose(code)
        jar = [cookie(request, viewer.settings, LANG_COOKIE, lang, 365 * 24 * 3600)]
        return Redirect(path=safe_next(next_), status_code=303, cookies=jar)

    @get("/ressources/{asset_id:uuid}", summary="An asset, its slots and booking form (web)")
    async def asset_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        asset_id: FromPath[uuid.UUID],
        slot: Annotated[str | None, QueryParameter(max_length=200)] = None,
        party_size: Annotated[str | None, QueryParameter(max_length=10)] = None,
        note: Annotated[str | None, QueryParameter(max_length=1000)] = None,
    ) -> Template | Redirect:
        """The asset, its slots and the booking form; ``slot``, ``party_size`` and ``note``
        pre-fill the form (the choice a person made before signing in comes back this way)."""
        kept = {"slot": slot, "party_size": party_size, "note": note}
        form = {k: v for k, v in kept.items() if v}
        return await render_asset(request, db_session, viewer, asset_id, form=form, kept=bool(form))

    @get(
        "/ressources/{asset_id:uuid}/se-connecter",
        summary="Sign in (or register) to book, keeping the slot chosen (web)",
    )
    async def sign_in_to_book(
        self,
        asset_id: FromPath[uuid.UUID],
        slot: Annotated[str | None, QueryParameter(max_length=200)] = None,
        party_size: Annotated[str | None, QueryParameter(max_length=10)] = None,
        note: Annotated[str | None, QueryParameter(max_length=1000)] = None,
        compte: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Redirect:
        """To the sign-in (or registration) page, whose ``next`` brings the person back to
        this asset's form with the same slot, party size and note, ready to confirm. The
        ``next`` is always this site's own asset path (built here, never taken as given)."""
        kept = {"slot": slot, "party_size": party_size, "note": note}
        query = urlencode({k: v.strip() for k, v in kept.items() if v and v.strip()})
        back = f"/ressources/{asset_id}" + (f"?{query}" if query else "") + "#reserver"
        target = "/inscription" if compte == "inscription" else "/connexion"
        return Redirect(path=f"{target}?{urlencode({'next': back})}", status_code=303)

    @post(
        "/ressources/{asset_id:uuid}/reserver",
        summary="Book from the asset page (web)",
        dependencies=SIGNED_IN,
    )
    async def book(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        if form.get("action") == "chercher":  # staff's person search: the form shown again
            return await render_asset(request, db_session, viewer, asset_id, form=form)
        asset = await assets.get_asset(db_session, asset_id, viewer.user)
        rename = FORM_FIELDS | _period_fields(asset)  # read now: a refusal expires the asset
        try:
            starts_at, ends_at = _requested_period(form, asset, viewer.lang)
            data = forms.parse(  # the API's own schema: same bounds, phone pattern, no NUL
                BookingIn,
                {
                    "asset_id": asset.id,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "party_size": str(form.get("party_size", "")).strip(),
                    "note": form.get("note", ""),
                    **_person_of_form(form),
                    "waitlist": bool(form.get("waitlist")),
                },
            )
            on_behalf = any((data.guest, data.contact_id, data.account))
            view = await bookings.create_booking(db_session, viewer.user, data.command())
        except _FormProblem as problem:
            return await render_asset(
                request, db_session, viewer, asset_id, errors=problem.errors, form=form
            )
        except DomainError as exc:
            errors = FormErrors.of(exc, viewer.lang, rename)
            return await render_asset(
                request, db_session, viewer, asset_id, errors=errors, form=form, status=exc.status
            )
        b = view.booking
        what = _.ngettext(
            "{asset}, {when}, {n} personne",
            "{asset}, {when}, {n} personnes",
            b.party_size,
            asset=asset.name,
            when=moment(b.starts_at, viewer.lang, asset.structure.timezone),
        )
        if on_behalf and view.person_name:
            what = _("{name} — {what}", name=view.person_name, what=what)
        if b.status == "waitlisted":
            message = _(
                "Inscription sur la liste d'attente, au rang {n} : {what}.",
                n=b.waitlist_position,
                what=what,
            )
        elif b.status == "pending":
            message = _("Demande envoyée, en attente de validation : {what}.", what=what)
        else:
            message = _("Réservation confirmée : {what}.", what=what)
        target = f"/structures/{asset.structure.slug}/tableau" if on_behalf else "/mes-reservations"
        return redirect(request, viewer, target, message)


# Booking schema fields (as the API names them) → form fields.
FORM_FIELDS = {
    "guest.name": "guest_name",
    "guest.phone": "guest_phone",
    "guest.email": "guest_email",
    "guest": "guest_name",
    "contact_id": "person_q",
    "account.email": "account_ref",
    "account.phone": "account_ref",
}


def _person_of_form(form: dict[str, Any]) -> dict[str, Any]:
    """The staff's choice in the person picker, as the API's fields: a contact found by
    the search (``person=contact:<id>``), an account (``person=account``: its e-mail or
    phone in ``account_ref``), or a new person (a name, a phone, an e-mail)."""
    choice = str(form.get("person", "")).strip()
    if choice.startswith("contact:"):
        return {"contact_id": choice.removeprefix("contact:")}
    ref = str(form.get("account_ref", "")).strip()
    if choice == "account" or (not choice and ref):
        return {"account": {"email": ref} if "@" in ref else {"phone": ref}} if ref else {}
    name = str(form.get("guest_name", "")).strip()
    if not name:
        return {}
    guest = {"name": name}
    for detail in ("phone", "email"):
        value = str(form.get(f"guest_{detail}", "")).strip()
        if value:
            guest[detail] = value
    return {"guest": guest}


class _FormProblem(Exception):
    def __init__(self, errors: FormErrors) -> None:
        super().__init__("form")
        self.errors = errors


def _period_fields(asset: Asset) -> dict[str, str]:
    """Where a refused start or end is shown: the slot list, or the typed start and end."""
    if asset.booking_mode == BookingMode.SHARED:
        return {"starts_at": "slot", "ends_at": "slot"}
    return {"starts_at": "start", "ends_at": "end"}


class _Period(msgspec.Struct, forbid_unknown_fields=True):
    """The interval typed for an exclusive asset: one day, two wall-clock times."""

    day: dt.date
    start: WallClock  # HH:MM, as the API's opening rules
    end: WallClock


def _requested_period(
    form: dict[str, Any], asset: Asset, lang: str
) -> tuple[dt.datetime | str, dt.datetime | str]:
    """The slot chosen (shared, two ISO moments) or the interval typed (exclusive: wall-clock
    times, read by the service in the structure's zone, which refuses one in the spring gap)."""
    _ = text.translator(lang)
    if asset.booking_mode == BookingMode.SHARED:
        start, _sep, end = str(form.get("slot", "")).partition("/")
        if not start or not end:
            raise _FormProblem(FormErrors.single(lang, "slot", _("Choisissez un créneau.")))
        return start, end  # two ISO moments, read by BookingIn as the API reads them
    try:
        period = forms.parse(_Period, {k: form.get(k, "") for k in ("day", "start", "end")})
    except InvalidInput as exc:
        name = exc.fields[0].field if exc.fields else "day"
        message = _("Date attendue.") if name == "day" else _("Heure attendue (HH:MM).")
        raise _FormProblem(FormErrors.single(lang, name, message)) from None
    return (
        dt.datetime.combine(period.day, dt.time.fromisoformat(period.start)),
        dt.datetime.combine(period.day, dt.time.fromisoformat(period.end)),
    )


async def render_asset(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: Viewer,
    asset_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
    kept: bool = False,
) -> Template:
    asset = await assets.get_asset(db_session, asset_id, viewer.user)
    structure = asset.structure
    tz = structure.timezone
    first = local_today(tz)
    last = first + dt.timedelta(days=HORIZON_DAYS - 1)
    _asset, free = await availability.free_slots(db_session, asset.id, first, last)
    is_staff = await has_role(db_session, viewer.user, structure.id, ASSET_MANAGING_ROLES)
    people: list[Any] | None = None
    if is_staff and form and "person_q" in form:
        _structure, people = await contacts.search(
            db_session, viewer.user, structure.slug, str(form.get("person_q", "")), limit=10
        )
    offered = _offered(free, asset, viewer.lang, now=utcnow(), is_staff=is_staff)
    days: OrderedDict[dt.date, list[OfferedSlot]] = OrderedDict()
    for slot in offered:
        days.setdefault(slot.starts_at.astimezone(ZoneInfo(tz)).date(), []).append(slot)
    form = form or {}
    chosen = str(form.get("slot", ""))
    # A slot kept through sign-in may have filled up or closed meanwhile: say so.
    kept_slot_gone = bool(
        kept
        and chosen
        and asset.booking_mode == BookingMode.SHARED
        and not any(s.value == chosen and s.bookable for s in offered)
    )
    return page(
        request,
        viewer,
        "asset.html",
        title=asset.name,
        asset=asset,
        feed=feeds.asset_feed_links(viewer.settings, asset.id),
        structure=structure,
        tz=tz,
        days=list(days.items()),
        shared=asset.booking_mode == BookingMode.SHARED,
        is_staff=is_staff,
        people=people,
        errors=errors or FormErrors(),
        form=form,
        kept=kept and bool(viewer.user),
        kept_slot_gone=kept_slot_gone,
        window=OutsideBookingWindow.describe(
            text.translator(viewer.lang),
            {
                "min_notice_minutes": asset.min_notice_minutes,
                "max_advance_days": asset.max_advance_days,
            },
        ),
        status_code=status,
    )


@dataclass(frozen=True, slots=True)
class OfferedSlot:
    """A slot (or free interval) as the asset page offers it: ``closed`` says, in the
    viewer's words, why it cannot be booked online now (None: it can)."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None
    remaining: int | None
    closed: str | None = None

    @property
    def value(self) -> str:
        return f"{self.starts_at.isoformat()}/{self.ends_at.isoformat()}"

    @property
    def bookable(self) -> bool:
        return self.closed is None and self.remaining != 0


def _offered(
    free: list[Any], asset: Asset, lang: str, *, now: dt.datetime, is_staff: bool
) -> list[OfferedSlot]:
    """The booking window applied to the free slots, as ``check_window`` will judge them.

    Shared slots outside the window stay listed, unselectable, with the reason (a person sees
    why 10 h is not offered, and when it opens). Free intervals of an exclusive asset start no
    earlier than the notice allows and no later than the advance limit. Staff are not held to
    the window, so they are offered everything."""
    _ = text.translator(lang)
    tz = asset.structure.timezone
    offered: list[OfferedSlot] = []
    for slot in free:
        starts_at = slot.starts_at
        reason = None
        if not is_staff:
            reason = window_refusal(
                starts_at,
                now,
                min_notice_minutes=asset.min_notice_minutes,
                max_advance_days=asset.max_advance_days,
            )
        if asset.booking_mode != BookingMode.SHARED:
            if reason == TOO_SOON:
                starts_at = now + dt.timedelta(minutes=asset.min_notice_minutes)
                if starts_at >= slot.ends_at:
                    continue
            elif reason == TOO_FAR:
                continue
            offered.append(OfferedSlot(starts_at, slot.ends_at, slot.capacity, slot.remaining))
            continue
        closed = None
        if reason == TOO_SOON:
            closed = _("trop tard pour réserver en ligne")
        elif reason == TOO_FAR:
            opens = opens_for_booking(starts_at, asset.max_advance_days)
            closed = _("réservable à partir du {when}", when=moment(opens, lang, tz))
        offered.append(OfferedSlot(starts_at, slot.ends_at, slot.capacity, slot.remaining, closed))
    return offered
