"""Canteen: tariffs, tariff assignments, meal services and their public menus."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.db import fetch_rows, only_small_statements, prepared, whole
from tierslieu.domain import canteen as rules
from tierslieu.domain import localtime
from tierslieu.domain.horizon import check_date, check_dates
from tierslieu.domain.vocabulary import AssetKind, MemberRole
from tierslieu.errors import AssetArchived, InvalidInput, NotFound, UnknownPerson
from tierslieu.models import (
    Asset,
    MealOrder,
    MealOrderLine,
    MealService,
    MenuItem,
    PickupWindow,
    Structure,
    SuspendedMealPool,
    Tariff,
    TariffAssignment,
    User,
)
from tierslieu.services.access import has_role, require_role, structure_by_slug, structure_for
from tierslieu.services.assets import get_asset
from tierslieu.services.canteen_errors import (
    ItemHasOrders,
    MealServiceExists,
    NotACanteen,
    TariffDefaultTaken,
    UnknownTariff,
)
from tierslieu.services.clock import utcnow

# Who runs meal services and reads the kitchen sheet.
KITCHEN_ROLES = frozenset({MemberRole.MANAGER, MemberRole.STAFF, MemberRole.KITCHEN})
# Who assigns tariffs to people and gives repas suspendus (social workers).
SOCIAL_ROLES = frozenset({MemberRole.MANAGER, MemberRole.STAFF})
TARIFF_ROLES = frozenset({MemberRole.MANAGER})


# --- tariffs ------------------------------------------------------------------------


async def list_tariffs(session: AsyncSession, slug: str) -> list[Tariff]:
    """A structure's tariffs (public: people should know what they will pay)."""
    structure = await structure_by_slug(session, slug)
    rows = await session.scalars(
        select(Tariff).where(Tariff.structure_id == structure.id).order_by(Tariff.code)
    )
    return list(rows)


async def put_tariff(
    session: AsyncSession, user: User, slug: str, code: str, fields: dict[str, Any]
) -> tuple[Tariff, bool]:
    """Create or replace a tariff (structure manager). A kind of person has one default tariff."""
    structure = await structure_for(session, user, slug, TARIFF_ROLES)
    if not rules.valid_tariff_code(code):
        raise InvalidInput("code", "bad-format")
    default_for = sorted(set(fields.get("default_for") or []))
    others = await session.scalars(
        select(Tariff).where(Tariff.structure_id == structure.id, Tariff.code != code)
    )
    for other in others:
        taken = set(other.default_for) & set(default_for)
        if taken:
            raise TariffDefaultTaken({"other": other.label, "kind": sorted(taken)[0]})
    tariff = await session.scalar(
        select(Tariff).where(Tariff.structure_id == structure.id, Tariff.code == code)
    )
    created = tariff is None
    if tariff is None:
        tariff = Tariff(structure_id=structure.id, code=code, default_for=default_for, label="")
        session.add(tariff)
    tariff.label = fields["label"]
    tariff.description = fields.get("description", "")
    tariff.default_for = default_for
    await session.commit()
    return tariff, created


async def assign_tariff(
    session: AsyncSession, user: User, slug: str, person_id: uuid.UUID, code: str
) -> tuple[TariffAssignment, Tariff, User]:
    """Staff decide that a person pays ``code`` in this structure (e.g. solidaire)."""
    structure = await structure_for(session, user, slug, SOCIAL_ROLES)
    person = await session.get(User, person_id)
    if person is None or not person.is_active:
        raise UnknownPerson()
    tariff = await session.scalar(
        select(Tariff).where(Tariff.structure_id == structure.id, Tariff.code == code)
    )
    if tariff is None:
        raise UnknownTariff({"tariff": code})
    assignment = await session.scalar(
        select(TariffAssignment).where(
            TariffAssignment.structure_id == structure.id, TariffAssignment.user_id == person_id
        )
    )
    if assignment is None:
        assignment = TariffAssignment(
            structure_id=structure.id, user_id=person_id, tariff_id=tariff.id
        )
        session.add(assignment)
    assignment.tariff_id = tariff.id
    assignment.assigned_by_id = user.id
    await session.commit()
    return assignment, tariff, person


