"""A meal order decided before the general way's transaction (issue 16).

At the rush most orders are refused: the pickup window is full, the dish sold out, the
person already ordered. ``place_order`` decides those refusals only after reading the
menu in the transaction that writes, which on SQLite holds the process's single write
turn for the whole request (the token, the menu, the caller's facts, then a ROLLBACK);
on PostgreSQL it is eight round trips through the ORM.

``order_early`` reads the same facts without writing: the token's person, then the
service, its dishes, the pickup window asked for and the caller's facts in one statement,
then the structure's tariffs. It runs the same checks as ``place_order`` in the same
order (``rules.accept_order``, then ``check_before_writes``) and raises the refusal they
make.

When they accept, the order is placed here, without an ORM session (``_PlaceAtOnce``):
the order row, each dish's portions, the pickup place (the conditional UPDATEs of
``place_order``, in its lock order), the lines and the « confirmed » message, or nothing.
Each write re-checks in the database what the read assumed (no active order for this
service, under the limit of orders in progress, portions and places left); a race it
loses leaves nothing written, and the general way takes the request from the start,
decides again inside its transaction and refuses.

- PostgreSQL: one statement, in autocommit. ``place_order`` held the dishes' and the
  pickup window's row locks from its UPDATEs to its COMMIT, a round trip and a turn of
  the event loop later: every accepted order of a service waited for the one before it
  (~60 a second at the rush). Here the locks last as long as the statement.
- SQLite (no writes in a statement's WITH): the same steps one after the other, in the
  loop's thread (``small_statements``), in a write transaction shared with the other
  orders and bookings under way (``group_commit``): one COMMIT for all of them. A race
  lost after the order row was written undoes this order's writes only.

Covered: a signed-in person ordering for themself (no contact, guest, guest tariff,
voucher or repas suspendus: those read more, and stay on the general way).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from asyncpg import exceptions as pg
from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from uuid_utils.compat import uuid7

from tierslieu.db import (
    RawStatement,
    fetch_raw,
    fetch_rows,
    only_small_statements,
    prepared,
    public_url,
    raw_statement,
    read_only,
    transient,
    whole,
    write_rows,
)
from tierslieu.domain import canteen as rules
from tierslieu.group_commit import Undo, grouped
from tierslieu.models import (
    Asset,
    MealOrder,
    MealOrderLine,
    MealService,
    MenuItem,
    OutboxMessage,
    PickupWindow,
    Structure,
    Tariff,
    TariffAssignment,
    User,
)
from tierslieu.services import notify
from tierslieu.services.accounts import person_for_token
from tierslieu.services.booking_sql import INSERT_MESSAGE, MESSAGE_COLUMNS
from tierslieu.services.canteen import TARIFFS_AND_ASSIGNMENT, pick_tariff
from tierslieu.services.canteen_orders import (
    CALLER_ACTIVE,
    CALLER_ALREADY,
    TAKE_PICKUP_PLACE,
    TAKE_PORTIONS,
    CallerFacts,
    OrderView,
    Reads,
    caller_facts_values,
    caller_role,
    check_before_writes,
    order_facts,
)
from tierslieu.services.clock import utcnow

# What ends the one statement with nothing written: a race lost to another order (the
# statement's own division by zero, the unique index of active orders), the service
# deleted meanwhile, or PostgreSQL choosing it to break a deadlock.
_RACE_LOST = (
    pg.DivisionByZeroError,
    pg.UniqueViolationError,
    pg.ForeignKeyViolationError,
    pg.DeadlockDetectedError,
)
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


@dataclass(frozen=True, slots=True)
class _Checked:
    """An order the checks accepted on what was read."""

    reads: Reads
    lines: list[rules.PricedLine]  # as priced: the answer's order
    total: int


@only_small_statements
async def order_early(engine: AsyncEngine, token: str, cmd: rules.PlaceOrder) -> OrderView | None:
    """Raise the refusal ``place_order`` would make on what the database holds now, or
    place an order the checks accept (``_PlaceAtOnce``). None: nothing decided or written
    (an unknown token or service, an archived canteen, the team, a race lost), and the
    general way takes the request from the start."""
    if not _covered(cmd):
        return None
    now = utcnow()
    url = public_url(engine)
    if engine.dialect.name != "postgresql":
        async with read_only(engine).connect() as reading:
            placing = await _prepare(reading, token, cmd, now, url)
        if placing is None:
            return None
        # With the other orders and bookings under way: one write transaction, one COMMIT.
        placed = await grouped(
            engine, functools.partial(_PlaceAtOnce.write_all_or_nothing, placing=placing)
        )
        return placing.view if placed else None
    async with engine.connect() as pooled:
        connection = await pooled.execution_options(isolation_level="AUTOCOMMIT")
        placing = await _prepare(connection, token, cmd, now, url)
        if placing is None or not await _PlaceAtOnce.write(connection, placing):
            return None
        return placing.view


async def _prepare(
    connection: AsyncConnection, token: str, cmd: rules.PlaceOrder, now: dt.datetime, url: str
) -> _Placing | None:
    """The token's person, the checks (raise the first refusal), then the rows of the order
    they accept (None: the general way decides)."""
    person = await person_for_token(connection, token)
    if person is None:
        return None
    checked = await _check(connection, person, cmd, now)
    if checked is None or checked.reads.facts.is_team:
        return None  # the team may be allowed more: the general way decides
    return await _PlaceAtOnce.prepare(connection, person, cmd, checked, now, url)


async def _check(
    connection: AsyncConnection, person: User, cmd: rules.PlaceOrder, now: dt.datetime
) -> _Checked | None:
    """``place_order``'s checks, in its order, on a read: raise the first refusal, else
    what they accepted (None: not decided here)."""
    values = caller_facts_values(person, cmd.service_id, now)
    values["window_id"] = cmd.pickup_window_id
    rows = await fetch_rows(connection, _ORDER_READS_FAST, values)
    if not rows:
        return None
    cutoff, archived_at, structure_id, timezone, role, already, active = rows[0][:7]
    if archived_at is not None:
        return None  # hidden from all but the kitchen team: the general way says which
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
        return None
    tariff = pick_tariff(
        person,
        (
            (transient(Tariff, {"id": i, "code": c, "label": lb, "default_for": d}), a)
            for i, c, lb, d, a in tariffs
        ),
    )
    reads = Reads(items, window, timezone, tariff, 0, facts)
    lines, total = check_before_writes(cmd, accepted, reads, owner_id=person.id)
    return _Checked(reads, lines, total)


# --- an accepted order, written without the ORM ------------------------------------------


def _bound(prefix: str, columns: list[Any]) -> list[Any]:
    """One typed parameter per column (asyncpg casts them: ``$1::UUID``)."""
    return [bindparam(f"{prefix}{c.key}", type_=c.type) for c in columns]


_ORDER = list(whole(MealOrder).columns)
_LINE = list(whole(MealOrderLine).columns)
_MESSAGE = [OutboxMessage.__table__.c[c] for c in MESSAGE_COLUMNS]
_SERVICE, _STRUCTURE, _PICKUP = (whole(m) for m in (MealService, Structure, PickupWindow))
# The service, its structure and the pickup window, whole (the answer and the message).
_WHOLE_ROWS = prepared(
    select(*_SERVICE.columns, *_STRUCTURE.columns, *_PICKUP.columns)
    .select_from(MealService)
    .join(Structure, Structure.id == MealService.structure_id)
    .join(PickupWindow, PickupWindow.id == bindparam("window_id"))
    .where(MealService.id == bindparam("service_id"))
)
# More dishes in one order go the general way (one statement per count is built and kept).
AT_ONCE_MAX_DISHES = 4


class _PlaceAtOnce:
    """Placing an accepted order: its rows (``prepare``), then writing them (``write``).

    In ``place_order``'s lock order (the order row, the dishes by id, then the pickup
    place), each step only if the one before it wrote:

    1. ``placed``: the order row, only while the caller has no active order for this
       service (also a unique index) and fewer than MAX_ACTIVE_ORDERS_PER_PERSON in
       progress, as read in the statement;
    2. ``dish0`` …: ``sold = sold + n WHERE sold + n <= portions``, per dish;
    3. ``pickup``: ``taken = taken + 1 WHERE taken + 1 <= capacity``;
    4. the lines and the « confirmed » message.

    A step that writes nothing after one that wrote (a dish or the window taken by others
    since the read) must undo the order row and what the steps before it took. On SQLite
    the transaction is rolled back. On PostgreSQL the steps are one statement, which is
    atomic: its last column divides by the count of ``pickup`` exactly then, and the
    division by zero ends the statement, which writes nothing.
    """

    @staticmethod
    @functools.cache
    def statement(dishes: int, with_message: bool) -> RawStatement:
        facts = select(CALLER_ALREADY.label("already"), CALLER_ACTIVE.label("active")).cte("facts")
        placed = (
            insert(MealOrder.__table__)
            .from_select(
                [c.name for c in _ORDER],
                select(*_bound("o_", _ORDER))
                .select_from(facts)
                .where(
                    facts.c.already.is_(None),
                    facts.c.active < rules.MAX_ACTIVE_ORDERS_PER_PERSON,
                ),
            )
            .returning(MealOrder.__table__.c.id)
            .cte("placed")
        )
        item = MenuItem.__table__
        # As the ORM's ``onupdate`` would (given here: a nested UPDATE has no defaults).
        changed = bindparam("changed", type_=item.c.updated_at.type)
        before = placed
        for i in range(dishes):
            n = bindparam(f"n{i}", type_=Integer)
            before = (
                update(item)
                .where(
                    item.c.id == bindparam(f"item{i}", type_=item.c.id.type),
                    item.c.withdrawn_at.is_(None),
                    item.c.sold + n <= item.c.portions,
                    exists(before.select()),
                )
                .values(sold=item.c.sold + n, updated_at=changed)
                .returning(item.c.id)
                .cte(f"dish{i}")
            )
        window = PickupWindow.__table__
        pickup = (
            update(window)
            .where(
                window.c.id == bindparam("window_id", type_=window.c.id.type),
                window.c.taken + 1 <= window.c.capacity,
                exists(before.select()),
            )
            .values(taken=window.c.taken + 1, updated_at=changed)
            .returning(window.c.id)
            .cte("pickup")
        )
        rows = [select(*_bound(f"l{i}_", _LINE)).select_from(pickup) for i in range(dishes)]
        written = [
            insert(MealOrderLine.__table__)
            .from_select([c.name for c in _LINE], union_all(*rows) if dishes > 1 else rows[0])
            .cte("lines")
        ]
        if with_message:
            written.append(
                insert(OutboxMessage.__table__)
                .from_select(
                    [c.name for c in _MESSAGE], select(*_bound("m_", _MESSAGE)).select_from(pickup)
                )
                .cte("told")
            )
        was_placed = select(func.count()).select_from(placed).scalar_subquery()
        was_taken = select(func.count()).select_from(pickup).scalar_subquery()
        return raw_statement(
            select(
                was_placed.label("placed"),
                was_taken.label("taken"),
                case((was_placed > was_taken, literal_column("1") / was_taken)).label("whole"),
            ).add_cte(*written)
        )

    @classmethod
    async def prepare(
        cls,
        connection: AsyncConnection,
        person: User,
        cmd: rules.PlaceOrder,
        checked: _Checked,
        now: dt.datetime,
        url: str,
    ) -> _Placing | None:
        """The rows of the order the checks accepted, made before any write (None: the
        general way decides)."""
        if len(checked.lines) > AT_ONCE_MAX_DISHES:
            return None
        found = await fetch_rows(
            connection,
            _WHOLE_ROWS,
            {"service_id": cmd.service_id, "window_id": cmd.pickup_window_id},
        )
        if not found:
            return None  # gone since the read
        row = found[0]
        service = _SERVICE.of(row)
        structure = _STRUCTURE.of(row, len(_SERVICE))
        window = _PICKUP.of(row, len(_SERVICE) + len(_STRUCTURE))
        reads = checked.reads
        tariff = reads.tariff
        assert tariff is not None  # check_before_writes refused an order without one
        created = dt.datetime.now(dt.UTC)  # the real time, like the ORM's default
        order_row = {
            **{c.key: None for c in _ORDER},
            "id": uuid7(),
            "created_at": created,
            "updated_at": created,
            "service_id": service.id,
            "structure_id": structure.id,
            "user_id": person.id,
            "placed_by_id": person.id,
            "pickup_window_id": window.id,
            "status": rules.OrderStatus.PLACED.value,
            "tariff_code": tariff.code,
            "suspended_meals": 0,
            "suspended_meal_cents": 0,
            "total_cents": checked.total,
            "paid": False,
            "note": cmd.note or "",
        }
        order = transient(MealOrder, order_row)
        line_rows = [
            {
                "id": uuid7(),
                "created_at": created,
                "updated_at": created,
                "order_id": order.id,
                "item_id": p.item_id,
                "quantity": p.quantity,
                "unit_cents": p.unit_cents,
                "free_quantity": p.free_quantity,
            }
            for p in checked.lines
        ]
        lines = [
            (transient(MealOrderLine, row), reads.items[row["item_id"]])  # type: ignore[index]
            for row in line_rows
        ]
        message = notify.own_order_confirmation(
            person, order, service, window, structure, lines, url
        )
        view = OrderView(
            order=order,
            service=service,
            structure=structure,
            window=window,
            lines=lines,
            tariff_label=tariff.label,
            customer_name=person.display_name,
        )
        # The dishes by id: the lock order of every order and cancellation.
        dishes = sorted(((p.item_id, p.quantity) for p in checked.lines), key=lambda d: str(d[0]))
        facts = caller_facts_values(person, cmd.service_id, now)
        return _Placing(view, facts, order_row, line_rows, message, dishes, created)

    @classmethod
    async def write(cls, connection: AsyncConnection, placing: _Placing) -> bool:
        """Write the order, or nothing (False: the general way decides, and refuses). On
        PostgreSQL one statement in autocommit; on SQLite the same steps one after the
        other in the write transaction (the caller commits or rolls back)."""
        if connection.dialect.name == "postgresql":
            return await cls._write_pg(connection, placing)
        return await cls._write_sqlite(connection, placing)

    @classmethod
    async def write_all_or_nothing(cls, connection: AsyncConnection, placing: _Placing) -> bool:
        """``write`` in a group's transaction (SQLite): what it wrote before refusing is
        undone (``group_commit.Undo``), the others' work stays."""
        if not await cls.write(connection, placing):
            raise Undo(False)
        return True

    @classmethod
    async def _write_pg(cls, connection: AsyncConnection, placing: _Placing) -> bool:
        window = placing.view.window
        values: dict[str, Any] = {
            **placing.facts,
            "window_id": window.id,
            "changed": placing.created,
            **{f"o_{k}": v for k, v in placing.order.items()},
        }
        for i, row in enumerate(placing.lines):
            values.update({f"l{i}_{k}": v for k, v in row.items()})
        for i, (item_id, n) in enumerate(placing.dishes):
            values[f"item{i}"], values[f"n{i}"] = item_id, n
        if placing.message is not None:
            values.update({f"m_{c}": placing.message[c] for c in MESSAGE_COLUMNS})
        statement = cls.statement(len(placing.lines), placing.message is not None)
        try:
            (outcome,) = await fetch_raw(connection, statement, values)
        except _RACE_LOST:
            return False  # nothing written
        return bool(outcome["taken"])  # else the caller's facts changed since the read

    @staticmethod
    async def _write_sqlite(connection: AsyncConnection, placing: _Placing) -> bool:
        order = {f"o_{k}": v for k, v in placing.order.items()}
        if (await connection.execute(_PLACE_SQLITE, {**placing.facts, **order})).rowcount != 1:
            return False  # the caller's facts changed since the read
        for item_id, n in placing.dishes:
            taken = await connection.execute(TAKE_PORTIONS, {"item_id": item_id, "n": n})
            if taken.rowcount != 1:
                return False
        window = placing.view.window
        if (await connection.execute(TAKE_PICKUP_PLACE, {"window_id": window.id})).rowcount != 1:
            return False
        await connection.execute(_INSERT_LINE, placing.lines)
        if placing.message is not None:
            await write_rows(connection, INSERT_MESSAGE, placing.message)
        return True


@dataclass(frozen=True, slots=True)
class _Placing:
    """An accepted order's rows, made before any write (``_PlaceAtOnce``)."""

    view: OrderView  # the answer
    facts: dict[str, Any]  # the caller's facts' parameters
    order: dict[str, Any]
    lines: list[dict[str, Any]]
    message: dict[str, Any] | None
    dishes: list[tuple[Any, int]]  # (dish, portions), by id
    created: dt.datetime


# SQLite (no writes in a WITH): the order row while the caller's facts hold, then
# ``place_order``'s conditional UPDATEs, then the lines and the message.
_PLACE_SQLITE = insert(MealOrder.__table__).from_select(
    [c.name for c in _ORDER],
    select(*_bound("o_", _ORDER)).where(
        CALLER_ALREADY.is_(None), CALLER_ACTIVE < rules.MAX_ACTIVE_ORDERS_PER_PERSON
    ),
)
_INSERT_LINE = insert(MealOrderLine.__table__)
