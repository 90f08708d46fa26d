"""Idempotency-Key on meal orders and vouchers: a retry never takes a second portion
nor debits the pool twice."""

from __future__ import annotations

import json

from tests.scenarios.relais import RELAIS

POOL = f"/api/structures/{RELAIS}/suspended-meals"


def _post(client, url, person, body, key):
    return client.post(
        url,
        content=json.dumps(body).encode(),
        headers={**person.headers, "Content-Type": "application/json", "Idempotency-Key": key},
    )


def _remaining(client, relais, name):
    menu = client.get(f"/api/meal-services/{relais.service['id']}").json()
    return next(i["remaining"] for i in menu["items"] if i["name"].startswith(name))


def test_a_retried_order_is_placed_once(client, relais):
    karim = relais.world.professional
    body = relais.order_body(("Curry", 1), suspended_meals=1)
    first = _post(client, "/api/meal-orders", karim, body, "commande-jeudi")
    assert first.status_code == 201
    retry = _post(client, "/api/meal-orders", karim, body, "commande-jeudi")
    assert retry.status_code == 201 and retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert _remaining(client, relais, "Curry") == 19
    other = _post(
        client, "/api/meal-orders", karim, relais.order_body(("Falafels", 1)), "commande-jeudi"
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency-key-reused"
    assert len(client.get("/api/meal-orders", headers=karim.headers).json()) == 1


def test_a_retried_voucher_debits_the_pool_once(client, relais):
    world = relais.world
    order = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), suspended_meals=2),
        headers=world.professional.headers,
    ).json()
    client.post(
        f"/api/meal-orders/{order['id']}/status", json={"paid": True}, headers=relais.chef.headers
    )
    assert client.get(POOL).json()["balance"] == 2
    first = _post(client, f"{POOL}/vouchers", world.staff_b, {"label": "M. D."}, "bon-1")
    assert first.status_code == 201
    retry = _post(client, f"{POOL}/vouchers", world.staff_b, {"label": "M. D."}, "bon-1")
    # The code is shown once and never stored: the retry says the voucher exists (D13).
    assert retry.status_code == 409 and retry.json()["code"] == "voucher-code-shown-once"
    assert retry.json()["voucher_id"] == first.json()["id"]
    assert client.get(POOL).json()["balance"] == 1