async def unassign_tariff(
    session: AsyncSession, user: User, slug: str, person_id: uuid.UUID
) -> None:
    """The person pays their default tariff again. Idempotent."""
    structure = await structure_for(session, user, slug, SOCIAL_ROLES)
    assignment = await session.scalar(
        select(TariffAssignment).where(
            TariffAssignment.structure_id == structure.id, TariffAssignment.user_id == person_id
        )
    )
    if assignment is not None:
        await session.delete(assignment)
        await session.commit()


async def list_assignments(
    session: AsyncSession, user: User, slug: str
) -> list[tuple[TariffAssignment, Tariff, User]]:
    structure = await structure_for(session, user, slug, SOCIAL_ROLES)
    rows = await session.execute(
        select(TariffAssignment, Tariff, User)
        .join(Tariff, Tariff.id == TariffAssignment.tariff_id)
        .join(User, User.id == TariffAssignment.user_id)
        .where(TariffAssignment.structure_id == structure.id)
        .order_by(User.display_name)
    )
    return list(rows.tuples())


# Statements of every order and menu, built once (building them cost more than running them).
TARIFFS_AND_ASSIGNMENT = (
    select(Tariff, TariffAssignment.id)
    .outerjoin(
        TariffAssignment,
        and_(
            TariffAssignment.tariff_id == Tariff.id,
            TariffAssignment.structure_id == bindparam("structure_id"),
            TariffAssignment.user_id == bindparam("user_id"),
        ),
    )
    .where(Tariff.structure_id == bindparam("structure_id"))
)
_SERVICE = (
    select(MealService, Asset, Structure)
    .join(Asset, Asset.id == MealService.asset_id)
    .join(Structure, Structure.id == MealService.structure_id)
    .where(MealService.id == bindparam("service_id"))
)
_ITEMS = (
    select(MenuItem)
    .where(MenuItem.service_id == bindparam("service_id"))
    .order_by(MenuItem.position, MenuItem.name)
)
_WINDOWS = (
    select(PickupWindow)
    .where(PickupWindow.service_id == bindparam("service_id"))
    .order_by(PickupWindow.starts_at)
)


async def tariff_of(
    session: AsyncSession,
    person: User | None,
    structure_id: uuid.UUID,
    *,
    guest_code: str | None = None,
) -> Tariff | None:
    """The tariff an order is priced at here (``rules.choose_tariff`` decides): a person's
    assignment, else their kind's default; for a guest (``person`` None) the team's
    ``guest_code``, else the guests' default. None if no tariff of the structure applies."""
    if person is None:
        tariffs = list(
            await session.scalars(select(Tariff).where(Tariff.structure_id == structure_id))
        )
        return pick_tariff(None, ((t, None) for t in tariffs), guest_code)
    # The structure's tariffs and the person's assignment among them: one statement.
    rows = (
        await session.execute(
            TARIFFS_AND_ASSIGNMENT, {"structure_id": structure_id, "user_id": person.id}
        )
    ).tuples()
    return pick_tariff(person, rows, guest_code=guest_code)


def pick_tariff(
    person: User | None,
    rows: Iterable[tuple[Tariff, Any]],
    guest_code: str | None = None,
) -> Tariff | None:
    """``rules.choose_tariff`` over the structure's tariffs, each with the person's
    assignment to it or None (``TARIFFS_AND_ASSIGNMENT``'s rows)."""
    tariffs, assigned = [], None
    for tariff, assignment in rows:
        tariffs.append(tariff)
        if assignment is not None:
            assigned = tariff.code
    code = rules.choose_tariff(
        person.kind if person is not None else None,
        assigned,
        {t.code: t.default_for for t in tariffs},
        guest_code,
    )
    return next((t for t in tariffs if t.code == code), None)


