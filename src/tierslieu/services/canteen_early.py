"""A meal order refused on a read, before any transaction that writes (issue 16).

At the rush most orders are refused: the pickup window is full, the dish sold out, the
person already ordered. ``place_order`` decides those refusals only after reading the
menu in the transaction that writes, which on SQLite holds the process's single write
turn for the whole request (the token, the menu, the caller's facts, then a ROLLBACK);
on PostgreSQL it is eight round trips through the ORM.

``refuse_early`` reads the same facts without writing: the token's person, then the
service, its dishes, the pickup window asked for and the caller's facts in one statement,
then the structure's tariffs. It runs the same checks as ``place_order`` in the same
order (``rules.accept_order``, then ``check_before_writes``) and raises the refusal they
make. When they accept, it returns and ``place_order`` takes the order from the start,
in its write transaction, where every check is made again and the conditional UPDATEs
decide the race: nothing is accepted here, only refused.

Covered: a signed-in person ordering for themself (no contact, guest, guest tariff,
voucher or repas suspendus: those read more, and stay on the general way).
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tierslieu.db import fetch_rows, only_small_statements, prepared, read_only, transient
from tierslieu.domain import canteen as rules
from tierslieu.models import (
    Asset,
    MealService,
    MenuItem,
    PickupWindow,
    Structure,
    Tariff,
    TariffAssignment,
)
from tierslieu.services.accounts import person_for_token
from tierslieu.services.canteen import TARIFFS_AND_ASSIGNMENT, pick_tariff
from tierslieu.services.canteen_orders import (
    CALLER_ACTIVE,
    CALLER_ALREADY,
    CallerFacts,
    Reads,
    caller_facts_values,
    caller_role,
    check_before_writes,
    order_facts,
)
from tierslieu.services.clock import utcnow

_ITEM_COLUMNS = ("id", "name", "kind", "prices", "withdrawn_at", "portions", "sold")
_WINDOW_COLUMNS = ("id", "starts_at", "capacity", "taken")

# One row per dish of the service (one row without a dish if it has none), each with the
# service, the pickup window asked for (if it is one of the service's) and the caller's
# facts: one statement, one snapshot.
_ORDER_READS = (
    select(
        MealService.order_cutoff,
        Asset.archived_at,
        Structure.id,
        Structure.timezone,
        caller_role(MealService.structure_id),
        CALLER_ALREADY,
        CALLER_ACTIVE,
        *(getattr(PickupWindow, c) for c in _WINDOW_COLUMNS),
        *(getattr(MenuItem, c) for c in _ITEM_COLUMNS),
    )
    .select_from(MealService)
    .join(Asset, Asset.id == MealService.asset_id)
    .join(Structure, Structure.id == MealService.structure_id)
    .outerjoin(
        PickupWindow,
        and_(
            PickupWindow.id == bindparam("window_id"),
            PickupWindow.service_id == MealService.id,
        ),
    )
    .outerjoin(MenuItem, MenuItem.service_id == MealService.id)
    .where(MealService.id == bindparam("service_id"))
)
_ORDER_READS_FAST = prepared(_ORDER_READS)
# The structure's tariffs, each with the person's assignment to it (``pick_tariff``): the
# statement ``tariff_of`` runs, as columns.
_TARIFFS_FAST = prepared(
    TARIFFS_AND_ASSIGNMENT.with_only_columns(
        Tariff.id, Tariff.code, Tariff.label, Tariff.default_for, TariffAssignment.id
    )
)


def _covered(cmd: rules.PlaceOrder) -> bool:
    """What the reads here cover: a person ordering for themself, paying their own tariff."""
    return not (
        cmd.contact_id
        or cmd.guest_name is not None
        or cmd.guest_tariff is not None
        or cmd.voucher_code
        or cmd.suspended_meals
    )


@only_small_statements
async def refuse_early(engine: AsyncEngine, token: str, cmd: rules.PlaceOrder) -> None:
    """Raise the refusal ``place_order`` would make on what the database holds now, or
    return: nothing decided (an unknown token or service, an archived canteen, an order
    the checks accept), and the general way takes the request from the start."""
    if not _covered(cmd):
        return
    now = utcnow()
    async with read_only(engine).connect() as connection:
        person = await person_for_token(connection, token)
        if person is None:
            return
        values = caller_facts_values(person, cmd.service_id, now)
        values["window_id"] = cmd.pickup_window_id
        rows = await fetch_rows(connection, _ORDER_READS_FAST, values)
        if not rows:
            return
        cutoff, archived_at, structure_id, timezone, role, already, active = rows[0][:7]
        if archived_at is not None:
            return  # hidden from all but the kitchen team: the general way says which
        tariffs = await fetch_rows(
            connection, _TARIFFS_FAST, {"structure_id": structure_id, "user_id": person.id}
        )
    facts = CallerFacts.of(person, role, already, active)
    window_at = 7 + len(_WINDOW_COLUMNS)
    window_row = rows[0][7:window_at]
    window = None
    if window_row[0] is not None:
        window = transient(PickupWindow, dict(zip(_WINDOW_COLUMNS, window_row, strict=True)))
    items = {
        row[window_at]: transient(MenuItem, dict(zip(_ITEM_COLUMNS, row[window_at:], strict=True)))
        for row in rows
        if row[window_at] is not None
    }
    accepted = rules.accept_order(
        cmd,
        order_facts(
            True,
            facts,
            now,
            cutoff,
            timezone,
            items.values(),
            frozenset() if window is None else frozenset({window.id}),
        ),
    )
    if window is None:  # accept_order refuses a window not of this service: not reached
        return
    tariff = pick_tariff(
        person,
        (
            (transient(Tariff, {"id": i, "code": c, "label": lb, "default_for": d}), a)
            for i, c, lb, d, a in tariffs
        ),
    )
    check_before_writes(
        cmd, accepted, Reads(items, window, timezone, tariff, 0, facts), owner_id=person.id
    )
