"""Meal orders: place, read, cancel, kitchen status and payment, the kitchen sheet.

Portions and pickup places are taken with conditional UPDATEs
(``sold = sold + n WHERE sold + n <= portions``): zero rows means refused, so
concurrent orders can never oversell, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.db import only_small_statements
from tierslieu.domain import canteen as rules
from tierslieu.domain.bookings import OnePersonOnly
from tierslieu.domain.notifications import Kind
from tierslieu.errors import DomainError, Forbidden, InvalidInput, NotFound
from tierslieu.models import (
    MealOrder,
    MealOrderLine,
    MealService,
    Membership,
    MenuItem,
    PickupWindow,
    Structure,
    SuspendedMealVoucher,
    Tariff,
    User,
)
from tierslieu.services import behalf, contacts, notify
from tierslieu.services.access import has_role
from tierslieu.services.canteen import KITCHEN_ROLES, Menu, load_menu, tariff_of
from tierslieu.services.canteen_errors import (
    AlreadyOrdered,
    CancelCutoffPassed,
    NoPriceForTariff,
    NoTariff,
    OrderCancelled,
    OrderNotCancellable,
    PickupWindowFull,
    PoolAlreadySpent,
    SoldOut,
    SuspendedMealsNotOffered,
    TooManyActiveOrders,
    UnknownTariff,
    VoucherNeedsMain,
    VoucherUnknown,
    VoucherUsed,
)
from tierslieu.services.canteen_pool import credit, debit, pool_price
from tierslieu.services.clock import utcnow
from tierslieu.services.reminders import drop_pending_reminders

ACTIVE = [s.value for s in rules.ACTIVE_STATUSES]
# The same, as one bound value each (no list expanded at execution: ``db.raw_statement``).
_IS_ACTIVE = MealOrder.status.in_([literal(s) for s in ACTIVE])


@dataclass
class OrderView:
    order: MealOrder
    service: MealService
    structure: Structure
    window: PickupWindow
    lines: list[tuple[MealOrderLine, MenuItem]]
    tariff_label: str
    customer_name: str | None = None


def order_ref(order_id: uuid.UUID) -> str:
    """A short reference to say at the counter (random part of the id)."""
    return order_id.hex[-6:].upper()


@only_small_statements
async def place_order(
    session: AsyncSession, caller: User | None, cmd: rules.PlaceOrder, *, commit: bool = True
) -> OrderView:
    """Order a meal. The server decides the tariff and computes the total.

    ``rules.accept_order`` decides who may order what (see there): a signed-in person for
    themself before the cutoff; the canteen team for a guest, also after it; anyone with
    a voucher code, without an account, one main course or formula. Here: one active
    order per service and at most MAX_ACTIVE_ORDERS_PER_PERSON in progress; then
    portions, pickup places and the voucher are taken atomically (conditional UPDATEs),
    or nothing is. With ``commit=False`` the order is only flushed, for a caller that
    commits it with other rows (an idempotency record).
    """
    menu = await load_menu(session, cmd.service_id, caller)
    structure = menu.structure
    now = utcnow()
    items = {i.id: i for i in menu.items}
    facts = await _caller_facts(session, caller, structure.id, menu.service.id, now)
    contact = None
    if cmd.contact_id is not None:  # the team orders for a contact: checked as for its name
        if not facts.is_team:
            raise Forbidden()
        if cmd.guest_name is not None:
            raise OnePersonOnly()
        contact = await behalf.contact_of(session, structure.id, cmd.contact_id, "contact_id")
        cmd = replace(cmd, guest_name=contact.name)
    accepted = rules.accept_order(
        cmd,
        order_facts(
            caller is not None,
            facts,
            now,
            menu.service.order_cutoff,
            structure.timezone,
            menu.items,
            frozenset(w.id for w in menu.windows),
        ),
    )
    wanted, guest_name, suspended = accepted.lines, accepted.guest_name, accepted.suspended_meals
    window = next(w for w in menu.windows if w.id == cmd.pickup_window_id)

    # The tariff: never from the body, except the team's choice for a guest.
    own = accepted.tariff_source == rules.TariffSource.OWN
    if own and caller is not None:
        tariff = menu.tariff  # load_menu read the caller's own tariff (a guest code plays no part)
    else:
        tariff = await tariff_of(
            session, caller if own else None, structure.id, guest_code=cmd.guest_tariff
        )
    unit_suspended = await pool_price(session, structure.id) if suspended else 0
    owner_id = caller.id if own and caller is not None else None
    priced, total = check_before_writes(
        cmd,
        accepted,
        Reads(items, window, structure.timezone, tariff, unit_suspended, facts),
        owner_id=owner_id,
    )
    if contact is None and guest_name is not None and facts.is_team:
        # A name typed at the counter is a contact of the structure (found or made now).
        contact = await contacts.for_guest(session, structure.id, guest_name, field="guest_name")
    person = behalf.Person.of_contact(contact) if contact is not None else None
    if person is not None and person.user_id is not None:
        owner_id, guest_name = person.user_id, None  # a linked contact orders as its account

    try:
        order = MealOrder(
            service_id=menu.service.id,
            structure_id=structure.id,
            user_id=owner_id,
            guest_name=guest_name,
            contact_id=contact.id if contact is not None else None,
            placed_by_id=caller.id if caller is not None else None,
            pickup_window_id=window.id,
            status=rules.OrderStatus.PLACED.value,
            tariff_code=tariff.code,
            suspended_meals=suspended,
            suspended_meal_cents=unit_suspended,
            total_cents=total,
            paid=False,
            note=cmd.note or "",
        )
        if cmd.voucher_code:
            order.voucher_id = await _use_voucher(session, structure.id, cmd.voucher_code, now)
        # Lock order, shared with cancel_order: voucher, the order row (one active order
        # per person and service), dishes by id, then the pickup place. No deadlock. The
        # shared rows (dishes, pickup place) are taken last, just before the commit: every
        # order of the service waits for them, so they are held as briefly as possible.
        session.add(order)
        try:
            await session.flush()
        except IntegrityError:
            raise AlreadyOrdered() from None
        lines = []
        for p in priced:
            line = MealOrderLine(
                order_id=order.id,
                item_id=p.item_id,
                quantity=p.quantity,
                unit_cents=p.unit_cents,
                free_quantity=p.free_quantity,
            )
            session.add(line)
            lines.append((line, items[p.item_id]))  # type: ignore[index]
        await notify.order_placed(session, caller, order, menu.service, window, structure, lines)
        await _take_portions(session, wanted, items)  # flushes the lines and the message first
        await _take_pickup_place(session, window, structure.timezone)
        await (session.commit() if commit else session.flush())
    except DomainError:
        await session.rollback()
        raise
    return OrderView(
        order=order,
        service=menu.service,
        structure=structure,
        window=window,
        lines=lines,
        tariff_label=tariff.label,
        customer_name=guest_name or (caller.display_name if caller else None),
    )


# The caller's role here, their active order for this service and their orders in progress
# (services since yesterday): built once (building them cost more than running them).
def caller_role(structure_id: Any) -> Any:
    """The caller's role in the structure ``structure_id`` (a parameter or a column)."""
    return (
        select(Membership.role)
        .where(Membership.user_id == bindparam("user_id"), Membership.structure_id == structure_id)
        .scalar_subquery()
    )