# --- meal services ------------------------------------------------------------------


@dataclass
class Menu:
    """A meal service with everything its menu shows."""

    service: MealService
    asset: Asset
    structure: Structure
    items: list[MenuItem]
    windows: list[PickupWindow]
    tariff: Tariff | None = None
    orders_by_item: dict[uuid.UUID, int] = field(default_factory=dict)
    # The price of a suspended meal here (``get_menu``; None: the structure has no pool yet).
    pool_price_cents: int | None = None


def _local(value: dt.datetime, field_name: str, timezone: str) -> dt.datetime:
    check_date(value, today=utcnow().date(), field=field_name)
    return localtime.typed_to_utc(value, timezone, field_name)


async def _tariff_codes(session: AsyncSession, structure_id: uuid.UUID) -> set[str]:
    return set(
        await session.scalars(select(Tariff.code).where(Tariff.structure_id == structure_id))
    )


def _check_prices(prices: dict[str, int], codes: set[str], field_name: str) -> None:
    for code in prices:
        if code not in codes:
            raise InvalidInput(field_name, "unknown-tariff", {"value": code})


def _new_item(service_id: uuid.UUID, position: int, data: dict[str, Any]) -> MenuItem:
    return MenuItem(
        service_id=service_id,
        position=position,
        name=data["name"],
        kind=data["kind"],
        description=data.get("description", ""),
        portions=data["portions"],
        sold=0,
        allergens=sorted(set(data.get("allergens") or [])),
        diets=sorted(set(data.get("diets") or [])),
        prices=dict(data.get("prices") or {}),
    )


async def _canteen_asset(session: AsyncSession, user: User, asset_id: uuid.UUID) -> Asset:
    """A canteen its kitchen team may change (archived: 404 to others, 409 to the team)."""
    asset = await get_asset(session, asset_id, user, roles=KITCHEN_ROLES)
    await require_role(session, user, asset.structure_id, KITCHEN_ROLES)
    if asset.archived_at is not None:
        raise AssetArchived()
    if asset.kind != AssetKind.CANTEEN:
        raise NotACanteen()
    return asset


async def create_meal_service(
    session: AsyncSession, user: User, asset_id: uuid.UUID, data: dict[str, Any]
) -> Menu:
    """Publish a service's menu (kitchen, staff or manager of the canteen's structure).

    Wall-clock times without an offset are read in the structure's time zone; the
    cutoff must come before the first pickup, and every window lies on the service date.
    """
    asset = await _canteen_asset(session, user, asset_id)
    structure = asset.structure
    tz = structure.timezone
    service_date: dt.date = check_date(data["date"], today=utcnow().date(), field="date")
    cutoff = _local(data["order_cutoff"], "order_cutoff", tz)
    windows: list[PickupWindow] = []
    for i, w in enumerate(data["pickup_windows"]):
        starts = _local(w["starts_at"], f"pickup_windows[{i}].starts_at", tz)
        ends = _local(w["ends_at"], f"pickup_windows[{i}].ends_at", tz)
        if ends <= starts or localtime.local_date(starts, tz) != service_date:
            raise InvalidInput(f"pickup_windows[{i}]", "window-not-on-date")
        windows.append(
            PickupWindow(starts_at=starts, ends_at=ends, capacity=w["capacity"], taken=0)
        )
    rules.check_cutoff_before_pickup(cutoff, (w.starts_at for w in windows))
    codes = await _tariff_codes(session, structure.id)
    names: set[str] = set()
    for i, item in enumerate(data["items"]):
        _check_prices(item.get("prices") or {}, codes, f"items[{i}].prices")
        if item["name"].casefold() in names:
            raise InvalidInput(f"items[{i}].name", "duplicate", {"value": item["name"]})
        names.add(item["name"].casefold())
    service = MealService(
        asset_id=asset.id,
        structure_id=structure.id,
        service_date=service_date,
        meal=data.get("meal", rules.MealKind.LUNCH.value),
        order_cutoff=cutoff,
        note=data.get("note", ""),
    )
    session.add(service)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise MealServiceExists() from None
    for w in windows:
        w.service_id = service.id
        session.add(w)
    items = [_new_item(service.id, i, item) for i, item in enumerate(data["items"])]
    session.add_all(items)
    await session.commit()
    return Menu(
        service=service,
        asset=asset,
        structure=structure,
        items=items,
        windows=sorted(windows, key=lambda w: w.starts_at),
    )


