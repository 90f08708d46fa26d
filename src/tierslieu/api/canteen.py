"""Canteen: tariffs, meal services and menus, orders, kitchen sheet, repas suspendus."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import labels
from tierslieu.api.canteen_schemas import (
    ItemIn,
    ItemOut,
    ItemPatch,
    KitchenStatusIn,
    Labelled,
    LedgerLineOut,
    LedgerOut,
    MealServiceIn,
    MealServiceOut,
    MealServicePatch,
    OrderIn,
    OrderLineOut,
    OrderOut,
    PickupRef,
    PickupWindowOut,
    PoolPriceIn,
    TariffAssignmentIn,
    TariffAssignmentOut,
    TariffIn,
    TariffOut,
    TariffRef,
    VoucherIn,
    VoucherOut,
    WithdrawalOut,
)
from tierslieu.api.deps import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    bearer_token_of,
    provide_caller,
    request_session,
)
from tierslieu.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from tierslieu.api.idempotency import ShownOnce, respond_once
from tierslieu.api.schemas import given
from tierslieu.domain import canteen as rules
from tierslieu.domain import localtime
from tierslieu.models import SuspendedMealVoucher, Tariff, User
from tierslieu.services import (
    canteen,
    canteen_early,
    canteen_orders,
    canteen_pool,
    canteen_sheet,
)
from tierslieu.services.canteen_errors import VoucherCodeShownOnce
from tierslieu.services.canteen_orders import OrderView, order_ref
from tierslieu.services.clock import utcnow

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


def tariff_out(t: Tariff) -> TariffOut:
    return TariffOut(
        code=t.code, label=t.label, description=t.description, default_for=list(t.default_for)
    )


def menu_out(
    menu: canteen.Menu, suspended_meal_cents: int | None = None, lang: str = "fr"
) -> MealServiceOut:
    """The menu, its labels (dish kind, allergens, diets) in the caller's language."""
    tz = menu.structure.timezone
    tariff = menu.tariff
    return MealServiceOut(
        id=menu.service.id,
        asset_id=menu.asset.id,
        asset_name=menu.asset.name,
        structure_slug=menu.structure.slug,
        structure_name=menu.structure.name,
        timezone=tz,
        date=menu.service.service_date,
        meal=menu.service.meal,
        order_cutoff=localtime.to_local(menu.service.order_cutoff, tz),
        ordering_open=rules.ordering_open(utcnow(), menu.service.order_cutoff),
        note=menu.service.note,
        items=[
            ItemOut(
                id=i.id,
                name=i.name,
                kind=i.kind,
                kind_label=labels.label(lang, "dish_kind", i.kind),
                description=i.description,
                portions=i.portions,
                remaining=i.remaining,
                sold_out=i.remaining <= 0,
                allergens=[
                    Labelled(code=a, label=labels.label(lang, "allergen", a)) for a in i.allergens
                ],
                diets=[
                    Labelled(code=d, label=labels.capitalized(labels.label(lang, "diet", d)))
                    for d in i.diets
                ],
                prices=dict(i.prices),
                my_price_cents=i.prices.get(tariff.code) if tariff else None,
            )
            for i in menu.items
        ],
        pickup_windows=[
            PickupWindowOut(
                id=w.id,
                starts_at=localtime.to_local(w.starts_at, tz),
                ends_at=localtime.to_local(w.ends_at, tz),
                capacity=w.capacity,
                remaining=w.remaining,
            )
            for w in menu.windows
        ],
        my_tariff=tariff_out(tariff) if tariff else None,
        suspended_meal_cents=suspended_meal_cents,
    )


def order_out(v: OrderView) -> OrderOut:
    o = v.order
    tz = v.structure.timezone
    return OrderOut(
        id=o.id,
        reference=order_ref(o.id),
        service_id=o.service_id,
        structure_slug=v.structure.slug,
        date=v.service.service_date,
        order_cutoff=localtime.to_local(v.service.order_cutoff, tz),
        status=o.status,
        lines=[
            OrderLineOut(
                item_id=line.item_id,
                name=item.name,
                kind=item.kind,
                quantity=line.quantity,
                unit_cents=line.unit_cents,
                free_quantity=line.free_quantity,
                line_cents=line.unit_cents * (line.quantity - line.free_quantity),
            )
            for line, item in v.lines
        ],
        pickup_window=PickupRef(
            id=v.window.id,
            starts_at=localtime.to_local(v.window.starts_at, tz),
            ends_at=localtime.to_local(v.window.ends_at, tz),
        ),
        suspended_meals=o.suspended_meals,
        suspended_meal_cents=o.suspended_meal_cents,
        total_cents=o.total_cents,
        tariff=TariffRef(code=o.tariff_code, label=v.tariff_label),
        paid=o.paid,
        paid_at=localtime.to_local(o.paid_at, tz) if o.paid_at else None,
        voucher_used=o.voucher_id is not None,
        note=o.note,
        guest_name=o.guest_name,
        created_at=localtime.to_local(o.created_at, tz),
    )