CALLER_ALREADY = (
    select(MealOrder.id)
    .where(
        MealOrder.user_id == bindparam("user_id"),
        MealOrder.service_id == bindparam("service_id"),
        _IS_ACTIVE,
    )
    .limit(1)
    .scalar_subquery()
)
CALLER_ACTIVE = (
    select(func.count(MealOrder.id))
    .join(MealService, MealService.id == MealOrder.service_id)
    .where(
        MealOrder.user_id == bindparam("user_id"),
        _IS_ACTIVE,
        MealService.service_date >= bindparam("since"),
    )
    .scalar_subquery()
)
_CALLER_FACTS = select(caller_role(bindparam("structure_id")), CALLER_ALREADY, CALLER_ACTIVE)


@dataclass(frozen=True, slots=True)
class CallerFacts:
    is_team: bool
    already: uuid.UUID | None  # the caller's active order for this service, if any
    active: int  # the caller's orders in progress

    @classmethod
    def of(cls, caller: User, role: str | None, already: Any, active: int | None) -> CallerFacts:
        """From ``caller_role``, ``CALLER_ALREADY`` and ``CALLER_ACTIVE`` as read."""
        return cls(
            is_team=caller.is_admin or (role is not None and role in KITCHEN_ROLES),
            already=already,
            active=int(active or 0),
        )