async def load_menu(session: AsyncSession, service_id: uuid.UUID, caller: User | None) -> Menu:
    """A service's menu as instances of the session (the writes change them)."""
    row = await session.execute(_SERVICE, {"service_id": service_id})
    found = row.tuples().first()
    if found is None:
        raise NotFound()
    service, asset, structure = found
    await _check_shown(session, caller, asset, structure)
    items = list(await session.scalars(_ITEMS, {"service_id": service.id}))
    windows = list(await session.scalars(_WINDOWS, {"service_id": service.id}))
    return await _with_tariff(session, caller, Menu(service, asset, structure, items, windows))


async def _check_shown(
    session: AsyncSession, caller: User | None, asset: Asset, structure: Structure
) -> None:
    """A menu of an archived canteen is the kitchen team's only (404 for anyone else)."""
    if asset.archived_at is not None and not await has_role(
        session, caller, structure.id, KITCHEN_ROLES
    ):
        raise NotFound()


async def _with_tariff(session: AsyncSession, caller: User | None, menu: Menu) -> Menu:
    """The menu with the caller's own tariff (a caller's price); none for the public."""
    if caller is not None:
        menu.tariff = await tariff_of(session, caller, menu.structure.id)
    return menu


# The same rows by the driver, for the menus shown (``read_menu``).
_MEAL_SERVICE, _ASSET, _STRUCTURE = whole(MealService), whole(Asset), whole(Structure)
_ITEM, _WINDOW = whole(MenuItem), whole(PickupWindow)
# A service with its asset, structure and suspended-meal price, one row each.
_SHOWN = (
    select(*_MEAL_SERVICE.columns, *_ASSET.columns, *_STRUCTURE.columns)
    .select_from(MealService)
    .join(Asset, Asset.id == MealService.asset_id)
    .join(Structure, Structure.id == MealService.structure_id)
    .outerjoin(SuspendedMealPool, SuspendedMealPool.structure_id == MealService.structure_id)
    .add_columns(SuspendedMealPool.price_cents)
)
_SERVICE_ROWS = prepared(_SHOWN.where(MealService.id == bindparam("service_id")))
_ITEM_ROWS = prepared(_ITEMS.with_only_columns(*_ITEM.columns))
_WINDOW_ROWS = prepared(_WINDOWS.with_only_columns(*_WINDOW.columns))


def _shown(row: Sequence[Any]) -> Menu:
    """The menu of a ``_SHOWN`` row, its dishes and windows still to add."""
    return Menu(
        _MEAL_SERVICE.of(row),
        _ASSET.of(row, len(_MEAL_SERVICE)),
        _STRUCTURE.of(row, len(_MEAL_SERVICE) + len(_ASSET)),
        [],
        [],
        pool_price_cents=row[-1],
    )


@only_small_statements
async def read_menu(session: AsyncSession, service_id: uuid.UUID, caller: User | None) -> Menu:
    """``load_menu`` by the driver (``db.fetch_rows``; through the ORM a menu cost ~2 ms
    of the event loop), as instances attached to no session: to show, never to change.
    With the price of a suspended meal here (the same statement)."""
    connection = await session.connection()
    values = {"service_id": service_id}
    found = await fetch_rows(connection, _SERVICE_ROWS, values)
    if not found:
        raise NotFound()
    menu = _shown(found[0])
    await _check_shown(session, caller, menu.asset, menu.structure)
    menu.items = [_ITEM.of(r) for r in await fetch_rows(connection, _ITEM_ROWS, values)]
    menu.windows = [_WINDOW.of(r) for r in await fetch_rows(connection, _WINDOW_ROWS, values)]
    return await _with_tariff(session, caller, menu)