def voucher_out(v: SuspendedMealVoucher, code: str | None = None) -> VoucherOut:
    return VoucherOut(
        id=v.id,
        label=v.label,
        code_hint=v.code_hint,
        created_at=v.created_at,
        used=v.used_at is not None,
        used_at=v.used_at,
        cancelled=v.cancelled_at is not None,
        code=code,
    )


class CanteenStructureController(Controller):
    """A structure's tariffs, who pays which, and its pool of repas suspendus."""

    path = "/api/structures/{slug:str}"
    tags = ["cantine"]

    @get("/tariffs", summary="A structure's tariffs (public)")
    async def tariffs(
        self, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> list[TariffOut]:
        return [tariff_out(t) for t in await canteen.list_tariffs(db_session, slug)]

    @put("/tariffs/{code:str}", summary="Create or change a tariff (structure manager)")
    async def put_tariff(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        code: FromPath[str],
        data: JSONBody[TariffIn],
    ) -> Response[TariffOut]:
        """201 when created, 200 when changed; 409 ``tariff-default-taken`` when another
        tariff is already the default for one of ``default_for``."""
        tariff, created = await canteen.put_tariff(db_session, user, slug, code, given(data))
        return Response(
            tariff_out(tariff), status_code=HTTP_201_CREATED if created else HTTP_200_OK
        )

    @get("/tariff-assignments", summary="Who pays a tariff other than their default (staff)")
    async def assignments(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
    ) -> list[TariffAssignmentOut]:
        rows = await canteen.list_assignments(db_session, user, slug)
        return [
            TariffAssignmentOut(user_id=p.id, display_name=p.display_name, tariff=tariff_out(t))
            for _a, t, p in rows
        ]

    @put(
        "/tariff-assignments/{user_id:uuid}",
        summary="Assign a person a tariff in this structure (manager or staff)",
    )
    async def assign(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[TariffAssignmentIn],
    ) -> TariffAssignmentOut:
        _a, tariff, person = await canteen.assign_tariff(db_session, user, slug, user_id, data.code)
        return TariffAssignmentOut(
            user_id=person.id, display_name=person.display_name, tariff=tariff_out(tariff)
        )

    @delete(
        "/tariff-assignments/{user_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Back to the person's default tariff (manager or staff)",
    )
    async def unassign(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        user_id: FromPath[uuid.UUID],
    ) -> None:
        await canteen.unassign_tariff(db_session, user, slug, user_id)

    @get(
        "/suspended-meals",
        summary="Repas suspendus: balance and ledger (names for the structure's staff only)",
    )
    async def ledger(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[User | None],
        slug: FromPath[str],
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> LedgerOut:
        found = await canteen_pool.ledger(db_session, caller, slug, limit, offset)
        return LedgerOut(
            structure_slug=slug,
            balance=found.balance,
            suspended_meal_cents=found.price_cents,
            credited=found.credited,
            debited=found.debited,
            entries=[
                LedgerLineOut(
                    at=line.entry.created_at,
                    kind=line.entry.kind,
                    delta=line.entry.delta,
                    person=line.person_name,
                    voucher_label=line.voucher_label,
                )
                for line in found.lines
            ],
        )

    @put("/suspended-meals/price", summary="Price of one repas suspendu (structure manager)")
    async def set_price(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        data: JSONBody[PoolPriceIn],
    ) -> PoolPriceIn:
        await canteen_pool.set_price(db_session, user, slug, data.price_cents)
        return data

    @post(
        "/suspended-meals/vouchers",
        status_code=HTTP_201_CREATED,
        summary="Give one pooled repas suspendu as a single-use voucher (manager or staff)",
    )
    async def give_voucher(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        data: JSONBody[VoucherIn],
    ) -> Response[VoucherOut]:
        """409 ``suspended-meals-pool-empty`` when the pool has nothing left.

        With ``Idempotency-Key`` a retry never debits the pool twice; the code is shown in
        the first answer only (never stored), so a retry gets 409 ``voucher-code-shown-once``
        with ``voucher_id`` and ``code_hint``: cancel that voucher if its code was lost."""

        async def write(commit: bool) -> tuple[int, VoucherOut]:
            voucher, code = await canteen_pool.give_voucher(
                db_session, user, slug, data.label, commit=commit
            )
            return HTTP_201_CREATED, voucher_out(voucher, code)

        return await respond_once(
            request, db_session, user, write, ShownOnce("code", VoucherCodeShownOnce)
        )

    @get("/suspended-meals/vouchers", summary="Vouchers given (manager or staff)")
    async def vouchers(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
    ) -> list[VoucherOut]:
        return [voucher_out(v) for v in await canteen_pool.list_vouchers(db_session, user, slug)]

    @post(
        "/suspended-meals/vouchers/{voucher_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        summary="Take back an unused voucher; its meal returns to the pool (manager or staff)",
    )
    async def cancel_voucher(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        voucher_id: FromPath[uuid.UUID],
    ) -> VoucherOut:
        return voucher_out(await canteen_pool.cancel_voucher(db_session, user, slug, voucher_id))


class CanteenAssetController(Controller):
    path = "/api/assets/{asset_id:uuid}/meal-services"
    tags = ["cantine"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Publish a meal service's menu (kitchen, staff or manager)",
    )
    async def create(
        self,
        lang: NamedDependency[str],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        asset_id: FromPath[uuid.UUID],
        data: JSONBody[MealServiceIn],
    ) -> MealServiceOut:
        """Times without an offset are wall-clock times in the structure's time zone."""
        menu = await canteen.create_meal_service(db_session, user, asset_id, data.fields())
        return menu_out(menu, lang=lang)


class MealServiceController(Controller):
    path = "/api/meal-services"
    tags = ["cantine"]

    @get("/", summary="Public menus of the canteens, by date")
    async def list_(
        self,
        lang: NamedDependency[str],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[User | None],
        asset: Annotated[uuid.UUID | None, QueryParameter(description="Canteen asset")] = None,
        date_from: Annotated[dt.date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[dt.date | None, QueryParameter(name="to")] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> list[MealServiceOut]:
        """Default: today and the next 6 days. ``my_price_cents`` when signed in."""
        menus = await canteen.list_menus(
            db_session, caller, asset_id=asset, date_from=date_from, date_to=date_to, limit=limit
        )
        return [menu_out(m, m.pool_price_cents, lang) for m in menus]

    @get("/{service_id:uuid}", summary="One service's menu, remaining portions and places")
    async def get_one(
        self,
        lang: NamedDependency[str],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[User | None],
        service_id: FromPath[uuid.UUID],
    ) -> MealServiceOut:
        menu = await canteen.get_menu(db_session, service_id, caller)
        return menu_out(menu, menu.pool_price_cents, lang)

    @patch("/{service_id:uuid}", summary="Change a service's cutoff or note (kitchen team)")
    async def update(
        self,
        lang: NamedDependency[str],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        service_id: FromPath[uuid.UUID],
        data: JSONBody[MealServicePatch],
    ) -> MealServiceOut:
        return menu_out(
            await canteen.update_meal_service(db_session, user, service_id, given(data)),
            lang=lang,
        )

    @post(
        "/{service_id:uuid}/items",
        status_code=HTTP_201_CREATED,
        summary="Add a dish to a menu (kitchen team)",
    )
    async def add_item(
        self,
        lang: NamedDependency[str],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        service_id: FromPath[uuid.UUID],
        data: JSONBody[ItemIn],
    ) -> MealServiceOut:
        return menu_out(
            await canteen.add_item(db_session, user, service_id, given(data)), lang=lang
        )

    @patch(
        "/{service_id:uuid}/items/{item_id:uuid}",
        summary="Change a dish while unordered; add portions any time (kitchen team)",
    )
    async def update_item(
        self,
        lang: NamedDependency[str],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        service_id: FromPath[uuid.UUID],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[ItemPatch],
    ) -> MealServiceOut:
        """409 ``item-has-orders`` for any other change once someone ordered the dish."""
        return menu_out(
            await canteen.update_item(db_session, user, service_id, item_id, given(data)),
            lang=lang,
        )

    @delete(
        "/{service_id:uuid}/items/{item_id:uuid}",
        status_code=HTTP_200_OK,
        summary="Withdraw a dish; existing orders are kept and reported (kitchen team)",
    )
    async def withdraw_item(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        service_id: FromPath[uuid.UUID],
        item_id: FromPath[uuid.UUID],
    ) -> WithdrawalOut:
        w = await canteen.withdraw_item(db_session, user, service_id, item_id)
        return WithdrawalOut(
            item_id=w.item.id,
            name=w.item.name,
            withdrawn=True,
            orders_affected=len(w.orders),
            portions_ordered=w.portions_ordered,
            order_ids=[o.id for o in w.orders],
        )

    @get(
        "/{service_id:uuid}/kitchen-sheet",
        summary="Kitchen production sheet: JSON, printable French HTML or CSV (kitchen team)",
    )
    async def kitchen_sheet(
        self,
        lang: NamedDependency[str],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        service_id: FromPath[uuid.UUID],
        format: Annotated[
            Literal["json", "html", "csv"], QueryParameter(description="json, html or csv")
        ] = "json",
    ) -> Response[Any]:
        sheet = await canteen_orders.kitchen_sheet(db_session, user, service_id)
        data = canteen_sheet.sheet_data(sheet, lang)
        headers = {"Cache-Control": "no-store"}
        if format == "html":
            return Response(
                canteen_sheet.sheet_html(data, lang),
                media_type="text/html",
                headers=headers,
            )
        if format == "csv":
            name = f"fiche-cuisine-{sheet.menu.service.service_date.isoformat()}.csv"
            return Response(
                canteen_sheet.sheet_csv(data, lang),
                media_type="text/csv",
                headers={**headers, "Content-Disposition": f'attachment; filename="{name}"'},
            )
        return Response(data, headers=headers)


class MealOrderController(Controller):
    path = "/api/meal-orders"
    tags = ["cantine"]

    @post("/", status_code=HTTP_201_CREATED, summary="Order a meal before the cutoff")
    async def place(
        self, request: Request[Any, Any, Any], data: JSONBody[OrderIn]
    ) -> Response[OrderOut]:
        """The tariff and the total are decided by the server. Refusals: 422
        ``order-cutoff-passed``, 409 ``sold-out`` (with ``item`` and ``remaining``),
        409 ``pickup-window-full``, 422 ``item-not-in-service``, ``empty-order``…
        Without an account, only with a repas-suspendu ``voucher_code``. A signed-in
        caller may send ``Idempotency-Key``: a retry replays the stored answer."""
        body = data.command()
        token = bearer_token_of(request)
        if token is not None and request.headers.get(IDEMPOTENCY_HEADER) is None:
            # Most refusals of a rush on a read, and on PostgreSQL an accepted order in one
            # statement (services/canteen_early.py).
            early = await canteen_early.order_early(request.app.state.engine, token, body)
            if early is not None:
                return Response(order_out(early), status_code=HTTP_201_CREATED)
        # Dependencies named here would be resolved before the early refusal, in a task group.
        db_session = request_session(request)
        caller = await provide_caller(request, db_session)

        async def write(commit: bool) -> tuple[int, OrderOut]:
            view = await canteen_orders.place_order(db_session, caller, body, commit=commit)
            return HTTP_201_CREATED, order_out(view)

        if caller is None:  # a voucher is single-use already; keys are scoped per account
            status, order = await write(True)
            return Response(order, status_code=status)
        return await respond_once(request, db_session, caller, write)

    @get("/", summary="My meal orders")
    async def mine(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        past: Annotated[bool, QueryParameter(description="Include past services")] = False,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> list[OrderOut]:
        views = await canteen_orders.my_orders(
            db_session, user, include_past=past, limit=limit, offset=offset
        )
        return [order_out(v) for v in views]

    @get("/{order_id:uuid}", summary="One order (its owner or the canteen team)")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        order_id: FromPath[uuid.UUID],
    ) -> OrderOut:
        return order_out(await canteen_orders.get_order(db_session, user, order_id))

    @post(
        "/{order_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel an order (owner until the cutoff, canteen team any time)",
    )
    async def cancel(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        order_id: FromPath[uuid.UUID],
    ) -> OrderOut:
        return order_out(await canteen_orders.cancel_order(db_session, user, order_id))

    @post(
        "/{order_id:uuid}/status",
        status_code=HTTP_200_OK,
        summary="Kitchen: mark ready / collected / no_show, and paid (kitchen team)",
    )
    async def status(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[KitchenStatusIn],
    ) -> OrderOut:
        fields = given(data)
        view = await canteen_orders.set_kitchen_status(
            db_session, user, order_id, fields.get("status"), fields.get("paid")
        )
        return order_out(view)
