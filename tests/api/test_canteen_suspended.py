"""Scenario 4: repas suspendus paid forward by customers, given by a social worker."""

from __future__ import annotations

import datetime as dt

from tests.scenarios.relais import CUTOFF_UTC, RELAIS

POOL = f"/api/structures/{RELAIS}/suspended-meals"


def _pay(client, relais, order_id, paid=True):
    return client.post(
        f"/api/meal-orders/{order_id}/status", json={"paid": paid}, headers=relais.chef.headers
    )


def test_a_social_worker_gives_a_pooled_meal_that_is_collected_like_any_order(client, relais):
    world = relais.world
    karim, nadia = world.professional, world.staff_b
    order = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), suspended_meals=2),
        headers=karim.headers,
    ).json()
    assert order["total_cents"] == 950 + 2 * 600
    # Nothing is in the pool until the meals are paid at the counter.
    assert client.get(POOL).json()["balance"] == 0
    empty = client.post(f"{POOL}/vouchers", json={"label": "M. D."}, headers=nadia.headers)
    assert (empty.status_code, empty.json()["code"]) == (409, "suspended-meals-pool-empty")
    assert _pay(client, relais, order["id"]).json()["paid"] is True
    assert _pay(client, relais, order["id"]).status_code == 200  # idempotent: credited once
    public = client.get(POOL).json()
    assert (public["balance"], public["credited"], public["debited"]) == (2, 2, 0)
    assert public["suspended_meal_cents"] == 600
    assert public["entries"][0]["person"] is None  # no buyer names in public
    assert "Karim" not in str(public)
    staff_view = client.get(POOL, headers=nadia.headers).json()
    assert staff_view["entries"][0]["person"] == "Karim Benali"

    # Who may give one: the structure's staff and manager; not the kitchen, not others.
    for person in (relais.chef, karim, world.neighbour, world.staff_a):
        refused = client.post(f"{POOL}/vouchers", json={"label": "x"}, headers=person.headers)
        assert refused.status_code == 403
    voucher = client.post(f"{POOL}/vouchers", json={"label": "M. Diallo"}, headers=nadia.headers)
    assert voucher.status_code == 201, voucher.text
    code = voucher.json()["code"]
    assert code.startswith("RS-") and len(code) == 17
    assert client.get(POOL).json()["balance"] == 1
    listed = client.get(f"{POOL}/vouchers", headers=nadia.headers).json()
    assert listed[0]["code"] is None and listed[0]["code_hint"] == code[-4:]
    assert "M. Diallo" not in str(client.get(POOL).json())

    # The beneficiary has no account: the code is enough, for one main course or formula.
    body = relais.order_body(("Poulet", 1), window="12:30", voucher_code=code.lower())
    assert client.post("/api/meal-orders", json=body).status_code == 422  # guest_name required
    free = client.post("/api/meal-orders", json={**body, "guest_name": "M. Diallo"})
    assert free.status_code == 201, free.text
    meal = free.json()
    assert (meal["total_cents"], meal["voucher_used"], meal["guest_name"]) == (0, True, "M. Diallo")
    assert meal["lines"][0]["free_quantity"] == 1
    again = client.post("/api/meal-orders", json={**body, "guest_name": "Quelqu'un"})
    assert (again.status_code, again.json()["code"]) == (409, "voucher-already-used")
    # He collects it like any other order.
    sheet = client.get(
        f"/api/meal-services/{relais.service['id']}/kitchen-sheet", headers=relais.chef.headers
    ).json()
    [at_1230] = [w for w in sheet["pickup_windows"] if w["label"].startswith("12:30")]
    assert at_1230["orders"][0]["name"] == "M. Diallo" and at_1230["orders"][0]["voucher"]
    assert sheet["suspended_meals"] == {"paid_forward": 2, "vouchers_redeemed": 1}
    collected = client.post(
        f"/api/meal-orders/{meal['id']}/status",
        json={"status": "collected"},
        headers=relais.chef.headers,
    )
    assert collected.json()["status"] == "collected"
    # Karim's payment cannot be taken back now that a meal was given (1 left, 2 paid).
    undo = _pay(client, relais, order["id"], paid=False)
    assert (undo.status_code, undo.json()["code"]) == (409, "suspended-meals-already-given")
    assert client.get(POOL).json()["balance"] == 1


