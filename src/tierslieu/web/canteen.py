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

from tierslieu.api.canteen_schemas import MealServiceIn, OrderIn, VoucherIn
from tierslieu.api.idempotency import ShownOnce
from tierslieu.domain.canteen import Allergen, Diet, PlaceOrder, ordering_open
from tierslieu.domain.horizon import check_date
from tierslieu.errors import DomainError, Forbidden, InvalidInput, NotFound, Unauthenticated
from tierslieu.services import (
    assets,
    canteen,
    canteen_orders,
    canteen_pool,
    canteen_sheet,
    idempotency,
)
from tierslieu.services.access import has_role, structure_by_slug
from tierslieu.services.canteen import KITCHEN_ROLES, SOCIAL_ROLES
from tierslieu.services.canteen_errors import VoucherCodeShownOnce
from tierslieu.services.clock import utcnow
from tierslieu.templating import clock
from tierslieu.web import forms, text
from tierslieu.web.pages import (
    FormErrors,
    local_today,
    login_redirect,
    page,
    read_form,
    redirect,
    refusal_redirect,
)
from tierslieu.web.session import Viewer

WEEK_DAYS = 7


def _left(delta: dt.timedelta, lang: str) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if lang == "en":
        parts = [f"{days} d"] if days else []
        return " ".join([*parts, f"{hours} h {mins:02d} min"])
    parts = [f"{days} j"] if days else []
    return " ".join([*parts, f"{hours} h {mins:02d}"])


async def _canteen(db_session: AsyncSession, viewer: Viewer, asset_id: uuid.UUID) -> Any:
    asset = await assets.get_asset(db_session, asset_id, viewer.user)
    if asset.kind != "canteen":
        raise NotFound()
    return asset


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
) -> Template:
    _ = text.translator(viewer.lang)
    asset = await _canteen(db_session, viewer, asset_id)
    tz = asset.structure.timezone
    today = local_today(tz)
    menus = await canteen.list_menus(
        db_session,
        viewer.user,
        asset_id=asset.id,
        date_from=today,
        date_to=today + dt.timedelta(days=WEEK_DAYS - 1),
        limit=50,
    )
    price = await canteen_pool.pool_price(db_session, asset.structure_id)
    now = utcnow()
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
        title=f"{asset.name} — {_('Menus de la semaine')}",
        asset=asset,
        structure=asset.structure,
        tz=tz,
        menus=shown,
        allergens=[a.value for a in Allergen],
        diets=[d.value for d in Diet],
        without=without,
        chosen_diets=diets,
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
    ) -> Template:
        without = [a for a in sans or [] if a in {x.value for x in Allergen}]
        diets = [d for d in regime or [] if d in {x.value for x in Diet}]
        return await _menus_page(
            request, db_session, viewer, asset_id, without=without, diets=diets
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
            data = _order_data(form, voucher, viewer.lang)
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
        what = ", ".join(f"{line.quantity} × {item.name}" for line, item in view.lines)
        when = f"{clock(view.window.starts_at, viewer.lang, tz)} – {clock(view.window.ends_at, viewer.lang, tz)}"
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

    @get("/mes-commandes/{order_id:uuid}", summary="Order confirmation (web)")
    async def confirmation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        order_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
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
        )

    @post("/mes-commandes/{order_id:uuid}/annuler", summary="Cancel my order (web)")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        order_id: FromPath[uuid.UUID],
    ) -> Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
        _ = text.translator(viewer.lang)
        try:
            await canteen_orders.cancel_order(db_session, viewer.user, order_id)
        except DomainError as exc:
            return refusal_redirect(request, viewer, "/mes-reservations", exc)
        return redirect(request, viewer, "/mes-reservations", _("Commande annulée."))


