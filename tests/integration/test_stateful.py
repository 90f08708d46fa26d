"""A state machine books, cancels, orders, pays, gives vouchers and moves the clock past
deadlines; after each step the API must agree with a simple model of places, portions
and the repas suspendus pool."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import register
from tierslieu.services import clock

UTC = dt.UTC
START = dt.datetime(2027, 3, 15, 10, 0, tzinfo=UTC)
# Moments the clock can jump to, in order (Paris is UTC+2 in April 2027).
TIMELINE = [
    START,
    dt.datetime(
        2027, 4, 6, 5, 30, tzinfo=UTC
    ),  # 07:30 Tuesday: too late to cancel 09:00, may still book 10:00
    dt.datetime(2027, 4, 6, 7, 30, tzinfo=UTC),  # 09:30: the 09:00 slot has started
    dt.datetime(
        2027, 4, 8, 8, 29, 59, tzinfo=UTC
    ),  # Thursday 10:29:59, one second before the cutoff
    dt.datetime(2027, 4, 8, 8, 30, 1, tzinfo=UTC),  # 10:30:01, one second after
]
SLOT_HOURS = (9, 10, 11)  # local, Tuesday 6 April 2027
CAPACITY = 4
PORTIONS = 5
WINDOW_CAPACITY = 6


def _local(hour: int) -> dt.datetime:
    return dt.datetime(2027, 4, 6, hour - 2, tzinfo=UTC)


class CanteenAndGarden(RuleBasedStateMachine):
    client: Any
    world: Any

    def __init__(self) -> None:
        super().__init__()
        clock.travel_to(START)
        self.now_index = 0
        c, w = self.client, self.world
        tag = uuid.uuid4().hex[:6]
        garden = c.post(
            "/api/structures/ehpad-les-tilleuls/assets",
            headers=w.staff_a.headers,
            json={
                "name": f"Jardin {tag}",
                "kind": "garden",
                "capacity": CAPACITY,
                "audience": ["neighbours"],
            },
        ).json()
        self.garden = garden["id"]
        assert (
            c.post(
                f"/api/assets/{self.garden}/availability",
                headers=w.staff_a.headers,
                json={
                    "weekdays": [2],
                    "start_time": "09:00",
                    "end_time": "12:00",
                    "valid_from": "2027-04-01",
                    "slot_minutes": 60,
                },
            ).status_code
            == 201
        )
        canteen = c.post(
            "/api/structures/chrs-le-relais/assets",
            headers=w.staff_b.headers,
            json={
                "name": f"Cantine {tag}",
                "kind": "canteen",
                "capacity": 60,
                "audience": ["neighbours", "professionals"],
            },
        ).json()
        service = c.post(
            f"/api/assets/{canteen['id']}/meal-services",
            headers=w.staff_b.headers,
            json={
                "date": "2027-04-08",
                "order_cutoff": "2027-04-08T10:30:00+02:00",
                "pickup_windows": [
                    {
                        "starts_at": "2027-04-08T12:00:00+02:00",
                        "ends_at": "2027-04-08T12:30:00+02:00",
                        "capacity": WINDOW_CAPACITY,
                    }
                ],
                "items": [
                    {
                        "name": name,
                        "kind": "main",
                        "portions": PORTIONS,
                        "prices": {"habitant": 600},
                    }
                    for name in ("Curry de légumes", "Poulet basquaise")
                ],
            },
        )
        assert service.status_code == 201, service.text
        self.service = service.json()
        self.items = [i["id"] for i in self.service["items"]]
        self.window = self.service["pickup_windows"][0]["id"]
        self.people = [register(c, f"voisin{i}-{tag}@exemple.test", "neighbour") for i in range(6)]
        self.pool_start = self._pool()
        # The model.
        self.taken = dict.fromkeys(SLOT_HOURS, 0)
        self.bookings: dict[
            str, tuple[int, int, int, bool]
        ] = {}  # id -> (person, hour, size, active)
        self.sold = dict.fromkeys(self.items, 0)
        self.window_taken = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.pool_delta = 0

    def teardown(self) -> None:
        clock.travel_to(None)

    @property
    def now(self) -> dt.datetime:
        return TIMELINE[self.now_index]

    def _pool(self) -> int:
        ledger = self.client.get(
            "/api/structures/chrs-le-relais/suspended-meals", headers=self.world.staff_b.headers
        )
        assert ledger.status_code == 200, ledger.text
        return ledger.json()["balance"]

    # --- garden --------------------------------------------------------------------------

    @rule(person=st.integers(0, 5), hour=st.sampled_from(SLOT_HOURS), size=st.integers(1, 2))
    def book(self, person: int, hour: int, size: int) -> None:
        response = self.client.post(
            "/api/bookings",
            headers=self.people[person].headers,
            json={
                "asset_id": self.garden,
                "party_size": size,
                "starts_at": _local(hour).isoformat(),
                "ends_at": _local(hour + 1).isoformat(),
            },
        )
        start = _local(hour)
        if self.now >= start:
            expected = 422  # in the past
        elif self.now > start - dt.timedelta(minutes=60):
            expected = 422  # inside the minimum notice
        elif self.taken[hour] + size > CAPACITY:
            expected = 409
        else:
            expected = 201
        assert response.status_code == expected, (response.status_code, response.text, self.now)
        if expected == 201:
            self.taken[hour] += size
            self.bookings[response.json()["id"]] = (person, hour, size, True)

    @precondition(lambda self: any(active for *_, active in self.bookings.values()))
    @rule(data=st.data())
    def cancel_booking(self, data: st.DataObject) -> None:
        booking_id = data.draw(st.sampled_from(sorted(k for k, v in self.bookings.items() if v[3])))
        person, hour, size, _ = self.bookings[booking_id]
        response = self.client.post(
            f"/api/bookings/{booking_id}/cancel", headers=self.people[person].headers
        )
        allowed = self.now <= _local(hour) - dt.timedelta(minutes=120)
        assert response.status_code == (200 if allowed else 409), response.text
        if allowed:
            self.taken[hour] -= size
            self.bookings[booking_id] = (person, hour, size, False)

    # --- canteen ----------------------------------------------------------------------------

    @rule(person=st.integers(0, 5), item=st.integers(0, 1), suspended=st.integers(0, 1))
    def order(self, person: int, item: int, suspended: int) -> None:
        item_id = self.items[item]
        response = self.client.post(
            "/api/meal-orders",
            headers=self.people[person].headers,
            json={
                "service_id": self.service["id"],
                "lines": [{"item_id": item_id, "quantity": 1}],
                "pickup_window_id": self.window,
                "suspended_meals": suspended,
            },
        )
        has_order = any(o["person"] == person and o["active"] for o in self.orders.values())
        if self.now >= TIMELINE[4]:
            assert response.status_code == 422 and response.json()["code"] == "order-cutoff-passed"
        elif has_order:
            assert response.status_code == 409 and response.json()["code"] == "already-ordered"
        elif self.sold[item_id] >= PORTIONS or self.window_taken >= WINDOW_CAPACITY:
            assert response.status_code == 409, response.text
            assert response.json()["code"] in {"sold-out", "pickup-window-full"}
        else:
            assert response.status_code == 201, response.text
            body = response.json()
            assert body["total_cents"] == 600 + suspended * 600
            self.sold[item_id] += 1
            self.window_taken += 1
            self.orders[body["id"]] = {
                "person": person,
                "item": item_id,
                "suspended": suspended,
                "active": True,
                "paid": False,
            }

    @precondition(lambda self: any(o["active"] and not o["paid"] for o in self.orders.values()))
    @rule(data=st.data())
    def cancel_order(self, data: st.DataObject) -> None:
        order_id = data.draw(
            st.sampled_from(
                sorted(k for k, o in self.orders.items() if o["active"] and not o["paid"])
            )
        )
        order = self.orders[order_id]
        response = self.client.post(
            f"/api/meal-orders/{order_id}/cancel", headers=self.people[order["person"]].headers
        )
        if self.now >= TIMELINE[4]:
            assert response.status_code in (409, 422), response.text
            return
        assert response.status_code == 200, response.text
        order["active"] = False
        self.sold[order["item"]] -= 1
        self.window_taken -= 1

    @precondition(lambda self: any(o["active"] and not o["paid"] for o in self.orders.values()))
    @rule(data=st.data())
    def pay_at_the_counter(self, data: st.DataObject) -> None:
        order_id = data.draw(
            st.sampled_from(
                sorted(k for k, o in self.orders.items() if o["active"] and not o["paid"])
            )
        )
        response = self.client.post(
            f"/api/meal-orders/{order_id}/status",
            headers=self.world.staff_b.headers,
            json={"paid": True},
        )
        assert response.status_code == 200, response.text
        self.orders[order_id]["paid"] = True
        self.pool_delta += self.orders[order_id]["suspended"]

    @rule()
    def give_a_voucher(self) -> None:
        response = self.client.post(
            "/api/structures/chrs-le-relais/suspended-meals/vouchers",
            headers=self.world.staff_b.headers,
            json={"label": "accompagnement"},
        )
        if self.pool_start + self.pool_delta > 0:
            assert response.status_code == 201, response.text
            self.pool_delta -= 1
        else:
            assert (
                response.status_code == 409
                and response.json()["code"] == "suspended-meals-pool-empty"
            )

    @precondition(lambda self: self.now_index < len(TIMELINE) - 1)
    @rule()
    def time_passes(self) -> None:
        self.now_index += 1
        clock.travel_to(self.now)

    # --- the API agrees with the model --------------------------------------------------------

    @invariant()
    def places_agree(self) -> None:
        if self.now >= _local(9):
            return  # past slots are no longer listed
        slots = self.client.get(
            f"/api/assets/{self.garden}/slots", params={"from": "2027-04-06", "to": "2027-04-06"}
        ).json()
        listed = {
            dt.datetime.fromisoformat(s["starts_at"]).astimezone(UTC): s["remaining"] for s in slots
        }
        for hour in SLOT_HOURS:
            assert listed[_local(hour)] == CAPACITY - self.taken[hour]

    @invariant()
    def portions_and_pool_agree(self) -> None:
        menu = self.client.get(f"/api/meal-services/{self.service['id']}").json()
        assert {i["id"]: i["remaining"] for i in menu["items"]} == {
            item: PORTIONS - sold for item, sold in self.sold.items()
        }
        assert menu["pickup_windows"][0]["remaining"] == WINDOW_CAPACITY - self.window_taken
        assert self._pool() == self.pool_start + self.pool_delta


@pytest.fixture(autouse=True)
def at_start():
    """People sign in on 15 March 2027, so their tokens still hold in April."""
    with clock.frozen(START):
        yield


def test_api_agrees_with_the_model(client, world):
    manager = world.manager_b.headers
    assert client.put(
        "/api/structures/chrs-le-relais/tariffs/habitant",
        headers=manager,
        json={"label": "Habitant", "default_for": ["neighbour"]},
    ).status_code in (200, 201)
    assert (
        client.put(
            "/api/structures/chrs-le-relais/suspended-meals/price",
            headers=manager,
            json={"price_cents": 600},
        ).status_code
        == 200
    )
    CanteenAndGarden.client = client
    CanteenAndGarden.world = world
    try:
        run_state_machine_as_test(
            CanteenAndGarden,
            settings=settings(
                max_examples=12,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            ),
        )
    finally:
        clock.travel_to(None)