def order_facts(
    signed_in: bool,
    facts: CallerFacts,
    now: dt.datetime,
    cutoff: dt.datetime,
    timezone: str,
    items: Iterable[MenuItem],
    window_ids: frozenset[uuid.UUID],
) -> rules.OrderFacts:
    """What ``rules.accept_order`` looks at, from the rows read."""
    return rules.OrderFacts(
        signed_in=signed_in,
        is_team=facts.is_team,
        now=now,
        cutoff=cutoff,
        timezone=timezone,
        items={i.id: rules.ItemFacts(i.kind, i.name, i.withdrawn_at is not None) for i in items},
        window_ids=window_ids,
    )


def caller_facts_values(caller: User, service_id: uuid.UUID, now: dt.datetime) -> dict[str, Any]:
    """The parameters of the caller's facts (orders in progress: services since yesterday)."""
    return {
        "user_id": caller.id,
        "service_id": service_id,
        "since": now.date() - dt.timedelta(days=1),
    }


async def _caller_facts(
    session: AsyncSession,
    caller: User | None,
    structure_id: uuid.UUID,
    service_id: uuid.UUID,
    now: dt.datetime,
) -> CallerFacts:
    """The caller's role here, their active order for this service and their orders in
    progress, in one round trip (read before they are needed, checked where they were)."""
    if caller is None:
        return CallerFacts(is_team=False, already=None, active=0)
    values = {**caller_facts_values(caller, service_id, now), "structure_id": structure_id}
    return CallerFacts.of(caller, *(await session.execute(_CALLER_FACTS, values)).one())


@dataclass(frozen=True, slots=True)
class Reads:
    """What an order's last checks look at, as read before any write."""

    items: dict[uuid.UUID, MenuItem]  # the service's dishes (withdrawn ones too)
    window: PickupWindow  # the pickup window asked for
    timezone: str
    tariff: Tariff | None  # the tariff the order is priced at, if one applies
    unit_suspended: int | None  # a repas suspendu's price; None: the structure offers none
    facts: CallerFacts


def check_before_writes(
    cmd: rules.PlaceOrder,
    accepted: rules.AcceptedOrder,
    reads: Reads,
    *,
    owner_id: uuid.UUID | None,
) -> tuple[list[rules.PricedLine], int]:
    """The checks after ``rules.accept_order`` and before the first write, in this order
    (one refusal each): a tariff applies, repas suspendus are offered when asked for, every
    dish has a price, the owner's limits, then what the rows read already say « sold out »
    or « full » (at the rush, most answers). The priced lines and the total. The one place
    these refusals are decided, for ``place_order`` and the early refusal on a read
    (``canteen_early``); the conditional UPDATEs still decide the race."""
    if reads.tariff is None and accepted.tariff_source == rules.TariffSource.CHOSEN:
        raise UnknownTariff({"tariff": cmd.guest_tariff})
    if reads.tariff is None:
        raise NoTariff()
    if reads.unit_suspended is None:
        raise SuspendedMealsNotOffered()
    priced = _price(accepted, reads.items, reads.tariff, reads.unit_suspended)
    if owner_id is not None:
        _check_owner_limits(reads.facts)
    _refuse_if_gone(accepted.lines, reads.items, reads.window, reads.timezone)
    return priced


def _check_owner_limits(facts: CallerFacts) -> None:
    """One active order per service (also a unique partial index) and at most
    MAX_ACTIVE_ORDERS_PER_PERSON in progress."""
    if facts.already is not None:
        raise AlreadyOrdered(extra={"order_id": str(facts.already)})
    if facts.active >= rules.MAX_ACTIVE_ORDERS_PER_PERSON:
        raise TooManyActiveOrders({"max": rules.MAX_ACTIVE_ORDERS_PER_PERSON})


def _price(
    accepted: rules.AcceptedOrder,
    items: dict[uuid.UUID, MenuItem],
    tariff: Tariff,
    unit_suspended: int,
) -> tuple[list[rules.PricedLine], int]:
    requests = [
        rules.LineRequest(item_id=i, quantity=q, kind=items[i].kind, prices=items[i].prices)
        for i, q in accepted.lines.items()
    ]
    try:
        return rules.price_order(
            requests,
            tariff.code,
            suspended_meals=accepted.suspended_meals,
            suspended_meal_cents=unit_suspended,
            voucher=accepted.voucher,
        )
    except rules.NoPrice as exc:
        raise NoPriceForTariff(
            {"item": items[exc.item_id].name, "tariff": tariff.label}  # type: ignore[index]
        ) from None
    except rules.NoVoucherItem:
        raise VoucherNeedsMain() from None