async def get_menu(session: AsyncSession, service_id: uuid.UUID, caller: User | None) -> Menu:
    """A service's public menu: remaining portions and places, and the caller's own price."""
    menu = await read_menu(session, service_id, caller)
    menu.items = [i for i in menu.items if i.withdrawn_at is None]
    return menu


async def list_menus(
    session: AsyncSession,
    caller: User | None,
    *,
    asset_id: uuid.UUID | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
) -> list[Menu]:
    """Public menus, by date (default: today and the next 6 days) on open canteens, as
    ``get_menu`` shows each: the services, then all their dishes, then all their pickup
    windows (three statements, not three a menu), and the caller's tariff once a structure."""
    today = utcnow().date()
    check_dates(today, **{"from": date_from, "to": date_to})
    start = date_from or today
    end = date_to or (start + dt.timedelta(days=6))
    query = (
        _SHOWN.where(
            Asset.archived_at.is_(None),
            MealService.service_date >= start,
            MealService.service_date <= end,
        )
        .order_by(MealService.service_date, MealService.meal, MealService.id)
        .limit(limit)
    )
    if asset_id is not None:
        query = query.where(MealService.asset_id == asset_id)
    menus = {menu.service.id: menu for menu in map(_shown, await session.execute(query))}
    if not menus:
        return []
    ids = list(menus)
    for row in await session.execute(_ITEMS_OF.where(MenuItem.service_id.in_(ids))):
        item = _ITEM.of(row)
        if item.withdrawn_at is None:
            menus[item.service_id].items.append(item)
    for row in await session.execute(_WINDOWS_OF.where(PickupWindow.service_id.in_(ids))):
        window = _WINDOW.of(row)
        menus[window.service_id].windows.append(window)
    tariffs: dict[uuid.UUID, Tariff | None] = {}
    for menu in menus.values():
        structure_id = menu.structure.id
        if caller is not None and structure_id not in tariffs:
            tariffs[structure_id] = await tariff_of(session, caller, structure_id)
        menu.tariff = tariffs.get(structure_id)
    return list(menus.values())


# The dishes and pickup windows of several services, in each service's order.
_ITEMS_OF = select(*_ITEM.columns).order_by(MenuItem.position, MenuItem.name)
_WINDOWS_OF = select(*_WINDOW.columns).order_by(PickupWindow.starts_at)


async def _kitchen_menu(session: AsyncSession, user: User, service_id: uuid.UUID) -> Menu:
    menu = await load_menu(session, service_id, user)
    await require_role(session, user, menu.structure.id, KITCHEN_ROLES)
    return menu


async def update_meal_service(
    session: AsyncSession, user: User, service_id: uuid.UUID, changes: dict[str, Any]
) -> Menu:
    """Change the cutoff or the note (kitchen team). The cutoff stays before the first pickup."""
    menu = await _kitchen_menu(session, user, service_id)
    if "order_cutoff" in changes:
        cutoff = _local(changes["order_cutoff"], "order_cutoff", menu.structure.timezone)
        rules.check_cutoff_before_pickup(cutoff, (w.starts_at for w in menu.windows))
        menu.service.order_cutoff = cutoff
    if "note" in changes:
        menu.service.note = changes["note"]
    await session.commit()
    return await get_menu(session, service_id, user)


