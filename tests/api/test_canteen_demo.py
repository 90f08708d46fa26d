"""The demo gains a week of menus at CHRS Le Relais; loading it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.conftest import run_db
from tierslieu.models import MealService, MenuItem, Tariff
from tierslieu.services.demo import DEMO_PASSWORD, load_demo


def _counts(settings):
    # The demo also has past lunches (the Bilan's history): count the coming week only.
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    upcoming = MealService.service_date >= today

    async def work(session):
        return (
            await session.scalar(select(func.count(MealService.id)).where(upcoming)),
            await session.scalar(
                select(func.count(MenuItem.id))
                .join(MealService, MealService.id == MenuItem.service_id)
                .where(upcoming)
            ),
            await session.scalar(select(func.count(Tariff.id))),
        )

    return run_db(settings, work)


def test_demo_week_of_menus_at_le_relais(client, settings):
    run_db(settings, lambda s: load_demo(s, settings))
    first = _counts(settings)
    run_db(settings, lambda s: load_demo(s, settings))
    assert _counts(settings) == first
    assert first[0] == 5 and first[2] == 3
    tariffs = client.get("/api/structures/chrs-le-relais/tariffs").json()
    assert {t["code"] for t in tariffs} == {"professionnel", "habitant", "solidaire"}
    token = client.post(
        "/api/auth/login", json={"email": "karim@exemple.test", "password": DEMO_PASSWORD}
    ).json()["token"]
    menus = client.get("/api/meal-services", headers={"Authorization": f"Bearer {token}"}).json()
    assert len(menus) >= 4
    assert {m["asset_name"] for m in menus} == {"Cantine du Relais"}
    assert all(m["order_cutoff"][11:16] == "10:30" for m in menus)
    prices = {i["my_price_cents"] for m in menus for i in m["items"] if i["kind"] == "main"}
    assert prices == {950}
    assert menus[0]["suspended_meal_cents"] == 600
    assert [w["starts_at"][11:16] for w in menus[0]["pickup_windows"]] == [
        "12:00",
        "12:15",
        "12:30",
        "12:45",
    ]


def test_every_listed_menu_is_its_own_page_for_the_public_and_a_signed_in_person(client, settings):
    """The week's list reads all menus at once (their dishes, windows and the caller's
    tariff): each entry must be what the menu's own page shows that caller."""
    run_db(settings, lambda s: load_demo(s, settings))
    token = client.post(
        "/api/auth/login", json={"email": "karim@exemple.test", "password": DEMO_PASSWORD}
    ).json()["token"]
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        menus = client.get("/api/meal-services", headers=headers).json()
        assert len(menus) >= 4
        assert [(m["date"], m["meal"]) for m in menus] == sorted(
            (m["date"], m["meal"]) for m in menus
        )
        for menu in menus:
            own = client.get(f"/api/meal-services/{menu['id']}", headers=headers).json()
            assert menu == own
            assert own["items"] and own["pickup_windows"]