def _sold_out(item: MenuItem, remaining: int) -> SoldOut:
    details = {"item": item.name, "remaining": max(remaining, 0)}
    return SoldOut(details, extra={"item_id": str(item.id), **details})


def _window_full(window: PickupWindow, timezone: str) -> PickupWindowFull:
    return PickupWindowFull(
        {"starts": window.starts_at, "tz": timezone},
        extra={"pickup_window_id": str(window.id)},
    )


def _refuse_if_gone(
    wanted: Mapping[uuid.UUID, int],
    items: dict[uuid.UUID, MenuItem],
    window: PickupWindow,
    timezone: str,
) -> None:
    """The refusals ``_take_portions`` and ``_take_pickup_place`` would make, in their order,
    as far as the rows read with the menu tell (never a refusal they would not make then)."""
    for item_id in sorted(wanted, key=str):
        item = items[item_id]
        if wanted[item_id] > item.remaining:
            raise _sold_out(item, item.remaining)
    if window.remaining < 1:
        raise _window_full(window, timezone)


# The two conditional updates of every order, built once.
TAKE_PORTIONS = (
    update(MenuItem)
    .where(
        MenuItem.id == bindparam("item_id"),
        MenuItem.withdrawn_at.is_(None),
        MenuItem.sold + bindparam("n", type_=Integer) <= MenuItem.portions,
    )
    .values(sold=MenuItem.sold + bindparam("n", type_=Integer))
    .execution_options(synchronize_session=False)
)
TAKE_PICKUP_PLACE = (
    update(PickupWindow)
    .where(
        PickupWindow.id == bindparam("window_id"),
        PickupWindow.taken + 1 <= PickupWindow.capacity,
    )
    .values(taken=PickupWindow.taken + 1)
    .execution_options(synchronize_session=False)
)


async def _take_portions(
    session: AsyncSession, wanted: Mapping[uuid.UUID, int], items: dict[uuid.UUID, MenuItem]
) -> None:
    """``sold = sold + n WHERE sold + n <= portions`` per dish, by id (the lock order)."""
    for item_id in sorted(wanted, key=str):
        taken = await session.execute(TAKE_PORTIONS, {"item_id": item_id, "n": wanted[item_id]})
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            remaining = await session.scalar(
                select(MenuItem.portions - MenuItem.sold).where(MenuItem.id == item_id)
            )
            raise _sold_out(items[item_id], remaining or 0)  # type: ignore[arg-type]


async def _take_pickup_place(session: AsyncSession, window: PickupWindow, timezone: str) -> None:
    """``taken = taken + 1 WHERE taken + 1 <= capacity``."""
    placed = await session.execute(TAKE_PICKUP_PLACE, {"window_id": window.id})
    if placed.rowcount != 1:  # type: ignore[attr-defined]
        raise _window_full(window, timezone)