def _uuid(raw: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise InvalidInput(field, "required") from None


def _order_data(form: dict[str, Any], voucher: str, lang: str) -> PlaceOrder:
    lines = []
    if voucher:
        if form.get("item"):
            lines.append({"item_id": _uuid(form["item"], "item"), "quantity": 1})
    else:
        for key, raw in form.items():
            if (
                key.startswith("qty-")
                and not key.endswith("[]")
                and str(raw).strip() not in {"", "0"}
            ):
                try:
                    quantity = int(str(raw))
                except ValueError:
                    raise InvalidInput(key, "bad-format") from None
                if quantity < 0 or quantity > 20:
                    raise InvalidInput(key, "too-large", {"n": 20})
                lines.append(
                    {"item_id": _uuid(key.removeprefix("qty-"), key), "quantity": quantity}
                )
    if not lines:
        raise InvalidInput("lines", "required")
    if not form.get("pickup_window_id"):
        raise InvalidInput("pickup_window_id", "required")
    try:
        suspended = int(str(form.get("suspended_meals", "0") or "0"))
    except ValueError:
        raise InvalidInput("suspended_meals", "bad-format") from None
    if suspended < 0 or suspended > 10:
        raise InvalidInput("suspended_meals", "too-large", {"n": 10})
    data: dict[str, Any] = {
        "service_id": _uuid(form.get("service_id"), "service_id"),
        "lines": lines,
        "pickup_window_id": _uuid(form.get("pickup_window_id"), "pickup_window_id"),
        "suspended_meals": suspended,
        "note": str(form.get("note", "")),
    }
    if voucher:
        data["voucher_code"] = voucher
        name = str(form.get("guest_name", "")).strip()
        if not name:
            raise InvalidInput("guest_name", "required")
        data["guest_name"] = name
        data["suspended_meals"] = 0
    return forms.parse(OrderIn, data).command()  # the API's own schema: same lengths, no NUL


class KitchenPages(Controller):
    path = "/structures/{slug:str}/cantine/{asset_id:uuid}"
    include_in_schema = False

    @get("/", summary="Kitchen and counter of a canteen (web)")
    async def counter(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
        return await _counter_page(request, db_session, viewer, slug, asset_id)

    @get("/services/nouveau", summary="Meal-service editor (web)")
    async def new_service(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
        return await _service_editor(request, db_session, viewer, slug, asset_id)

    @post("/services/nouveau", summary="Publish a meal service (web)")
    async def create_service(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        try:
            structure = await structure_by_slug(db_session, slug)
            tariffs = await canteen.list_tariffs(db_session, slug)
            data = _service_data(form, [t.code for t in tariffs])
            asset = await _canteen(db_session, viewer, asset_id)
            if asset.structure_id != structure.id:
                raise NotFound()
            await canteen.create_meal_service(db_session, viewer.user, asset_id, data)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await _service_editor(
                request, db_session, viewer, slug, asset_id,
                errors=FormErrors.of(exc, viewer.lang, rename=SERVICE_FIELDS), form=form,
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
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        service_id: FromPath[uuid.UUID],
    ) -> Response[str] | Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
        sheet = await canteen_orders.kitchen_sheet(db_session, viewer.user, service_id)
        if sheet.menu.asset.id != asset_id or sheet.menu.structure.slug != slug:
            raise NotFound()
        html = canteen_sheet.sheet_html(canteen_sheet.sheet_data(sheet))
        return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})

    @post("/commandes/{order_id:uuid}", summary="Order status at the counter (web)")
    async def status(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        order_id: FromPath[uuid.UUID],
    ) -> Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        status = str(form.get("status", "")) or None
        paid = True if form.get("paid") == "1" else None
        back = f"/structures/{slug}/cantine/{asset_id}"
        try:
            if status not in {None, "ready", "collected", "no_show"}:
                raise InvalidInput("status", "invalid")
            await canteen_orders.set_kitchen_status(db_session, viewer.user, order_id, status, paid)
        except DomainError as exc:
            return refusal_redirect(request, viewer, back, exc)
        return redirect(request, viewer, back, _("Commande mise à jour."))

    @post("/bons", summary="Give a repas suspendu voucher (web)")
    async def give(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """The code is shown on the page that answers the POST, never in a cookie: it is
        not kept anywhere (only its hash), so it cannot be shown again. The form carries a
        one-time key: resubmitting it (a reload) gives no second voucher, only a message."""
        if viewer.user is None:
            return login_redirect(request, viewer)
        user = viewer.user
        form = await read_form(request)
        back = f"/structures/{slug}/cantine/{asset_id}#repas-suspendus"
        try:
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
        except DomainError as exc:
            return refusal_redirect(request, viewer, back, exc)
        return await _counter_page(request, db_session, viewer, slug, asset_id, shown, 201)

    @post("/bons/{voucher_id:uuid}/annuler", summary="Take back an unused voucher (web)")
    async def cancel_voucher(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        asset_id: FromPath[uuid.UUID],
        voucher_id: FromPath[uuid.UUID],
    ) -> Redirect:
        if viewer.user is None:
            return login_redirect(request, viewer)
        _ = text.translator(viewer.lang)
        back = f"/structures/{slug}/cantine/{asset_id}#repas-suspendus"
        try:
            await canteen_pool.cancel_voucher(db_session, viewer.user, slug, voucher_id)
        except DomainError as exc:
            return refusal_redirect(request, viewer, back, exc)
        return redirect(request, viewer, back, _("Bon annulé : le repas revient dans la réserve."))


async def _counter_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: Viewer,
    slug: str,
    asset_id: uuid.UUID,
    new_voucher: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    """The kitchen and counter page; ``new_voucher`` shows a code just created, this once."""
    if viewer.user is None:
        raise Unauthenticated()
    _ = text.translator(viewer.lang)
    structure = await structure_by_slug(db_session, slug)
    asset = await _canteen(db_session, viewer, asset_id)
    if asset.structure_id != structure.id:
        raise NotFound()
    is_team = await has_role(db_session, viewer.user, structure.id, KITCHEN_ROLES)
    if not is_team:
        raise Forbidden()
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
        title=f"{_('Cuisine et comptoir')} — {asset.name}",
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


def _form_time(form: dict[str, Any], name: str) -> dt.time:
    raw = str(form.get(name, "")).strip()
    if not raw:
        raise InvalidInput(name, "required")
    try:
        return dt.time.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(name, "bad-format") from None


def _form_int(form: dict[str, Any], name: str, low: int, high: int) -> int:
    raw = str(form.get(name, "")).strip()
    if not raw:
        raise InvalidInput(name, "required")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(name, "bad-format") from None
    if value < low:
        raise InvalidInput(name, "too-small", {"n": low})
    if value > high:
        raise InvalidInput(name, "too-large", {"n": high})
    return value


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


def _service_data(form: dict[str, Any], tariff_codes: list[str]) -> dict[str, Any]:
    """The editor's fields as ``create_meal_service`` data (wall-clock times, cents)."""
    raw_day = str(form.get("date", "")).strip()
    try:
        day = dt.date.fromisoformat(raw_day)
    except ValueError:
        raise InvalidInput("date", "required" if not raw_day else "bad-format") from None
    check_date(day, today=utcnow().date(), field="date")  # before any arithmetic on it
    cutoff = _form_time(form, "cutoff")
    first = _form_time(form, "first_pickup")
    last = _form_time(form, "last_pickup")
    minutes = _form_int(form, "window_minutes", 5, 240)
    capacity = _form_int(form, "window_capacity", 1, 10_000)
    windows = []
    start = dt.datetime.combine(day, first)
    end_of_service = dt.datetime.combine(day, last)
    if end_of_service <= start:
        raise InvalidInput("last_pickup", "invalid")
    while start < end_of_service and len(windows) < 48:
        end = min(start + dt.timedelta(minutes=minutes), end_of_service)
        windows.append({"starts_at": start, "ends_at": end, "capacity": capacity})
        start = end
    items = []
    allergens = {a.value for a in Allergen}
    diets = {d.value for d in Diet}
    for row in range(DISH_ROWS):
        name = str(form.get(f"dish{row}_name", "")).strip()
        if not name:
            continue
        kind = str(form.get(f"dish{row}_kind", "main"))
        prices = {}
        for code in tariff_codes:
            raw = str(form.get(f"dish{row}_price_{code}", "")).strip()
            if raw:
                prices[code] = _cents(raw, f"dish{row}_price_{code}")
        items.append(
            {
                "name": name,
                "kind": kind
                if kind in {"starter", "main", "dessert", "formula", "drink"}
                else "main",
                "description": str(form.get(f"dish{row}_description", "")).strip(),
                "portions": _form_int(form, f"dish{row}_portions", 0, 10_000),
                "allergens": [a for a in form.get(f"dish{row}_allergens[]", []) if a in allergens],
                "diets": [d for d in form.get(f"dish{row}_diets[]", []) if d in diets],
                "prices": prices,
            }
        )
    if not items:
        raise InvalidInput("dish0_name", "required")
    data = {
        "date": day,
        "order_cutoff": dt.datetime.combine(day, cutoff),
        "meal": "lunch",
        "note": str(form.get("note", "")).strip(),
        "pickup_windows": windows,
        "items": items,
    }
    forms.parse(MealServiceIn, data)  # the API's own schema: same lengths, no NUL
    return data


async def _service_editor(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    viewer: Viewer,
    slug: str,
    asset_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    assert viewer.user is not None
    _ = text.translator(viewer.lang)
    structure = await structure_by_slug(db_session, slug)
    asset = await _canteen(db_session, viewer, asset_id)
    if asset.structure_id != structure.id:
        raise NotFound()
    if not await has_role(db_session, viewer.user, structure.id, KITCHEN_ROLES):
        raise Forbidden()
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
        title=f"{_('Publier un menu')} — {asset.name}",
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
