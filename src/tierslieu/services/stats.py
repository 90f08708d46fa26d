"""Impact statistics of a structure: bookings, use, occupancy, canteen, repas suspendus.

Every figure comes from SQL aggregates (GROUP BY period, asset and kind of person);
Python only adds up the few grouped rows and expands the opening rules for the
offered hours. Periods are grouped with a CASE over UTC boundaries computed from the
structure's local calendar (see ``domain/stats.py``), so SQLite and PostgreSQL agree.

Definitions (also in the API schema):
- *bookings*, *places*: bookings holding places (pending, confirmed, attended, no-show)
  whose slot starts in the period, and their places;
- *people*: different persons with at least one booking not cancelled, declined or
  marked no-show. An account counts once; a person booked by staff without an account
  counts once per contact (e-mail, else phone, else name); a booking whose contact was
  erased counts as its own anonymous person;
- kinds: the account's kind; without an account, ``resident`` on an asset open only to
  residents, else ``guest``;
- *cancelled_late*: cancelled after the asset's cancellation deadline
  (``cancel_until_minutes`` before the start; assets without a deadline have none);
- *hours of use*: total length of the distinct slots or intervals that had a booking
  not cancelled, declined or marked no-show;
- *occupancy*: booked place-hours (places × length; an exclusive booking holds the whole
  asset) over offered place-hours (opening rules minus closures and public holidays).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

import anyio
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    distinct,
    extract,
    false,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from tierslieu.domain.bookings import ACTIVE_STATUSES, BookingStatus, RangeTooLong
from tierslieu.domain.canteen import LedgerKind, OrderStatus
from tierslieu.domain.slots import OpeningRule, Period, expand_slots, opening_periods, subtract
from tierslieu.domain.stats import (
    MAX_STATS_DAYS,
    AssetStats,
    BookingFigures,
    CanteenStats,
    Grouping,
    PersonCategory,
    PickupFigures,
    SoldOutDish,
    StatPeriod,
    StatsReport,
    SuspendedFigures,
    TariffFigures,
    hours,
    occupancy_percent,
    offered_seconds_exclusive,
    offered_seconds_shared,
    stat_periods,
)
from tierslieu.domain.vocabulary import AssetKind, BookingMode, MemberRole
from tierslieu.errors import InvalidInput
from tierslieu.models import (
    Asset,
    Booking,
    MealOrder,
    MealOrderLine,
    MealService,
    MenuItem,
    PickupWindow,
    Structure,
    SuspendedMealEntry,
    User,
)
from tierslieu.services.access import structure_for
from tierslieu.services.availability import load_schedule

# Managers and staff read the figures (staff read-only: there is nothing to write here).
READERS = (MemberRole.MANAGER, MemberRole.STAFF)
# Longer windows expand their opening rules in a worker thread.
INLINE_EXPANSION_DAYS = 92

USED = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.ATTENDED)
MEAL_DISHES = ("main", "formula")


def check_window(first_day: dt.date, last_day: dt.date) -> None:
    if last_day < first_day:
        raise InvalidInput("to", "invalid")
    if (last_day - first_day).days + 1 > MAX_STATS_DAYS:
        raise RangeTooLong({"max_days": MAX_STATS_DAYS})


async def structure_report(
    session: AsyncSession,
    user: User,
    slug: str,
    first_day: dt.date,
    last_day: dt.date,
    group: Grouping,
) -> StatsReport:
    """The structure's figures over local dates [first_day, last_day] (managers and staff).

    Read-only; 404 for an unknown structure, 403 for anyone but its managers, staff and
    platform admins; 422 for a window longer than 366 days or reversed.
    """
    check_window(first_day, last_day)
    structure = await structure_for(session, user, slug, READERS)
    return await compute_report(session, structure, first_day, last_day, group)


async def compute_report(
    session: AsyncSession,
    structure: Structure,
    first_day: dt.date,
    last_day: dt.date,
    group: Grouping,
) -> StatsReport:
    """The figures without authorisation (callers check who may see them), all read in
    one transaction: one snapshot of the database (see ``_one_snapshot``)."""
    async with _one_snapshot(session) as reading:
        return await _report(reading, structure, first_day, last_day, group)


# PostgreSQL: memory for the report's groupings (HashAggregate, sorts) before they spill
# to disk; SET LOCAL, so only for the report's own transaction.
REPORT_WORK_MEM = "64MB"


@asynccontextmanager
async def _one_snapshot(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A session whose statements all see the same snapshot of the database.

    SQLite: the request's own transaction already does (WAL: a reader keeps the snapshot
    of its first read until it ends). PostgreSQL: statements of a GET request run in
    autocommit, and under READ COMMITTED each statement sees a newer snapshot anyway, so
    the report opens its own read-only REPEATABLE READ transaction on another pooled
    connection (the figures of bookings and of people are then counted from the same
    bookings even while others book)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield session
        return
    engine = AsyncEngine(bind).execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True
    )
    async with AsyncSession(engine, expire_on_commit=False) as reading, reading.begin():
        await reading.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
        yield reading


async def _report(
    session: AsyncSession,
    structure: Structure,
    first_day: dt.date,
    last_day: dt.date,
    group: Grouping,
) -> StatsReport:
    tz = ZoneInfo(structure.timezone)
    periods = stat_periods(first_day, last_day, group, tz)
    assets = list(
        await session.scalars(
            select(Asset)
            .where(Asset.structure_id == structure.id)
            .options(selectinload(Asset.structure))
            .order_by(Asset.name)
        )
    )
    bookable = [a for a in assets if a.kind != AssetKind.CANTEEN]
    asset_stats = await _booking_stats(session, bookable, periods, first_day, last_day)
    canteens = [a for a in assets if a.kind == AssetKind.CANTEEN]
    canteen = (
        await _canteen_stats(session, structure, tz, periods, first_day, last_day)
        if canteens
        else None
    )
    return StatsReport(
        structure=structure.slug,
        name=structure.name,
        timezone=structure.timezone,
        first_day=first_day,
        last_day=last_day,
        group=group.value,
        periods=[p.key for p in periods],
        assets=asset_stats,
        canteen=canteen,
    )


# --- SQL helpers ----------------------------------------------------------------------


def _epoch(session: AsyncSession, column: Any) -> ColumnElement[int]:
    """Whole seconds since 1970 of a UTC timestamp column, on either database."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(extract("epoch", column), BigInteger)