def test_voucher_rules(client, relais):
    world = relais.world
    karim, jeanne, nadia = world.professional, world.neighbour, world.staff_b
    order = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), suspended_meals=3),
        headers=karim.headers,
    ).json()
    _pay(client, relais, order["id"])
    codes = [
        client.post(f"{POOL}/vouchers", json={"label": f"n°{i}"}, headers=nadia.headers).json()
        for i in range(3)
    ]
    body = relais.order_body(("Tarte", 1), voucher_code=codes[0]["code"])
    # A voucher pays a main course or a formula, not a dessert alone.
    assert client.post("/api/meal-orders", json=body, headers=jeanne.headers).json()["code"] == (
        "voucher-needs-main"
    )
    # With an account: the voucher pays the main course, the rest at her tariff.
    mixed = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Falafels", 1), ("Tarte", 1), voucher_code=codes[0]["code"]),
        headers=jeanne.headers,
    ).json()
    assert mixed["total_cents"] == 150
    # Cancelling the order makes the voucher usable again.
    client.post(f"/api/meal-orders/{mixed['id']}/cancel", headers=jeanne.headers)
    reused = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Falafels", 1), voucher_code=codes[0]["code"]),
        headers=jeanne.headers,
    )
    assert reused.status_code == 201 and reused.json()["total_cents"] == 0
    assert (
        client.post(
            "/api/meal-orders",
            json=relais.order_body(("Curry", 1), voucher_code="RS-AAAA-BBBB-CCCC", guest_name="X"),
        ).json()["code"]
        == "voucher-unknown"
    )
    # Without an account: exactly one meal, nothing else.
    too_much = client.post(
        "/api/meal-orders",
        json=relais.order_body(
            ("Curry", 1), ("Tarte", 1), voucher_code=codes[1]["code"], guest_name="Mme K."
        ),
    )
    assert too_much.json()["code"] == "voucher-order-one-meal"
    assert client.post("/api/meal-orders", json=relais.order_body(("Curry", 1))).status_code == 401
    # A voucher taken back returns its meal to the pool; it can no longer be used.
    cancelled = client.post(
        f"{POOL}/vouchers/{codes[2]['id']}/cancel", headers=nadia.headers
    ).json()
    assert cancelled["cancelled"] is True
    assert client.get(POOL).json()["balance"] == 1
    assert (
        client.post(
            "/api/meal-orders",
            json=relais.order_body(("Curry", 1), voucher_code=codes[2]["code"], guest_name="X"),
        ).json()["code"]
        == "voucher-unknown"
    )
    # A voucher of Le Relais means nothing at another structure's canteen (404 there anyway).
    assert (
        client.post(
            f"/api/structures/ehpad-les-tilleuls/suspended-meals/vouchers/{codes[1]['id']}/cancel",
            headers=world.manager_a.headers,
        ).status_code
        == 404
    )


def test_staff_serve_a_voucher_at_the_counter_after_the_cutoff(client, relais):
    world = relais.world
    order = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), suspended_meals=1),
        headers=world.professional.headers,
    ).json()
    _pay(client, relais, order["id"])
    code = client.post(
        f"{POOL}/vouchers", json={"label": ""}, headers=world.manager_b.headers
    ).json()["code"]
    relais.clock.at(CUTOFF_UTC + dt.timedelta(hours=2, minutes=50))
    late = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), voucher_code=code, guest_name="Mme K."),
    )
    assert late.json()["code"] == "order-cutoff-passed"
    counter = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), voucher_code=code, guest_name="Mme K."),
        headers=world.staff_b.headers,
    )
    assert counter.status_code == 201, counter.text
    assert counter.json()["total_cents"] == 0
    # Staff may also serve a guest at a tariff they choose.
    walk_in = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Poulet", 1), guest_name="M. B.", guest_tariff="solidaire"),
        headers=world.staff_b.headers,
    )
    assert walk_in.json()["total_cents"] == 100


def test_pool_price_and_ledger_rights(client, relais):
    world = relais.world
    for person in (world.staff_b, relais.chef, world.professional):
        response = client.put(f"{POOL}/price", json={"price_cents": 1}, headers=person.headers)
        assert response.status_code == 403
    assert (
        client.put(
            f"{POOL}/price", json={"price_cents": -5}, headers=world.manager_b.headers
        ).status_code
        == 422
    )
    assert client.get(f"{POOL}/vouchers", headers=relais.chef.headers).status_code == 403
    assert client.get("/api/structures/inconnue/suspended-meals").status_code == 404
    no_offer = client.get("/api/structures/ehpad-les-tilleuls/suspended-meals").json()
    assert no_offer["balance"] == 0 and no_offer["suspended_meal_cents"] is None
