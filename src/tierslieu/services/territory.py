"""Territory coordinators (named by platform admins, per commune) and the figures they see.

A coordinator sees, per commune, the sums of the figures of the structures whose
managers set ``share_stats``; never a structure's, an asset's or a person's name.
Different people are summed over structures (a person who went to two structures
counts twice: people cannot be matched across structures without their names).
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.stats import Grouping, hours, occupancy_percent
from tierslieu.errors import FieldError, Forbidden, NotFound, UnknownPerson
from tierslieu.models import Structure, TerritoryCoordinator, User
from tierslieu.services.accounts import check_email
from tierslieu.services.stats import check_window, compute_report


class TerritoryFigures(msgspec.Struct, kw_only=True):
    period: str
    bookings: int = 0
    places: int = 0
    people: int = 0
    attended: int = 0
    no_show: int = 0
    cancelled: int = 0
    hours_of_use: float = 0.0
    booked_place_hours: float = 0.0
    offered_place_hours: float = 0.0
    occupancy_percent: float | None = None
    meals: int = 0
    revenue_cents: int = 0
    suspended_meals_bought: int = 0
    suspended_meals_given: int = 0


class CommuneStats(msgspec.Struct, kw_only=True):
    commune: str
    structures_sharing: int
    periods: list[TerritoryFigures]


def _admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden()


async def name_coordinator(
    session: AsyncSession, admin: User, email: str, commune: str
) -> tuple[TerritoryCoordinator, bool]:
    """Make a registered person coordinator of a commune (platform admins). (row, created)."""
    _admin(admin)
    email = check_email(email)
    person = await session.scalar(select(User).where(User.email == email))
    if person is None:
        raise UnknownPerson({"email": email}, fields=[FieldError("email", "invalid")])
    key = commune.strip().lower()
    found = await session.scalar(
        select(TerritoryCoordinator).where(
            TerritoryCoordinator.user_id == person.id, TerritoryCoordinator.commune == key
        )
    )
    if found is not None:
        return found, False
    row = TerritoryCoordinator(user_id=person.id, commune=key)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:  # the same call twice at once: the other one created it
        await session.rollback()
        row = await session.scalar(
            select(TerritoryCoordinator).where(
                TerritoryCoordinator.user_id == person.id, TerritoryCoordinator.commune == key
            )
        )
        if row is None:
            raise
        return row, False
    return row, True


async def list_coordinators(
    session: AsyncSession, admin: User
) -> list[tuple[TerritoryCoordinator, User]]:
    _admin(admin)
    rows = await session.execute(
        select(TerritoryCoordinator, User)
        .join(User, User.id == TerritoryCoordinator.user_id)
        .order_by(TerritoryCoordinator.commune, User.email)
    )
    return list(rows.tuples())


async def remove_coordinator(session: AsyncSession, admin: User, row_id: uuid.UUID) -> None:
    _admin(admin)
    row = await session.get(TerritoryCoordinator, row_id)
    if row is None:
        raise NotFound()
    await session.delete(row)
    await session.commit()


async def territory_report(
    session: AsyncSession, user: User, first_day: dt.date, last_day: dt.date, group: Grouping
) -> list[CommuneStats]:
    """Per commune the caller coordinates: summed figures of the structures sharing theirs.

    403 for anyone who coordinates no commune (platform admins see every commune).
    """
    check_window(first_day, last_day)
    if user.is_admin:
        communes = list(
            await session.scalars(select(func.lower(Structure.commune)).distinct().order_by(1))
        )
    else:
        communes = list(
            await session.scalars(
                select(TerritoryCoordinator.commune)
                .where(TerritoryCoordinator.user_id == user.id)
                .order_by(TerritoryCoordinator.commune)
            )
        )
        if not communes:
            raise Forbidden()
    result = []
    for commune in communes:
        structures = list(
            await session.scalars(
                select(Structure).where(
                    func.lower(Structure.commune) == commune, Structure.share_stats.is_(True)
                )
            )
        )
        sums: dict[str, TerritoryFigures] = {}
        offered: dict[str, int] = {}
        booked: dict[str, int] = {}
        display = commune
        for structure in structures:
            display = structure.commune
            report = await compute_report(session, structure, first_day, last_day, group)
            for key in report.periods:
                sums.setdefault(key, TerritoryFigures(period=key))
            for asset in report.assets:
                for f in asset.periods:
                    t = sums[f.period]
                    t.bookings += f.bookings
                    t.places += f.places
                    t.people += f.people
                    t.attended += f.attended
                    t.no_show += f.no_show
                    t.cancelled += f.cancelled
                    t.hours_of_use = round(t.hours_of_use + f.hours_of_use, 2)
                    booked[f.period] = booked.get(f.period, 0) + round(f.booked_place_hours * 3600)
                    offered[f.period] = offered.get(f.period, 0) + round(
                        f.offered_place_hours * 3600
                    )
            if report.canteen is not None:
                for tariff in report.canteen.by_tariff:
                    sums[tariff.period].meals += tariff.meals
                    sums[tariff.period].revenue_cents += tariff.revenue_cents
                for s in report.canteen.suspended_meals:
                    sums[s.period].suspended_meals_bought += s.bought
                    sums[s.period].suspended_meals_given += s.given
        for key, t in sums.items():
            t.booked_place_hours = hours(booked.get(key, 0))
            t.offered_place_hours = hours(offered.get(key, 0))
            t.occupancy_percent = occupancy_percent(booked.get(key, 0), offered.get(key, 0))
        result.append(
            CommuneStats(
                commune=display,
                structures_sharing=len(structures),
                periods=list(sums.values()),
            )
        )
    return result
