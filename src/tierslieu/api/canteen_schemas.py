"""Canteen request and response bodies. Inputs list only what a caller may set."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from tierslieu.api.schemas import LongName, Name, Strict, Text, given
from tierslieu.domain.canteen import (
    MAX_PRICE_CENTS,
    MAX_QUANTITY_PER_LINE,
    MAX_SUSPENDED_PER_ORDER,
    TARIFF_CODE_MAX,
    TARIFF_CODE_PATTERN,
    Allergen,
    Diet,
    DishKind,
    MealKind,
    OrderLine,
    OrderStatus,
    PlaceOrder,
)
from tierslieu.domain.vocabulary import PersonKind

TariffCode = Annotated[
    str, msgspec.Meta(min_length=1, max_length=TARIFF_CODE_MAX, pattern=TARIFF_CODE_PATTERN)
]
Cents = Annotated[int, msgspec.Meta(ge=0, le=MAX_PRICE_CENTS)]
Portions = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Note = Annotated[str, msgspec.Meta(max_length=500)]

# --- tariffs --------------------------------------------------------------------------


class TariffIn(Strict):
    label: Name
    description: Text = ""
    default_for: Annotated[list[PersonKind], msgspec.Meta(max_length=2)] = msgspec.field(
        default_factory=list
    )


class TariffOut(msgspec.Struct):
    code: str
    label: str
    description: str
    default_for: list[PersonKind]


class TariffAssignmentIn(Strict):
    code: TariffCode


class TariffAssignmentOut(msgspec.Struct):
    user_id: uuid.UUID
    display_name: str
    tariff: TariffOut


# --- meal services --------------------------------------------------------------------


class PickupWindowIn(Strict):
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class ItemIn(Strict):
    name: LongName
    kind: DishKind
    portions: Portions
    description: Text = ""
    allergens: Annotated[list[Allergen], msgspec.Meta(max_length=14)] = msgspec.field(
        default_factory=list
    )
    diets: Annotated[list[Diet], msgspec.Meta(max_length=6)] = msgspec.field(default_factory=list)
    prices: Annotated[dict[TariffCode, Cents], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=dict
    )


class ItemPatch(Strict):
    name: LongName | msgspec.UnsetType = msgspec.UNSET
    kind: DishKind | msgspec.UnsetType = msgspec.UNSET
    portions: Portions | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    allergens: Annotated[list[Allergen], msgspec.Meta(max_length=14)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    diets: Annotated[list[Diet], msgspec.Meta(max_length=6)] | msgspec.UnsetType = msgspec.UNSET
    prices: Annotated[dict[TariffCode, Cents], msgspec.Meta(max_length=20)] | msgspec.UnsetType = (
        msgspec.UNSET
    )


class MealServiceIn(Strict):
    date: dt.date
    order_cutoff: dt.datetime
    pickup_windows: Annotated[list[PickupWindowIn], msgspec.Meta(min_length=1, max_length=48)]
    items: Annotated[list[ItemIn], msgspec.Meta(min_length=1, max_length=50)]
    meal: MealKind = MealKind.LUNCH
    note: Text = ""

    def fields(self) -> dict[str, Any]:
        """The service as ``canteen.create_meal_service`` takes it."""
        return {
            "date": self.date,
            "order_cutoff": self.order_cutoff,
            "meal": self.meal.value,
            "note": self.note,
            "pickup_windows": [
                {"starts_at": w.starts_at, "ends_at": w.ends_at, "capacity": w.capacity}
                for w in self.pickup_windows
            ],
            "items": [given(i) for i in self.items],
        }


class MealServicePatch(Strict):
    order_cutoff: dt.datetime | msgspec.UnsetType = msgspec.UNSET
    note: Text | msgspec.UnsetType = msgspec.UNSET


class Labelled(msgspec.Struct):
    code: str
    label: str


class ItemOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    kind: DishKind
    kind_label: str
    description: str
    portions: int
    remaining: int
    sold_out: bool
    allergens: list[Labelled]
    diets: list[Labelled]
    prices: dict[str, int]
    my_price_cents: int | None


class PickupWindowOut(msgspec.Struct):
    id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    remaining: int


class MealServiceOut(msgspec.Struct):
    id: uuid.UUID
    asset_id: uuid.UUID
    asset_name: str
    structure_slug: str
    structure_name: str
    timezone: str
    date: dt.date
    meal: MealKind
    order_cutoff: dt.datetime
    ordering_open: bool
    note: str
    items: list[ItemOut]
    pickup_windows: list[PickupWindowOut]
    my_tariff: TariffOut | None
    suspended_meal_cents: int | None


class WithdrawalOut(msgspec.Struct):
    item_id: uuid.UUID
    name: str
    withdrawn: bool
    orders_affected: int
    portions_ordered: int
    order_ids: list[uuid.UUID]


# --- orders ---------------------------------------------------------------------------


class OrderLineIn(Strict):
    item_id: uuid.UUID
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY_PER_LINE)]


class OrderIn(Strict):
    service_id: uuid.UUID
    lines: Annotated[list[OrderLineIn], msgspec.Meta(max_length=20)]
    pickup_window_id: uuid.UUID
    suspended_meals: Annotated[int, msgspec.Meta(ge=0, le=MAX_SUSPENDED_PER_ORDER)] = 0
    note: Note = ""
    voucher_code: Annotated[str, msgspec.Meta(min_length=4, max_length=40)] | None = None
    # Canteen team only: an order for a person without an account (at the counter).
    guest_name: Name | None = None
    guest_tariff: TariffCode | None = None
    # Canteen team only, instead of ``guest_name``: a contact of the structure.
    contact_id: uuid.UUID | None = None

    def command(self) -> PlaceOrder:
        return PlaceOrder(
            service_id=self.service_id,
            pickup_window_id=self.pickup_window_id,
            lines=tuple(OrderLine(li.item_id, li.quantity) for li in self.lines),
            suspended_meals=self.suspended_meals,
            note=self.note,
            voucher_code=self.voucher_code,
            guest_name=self.guest_name,
            guest_tariff=self.guest_tariff,
            contact_id=self.contact_id,
        )


class OrderLineOut(msgspec.Struct):
    item_id: uuid.UUID
    name: str
    kind: DishKind
    quantity: int
    unit_cents: int
    free_quantity: int
    line_cents: int


class PickupRef(msgspec.Struct):
    id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime


class TariffRef(msgspec.Struct):
    code: str
    label: str


class OrderOut(msgspec.Struct):
    id: uuid.UUID
    reference: str
    service_id: uuid.UUID
    structure_slug: str
    date: dt.date
    order_cutoff: dt.datetime
    status: OrderStatus
    lines: list[OrderLineOut]
    pickup_window: PickupRef
    suspended_meals: int
    suspended_meal_cents: int
    total_cents: int
    tariff: TariffRef
    paid: bool
    paid_at: dt.datetime | None
    voucher_used: bool
    note: str
    guest_name: str | None
    created_at: dt.datetime


class KitchenStatusIn(Strict):
    status: (
        Annotated[str, msgspec.Meta(pattern=r"^(ready|collected|no_show)$")] | msgspec.UnsetType
    ) = msgspec.UNSET
    paid: bool | msgspec.UnsetType = msgspec.UNSET


# --- repas suspendus ------------------------------------------------------------------


class PoolPriceIn(Strict):
    price_cents: Annotated[int, msgspec.Meta(ge=0, le=MAX_PRICE_CENTS)]


class LedgerLineOut(msgspec.Struct):
    at: dt.datetime
    kind: str
    delta: int
    # Staff only (None for everyone else).
    person: str | None = None
    voucher_label: str | None = None


class LedgerOut(msgspec.Struct):
    structure_slug: str
    balance: int
    suspended_meal_cents: int | None
    credited: int
    debited: int
    entries: list[LedgerLineOut]


class VoucherIn(Strict):
    label: Annotated[str, msgspec.Meta(max_length=200)] = ""


class VoucherOut(msgspec.Struct):
    id: uuid.UUID
    label: str
    code_hint: str
    created_at: dt.datetime
    used: bool
    used_at: dt.datetime | None
    cancelled: bool
    # Only in the answer that creates it: print it or write it down.
    code: str | None = None
