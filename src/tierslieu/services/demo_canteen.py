"""Demo data for the canteen of CHRS Le Relais: tariffs and a week of lunches.

Idempotent: tariffs, the pool price and each day's service are added only if missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain import canteen as rules
from tierslieu.domain import localtime
from tierslieu.models import (
    Asset,
    MealService,
    MenuItem,
    PickupWindow,
    Structure,
    SuspendedMealPool,
    Tariff,
)
from tierslieu.services.canteen_pool import ensure_pool
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

SLUG = "chrs-le-relais"
CANTEEN = "Cantine du Relais"
SUSPENDED_MEAL_CENTS = 600

TARIFFS = [
    ("professionnel", "Professionnel", "Salariés des entreprises du quartier", ["professional"]),
    ("habitant", "Habitant", "Habitants du quartier", ["neighbour"]),
    ("solidaire", "Solidaire", "Sur décision de l'équipe sociale du Relais", []),
]
MAIN = {"professionnel": 950, "habitant": 600, "solidaire": 100}
STARTER = {"professionnel": 200, "habitant": 120, "solidaire": 50}
DESSERT = {"professionnel": 250, "habitant": 150, "solidaire": 50}


def _dish(
    name: str, kind: str, portions: int, allergens: list[str], diets: list[str], prices: dict
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "portions": portions,
        "allergens": allergens,
        "diets": diets,
        "prices": prices,
    }


# Monday (0) to Friday (4).
WEEK: dict[int, list[dict[str, Any]]] = {
    0: [
        _dish("Carottes râpées", "starter", 20, ["mustard"], ["vegan", "gluten_free"], STARTER),
        _dish("Hachis parmentier", "main", 30, ["milk"], ["no_pork"], MAIN),
        _dish("Gratin de légumes", "main", 15, ["milk", "eggs"], ["vegetarian"], MAIN),
        _dish("Compote maison", "dessert", 30, [], ["vegan", "gluten_free"], DESSERT),
    ],
    1: [
        _dish("Velouté de potiron", "starter", 20, ["celery"], ["vegan"], STARTER),
        _dish("Tajine de poulet aux olives", "main", 30, ["celery"], ["halal", "no_pork"], MAIN),
        _dish("Tajine de légumes", "main", 15, ["celery"], ["vegan", "vegetarian"], MAIN),
        _dish("Semoule au lait", "dessert", 25, ["milk", "gluten"], ["vegetarian"], DESSERT),
    ],
    2: [
        _dish("Poisson du jour, riz pilaf", "main", 25, ["fish"], ["no_pork"], MAIN),
        _dish(
            "Lasagnes végétariennes", "main", 20, ["gluten", "milk", "eggs"], ["vegetarian"], MAIN
        ),
        _dish("Mousse au chocolat", "dessert", 25, ["eggs", "milk"], ["vegetarian"], DESSERT),
    ],
    3: [
        _dish(
            "Curry de légumes, riz basmati",
            "main",
            20,
            ["celery"],
            ["vegetarian", "vegan", "halal", "no_pork"],
            MAIN,
        ),
        _dish(
            "Falafels, houmous et taboulé",
            "main",
            15,
            ["sesame", "gluten"],
            ["vegetarian", "no_pork"],
            MAIN,
        ),
        _dish("Poulet basquaise", "main", 25, [], ["halal", "no_pork"], MAIN),
        _dish(
            "Tarte aux pommes", "dessert", 30, ["gluten", "eggs", "milk"], ["vegetarian"], DESSERT
        ),
    ],
    4: [
        _dish("Salade de lentilles", "starter", 20, ["mustard"], ["vegan"], STARTER),
        _dish("Couscous royal", "main", 35, ["gluten", "celery"], ["halal", "no_pork"], MAIN),
        _dish("Couscous aux légumes", "main", 15, ["gluten", "celery"], ["vegan"], MAIN),
        _dish("Salade de fruits", "dessert", 30, [], ["vegan", "gluten_free"], DESSERT),
    ],
}
PICKUPS = [
    (dt.time(12, 0), dt.time(12, 15)),
    (dt.time(12, 15), dt.time(12, 30)),
    (dt.time(12, 30), dt.time(12, 45)),
    (dt.time(12, 45), dt.time(13, 0)),
]
PICKUP_CAPACITY = 15
CUTOFF = dt.time(10, 30)


def week_days(today: dt.date) -> list[dt.date]:
    """The next five weekdays from today (today included if it is one)."""
    days: list[dt.date] = []
    day = today
    while len(days) < 5:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


async def load_canteen_demo(session: AsyncSession, settings: Settings) -> None:
    """Tariffs, repas-suspendu price and a week of menus at CHRS Le Relais (if present)."""
    row = await session.execute(
        select(Structure, Asset)
        .join(Asset, Asset.structure_id == Structure.id)
        .where(Structure.slug == SLUG, Asset.name == CANTEEN)
    )
    found = row.tuples().first()
    if found is None:
        return
    structure, asset = found
    existing = set(
        await session.scalars(select(Tariff.code).where(Tariff.structure_id == structure.id))
    )
    for code, label, description, default_for in TARIFFS:
        if code not in existing:
            session.add(
                Tariff(
                    structure_id=structure.id,
                    code=code,
                    label=label,
                    description=description,
                    default_for=default_for,
                )
            )
    await ensure_pool(session, structure.id)
    await session.execute(
        update(SuspendedMealPool)
        .where(
            SuspendedMealPool.structure_id == structure.id,
            SuspendedMealPool.price_cents.is_(None),
        )
        .values(price_cents=SUSPENDED_MEAL_CENTS)
        .execution_options(synchronize_session=False)
    )
    tz = structure.timezone or settings.default_timezone
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    for day in week_days(today):
        exists = await session.scalar(
            select(MealService.id).where(
                MealService.asset_id == asset.id,
                MealService.service_date == day,
                MealService.meal == rules.MealKind.LUNCH.value,
            )
        )
        if exists is not None:
            continue
        service = MealService(
            asset_id=asset.id,
            structure_id=structure.id,
            service_date=day,
            meal=rules.MealKind.LUNCH.value,
            order_cutoff=localtime.to_utc(dt.datetime.combine(day, CUTOFF), tz),
            note="Sur place ou à emporter. Apportez votre boîte si vous pouvez !",
        )
        session.add(service)
        await session.flush()
        for start, end in PICKUPS:
            session.add(
                PickupWindow(
                    service_id=service.id,
                    starts_at=localtime.to_utc(dt.datetime.combine(day, start), tz),
                    ends_at=localtime.to_utc(dt.datetime.combine(day, end), tz),
                    capacity=PICKUP_CAPACITY,
                    taken=0,
                )
            )
        for position, dish in enumerate(WEEK[day.weekday()]):
            session.add(MenuItem(service_id=service.id, position=position, sold=0, **dish))
    await session.commit()
