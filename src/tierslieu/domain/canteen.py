"""Canteen rules: dishes, allergens, diets, cutoffs, prices and vouchers.

Pure functions and closed vocabularies; no database, no web framework.

Decisions taken where issue 4 is silent (what a canteen's users would expect):

- Times: ``order_cutoff`` and pickup windows accept an instant with an offset, or a
  wall-clock time without one, read in the structure's zone; a time skipped by the
  spring change is refused (422), the repeated autumn hour takes its first
  occurrence. Ordering is open strictly before the cutoff (10:29:59 yes, 10:30:00 no).
  The cutoff must come before the first pickup; every window lies on the service date.
- One lunch (and optionally one dinner) per canteen and date.
- An order holds 1 to 10 portions (10 per line), up to 10 paid-forward meals; a person
  has one active order per service (to change it: cancel and order again — a unique
  partial index makes this hold under concurrency) and at most 10 active orders.
- The tariff is never in the order body. The canteen team may order for a guest
  without an account (``guest_name``, optional ``guest_tariff``, default: the
  neighbours' tariff), also after the cutoff, at the counter.
- A kind of person has at most one default tariff per structure (409 otherwise).
- Repas suspendus are credited to the pool when the order is marked *paid* (payment
  happens on site), not when it is placed: a meal nobody paid for is never given.
  Un-marking paid, or cancelling a paid order, takes them back only while they are
  still in the pool (409 otherwise). Their price is the pool's ``price_cents``, set
  by the manager; a structure without a price does not offer them.
- A voucher code (RS-XXXX-XXXX-XXXX, no 0/O/1/I) is shown once; only its SHA-256 is
  stored. Without an account, a voucher order is exactly one main course or formula.
  With an account, the voucher makes the dearest main/formula unit free. Cancelling
  the order frees the voucher again; staff may take back an unused voucher (its meal
  returns to the pool).
- The ledger is public (balance, dates, kinds, quantities); who paid forward and the
  voucher labels are shown to the structure's manager and staff only.
- Kitchen statuses (ready, collected, no_show) may be corrected, never on a cancelled
  order; the owner cancels until the cutoff, the team until collection.
- Allergen and diet changes to a dish someone ordered are refused (people chose it
  for them); the kitchen withdraws the dish and publishes another instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tierslieu.domain.accounts import clean_person_name
from tierslieu.domain.localtime import to_local
from tierslieu.errors import Forbidden, InvalidInput, Unauthenticated

# The canteen's refusals are defined in services/canteen_errors.py (messages beside them);
# that module imports nothing but ``errors`` and ``i18n``, so the rules here stay pure.
from tierslieu.services.canteen_errors import (
    EmptyOrder,
    GuestOrderOneMeal,
    ItemNotInService,
    ItemWithdrawn,
    OrderCutoffPassed,
    OrderTooLarge,
    PickupWindowNotInService,
)


class DishKind(StrEnum):
    STARTER = "starter"
    MAIN = "main"
    DESSERT = "dessert"
    FORMULA = "formula"
    DRINK = "drink"


class Allergen(StrEnum):
    """The 14 allergens of EU regulation 1169/2011, annex II (fixed codes)."""

    GLUTEN = "gluten"
    CRUSTACEANS = "crustaceans"
    EGGS = "eggs"
    FISH = "fish"
    PEANUTS = "peanuts"
    SOYBEANS = "soybeans"
    MILK = "milk"
    NUTS = "nuts"
    CELERY = "celery"
    MUSTARD = "mustard"
    SESAME = "sesame"
    SULPHITES = "sulphites"
    LUPIN = "lupin"
    MOLLUSCS = "molluscs"


class Diet(StrEnum):
    VEGETARIAN = "vegetarian"
    VEGAN = "vegan"
    HALAL = "halal"
    NO_PORK = "no_pork"
    GLUTEN_FREE = "gluten_free"
    TEXTURE_MODIFIED = "texture_modified"


class OrderStatus(StrEnum):
    PLACED = "placed"
    READY = "ready"
    COLLECTED = "collected"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


# Statuses the kitchen may set, and the statuses that still hold portions.
KITCHEN_STATUSES = frozenset({OrderStatus.READY, OrderStatus.COLLECTED, OrderStatus.NO_SHOW})
ACTIVE_STATUSES = frozenset({OrderStatus.PLACED, OrderStatus.READY})
HOLDING_STATUSES = frozenset(
    {OrderStatus.PLACED, OrderStatus.READY, OrderStatus.COLLECTED, OrderStatus.NO_SHOW}
)


class MealKind(StrEnum):
    LUNCH = "lunch"
    DINNER = "dinner"


class LedgerKind(StrEnum):
    PAID_FORWARD = "paid_forward"  # a customer paid for suspended meals (credit)
    REFUND = "refund"  # a paid-forward payment was reversed (debit)
    VOUCHER = "voucher"  # staff gave a voucher (debit)
    VOUCHER_CANCELLED = "voucher_cancelled"  # an unused voucher was taken back (credit)


# Kinds of dish a repas-suspendu voucher pays for.
VOUCHER_KINDS = frozenset({DishKind.FORMULA, DishKind.MAIN})

# OWASP API6: nobody may hoard the week's portions.
MAX_QUANTITY_PER_LINE = 10
MAX_PORTIONS_PER_ORDER = 10
MAX_SUSPENDED_PER_ORDER = 10
MAX_ACTIVE_ORDERS_PER_PERSON = 10
MAX_PRICE_CENTS = 100_000

# A tariff code: lower-case words joined by - or _ (professionnel, habitant, solidaire).
TARIFF_CODE_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"
TARIFF_CODE_MAX = 40


def ordering_open(now: dt.datetime, cutoff: dt.datetime) -> bool:
    """Orders (and the owner's cancellations) are taken strictly before the cutoff."""
    return now < cutoff


def check_cutoff_before_pickup(cutoff: dt.datetime, pickups: Iterable[dt.datetime]) -> None:
    """A service's cutoff comes at or before its first pickup (422 on ``order_cutoff``)."""
    first = min(pickups, default=None)
    if first is not None and cutoff > first:
        raise InvalidInput("order_cutoff", "cutoff-after-pickup")


@dataclass(frozen=True, slots=True)
class PricedLine:
    item_id: object
    quantity: int
    unit_cents: int
    free_quantity: int

    @property
    def line_cents(self) -> int:
        return self.unit_cents * (self.quantity - self.free_quantity)


@dataclass(frozen=True, slots=True)
class LineRequest:
    item_id: object
    quantity: int
    kind: str
    prices: Mapping[str, int]


class NoPrice(ValueError):
    """The item has no price for the caller's tariff."""

    def __init__(self, item_id: object) -> None:
        super().__init__(str(item_id))
        self.item_id = item_id


class NoVoucherItem(ValueError):
    """A voucher needs one formula or main course in the order."""


def price_order(
    lines: Iterable[LineRequest],
    tariff_code: str,
    *,
    suspended_meals: int = 0,
    suspended_meal_cents: int = 0,
    voucher: bool = False,
) -> tuple[list[PricedLine], int]:
    """Price each line at the tariff; a voucher makes one formula/main free (the dearest).

    Returns the priced lines and the total in cents (paid-forward meals included).
    """
    requests = list(lines)
    prices: list[int] = []
    for line in requests:
        if tariff_code not in line.prices:
            raise NoPrice(line.item_id)
        prices.append(int(line.prices[tariff_code]))
    free_index: int | None = None
    if voucher:
        eligible = [i for i, line in enumerate(requests) if line.kind in VOUCHER_KINDS]
        if not eligible:
            raise NoVoucherItem()
        free_index = max(eligible, key=lambda i: prices[i])
    priced = [
        PricedLine(
            item_id=line.item_id,
            quantity=line.quantity,
            unit_cents=prices[i],
            free_quantity=1 if i == free_index else 0,
        )
        for i, line in enumerate(requests)
    ]
    total = sum(p.line_cents for p in priced) + suspended_meals * suspended_meal_cents
    return priced, total


def valid_tariff_code(code: str) -> bool:
    return len(code) <= TARIFF_CODE_MAX and re.fullmatch(TARIFF_CODE_PATTERN, code) is not None


# A guest without an account (at the counter, or with a voucher) pays the neighbours' default.
GUEST_KIND = "neighbour"


def choose_tariff(
    kind: str | None,
    assigned_code: str | None,
    defaults: Mapping[str, Iterable[str]],
    guest_code: str | None = None,
) -> str | None:
    """The tariff code an order is priced at (the one place this is decided).

    A person (``kind`` = their kind): the tariff staff assigned them, else the tariff whose
    ``default_for`` holds their kind. A guest without an account (``kind`` None): the
    team's choice ``guest_code``, else the default of GUEST_KIND. None: no tariff applies.
    Defaults are looked up in code order (at most one per kind: a database rule).
    """
    if kind is None:
        if guest_code is not None:
            return guest_code
        kind = GUEST_KIND
    elif assigned_code is not None:
        return assigned_code
    for code, kinds in sorted(defaults.items()):
        if kind in set(kinds):
            return code
    return None


def tariff_for(
    kind: str, assigned: str | None, defaults: Mapping[str, Iterable[str]]
) -> str | None:
    """A person's tariff: ``choose_tariff`` for a person."""
    return choose_tariff(kind, assigned, defaults)


# --- accepting an order ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderLine:
    item_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """The command to order a meal (never a tariff or a price: the server decides them)."""

    service_id: uuid.UUID
    pickup_window_id: uuid.UUID
    lines: tuple[OrderLine, ...]
    suspended_meals: int = 0
    note: str = ""
    voucher_code: str | None = None
    # Canteen team only: an order for a person without an account (at the counter).
    guest_name: str | None = None
    guest_tariff: str | None = None
    # Canteen team only: an order for a contact of the structure (its name is the guest's).
    contact_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ItemFacts:
    kind: str
    name: str
    withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the service read before deciding: the caller, the clock, the menu."""

    signed_in: bool
    is_team: bool
    now: dt.datetime
    cutoff: dt.datetime
    timezone: str
    items: Mapping[uuid.UUID, ItemFacts]
    window_ids: frozenset[uuid.UUID]


class TariffSource(StrEnum):
    OWN = "own"  # the person's own: assignment, else their kind's default
    CHOSEN = "chosen"  # the canteen team's choice for a guest
    GUEST_DEFAULT = "guest-default"  # a guest: the default of GUEST_KIND


@dataclass(frozen=True, slots=True)
class AcceptedOrder:
    lines: Mapping[uuid.UUID, int]  # merged per dish, in the order first asked
    guest_name: str | None  # cleaned; set for an order for a guest (team or voucher)
    tariff_source: TariffSource
    suspended_meals: int
    voucher: bool

    @property
    def for_guest(self) -> bool:
        return self.guest_name is not None


def accept_order(req: PlaceOrder, facts: OrderFacts) -> AcceptedOrder:
    """Every check of an order that needs no write, in this order (one refusal each):

    - who may order: anonymous only with a voucher and a name; a guest's name or tariff
      only from the canteen team (a tariff only with a name);
    - the cutoff: strictly before it (``ordering_open``), except the team for a guest;
    - the lines: merged per dish, not empty, on this menu, not withdrawn, at most
      MAX_PORTIONS_PER_ORDER portions; the pickup window on this service;
    - without an account (a voucher): exactly one main course or formula, no paid-forward.

    Returns the merged lines and *which* tariff applies (``choose_tariff`` decides the code
    once the service has read the tariffs). Stock, places and the voucher are taken by the
    service with conditional UPDATEs: they are invariants of the database, not decided here.
    """
    guest_name = req.guest_name
    if guest_name is not None:
        # Printed on the kitchen sheet: no blank, bidi-override or invisible name.
        guest_name = clean_person_name(guest_name, "guest_name")
    if not facts.signed_in:
        if not req.voucher_code:
            raise Unauthenticated()
        if not guest_name:
            raise InvalidInput("guest_name", "required")
    elif guest_name is not None and not facts.is_team:
        raise Forbidden()
    if req.guest_tariff is not None:
        if not facts.is_team:
            raise Forbidden()
        if guest_name is None:
            raise InvalidInput("guest_tariff", "invalid")
    for_guest = guest_name is not None

    if not ordering_open(facts.now, facts.cutoff) and not (for_guest and facts.is_team):
        raise OrderCutoffPassed(
            {"cutoff": facts.cutoff, "tz": facts.timezone},
            extra={"order_cutoff": to_local(facts.cutoff, facts.timezone).isoformat()},
        )

    wanted: dict[uuid.UUID, int] = {}
    for line in req.lines:
        wanted[line.item_id] = wanted.get(line.item_id, 0) + int(line.quantity)
    if not wanted:
        raise EmptyOrder()
    for item_id in wanted:
        item = facts.items.get(item_id)
        if item is None:
            raise ItemNotInService(extra={"item_id": str(item_id)})
        if item.withdrawn:
            raise ItemWithdrawn({"item": item.name}, extra={"item_id": str(item_id)})
    if sum(wanted.values()) > MAX_PORTIONS_PER_ORDER:
        raise OrderTooLarge({"max": MAX_PORTIONS_PER_ORDER})
    if req.pickup_window_id not in facts.window_ids:
        raise PickupWindowNotInService()

    suspended = int(req.suspended_meals or 0)
    if not facts.signed_in and (
        len(wanted) != 1
        or next(iter(wanted.values())) != 1
        or facts.items[next(iter(wanted))].kind not in VOUCHER_KINDS
        or suspended
    ):
        raise GuestOrderOneMeal()

    if facts.signed_in and not for_guest:
        source = TariffSource.OWN
    elif req.guest_tariff is not None:
        source = TariffSource.CHOSEN
    else:
        source = TariffSource.GUEST_DEFAULT
    return AcceptedOrder(
        lines=wanted,
        guest_name=guest_name,
        tariff_source=source,
        suspended_meals=suspended,
        voucher=bool(req.voucher_code),
    )


# --- vouchers ----------------------------------------------------------------------

VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, hand-written


def new_voucher_code() -> str:
    """A code to print on paper: RS-XXXX-XXXX-XXXX (60 random bits)."""
    chars = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(12))
    return f"RS-{chars[0:4]}-{chars[4:8]}-{chars[8:12]}"


def normalise_voucher_code(code: str) -> str:
    """What a person typed, as the canonical code: case, spaces and dashes forgiven."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    if raw.startswith("RS"):
        raw = raw[2:]
    return f"RS-{raw[0:4]}-{raw[4:8]}-{raw[8:12]}" if len(raw) == 12 else "RS-" + raw


def voucher_hash(code: str) -> str:
    """Only the SHA-256 of a voucher code is stored."""
    return hashlib.sha256(normalise_voucher_code(code).encode()).hexdigest()


def format_cents(cents: int) -> str:
    """9,50 € — how French menus write prices."""
    euros, rest = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{euros},{rest:02d} €"