async def add_item(
    session: AsyncSession, user: User, service_id: uuid.UUID, data: dict[str, Any]
) -> Menu:
    """Add a dish to a published menu."""
    menu = await _kitchen_menu(session, user, service_id)
    _check_prices(
        data.get("prices") or {}, await _tariff_codes(session, menu.structure.id), "prices"
    )
    if any(i.name.casefold() == data["name"].casefold() for i in menu.items):
        raise InvalidInput("name", "duplicate", {"value": data["name"]})
    position = max((i.position for i in menu.items), default=-1) + 1
    session.add(_new_item(menu.service.id, position, data))
    await session.commit()
    return await get_menu(session, service_id, user)


async def _item_of(menu: Menu, item_id: uuid.UUID) -> MenuItem:
    item = next((i for i in menu.items if i.id == item_id), None)
    if item is None:
        raise NotFound()
    return item


async def _has_orders(session: AsyncSession, item_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    MealOrderLine.item_id == item_id,
                    MealOrderLine.order_id == MealOrder.id,
                    MealOrder.status != rules.OrderStatus.CANCELLED.value,
                )
            )
        )
    )


async def update_item(
    session: AsyncSession,
    user: User,
    service_id: uuid.UUID,
    item_id: uuid.UUID,
    changes: dict[str, Any],
) -> Menu:
    """Change a dish while nobody ordered it; adding portions is always allowed.

    Portions move through a conditional UPDATE (never below what is sold).
    """
    menu = await _kitchen_menu(session, user, service_id)
    item = await _item_of(menu, item_id)
    ordered = await _has_orders(session, item.id)
    described = {k: v for k, v in changes.items() if k != "portions"}
    if "allergens" in described:
        described["allergens"] = sorted(set(described["allergens"]))
    if "diets" in described:
        described["diets"] = sorted(set(described["diets"]))
    really_changed = {k: v for k, v in described.items() if getattr(item, k) != v}
    new_portions = changes.get("portions")
    if ordered and (really_changed or (new_portions is not None and new_portions < item.portions)):
        raise ItemHasOrders({"item": item.name})
    if "prices" in really_changed:
        _check_prices(
            really_changed["prices"], await _tariff_codes(session, menu.structure.id), "prices"
        )
    if "name" in really_changed and any(
        i.id != item.id and i.name.casefold() == really_changed["name"].casefold()
        for i in menu.items
    ):
        raise InvalidInput("name", "duplicate", {"value": really_changed["name"]})
    for name, value in really_changed.items():
        setattr(item, name, value)
    if new_portions is not None and new_portions != item.portions:
        result = await session.execute(
            update(MenuItem)
            .where(MenuItem.id == item.id, MenuItem.sold <= new_portions)
            .values(portions=new_portions)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            raise ItemHasOrders({"item": item.name})
    await session.commit()
    session.expire(item)  # the conditional UPDATE bypassed the identity map
    return await get_menu(session, service_id, user)


@dataclass
class Withdrawal:
    item: MenuItem
    orders: list[MealOrder]
    portions_ordered: int


async def withdraw_item(
    session: AsyncSession, user: User, service_id: uuid.UUID, item_id: uuid.UUID
) -> Withdrawal:
    """Take a dish off the menu: no new orders; existing ones are kept and reported."""
    menu = await _kitchen_menu(session, user, service_id)
    item = await _item_of(menu, item_id)
    if item.withdrawn_at is None:
        item.withdrawn_at = utcnow()
    rows = await session.execute(
        select(MealOrder, func.sum(MealOrderLine.quantity))
        .join(MealOrderLine, MealOrderLine.order_id == MealOrder.id)
        .where(
            MealOrderLine.item_id == item.id,
            MealOrder.status.in_([s.value for s in rules.ACTIVE_STATUSES]),
        )
        .group_by(MealOrder.id)
        .order_by(MealOrder.created_at)
    )
    found = list(rows.tuples())
    await session.commit()
    return Withdrawal(
        item=item,
        orders=[o for o, _ in found],
        portions_ordered=sum(int(q or 0) for _, q in found),
    )