def _period_of(column: Any, periods: list[StatPeriod]) -> ColumnElement[int]:
    """Index of the period an instant falls in (the WHERE clause bounds the window)."""
    return case(*[(column < p.ends_at, index) for index, p in enumerate(periods)], else_=-1)


def _day_period_of(column: Any, periods: list[StatPeriod]) -> ColumnElement[int]:
    return case(*[(column <= p.last_day, index) for index, p in enumerate(periods)], else_=-1)


def _count_if(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _guest_key() -> ColumnElement[str]:
    """A person booked without an account: their e-mail, else phone, else name."""
    return func.lower(
        func.coalesce(
            func.nullif(func.trim(Booking.guest_email), ""),
            func.nullif(func.replace(Booking.guest_phone, " ", ""), ""),
            func.nullif(func.trim(Booking.guest_name), ""),
        )
    )


# --- bookings -------------------------------------------------------------------------
#
# Three grouped statements over the window's bookings, each reading one range of the
# covering index ``ix_booking_stats`` (asset, start, end, status, places, exclusive,
# cancelled at, account, contact), never a table row:
#
# 1. per booked slot or interval (asset, start, end: the index's order, so no sort), the
#    counts by status; then, per period, those slot rows summed with each slot's length
#    computed once (booked place-seconds, hours of use) instead of a date conversion per
#    booking;
# 2. per account and period (bookings held, and whether one was used), then per kind of
#    account; and the different accounts of the whole window from the same rows;
# 3. the same for people booked without an account (their contact, else anonymous).
#
# Everything but "different people" adds up, so the window's totals are the sums of its
# periods; the people of the whole window are counted in SQL, not added.


async def _booking_stats(
    session: AsyncSession,
    assets: list[Asset],
    periods: list[StatPeriod],
    first_day: dt.date,
    last_day: dt.date,
) -> list[AssetStats]:
    if not assets:
        return []
    window_start, window_end = periods[0].starts_at, periods[-1].ends_at
    in_window = and_(
        Booking.asset_id.in_([a.id for a in assets]),
        Booking.starts_at >= window_start,
        Booking.starts_at < window_end,
    )
    per_period: dict[tuple[uuid.UUID, int], BookingFigures] = {}
    for asset in assets:
        for index, p in enumerate(periods):
            per_period[(asset.id, index)] = BookingFigures(
                period=p.key, first_day=p.first_day, last_day=p.last_day
            )
    # Without an account, a person is a resident on an asset open only to residents.
    contact_kind = {
        a.id: PersonCategory.RESIDENT.value
        if set(a.audience) == {"residents"}
        else PersonCategory.GUEST.value
        for a in assets
    }
    # (asset, period or WHOLE) -> kind -> [bookings, people]
    by_kind: dict[tuple[uuid.UUID, int], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    used_seconds: dict[tuple[uuid.UUID, int], int] = defaultdict(int)

    slots = _slot_figures(session, assets, periods, in_window)
    for asset_id, index, *values in (await session.execute(slots)).tuples():
        (
            bookings,
            places,
            contact_bookings,
            attended,
            attended_places,
            no_show,
            cancelled,
            late,
            declined,
            booked_seconds,
            used,
        ) = (int(v or 0) for v in values)
        target = per_period[(asset_id, index)]
        target.bookings += bookings
        target.places += places
        target.attended += attended
        target.attended_places += attended_places
        target.no_show += no_show
        target.cancelled += cancelled
        target.cancelled_late += late
        target.declined += declined
        # Seconds are kept here until _finish turns them into hours.
        target.booked_place_hours += booked_seconds
        used_seconds[(asset_id, index)] += used
        by_kind[(asset_id, index)][contact_kind[asset_id]][0] += contact_bookings

    for asset_id, index, kind, bookings, people in (
        await session.execute(_account_figures(periods, in_window))
    ).tuples():
        counts = by_kind[(asset_id, index)][kind]
        counts[0] += int(bookings or 0)
        counts[1] += int(people or 0)

    for asset_id, index, contacts, anonymous in (
        await session.execute(_contact_figures(session, periods, in_window))
    ).tuples():
        by_kind[(asset_id, index)][contact_kind[asset_id]][1] += int(contacts or 0) + int(
            anonymous or 0
        )

    result = []
    for asset in assets:
        offered = await _offered_seconds(session, asset, periods, first_day, last_day)
        rows = [per_period[(asset.id, i)] for i in range(len(periods))]
        total = BookingFigures(period="total", first_day=first_day, last_day=last_day)
        for index, (figures_, seconds) in enumerate(zip(rows, offered, strict=True)):
            _set_kinds(figures_, by_kind.get((asset.id, index), {}))
            for kind, count in figures_.bookings_by_kind.items():
                by_kind[(asset.id, WHOLE)][kind][0] += count
            _add_up(total, figures_)
            figures_.hours_of_use = hours(used_seconds[(asset.id, index)])
            _finish(figures_, seconds)
        _set_kinds(total, by_kind.get((asset.id, WHOLE), {}))
        total.hours_of_use = hours(sum(used_seconds[(asset.id, i)] for i in range(len(periods))))
        _finish(total, sum(offered))
        result.append(
            AssetStats(
                asset_id=str(asset.id),
                name=asset.name,
                kind=asset.kind,
                booking_mode=asset.booking_mode,
                cancel_deadline_minutes=asset.cancel_until_minutes or None,
                periods=rows,
                total=total,
            )
        )
    return result


# The period index of figures that count the whole window.
WHOLE = -1


def _slot_figures(
    session: AsyncSession,
    assets: list[Asset],
    periods: list[StatPeriod],
    in_window: ColumnElement[bool],
) -> Any:
    """Per asset and period: counts by status, bookings without an account, booked
    place-seconds and seconds of use, summed from one row per booked slot or interval."""
    deadlines = {a.id: a.cancel_until_minutes * 60 for a in assets if a.cancel_until_minutes > 0}
    late = (
        and_(
            Booking.status == BookingStatus.CANCELLED,
            Booking.asset_id.in_(list(deadlines)),
            Booking.cancelled_at.is_not(None),
            _epoch(session, Booking.starts_at) - _epoch(session, Booking.cancelled_at)
            < case(*[(Booking.asset_id == a, seconds) for a, seconds in deadlines.items()]),
        )
        if deadlines
        else false()
    )
    # Per slot and status, in the index's order (no sort; few expressions per booking).
    status = (
        select(
            Booking.asset_id,
            Booking.starts_at,
            Booking.ends_at,
            Booking.status,
            func.count().label("bookings"),
            func.sum(Booking.party_size).label("places"),
            func.count(Booking.user_id).label("accounts"),
            # An exclusive booking holds the whole asset for its length.
            func.sum(case((Booking.exclusive, 1), else_=Booking.party_size)).label("held_places"),
            _count_if(late).label("late"),
        )
        .where(in_window)
        .group_by(Booking.asset_id, Booking.starts_at, Booking.ends_at, Booking.status)
        .subquery("slot_status")
    )
    held = status.c.status.in_(ACTIVE_STATUSES)
    attended = status.c.status == BookingStatus.ATTENDED
    length = _epoch(session, status.c.ends_at) - _epoch(session, status.c.starts_at)
    # Per slot: its period and length computed once.
    slot = (
        select(
            status.c.asset_id,
            _period_of(status.c.starts_at, periods).label("period"),
            length.label("length"),
            _count_if(held, status.c.bookings).label("bookings"),
            _count_if(held, status.c.places).label("places"),
            _count_if(held, status.c.bookings - status.c.accounts).label("contact_bookings"),
            _count_if(attended, status.c.bookings).label("attended"),
            _count_if(attended, status.c.places).label("attended_places"),
            _count_if(status.c.status == BookingStatus.NO_SHOW, status.c.bookings).label("no_show"),
            _count_if(status.c.status == BookingStatus.CANCELLED, status.c.bookings).label(
                "cancelled"
            ),
            func.sum(status.c.late).label("late"),
            _count_if(status.c.status == BookingStatus.DECLINED, status.c.bookings).label(
                "declined"
            ),
            _count_if(held, status.c.held_places).label("held_places"),
            func.max(case((status.c.status.in_(USED), 1), else_=0)).label("used"),
        )
        .group_by(status.c.asset_id, status.c.starts_at, status.c.ends_at)
        .subquery("slot")
    )
    return select(
        slot.c.asset_id,
        slot.c.period,
        func.sum(slot.c.bookings),
        func.sum(slot.c.places),
        func.sum(slot.c.contact_bookings),
        func.sum(slot.c.attended),
        func.sum(slot.c.attended_places),
        func.sum(slot.c.no_show),
        func.sum(slot.c.cancelled),
        func.sum(slot.c.late),
        func.sum(slot.c.declined),
        func.sum(slot.c.held_places * slot.c.length),
        func.sum(slot.c.used * slot.c.length),
    ).group_by(slot.c.asset_id, slot.c.period)


def _account_figures(periods: list[StatPeriod], in_window: ColumnElement[bool]) -> Any:
    """Per asset, period and kind of account: bookings held and different accounts with
    a booking used; then per asset and kind the different accounts of the whole window
    (period WHOLE, bookings 0: those add up from the periods)."""
    used = Booking.status.in_(USED)
    period = _period_of(Booking.starts_at, periods).label("period")
    account = (
        select(
            Booking.asset_id,
            period,
            Booking.user_id,
            func.count().label("bookings"),
            func.max(case((used, 1), else_=0)).label("used"),
        )
        .where(in_window, Booking.status.in_(ACTIVE_STATUSES), Booking.user_id.is_not(None))
        .group_by(Booking.asset_id, period, Booking.user_id)
        .cte("account")
    )
    kind = func.coalesce(User.kind, PersonCategory.GUEST.value).label("kind")
    each_period = (
        select(
            account.c.asset_id,
            account.c.period,
            kind,
            func.sum(account.c.bookings),
            func.sum(account.c.used),
        )
        .select_from(account)
        .outerjoin(User, User.id == account.c.user_id)
        .group_by(account.c.asset_id, account.c.period, kind)
    )
    whole = (
        select(
            account.c.asset_id,
            literal(WHOLE, Integer),
            kind,
            literal(0, Integer),
            func.count(distinct(account.c.user_id)),
        )
        .select_from(account)
        .outerjoin(User, User.id == account.c.user_id)
        .where(account.c.used == 1)
        .group_by(account.c.asset_id, kind)
    )
    return union_all(each_period, whole)


def _contact_figures(
    session: AsyncSession, periods: list[StatPeriod], in_window: ColumnElement[bool]
) -> Any:
    """Per asset and period, people with a booking used but no account: different
    contacts, and bookings whose contact was erased (each its own anonymous person);
    then the same over the whole window (period WHOLE)."""
    guest_key = _guest_key()
    if session.get_bind().dialect.name == "postgresql":
        # Only equality matters here: byte order spares the locale's string comparison
        # in the sort behind COUNT(DISTINCT) (the same keys are equal either way).
        guest_key = guest_key.collate("C")
    guest_key = guest_key.label("contact")
    period = _period_of(Booking.starts_at, periods).label("period")
    contact = (
        select(Booking.asset_id, period, guest_key, func.count().label("bookings"))
        .where(in_window, Booking.status.in_(USED), Booking.user_id.is_(None))
        .group_by(Booking.asset_id, period, guest_key)
        .cte("contact")
    )
    anonymous = _count_if(contact.c.contact.is_(None), contact.c.bookings)
    each_period = select(
        contact.c.asset_id, contact.c.period, func.count(contact.c.contact), anonymous
    ).group_by(contact.c.asset_id, contact.c.period)
    whole = select(
        contact.c.asset_id,
        literal(WHOLE, Integer),
        func.count(distinct(contact.c.contact)),
        anonymous,
    ).group_by(contact.c.asset_id)
    return union_all(each_period, whole)


def _set_kinds(target: BookingFigures, counts: dict[str, list[int]]) -> None:
    """Bookings and people by kind, in the kinds' alphabetical order, nonzero ones only."""
    for kind in sorted(counts):
        bookings, people = counts[kind]
        if bookings:
            target.bookings_by_kind[kind] = bookings
        if people:
            target.people_by_kind[kind] = people
            target.people += people


def _add_up(total: BookingFigures, figures: BookingFigures) -> None:
    """Add a period's figures that add up (not people, kinds or hours) to the total."""
    total.bookings += figures.bookings
    total.places += figures.places
    total.attended += figures.attended
    total.attended_places += figures.attended_places
    total.no_show += figures.no_show
    total.cancelled += figures.cancelled
    total.cancelled_late += figures.cancelled_late
    total.declined += figures.declined
    total.booked_place_hours += figures.booked_place_hours


def _finish(target: BookingFigures, offered_seconds: int) -> None:
    booked_seconds = int(target.booked_place_hours)
    target.booked_place_hours = hours(booked_seconds)
    target.offered_place_hours = hours(offered_seconds)
    target.occupancy_percent = occupancy_percent(booked_seconds, offered_seconds)


async def _offered_seconds(
    session: AsyncSession,
    asset: Asset,
    periods: list[StatPeriod],
    first_day: dt.date,
    last_day: dt.date,
) -> list[int]:
    """Offered place-seconds per period, from the slot expansion of ``domain/slots.py``."""
    schedule = await load_schedule(session, asset, first_day, last_day)
    key = (
        asset.booking_mode == BookingMode.SHARED,
        tuple(sorted(schedule.rules, key=repr)),
        tuple(sorted(c.period for c in schedule.closures)),
        asset.structure.timezone,
        first_day,
        last_day,
        asset.capacity,
        tuple(periods),
    )
    found = _OFFERED.get(key)
    if found is None:
        if (last_day - first_day).days + 1 > INLINE_EXPANSION_DAYS:
            found = await anyio.to_thread.run_sync(_offered, *key)
        else:
            found = _offered(*key)
        _OFFERED[key] = found
        while len(_OFFERED) > OFFERED_CACHE_SIZE:
            _OFFERED.popitem(last=False)
    else:
        _OFFERED.move_to_end(key)
    return list(found)


# Offered hours keyed by everything they depend on (rules, closures, zone, window), so a
# cached value is never stale: the page, its charts and downloads ask for the same ones.
OFFERED_CACHE_SIZE = 512
_OFFERED: OrderedDict[tuple[Any, ...], tuple[int, ...]] = OrderedDict()


def _offered(
    shared: bool,
    rules: tuple[OpeningRule, ...],
    closures: tuple[Period, ...],
    timezone: str,
    first_day: dt.date,
    last_day: dt.date,
    capacity: int,
    periods: tuple[StatPeriod, ...],
) -> tuple[int, ...]:
    """Offered seconds per period: shared slots minus those a closure touches (as the
    booking rules do), or exclusive opening minus closures."""
    tz = ZoneInfo(timezone)
    if shared:
        slots = expand_slots(rules, tz, first_day, last_day, capacity)
        open_slots = [s for s in slots if not any(c.overlaps(s.period) for c in closures)]
        return tuple(offered_seconds_shared(open_slots, list(periods)))
    opening = subtract(opening_periods(rules, tz, first_day, last_day), closures)
    return tuple(offered_seconds_exclusive(opening, list(periods)))


# --- canteen --------------------------------------------------------------------------


async def _canteen_stats(
    session: AsyncSession,
    structure: Structure,
    tz: ZoneInfo,
    periods: list[StatPeriod],
    first_day: dt.date,
    last_day: dt.date,
) -> CanteenStats:
    not_cancelled = MealOrder.status != OrderStatus.CANCELLED
    served = MealOrder.status.not_in((OrderStatus.CANCELLED, OrderStatus.NO_SHOW))
    in_window = and_(
        MealService.structure_id == structure.id,
        MealService.service_date >= first_day,
        MealService.service_date <= last_day,
    )
    period = _day_period_of(MealService.service_date, periods).label("period")
    meal_line = MenuItem.kind.in_(MEAL_DISHES)
    lines = (
        select(
            period,
            MealOrder.tariff_code,
            func.count(distinct(MealOrder.id)),
            _count_if(and_(served, meal_line), MealOrderLine.quantity),
            _count_if(
                MealOrder.paid,
                (MealOrderLine.quantity - MealOrderLine.free_quantity) * MealOrderLine.unit_cents,
            ),
            _count_if(served, MealOrderLine.free_quantity),
        )
        .select_from(MealOrder)
        .join(MealService, MealService.id == MealOrder.service_id)
        .join(MealOrderLine, MealOrderLine.order_id == MealOrder.id)
        .join(MenuItem, MenuItem.id == MealOrderLine.item_id)
        .where(in_window, not_cancelled)
        .group_by(period, MealOrder.tariff_code)
        .order_by(period, MealOrder.tariff_code)
    )
    by_tariff = [
        TariffFigures(
            period=periods[index].key,
            tariff=tariff,
            orders=int(orders),
            meals=int(meals),
            revenue_cents=int(revenue),
            suspended_meals_served=int(free),
        )
        for index, tariff, orders, meals, revenue, free in (await session.execute(lines)).tuples()
    ]

    # Repas suspendus: net bought (paid forward minus refunds), net given (vouchers
    # minus those taken back), and the pool at each period's end (a running sum).
    window_start, window_end = periods[0].starts_at, periods[-1].ends_at
    bought_kinds = (LedgerKind.PAID_FORWARD, LedgerKind.REFUND)
    ledger = (
        select(
            _period_of(SuspendedMealEntry.created_at, periods).label("period"),
            _count_if(SuspendedMealEntry.kind.in_(bought_kinds), SuspendedMealEntry.delta),
            _count_if(SuspendedMealEntry.kind.not_in(bought_kinds), -SuspendedMealEntry.delta),
        )
        .where(
            SuspendedMealEntry.structure_id == structure.id,
            SuspendedMealEntry.created_at >= window_start,
            SuspendedMealEntry.created_at < window_end,
        )
        .group_by("period")
    )
    moves = {index: (int(b), int(g)) for index, b, g in (await session.execute(ledger)).tuples()}
    balance = int(
        await session.scalar(
            select(func.coalesce(func.sum(SuspendedMealEntry.delta), 0)).where(
                SuspendedMealEntry.structure_id == structure.id,
                SuspendedMealEntry.created_at < window_start,
            )
        )
        or 0
    )
    suspended = []
    for index, p in enumerate(periods):
        bought, given = moves.get(index, (0, 0))
        balance += bought - given
        suspended.append(
            SuspendedFigures(period=p.key, bought=bought, given=given, pool_at_end=balance)
        )

    windows = (
        select(PickupWindow.starts_at, func.count(MealOrder.id))
        .select_from(MealOrder)
        .join(PickupWindow, PickupWindow.id == MealOrder.pickup_window_id)
        .join(MealService, MealService.id == MealOrder.service_id)
        .where(in_window, not_cancelled)
        .group_by(PickupWindow.starts_at)
    )
    per_time: dict[str, int] = defaultdict(int)
    for starts_at, count in (await session.execute(windows)).tuples():
        per_time[starts_at.astimezone(tz).strftime("%H:%M")] += int(count)

    last_order = (
        select(func.max(MealOrder.created_at))
        .join(MealOrderLine, MealOrderLine.order_id == MealOrder.id)
        .where(MealOrderLine.item_id == MenuItem.id, not_cancelled)
        .scalar_subquery()
    )
    sold_out_rows = (
        await session.execute(
            select(
                MealService.id,
                MealService.service_date,
                MealService.meal,
                MenuItem.name,
                MenuItem.portions,
                last_order,
            )
            .join(MealService, MealService.id == MenuItem.service_id)
            .where(
                in_window,
                MenuItem.withdrawn_at.is_(None),
                MenuItem.portions > 0,
                MenuItem.sold >= MenuItem.portions,
            )
            .order_by(MealService.service_date, MealService.meal, MenuItem.position)
        )
    ).tuples()
    sold_out = []
    services_with_sold_out: set[uuid.UUID] = set()
    for service_id, day, meal, dish, portions, at in sold_out_rows:
        services_with_sold_out.add(service_id)
        sold_out.append(
            SoldOutDish(
                service_date=day,
                meal=meal,
                dish=dish,
                portions=int(portions),
                sold_out_at=at.astimezone(tz) if at is not None else None,
            )
        )
    # A service is sold out when none of its dishes (not withdrawn) has a portion left.
    remaining = (
        select(MealService.id, func.sum(MenuItem.portions - MenuItem.sold))
        .join(MenuItem, MenuItem.service_id == MealService.id)
        .where(in_window, MenuItem.withdrawn_at.is_(None))
        .group_by(MealService.id)
    )
    left = {sid: int(n or 0) for sid, n in (await session.execute(remaining)).tuples()}
    return CanteenStats(
        by_tariff=by_tariff,
        suspended_meals=suspended,
        pickup_windows=[PickupFigures(window=t, orders=n) for t, n in sorted(per_time.items())],
        sold_out=sold_out,
        services=len(left),
        services_sold_out=sum(1 for n in left.values() if n <= 0),
    )