async def _use_voucher(
    session: AsyncSession, structure_id: uuid.UUID, code: str, now: dt.datetime
) -> uuid.UUID:
    """Mark the voucher used, once: a conditional UPDATE, so two orders cannot share it."""
    voucher = await session.scalar(
        select(SuspendedMealVoucher).where(
            SuspendedMealVoucher.code_hash == rules.voucher_hash(code),
            SuspendedMealVoucher.structure_id == structure_id,
        )
    )
    if voucher is None or voucher.cancelled_at is not None:
        raise VoucherUnknown()
    result = await session.execute(
        update(SuspendedMealVoucher)
        .where(
            SuspendedMealVoucher.id == voucher.id,
            SuspendedMealVoucher.used_at.is_(None),
            SuspendedMealVoucher.cancelled_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise VoucherUsed()
    return voucher.id


# --- reading --------------------------------------------------------------------------


def _visible_to(caller: User) -> Any:
    """Orders a person may read: their own, and those of structures whose canteen they run."""
    if caller.is_admin:
        return True
    team = select(Membership.structure_id).where(
        Membership.user_id == caller.id,
        Membership.role.in_([r.value for r in KITCHEN_ROLES]),
    )
    return or_(MealOrder.user_id == caller.id, MealOrder.structure_id.in_(team))


async def _views(session: AsyncSession, orders: list[MealOrder]) -> list[OrderView]:
    if not orders:
        return []
    ids = [o.id for o in orders]
    line_rows = await session.execute(
        select(MealOrderLine, MenuItem)
        .join(MenuItem, MenuItem.id == MealOrderLine.item_id)
        .where(MealOrderLine.order_id.in_(ids))
        .order_by(MenuItem.position, MenuItem.name)
    )
    lines: dict[uuid.UUID, list[tuple[MealOrderLine, MenuItem]]] = defaultdict(list)
    for line, item in line_rows.tuples():
        lines[line.order_id].append((line, item))
    services = {
        s.id: s
        for s in await session.scalars(
            select(MealService).where(MealService.id.in_({o.service_id for o in orders}))
        )
    }
    structures = {
        s.id: s
        for s in await session.scalars(
            select(Structure).where(Structure.id.in_({o.structure_id for o in orders}))
        )
    }
    windows = {
        w.id: w
        for w in await session.scalars(
            select(PickupWindow).where(PickupWindow.id.in_({o.pickup_window_id for o in orders}))
        )
    }
    tariffs = {
        (t.structure_id, t.code): t.label
        for t in await session.scalars(
            select(Tariff).where(Tariff.structure_id.in_({o.structure_id for o in orders}))
        )
    }
    users = {
        u.id: u.display_name
        for u in await session.scalars(
            select(User).where(User.id.in_({o.user_id for o in orders if o.user_id}))
        )
    }
    return [
        OrderView(
            order=o,
            service=services[o.service_id],
            structure=structures[o.structure_id],
            window=windows[o.pickup_window_id],
            lines=lines[o.id],
            tariff_label=tariffs.get((o.structure_id, o.tariff_code), o.tariff_code),
            customer_name=o.guest_name or users.get(o.user_id),  # type: ignore[arg-type]
        )
        for o in orders
    ]


async def my_orders(
    session: AsyncSession, user: User, *, include_past: bool, limit: int, offset: int
) -> list[OrderView]:
    """The caller's own orders, soonest service first (upcoming only unless asked)."""
    query = (
        select(MealOrder)
        .join(MealService, MealService.id == MealOrder.service_id)
        .where(MealOrder.user_id == user.id)
        .order_by(MealService.service_date, MealOrder.created_at)
        .limit(limit)
        .offset(offset)
    )
    if not include_past:
        query = query.where(MealService.service_date >= utcnow().date() - dt.timedelta(days=1))
    return await _views(session, list(await session.scalars(query)))


async def get_order(session: AsyncSession, user: User, order_id: uuid.UUID) -> OrderView:
    """One order, for its owner or the canteen team of its structure; 404 for anyone else."""
    order = await session.scalar(
        select(MealOrder).where(MealOrder.id == order_id, _visible_to(user))
    )
    if order is None:
        raise NotFound()
    return (await _views(session, [order]))[0]


async def cancel_order(session: AsyncSession, user: User, order_id: uuid.UUID) -> OrderView:
    """Cancel: the owner until the cutoff, the canteen team any time before pickup.

    The portions and the pickup place return (conditional UPDATEs); a voucher becomes
    usable again; paid-forward meals already credited leave the pool if still there.
    """
    view = await get_order(session, user, order_id)
    order = view.order
    is_team = await has_role(session, user, order.structure_id, KITCHEN_ROLES)
    if order.status not in ACTIVE:
        raise OrderNotCancellable({"status": order.status})
    if not is_team and not rules.ordering_open(utcnow(), view.service.order_cutoff):
        raise CancelCutoffPassed()
    try:
        await release_order(session, order, view.lines)
        await notify.order_changed(session, Kind.ORDER_CANCELLED, user, *_facts(view))
        await session.commit()
    except DomainError:
        await session.rollback()
        raise
    session.expire(order)  # the conditional UPDATEs bypassed the identity map
    return await get_order(session, user, order_id)


def _facts(view: OrderView) -> tuple[Any, ...]:
    """What ``notify.order_changed`` needs of an order, after the caller."""
    return view.order, view.service, view.window, view.structure, notify.dishes(view.lines)


async def release_order(
    session: AsyncSession, order: MealOrder, lines: list[tuple[MealOrderLine, MenuItem]]
) -> None:
    """Cancel an active order and give back what it held, without committing.

    The portions and the pickup place return (conditional UPDATEs); a voucher becomes
    usable again; paid-forward meals already credited leave the pool if still there.
    """
    result = await session.execute(
        update(MealOrder)
        .where(MealOrder.id == order.id, MealOrder.status.in_(ACTIVE))
        .values(status=rules.OrderStatus.CANCELLED.value, cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise OrderNotCancellable({"status": rules.OrderStatus.CANCELLED.value})
    await drop_pending_reminders(session, order_id=order.id)
    # Same lock order as place_order (voucher, dishes by id, window): no deadlock.
    if order.voucher_id is not None:
        await session.execute(
            update(SuspendedMealVoucher)
            .where(SuspendedMealVoucher.id == order.voucher_id)
            .values(used_at=None)
            .execution_options(synchronize_session=False)
        )
    for line, _item in sorted(lines, key=lambda pair: str(pair[0].item_id)):
        await session.execute(
            update(MenuItem)
            .where(MenuItem.id == line.item_id)
            .values(sold=MenuItem.sold - line.quantity)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(PickupWindow)
        .where(PickupWindow.id == order.pickup_window_id)
        .values(taken=PickupWindow.taken - 1)
        .execution_options(synchronize_session=False)
    )
    if order.paid and order.suspended_meals:
        await debit(
            session,
            order.structure_id,
            order.suspended_meals,
            rules.LedgerKind.REFUND,
            PoolAlreadySpent,
            order_id=order.id,
            person_id=order.user_id,
        )


async def set_kitchen_status(
    session: AsyncSession,
    user: User,
    order_id: uuid.UUID,
    status: str | None,
    paid: bool | None,
) -> OrderView:
    """The canteen team marks an order ready / collected / no-show, and paid or not.

    Marking paid credits the pool with the order's paid-forward meals; un-marking takes
    them back only if they were not given away yet.
    """
    view = await get_order(session, user, order_id)
    order = view.order
    if not await has_role(session, user, order.structure_id, KITCHEN_ROLES):
        raise Forbidden()
    if status is None and paid is None:
        raise InvalidInput("status", "required")
    try:
        if status is not None:
            result = await session.execute(
                update(MealOrder)
                .where(
                    MealOrder.id == order.id,
                    MealOrder.status != rules.OrderStatus.CANCELLED.value,
                )
                .values(status=status)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise OrderCancelled()
            if status == rules.OrderStatus.READY.value and order.status != status:
                await notify.order_changed(session, Kind.ORDER_READY, user, *_facts(view))
        if paid is not None:
            result = await session.execute(
                update(MealOrder)
                .where(
                    MealOrder.id == order.id,
                    MealOrder.paid.is_(not paid),
                    MealOrder.status != rules.OrderStatus.CANCELLED.value,
                )
                .values(paid=paid, paid_at=utcnow() if paid else None)
                .execution_options(synchronize_session=False)
            )
            changed = result.rowcount == 1  # type: ignore[attr-defined]
            if not changed and order.status == rules.OrderStatus.CANCELLED.value:
                raise OrderCancelled()
            if changed and order.suspended_meals:
                if paid:
                    await credit(
                        session,
                        order.structure_id,
                        order.suspended_meals,
                        rules.LedgerKind.PAID_FORWARD,
                        order_id=order.id,
                        person_id=order.user_id,
                    )
                else:
                    await debit(
                        session,
                        order.structure_id,
                        order.suspended_meals,
                        rules.LedgerKind.REFUND,
                        PoolAlreadySpent,
                        order_id=order.id,
                        person_id=order.user_id,
                    )
        await session.commit()
    except DomainError:
        await session.rollback()
        raise
    session.expire(order)  # the conditional UPDATEs bypassed the identity map
    return await get_order(session, user, order_id)


# --- kitchen sheet --------------------------------------------------------------------


@dataclass
class KitchenSheet:
    menu: Menu
    views: list[OrderView]
    generated_at: dt.datetime
    orders_by_window: dict[uuid.UUID, list[OrderView]] = field(default_factory=dict)


async def kitchen_sheet(session: AsyncSession, user: User, service_id: uuid.UUID) -> KitchenSheet:
    """What the kitchen cooks and hands out: every order that is not cancelled."""
    menu = await load_menu(session, service_id, user)
    if not await has_role(session, user, menu.structure.id, KITCHEN_ROLES):
        # A neighbour may know the service exists, but not read who eats what.
        raise Forbidden()
    orders = list(
        await session.scalars(
            select(MealOrder)
            .where(
                MealOrder.service_id == menu.service.id,
                MealOrder.status != rules.OrderStatus.CANCELLED.value,
            )
            .order_by(MealOrder.created_at)
        )
    )
    views = await _views(session, orders)
    by_window: dict[uuid.UUID, list[OrderView]] = {w.id: [] for w in menu.windows}
    for v in views:
        by_window.setdefault(v.order.pickup_window_id, []).append(v)
    return KitchenSheet(menu=menu, views=views, generated_at=utcnow(), orders_by_window=by_window)
