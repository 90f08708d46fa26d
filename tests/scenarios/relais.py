"""The CHRS Le Relais canteen of scenarios 3 and 4: its chef, tariffs and Thursday menu.
Its fixtures ``clock`` and ``relais`` are available to every test (``pytest_plugins``).

The clock is frozen (``clock.at(...)``) in every module that reads "now".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import Person, World, add_member, register

if TYPE_CHECKING:
    from litestar.testing import TestClient

RELAIS = "chrs-le-relais"
PARIS = dt.timezone(dt.timedelta(hours=1))  # December: CET
THURSDAY = dt.date(2026, 12, 3)
# 10:30 in Paris on the Thursday = 09:30 UTC.
CUTOFF_UTC = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
MONDAY_MORNING = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)

CANTEEN = {
    "name": "Cantine du Relais",
    "kind": "canteen",
    "booking_mode": "shared",
    "capacity": 60,
    "audience": ["neighbours", "professionals", "residents"],
    "description": "Déjeuner cuisiné sur place par l'équipe en insertion.",
}

TARIFFS = {
    "professionnel": {"label": "Professionnel", "default_for": ["professional"]},
    "habitant": {"label": "Habitant", "default_for": ["neighbour"]},
    "solidaire": {"label": "Solidaire", "description": "Sur décision de l'équipe sociale"},
}
PRICES_MAIN = {"professionnel": 950, "habitant": 600, "solidaire": 100}

THURSDAY_MENU: dict[str, Any] = {
    "date": THURSDAY.isoformat(),
    "order_cutoff": "2026-12-03T10:30:00",
    "pickup_windows": [
        {"starts_at": "2026-12-03T12:00:00", "ends_at": "2026-12-03T12:15:00", "capacity": 10},
        {"starts_at": "2026-12-03T12:15:00", "ends_at": "2026-12-03T12:30:00", "capacity": 10},
        {"starts_at": "2026-12-03T12:30:00", "ends_at": "2026-12-03T12:45:00", "capacity": 10},
    ],
    "items": [
        {
            "name": "Curry de légumes, riz basmati",
            "kind": "main",
            "description": "Pois chiches, courge, lait de coco",
            "portions": 20,
            "allergens": ["celery"],
            "diets": ["vegetarian", "vegan", "no_pork", "halal"],
            "prices": PRICES_MAIN,
        },
        {
            "name": "Falafels, houmous et taboulé",
            "kind": "main",
            "portions": 15,
            "allergens": ["sesame", "gluten"],
            "diets": ["vegetarian", "no_pork"],
            "prices": PRICES_MAIN,
        },
        {
            "name": "Poulet basquaise",
            "kind": "main",
            "portions": 25,
            "allergens": [],
            "diets": ["no_pork", "halal"],
            "prices": PRICES_MAIN,
        },
        {
            "name": "Tarte aux pommes",
            "kind": "dessert",
            "portions": 30,
            "allergens": ["gluten", "eggs", "milk"],
            "diets": ["vegetarian"],
            "prices": {"professionnel": 250, "habitant": 150, "solidaire": 50},
        },
    ],
}


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.now = MONDAY_MORNING
        import tierslieu.api.canteen as api_canteen
        import tierslieu.services.canteen as s1
        import tierslieu.services.canteen_early as s4
        import tierslieu.services.canteen_orders as s2
        import tierslieu.services.canteen_pool as s3

        for module in (api_canteen, s1, s2, s3, s4):
            monkeypatch.setattr(module, "utcnow", lambda: self.now)

    def at(self, when: dt.datetime) -> None:
        self.now = when


@dataclass
class Canteen:
    world: World
    chef: Person
    asset: dict[str, Any]
    service: dict[str, Any]
    clock: Clock

    def item(self, name_start: str) -> dict[str, Any]:
        return next(i for i in self.service["items"] if i["name"].startswith(name_start))

    def window(self, hhmm: str) -> dict[str, Any]:
        return next(w for w in self.service["pickup_windows"] if w["starts_at"][11:16] == hhmm)

    def add_service(
        self,
        client: TestClient[Any],
        day: str,
        items: list[dict[str, Any]],
        *,
        capacity: int,
        window_ends: str = "12:30",
    ) -> dict[str, Any]:
        """Another lunch of the canteen, posted by its chef: cutoff 10:30, one pickup window
        from 12:00 to ``window_ends`` with ``capacity`` places."""
        response = client.post(
            f"/api/assets/{self.asset['id']}/meal-services",
            json={
                "date": day,
                "order_cutoff": f"{day}T10:30:00",
                "pickup_windows": [
                    {
                        "starts_at": f"{day}T12:00:00",
                        "ends_at": f"{day}T{window_ends}:00",
                        "capacity": capacity,
                    }
                ],
                "items": items,
            },
            headers=self.chef.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def order_body(self, *lines: tuple[str, int], window: str = "12:15", **extra: Any) -> dict:
        return {
            "service_id": self.service["id"],
            "lines": [{"item_id": self.item(n)["id"], "quantity": q} for n, q in lines],
            "pickup_window_id": self.window(window)["id"],
            **extra,
        }


def setup_relais_canteen(
    client: TestClient[Any], world: World, menu: dict[str, Any] | None = None
) -> tuple[Person, dict[str, Any], dict[str, Any]]:
    chef = register(client, "chef@le-relais.test", "professional", "Mamadou Diallo")
    add_member(client, world.manager_b, RELAIS, chef, "kitchen")
    response = client.post(
        f"/api/structures/{RELAIS}/assets", json=CANTEEN, headers=world.manager_b.headers
    )
    assert response.status_code == 201, response.text
    asset = response.json()
    for code, body in TARIFFS.items():
        response = client.put(
            f"/api/structures/{RELAIS}/tariffs/{code}", json=body, headers=world.manager_b.headers
        )
        assert response.status_code == 201, response.text
    response = client.put(
        f"/api/structures/{RELAIS}/suspended-meals/price",
        json={"price_cents": 600},
        headers=world.manager_b.headers,
    )
    assert response.status_code == 200, response.text
    response = client.post(
        f"/api/assets/{asset['id']}/meal-services",
        json=menu or THURSDAY_MENU,
        headers=chef.headers,
    )
    assert response.status_code == 201, response.text
    return chef, asset, response.json()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def relais(client: TestClient[Any], world: World, clock: Clock) -> Canteen:
    chef, asset, service = setup_relais_canteen(client, world)
    return Canteen(world=world, chef=chef, asset=asset, service=service, clock=clock)
