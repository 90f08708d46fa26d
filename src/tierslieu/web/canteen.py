"""Canteen pages: the week's menus with filters, ordering (tariff, pickup window, repas
suspendu, voucher), the confirmation; the kitchen and counter page for the canteen team."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.bookings import WallClock
from tierslieu.api.canteen_schemas import KitchenStatusIn, MealServiceIn, OrderIn, VoucherIn
from tierslieu.api.idempotency import ShownOnce
from tierslieu.api.schemas import given
from tierslieu.domain.canteen import Allergen, Diet, PlaceOrder, ordering_open
from tierslieu.domain.horizon import check_date
from tierslieu.errors import DomainError, InvalidInput, NotFound
from tierslieu.models import Structure
from tierslieu.services import (
    assets,
    canteen,
    canteen_orders,
    canteen_pool,
    canteen_sheet,
    idempotency,
)
from tierslieu.services.access import has_role, require_role, structure_by_slug
from tierslieu.services.canteen import KITCHEN_ROLES, SOCIAL_ROLES
from tierslieu.services.canteen_errors import VoucherCodeShownOnce
from tierslieu.services.clock import utcnow
from tierslieu.templating import clock, long_date
from tierslieu.web import forms, text
from tierslieu.web.pages import (
    FormErrors,
    local_today,
    login_redirect,
    page,
    read_form,
    redirect,
    refusals_to,
)
from tierslieu.web.session import SIGNED_IN, SignedIn, Viewer

WEEK_DAYS = 7
# The public page offers the menus of the next two weeks, one day at a time.
MENU_DAYS = 14


def _left(delta: dt.timedelta, lang: str) -> str:
    """How long ordering stays open, in words: « 2 jours et 12 heures », « 40 minutes »."""
    _ = text.translator(lang)
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    day_text = _.ngettext("{n} jour", "{n} jours", days)
    hour_text = _.ngettext("{n} heure", "{n} heures", hours)
    minute_text = _.ngettext("{n} minute", "{n} minutes", mins)
    if days:  # beyond a day, minutes do not matter
        return _("{first} et {second}", first=day_text, second=hour_text) if hours else day_text
    if hours:
        return _("{first} et {second}", first=hour_text, second=minute_text) if mins else hour_text
    return minute_text


async def _canteen(db_session: AsyncSession, viewer: Viewer, asset_id: uuid.UUID) -> Any:
    asset = await assets.get_asset(db_session, asset_id, viewer.user)
    if asset.kind != "canteen":
        raise NotFound()
    return asset


async def _team_canteen(
    db_session: AsyncSession, viewer: SignedIn, slug: str, asset_id: uuid.UUID
) -> tuple[Structure, Any]:
    """The canteen ``asset_id`` of the structure ``slug`` (404), for its kitchen team (403)."""
    structure = await structure_by_slug(db_session, slug)
    asset = await _canteen(db_session, viewer, asset_id)
    if asset.structure_id != structure.id:
        raise NotFound()
    await require_role(db_session, viewer.user, structure.id, KITCHEN_ROLES)
    return structure, asset


async def _menus_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: Viewer,
    asset_id: uuid.UUID,
    *,
    without: list[str],
    diets: list[str],
    errors: FormErrors | None = None,
    error_service: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
    day: dt.date | None = None,
) -> Template:
    """One service day at a time (``day``, else the one a refused order was for, else the
    first day still open to orders), with a link to each day that has a menu."""
    _ = text.translator(viewer.lang)
    asset = await _canteen(db_session, viewer, asset_id)
    tz = asset.structure.timezone
    today = local_today(tz)
    every = await canteen.list_menus(
        db_session,
        viewer.user,
        asset_id=asset.id,
        date_from=today,
        date_to=today + dt.timedelta(days=MENU_DAYS - 1),
        limit=50,
    )
    now = utcnow()
    service_days = [m.service.service_date for m in every]
    chosen = day if day in service_days else None
    if chosen is None and error_service:
        chosen = next(
            (m.service.service_date for m in every if str(m.service.id) == error_service), None
        )
    if chosen is None:
        chosen = next(
            (m.service.service_date for m in every if ordering_open(now, m.service.order_cutoff)),
            service_days[0] if service_days else None,
        )
    menus = [m for m in every if m.service.service_date == chosen]
    price = await canteen_pool.pool_price(db_session, asset.structure_id)
    shown = []
    for menu in menus:
        items = [
            i
            for i in menu.items
            if not set(without) & set(i.allergens) and set(diets) <= set(i.diets)
        ]
        shown.append(
            {
                "menu": menu,
                "dishes": items,
                "open": ordering_open(now, menu.service.order_cutoff),
                "left": _left(menu.service.order_cutoff - now, viewer.lang),
            }
        )
    return page(
        request,
        viewer,
        "canteen.html",
        title=_("Menus de la semaine — {name}", name=asset.name),
        asset=asset,
        structure=asset.structure,
        tz=tz,
        menus=shown,
        allergens=[a.value for a in Allergen],
        diets=[d.value for d in Diet],
        without=without,
        chosen_diets=diets,
        service_days=service_days,
        chosen_day=chosen,
        suspended_price=price,
        errors=errors or FormErrors(),
        error_service=error_service,
        form=form or {},
        status_code=status,
    )


class CanteenPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/cantine/{asset_id:uuid}", summary="The week's menus of a canteen (web)")
    async def menus(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        asset_id: FromPath[uuid.UUID],
        sans: Annotated[list[str] | None, QueryParameter(max_items=14)] = None,
        regime: Annotated[list[str] | None, QueryParameter(max_items=6)] = None,
        jour: Annotated[dt.date | None, QueryParameter()] = None,
    ) -> Template:
        without = [a for a in sans or [] if a in {x.value for x in Allergen}]
        diets = [d for d in regime or [] if d in {x.value for x in Diet}]
        return await _menus_page(
            request, db_session, viewer, asset_id, without=without, diets=diets, day=jour
        )

    @post("/cantine/{asset_id:uuid}/commander", summary="Order a meal (web)")
    async def order(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        voucher = str(form.get("voucher_code", "")).strip()
        if viewer.user is None and not voucher:
            return login_redirect(request, viewer)
        service = str(form.get("service_id", ""))
        try:
            data = _order_data(form, voucher)
            view = await canteen_orders.place_order(db_session, viewer.user, data)
        except DomainError as exc:
            return await _menus_page(
                request, db_session, viewer, asset_id, without=[], diets=[],
                errors=FormErrors.of(exc, viewer.lang), error_service=service, form=form,
                status=exc.status,
            )  # fmt: skip
        if viewer.user is not None:
            return redirect(request, viewer, f"/mes-commandes/{view.order.id}")
        tz = view.structure.timezone
        what = ", ".join(
            _("{quantity} × {dish}", quantity=line.quantity, dish=item.name)
            for line, item in view.lines
        )
        when = _(
            "de {start} à {end}",
            start=clock(view.window.starts_at, viewer.lang, tz),
            end=clock(view.window.ends_at, viewer.lang, tz),
        )
        return redirect(
            request,
            viewer,
            f"/cantine/{asset_id}",
            _(
                "Commande enregistrée, référence {ref} : {what}, retrait {when}.",
                ref=canteen_orders.order_ref(view.order.id),
                what=what,
                when=when,
            ),
        )

    @get(
        "/mes-commandes/{order_id:uuid}", summary="Order confirmation (web)", dependencies=SIGNED_IN
    )
    async def confirmation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        order_id: FromPath[uuid.UUID],
    ) -> Template:
        _ = text.translator(viewer.lang)
        view = await canteen_orders.get_order(db_session, viewer.user, order_id)
        return page(
            request,
            viewer,
            "order.html",
            title=_("Commande enregistrée"),
            v=view,
            tz=view.structure.timezone,
            ref=canteen_orders.order_ref(view.order.id),
            # As « Mes réservations et commandes »: the person's own order, before the cutoff.
            may_cancel=view.order.user_id == viewer.user.id
            and view.order.status in ("placed", "confirmed")
            and view.service.order_cutoff > utcnow(),
        )

    @get(
        "/mes-commandes/{order_id:uuid}/annuler",
        summary="Cancel my order: confirmation page (web)",
        dependencies=SIGNED_IN,
    )
    async def confirm_cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        order_id: FromPath[uuid.UUID],
    ) -> Template:
        """Asks before cancelling (no JavaScript needed); only the person's own order."""
        _ = text.translator(viewer.lang)
        view = await canteen_orders.get_order(db_session, viewer.user, order_id)
        if view.order.user_id != viewer.user.id:
            raise NotFound()
        tz = view.structure.timezone
        return page(
            request,
            viewer,
            "confirm.html",
            title=_("Annuler cette commande ?"),
            what=[
                view.structure.name,
                _(
                    "Retrait le {day}, de {start} à {end}",
                    day=long_date(view.service.service_date, viewer.lang),
                    start=clock(view.window.starts_at, viewer.lang, tz),
                    end=clock(view.window.ends_at, viewer.lang, tz),
                ),
                *(f"{line.quantity} × {item.name}" for line, item in view.lines),
            ],
            action=f"/mes-commandes/{order_id}/annuler",
            confirm=_("Oui, annuler la commande"),
            back=f"/mes-commandes/{order_id}",
        )

    @post(
        "/mes-commandes/{order_id:uuid}/annuler",
        summary="Cancel my order (web)",
        dependencies=SIGNED_IN,
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        order_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        with refusals_to("/mes-reservations"):
            await canteen_orders.cancel_order(db_session, viewer.user, order_id)
        return redirect(request, viewer, "/mes-reservations", _("Commande annulée."))


def _order_data(form: dict[str, Any], voucher: str) -> PlaceOrder:
    """The order form (one ``qty-<dish>`` field a dish, or one dish with a voucher) read with
    the API's ``OrderIn``: the same quantity bounds, lengths and NUL refusal."""
    if voucher:
        lines = [{"item_id": form["item"], "quantity": 1}] if form.get("item") else []
    else:
        lines = [
            {"item_id": key.removeprefix("qty-"), "quantity": str(raw).strip()}
            for key, raw in form.items()
            if key.startswith("qty-")
            and not key.endswith("[]")
            and str(raw).strip() not in {"", "0"}
        ]
    if not lines:
        raise InvalidInput("lines", "required")
    values: dict[str, Any] = {
        "service_id": form.get("service_id", ""),
        "lines": lines,
        "pickup_window_id": form.get("pickup_window_id", ""),
        "suspended_meals": str(form.get("suspended_meals", "")).strip(),
        "note": form.get("note", ""),
    }
    if voucher:
        name = str(form.get("guest_name", "")).strip()
        if not name:
            raise InvalidInput("guest_name", "required")
        values.update(voucher_code=voucher, guest_name=name, suspended_meals="")
    return forms.parse(OrderIn, values).command()


class KitchenPages(Controller):
    path = "/structures/{slug:str}/cantine/{asset_id:uuid}"
    include_in_schema = False
    dependencies = SIGNED_IN

    @get("/", summary="Kitchen and counter of a canteen (web)")
    async def counter(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template:
        return await _counter_page(request, db_session, viewer, slug, asset_id)

    @get("/services/nouveau", summary="Meal-service editor (web)")
    async def new_service(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template:
        return await _service_editor(request, db_session, viewer, slug, asset_id)

    @post("/services/nouveau", summary="Publish a meal service (web)")
    async def create_service(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        rename = dict(SERVICE_FIELDS)
        try:
            structure = await structure_by_slug(db_session, slug)
            tariffs = await canteen.list_tariffs(db_session, slug)
            data = _service_data(form, [t.code for t in tariffs], rename)
            asset = await _canteen(db_session, viewer, asset_id)
            if asset.structure_id != structure.id:
                raise NotFound()
            await canteen.create_meal_service(db_session, viewer.user, asset_id, data)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await _service_editor(
                request, db_session, viewer, slug, asset_id,
                errors=FormErrors.of(exc, viewer.lang, rename=rename), form=form,
                status=exc.status,
            )  # fmt: skip
        return redirect(
            request, viewer, f"/structures/{slug}/cantine/{asset_id}", _("Menu publié.")
        )

    @get("/services/{service_id:uuid}/feuille", summary="Kitchen production sheet (web)")
    async def sheet(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        service_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        sheet = await canteen_orders.kitchen_sheet(db_session, viewer.user, service_id)
        if sheet.menu.asset.id != asset_id or sheet.menu.structure.slug != slug:
            raise NotFound()
        html = canteen_sheet.sheet_html(
            canteen_sheet.sheet_data(sheet, viewer.lang),
            viewer.lang,
            back=f"/structures/{slug}/cantine/{asset_id}",
        )
        return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})

    @post("/commandes/{order_id:uuid}", summary="Order status at the counter (web)")
    async def status(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        order_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        back = f"/structures/{slug}/cantine/{asset_id}"
        with refusals_to(back):
            data = forms.parse(  # a ticked « paid » box sends "1"; never « not paid » here
                KitchenStatusIn,
                {
                    "status": form.get("status", ""),
                    "paid": "true" if form.get("paid") == "1" else "",
                },
            )
            await canteen_orders.set_kitchen_status(
                db_session,
                viewer.user,
                order_id,
                given(data).get("status"),
                given(data).get("paid"),
            )
        return redirect(request, viewer, back, _("Commande mise à jour."))

    @post("/bons", summary="Give a repas suspendu voucher (web)")
    async def give(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template:
        """The code is shown on the page that answers the POST, never in a cookie: it is
        not kept anywhere (only its hash), so it cannot be shown again. The form carries a
        one-time key: resubmitting it (a reload) gives no second voucher, only a message."""
        user = viewer.user
        form = await read_form(request)
        # No #repas-suspendus: the message is at the top of the page (audit §5.3).
        back = f"/structures/{slug}/cantine/{asset_id}"
        with refusals_to(back):
            data = forms.parse(VoucherIn, {"label": str(form.get("label", "")).strip()})

            async def write() -> tuple[int, bytes]:
                voucher, code = await canteen_pool.give_voucher(
                    db_session, user, slug, data.label, commit=False
                )
                shown = {"id": str(voucher.id), "code_hint": voucher.code_hint}
                return 201, msgspec.json.encode({**shown, "label": voucher.label, "code": code})

            stored = await idempotency.run_once(
                db_session,
                user,
                "web-voucher:" + (str(form.get("once", "")) or secrets.token_urlsafe(18)),
                idempotency.fingerprint("POST", request.url.path, data.label.encode()),
                write,
                kept=VOUCHER_CODE_ONCE.blank,
            )
            shown = msgspec.json.decode(stored.body)
            if stored.replayed:
                raise VoucherCodeShownOnce(shown)
        return await _counter_page(request, db_session, viewer, slug, asset_id, shown, 201)

    @post("/bons/{voucher_id:uuid}/annuler", summary="Take back an unused voucher (web)")
    async def cancel_voucher(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        voucher_id: FromPath[uuid.UUID],
    ) -> Redirect:
        _ = text.translator(viewer.lang)
        # No #repas-suspendus: the message is at the top of the page (audit §5.3).
        back = f"/structures/{slug}/cantine/{asset_id}"
        with refusals_to(back):
            await canteen_pool.cancel_voucher(db_session, viewer.user, slug, voucher_id)
        return redirect(request, viewer, back, _("Bon annulé : le repas revient dans la réserve."))


async def _counter_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: SignedIn,
    slug: str,
    asset_id: uuid.UUID,
    new_voucher: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    """The kitchen and counter page; ``new_voucher`` shows a code just created, this once."""
    _ = text.translator(viewer.lang)
    structure, asset = await _team_canteen(db_session, viewer, slug, asset_id)
    is_social = await has_role(db_session, viewer.user, structure.id, SOCIAL_ROLES)
    today = local_today(structure.timezone)
    menus = await canteen.list_menus(
        db_session,
        viewer.user,
        asset_id=asset.id,
        date_from=today,
        date_to=today + dt.timedelta(days=WEEK_DAYS - 1),
        limit=50,
    )
    sheets = []
    for menu in menus:
        sheet = await canteen_orders.kitchen_sheet(db_session, viewer.user, menu.service.id)
        sheets.append((menu, sheet.views))
    ledger = vouchers = None
    if is_social:
        ledger = await canteen_pool.ledger(db_session, viewer.user, slug, 20, 0)
        vouchers = await canteen_pool.list_vouchers(db_session, viewer.user, slug)
    return page(
        request,
        viewer,
        "kitchen.html",
        title=_("Cuisine et comptoir — {name}", name=asset.name),
        asset=asset,
        structure=structure,
        tz=structure.timezone,
        sheets=sheets,
        ledger=ledger,
        vouchers=vouchers,
        order_ref=canteen_orders.order_ref,
        new_voucher=new_voucher,
        once=secrets.token_urlsafe(18),  # the voucher form's one-time key
        status_code=status_code,
    )


DISH_ROWS = 5
VOUCHER_CODE_ONCE = ShownOnce("code", VoucherCodeShownOnce)
SERVICE_FIELDS = {"date": "date", "order_cutoff": "cutoff", "pickup_windows[0]": "first_pickup"}


class _EditorForm(msgspec.Struct):
    """The editor's fields that are not the API's: the pickup windows are made from them."""

    date: dt.date
    cutoff: WallClock
    first_pickup: WallClock
    last_pickup: WallClock
    window_minutes: Annotated[int, msgspec.Meta(ge=5, le=240)]
    window_capacity: Annotated[int, msgspec.Meta(ge=1, le=10_000)]


def _cents(raw: str, name: str) -> int:
    """« 9,50 » or « 9.50 » euros as integer cents."""
    cleaned = raw.replace("€", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        euros, _sep, cents = cleaned.partition(".")
        if not euros.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
            raise ValueError(raw)
        return int(euros) * 100 + int((cents or "0").ljust(2, "0"))
    except ValueError:
        raise InvalidInput(name, "bad-format") from None


def _service_data(
    form: dict[str, Any], tariff_codes: list[str], rename: dict[str, str]
) -> dict[str, Any]:
    """The editor's fields read with the API's ``MealServiceIn`` (wall-clock times, cents).

    ``rename`` receives, for each dish sent, its schema path → the form's field names.
    """
    editor = forms.parse(_EditorForm, {k: form.get(k, "") for k in _EditorForm.__struct_fields__})
    day = editor.date
    check_date(day, today=utcnow().date(), field="date")  # before any arithmetic on it
    start = dt.datetime.combine(day, dt.time.fromisoformat(editor.first_pickup))
    end_of_service = dt.datetime.combine(day, dt.time.fromisoformat(editor.last_pickup))
    if end_of_service <= start:
        raise InvalidInput("last_pickup", "invalid")
    windows = []
    while start < end_of_service and len(windows) < 48:
        end = min(start + dt.timedelta(minutes=editor.window_minutes), end_of_service)
        windows.append({"starts_at": start, "ends_at": end, "capacity": editor.window_capacity})
        start = end
    items = []
    for row in range(DISH_ROWS):
        name = str(form.get(f"dish{row}_name", "")).strip()
        if not name:
            continue
        prices = {}
        for code in tariff_codes:
            raw = str(form.get(f"dish{row}_price_{code}", "")).strip()
            if raw:
                prices[code] = _cents(raw, f"dish{row}_price_{code}")
        for field in ("name", "kind", "description", "portions", "allergens", "diets"):
            rename[f"items[{len(items)}].{field}"] = f"dish{row}_{field}"
        items.append(
            {
                "name": name,
                "kind": form.get(f"dish{row}_kind", ""),
                "description": str(form.get(f"dish{row}_description", "")).strip(),
                "portions": str(form.get(f"dish{row}_portions", "")).strip(),
                "allergens": form.get(f"dish{row}_allergens[]", []),
                "diets": form.get(f"dish{row}_diets[]", []),
                "prices": prices,
            }
        )
    if not items:
        raise InvalidInput("dish0_name", "required")
    service = forms.parse(
        MealServiceIn,
        {
            "date": day,
            "order_cutoff": dt.datetime.combine(day, dt.time.fromisoformat(editor.cutoff)),
            "note": str(form.get("note", "")).strip(),
            "pickup_windows": windows,
            "items": items,
        },
    )
    return service.fields()


async def _service_editor(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: SignedIn,
    slug: str,
    asset_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    _ = text.translator(viewer.lang)
    structure, asset = await _team_canteen(db_session, viewer, slug, asset_id)
    tomorrow = local_today(structure.timezone) + dt.timedelta(days=1)
    defaults = {
        "date": tomorrow.isoformat(),
        "cutoff": "10:30",
        "first_pickup": "12:00",
        "last_pickup": "13:30",
        "window_minutes": "15",
        "window_capacity": "10",
    }
    return page(
        request,
        viewer,
        "service_editor.html",
        title=_("Publier un menu — {name}", name=asset.name),
        asset=asset,
        structure=structure,
        tariffs=await canteen.list_tariffs(db_session, slug),
        rows=range(DISH_ROWS),
        allergens=[a.value for a in Allergen],
        diets=[d.value for d in Diet],
        kinds=["main", "starter", "dessert", "formula", "drink"],
        errors=errors or FormErrors(),
        form=form or defaults,
        status_code=status,
    )


__all__ = ["CanteenPages", "KitchenPages"]
