"""The canteen's invariants under real concurrent connections to a real server process:
portions, pickup places, the repas-suspendus pool and single-use vouchers."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, run_db
from tests.server_process import running_server
from tierslieu.models import (
    MealOrder,
    MenuItem,
    PickupWindow,
    SuspendedMealEntry,
    SuspendedMealPool,
    SuspendedMealVoucher,
)
from tierslieu.services.accounts import create_admin

PARIS = ZoneInfo("Europe/Paris")
RELAIS = "chrs-le-relais"
pytestmark = pytest.mark.slow


def _login(c: httpx.Client, email: str) -> dict[str, str]:
    r = c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _register(c: httpx.Client, email: str, name: str, kind: str = "neighbour") -> dict[str, str]:
    r = c.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": name, "kind": kind},
    )
    assert r.status_code == 202, r.text
    return _login(c, email)


def _setup(base: str, settings, *, portions: int, capacity: int, people: int) -> dict[str, Any]:
    """CHRS Le Relais, its manager Claire, the canteen, tariffs, a lunch next week."""
    run_db(
        settings,
        lambda s: create_admin(s, settings, email="admin@tierslieu.test", password=PASSWORD),
    )
    day = (dt.datetime.now(PARIS) + dt.timedelta(days=7)).date().isoformat()
    with httpx.Client(base_url=base, timeout=30) as c:
        admin = _login(c, "admin@tierslieu.test")
        r = c.post(
            "/api/structures",
            json={
                "slug": RELAIS,
                "name": "CHRS Le Relais",
                "kind": "chrs",
                "commune": "Romainville",
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        claire = _register(c, "claire@le-relais.test", "Claire Petit", "professional")
        r = c.put(
            f"/api/structures/{RELAIS}/members",
            json={"email": "claire@le-relais.test", "role": "manager"},
            headers=admin,
        )
        assert r.status_code in (200, 201), r.text
        asset = c.post(
            f"/api/structures/{RELAIS}/assets",
            json={
                "name": "Cantine du Relais",
                "kind": "canteen",
                "capacity": 60,
                "audience": ["neighbours", "professionals"],
            },
            headers=claire,
        ).json()
        for (
            code,
            kinds,
        ) in (("habitant", ["neighbour"]), ("professionnel", ["professional"])):
            r = c.put(
                f"/api/structures/{RELAIS}/tariffs/{code}",
                json={"label": code.capitalize(), "default_for": kinds},
                headers=claire,
            )
            assert r.status_code == 201, r.text
        c.put(
            f"/api/structures/{RELAIS}/suspended-meals/price",
            json={"price_cents": 600},
            headers=claire,
        )
        service = c.post(
            f"/api/assets/{asset['id']}/meal-services",
            json={
                "date": day,
                "order_cutoff": f"{day}T10:30:00",
                "pickup_windows": [
                    {
                        "starts_at": f"{day}T12:15:00",
                        "ends_at": f"{day}T12:30:00",
                        "capacity": capacity,
                    }
                ],
                "items": [
                    {
                        "name": "Curry de légumes",
                        "kind": "main",
                        "portions": portions,
                        "diets": ["vegetarian"],
                        "prices": {"habitant": 600, "professionnel": 950},
                    }
                ],
            },
            headers=claire,
        )
        assert service.status_code == 201, service.text
        neighbours = [_register(c, f"voisin{i}@exemple.test", f"Voisin {i}") for i in range(people)]
    return {"claire": claire, "service": service.json(), "neighbours": neighbours}


async def _storm(
    base: str, requests: list[tuple[str, str, dict | None, dict]]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(client.request(m, url, json=body, headers=h) for m, url, body, h in requests)
        )


def _order_body(service: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "service_id": service["id"],
        "lines": [{"item_id": service["items"][0]["id"], "quantity": 1}],
        "pickup_window_id": service["pickup_windows"][0]["id"],
        **extra,
    }


def _counts(settings) -> tuple[int, int, int]:
    async def work(session):
        sold = await session.scalar(select(func.sum(MenuItem.sold)))
        taken = await session.scalar(select(func.sum(PickupWindow.taken)))
        orders = await session.scalar(
            select(func.count(MealOrder.id)).where(MealOrder.status != "cancelled")
        )
        return sold, taken, orders

    return run_db(settings, work)


@pytest.mark.parametrize("workers", [1, 2])
def test_forty_orders_for_the_last_five_portions(settings, tmp_path, workers):
    with running_server(settings, workers=workers, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, portions=5, capacity=100, people=40)
        body = _order_body(world["service"])
        responses = asyncio.run(
            _storm(base, [("POST", "/api/meal-orders", body, h) for h in world["neighbours"]])
        )
        statuses = sorted(r.status_code for r in responses)
        assert all(s < 500 for s in statuses), statuses
        assert statuses.count(201) == 5
        refused = [r.json() for r in responses if r.status_code != 201]
        assert len(refused) == 35
        assert {p["code"] for p in refused} == {"sold-out"}
        assert all(p["remaining"] == 0 and p["item"] == "Curry de légumes" for p in refused)
        assert _counts(settings) == (5, 5, 5)


def test_forty_orders_for_a_pickup_window_of_three(settings, tmp_path):
    with running_server(settings, workers=2, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, portions=100, capacity=3, people=40)
        body = _order_body(world["service"])
        responses = asyncio.run(
            _storm(base, [("POST", "/api/meal-orders", body, h) for h in world["neighbours"]])
        )
        statuses = [r.status_code for r in responses]
        assert all(s < 500 for s in statuses), statuses
        assert statuses.count(201) == 3
        assert {r.json()["code"] for r in responses if r.status_code != 201} == {
            "pickup-window-full"
        }
        # The refused orders gave their portions back: 3 sold, 3 places taken.
        assert _counts(settings) == (3, 3, 3)


def test_pool_balance_and_vouchers_hold_under_concurrency(settings, tmp_path):
    with running_server(settings, workers=2, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, portions=100, capacity=100, people=1)
        claire, service = world["claire"], world["service"]
        with httpx.Client(base_url=base, timeout=30) as c:
            karim = _register(c, "karim@exemple.test", "Karim Benali", "professional")
            order = c.post(
                "/api/meal-orders", json=_order_body(service, suspended_meals=4), headers=karim
            ).json()
            paid = c.post(
                f"/api/meal-orders/{order['id']}/status", json={"paid": True}, headers=claire
            )
            assert paid.status_code == 200, paid.text
        assert paid.json()["total_cents"] == 950 + 4 * 600

        # 20 simultaneous vouchers for a pool of 4: exactly 4 given, never below zero.
        url = f"/api/structures/{RELAIS}/suspended-meals/vouchers"
        responses = asyncio.run(
            _storm(base, [("POST", url, {"label": f"n°{i}"}, claire) for i in range(20)])
        )
        statuses = [r.status_code for r in responses]
        assert all(s < 500 for s in statuses), statuses
        assert statuses.count(201) == 4
        assert {r.json()["code"] for r in responses if r.status_code != 201} == {
            "suspended-meals-pool-empty"
        }
        codes = [r.json()["code"] for r in responses if r.status_code == 201]

        # One voucher code tried by 20 simultaneous orders: used exactly once.
        body = _order_body(service, voucher_code=codes[0], guest_name="M. Diallo")
        responses = asyncio.run(
            _storm(base, [("POST", "/api/meal-orders", body, {}) for _ in range(20)])
        )
        statuses = [r.status_code for r in responses]
        assert all(s < 500 for s in statuses), statuses
        assert statuses.count(201) == 1
        assert {r.json()["code"] for r in responses if r.status_code != 201} == {
            "voucher-already-used"
        }

    async def check(session):
        balance = await session.scalar(select(SuspendedMealPool.balance))
        ledger = await session.scalar(select(func.sum(SuspendedMealEntry.delta)))
        used = await session.scalar(
            select(func.count(SuspendedMealVoucher.id)).where(
                SuspendedMealVoucher.used_at.is_not(None)
            )
        )
        vouchered = await session.scalar(
            select(func.count(MealOrder.id)).where(MealOrder.voucher_id.is_not(None))
        )
        return balance, ledger, used, vouchered

    assert run_db(settings, check) == (0, 0, 1, 1)
