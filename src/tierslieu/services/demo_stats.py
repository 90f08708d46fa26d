"""Demo history for the « Bilan »: six past months of garden bookings and canteen lunches.

Idempotent: nothing is added when the garden already has a booking before today. The
figures are drawn from a fixed seed, so every demo database shows the same Bilan. The
EHPAD and the CHRS share their figures with the territory; the Romainville town hall
(``mairie@romainville.test``) coordinates Romainville.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
    SuspendedMealPool,
    TerritoryCoordinator,
    User,
)
from tierslieu.services.clock import utcnow

HISTORY_DAYS = 182
GUESTS = [
    ("Mme Lopez", "06 11 22 33 44"),
    ("M. Traoré", "06 55 66 77 88"),
    ("Mme Nguyen", "01 48 12 34 56"),
    ("M. Petit", "07 12 12 12 12"),
]
SHARING = ("ehpad-les-tilleuls", "chrs-le-relais")
COORDINATOR = ("mairie@romainville.test", "romainville")


def _at(day: dt.date, hour: int, minute: int, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz).astimezone(dt.UTC)


async def load_stats_demo(session: AsyncSession) -> None:
    """Past bookings and lunches (if none yet), sharing settings, the town-hall coordinator."""
    now = utcnow()
    await session.execute(
        update(Structure).where(Structure.slug.in_(SHARING)).values(share_stats=True)
    )
    mayor = await session.scalar(select(User).where(User.email == COORDINATOR[0]))
    if mayor is not None:
        known = await session.scalar(
            select(TerritoryCoordinator.id).where(TerritoryCoordinator.user_id == mayor.id)
        )
        if known is None:
            session.add(TerritoryCoordinator(user_id=mayor.id, commune=COORDINATOR[1]))
    garden = await session.scalar(
        select(Asset)
        .join(Structure, Structure.id == Asset.structure_id)
        .where(Structure.slug == "ehpad-les-tilleuls", Asset.kind == "garden")
    )
    if garden is None:
        await session.commit()
        return
    has_history = await session.scalar(
        select(Booking.id).where(Booking.asset_id == garden.id, Booking.starts_at < now).limit(1)
    )
    if has_history is not None:
        await session.commit()
        return
    tz = ZoneInfo("Europe/Paris")
    jeanne = await session.scalar(select(User.id).where(User.email == "jeanne.martin@exemple.test"))
    karim = await session.scalar(select(User.id).where(User.email == "karim@exemple.test"))
    draw = random.Random(15)
    today = now.astimezone(tz).date()
    day = today - dt.timedelta(days=HISTORY_DAYS)
    while day < today:
        if day.isoweekday() in (2, 6):
            for hour in (9, 10, 11):
                taken = 0
                for _ in range(draw.randint(0, 4)):
                    party = draw.randint(1, 2)
                    if taken + party > 8:
                        break
                    taken += party
                    status = draw.choices(
                        ["attended", "no_show", "cancelled", "confirmed"], [8, 1, 1, 1]
                    )[0]
                    who = draw.random()
                    owner: dict[str, object] = (
                        {"user_id": jeanne}
                        if who < 0.25 and jeanne
                        else {"user_id": karim}
                        if who < 0.35 and karim
                        else dict(
                            zip(("guest_name", "guest_phone"), draw.choice(GUESTS), strict=True)
                        )
                    )
                    starts = _at(day, hour, 0, tz)
                    session.add(
                        Booking(
                            asset_id=garden.id,
                            starts_at=starts,
                            ends_at=_at(day, hour + 1, 0, tz),
                            party_size=party,
                            status=status,
                            cancelled_at=starts - dt.timedelta(hours=draw.choice([1, 48]))
                            if status == "cancelled"
                            else None,
                            **owner,
                        )
                    )
        day += dt.timedelta(days=1)
    await _canteen_history(session, today, tz, draw, karim)
    await session.commit()


async def _canteen_history(
    session: AsyncSession, today: dt.date, tz: ZoneInfo, draw: random.Random, karim: object
) -> None:
    """A lunch every Thursday of the past six months, with orders and repas suspendus."""
    relais = await session.scalar(select(Structure).where(Structure.slug == "chrs-le-relais"))
    canteen = await session.scalar(
        select(Asset).where(Asset.structure_id == relais.id, Asset.kind == "canteen")
        if relais
        else select(Asset).where(Asset.id.is_(None))
    )
    if relais is None or canteen is None:
        return
    day = today - dt.timedelta(days=HISTORY_DAYS)
    prices = {"professionnel": 950, "habitant": 600, "solidaire": 100}
    credited = 0
    while day < today:
        if day.isoweekday() == 4:
            service = MealService(
                asset_id=canteen.id,
                structure_id=relais.id,
                service_date=day,
                order_cutoff=_at(day, 10, 30, tz),
            )
            session.add(service)
            await session.flush()
            windows = [
                PickupWindow(
                    service_id=service.id,
                    starts_at=_at(day, 12, m, tz),
                    ends_at=_at(day, 12, m + 15, tz),
                    capacity=20,
                )
                for m in (0, 15, 30)
            ]
            portions = draw.choice([12, 15, 20])
            dish = MenuItem(
                service_id=service.id,
                name=draw.choice(["Couscous de légumes", "Hachis parmentier", "Poisson du jour"]),
                kind="main",
                portions=portions,
                sold=0,
                allergens=[],
                diets=[],
                prices=prices,
            )
            session.add_all([*windows, dish])
            await session.flush()
            orders = draw.randint(6, portions)
            for n in range(orders):
                tariff = draw.choices(list(prices), [5, 3, 1])[0]
                suspended = 1 if tariff == "professionnel" and draw.random() < 0.2 else 0
                order = MealOrder(
                    service_id=service.id,
                    structure_id=relais.id,
                    user_id=karim if n == 0 else None,
                    guest_name=None if n == 0 else f"Client {n}",
                    pickup_window_id=draw.choice(windows).id,
                    status=draw.choices(["collected", "no_show", "cancelled"], [12, 1, 1])[0],
                    tariff_code=tariff,
                    suspended_meals=suspended,
                    suspended_meal_cents=600 if suspended else 0,
                    total_cents=prices[tariff] + 600 * suspended,
                    paid=True,
                    created_at=_at(day, 9, draw.randint(0, 29), tz),
                )
                session.add(order)
                await session.flush()
                session.add(
                    MealOrderLine(
                        order_id=order.id, item_id=dish.id, quantity=1, unit_cents=prices[tariff]
                    )
                )
                if order.status != "cancelled":
                    dish.sold += 1
                if suspended:
                    credited += 1
                    session.add(
                        SuspendedMealEntry(
                            structure_id=relais.id,
                            kind="paid_forward",
                            delta=1,
                            order_id=order.id,
                            created_at=order.created_at,
                        )
                    )
        day += dt.timedelta(days=1)
    # The pool's balance is the sum of its ledger: keep them equal.
    await session.execute(
        update(SuspendedMealPool)
        .where(SuspendedMealPool.structure_id == relais.id)
        .values(balance=SuspendedMealPool.balance + credited)
    )
