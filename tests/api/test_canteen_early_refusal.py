"""At the rush, a meal order that must be refused is refused on a read (issue 16).

``services/canteen_early.py`` answers most refusals before any transaction that writes;
an order sent with an ``Idempotency-Key`` goes the general way, where every check is
made inside the write transaction. Both must give the same answer, in the same order
of checks, and a refusal must not wait for another writer.
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import register
from tests.db_lock import database_locked
from tests.scenarios.relais import CUTOFF_UTC


@pytest.fixture
def friday(client, relais):
    """Friday: one pickup place, lasagne priced for habitants only, one gratin."""
    lasagne = {"name": "Lasagnes", "kind": "main", "portions": 3, "prices": {"habitant": 600}}
    gratin = {
        "name": "Gratin",
        "kind": "main",
        "portions": 1,
        "prices": {"habitant": 600, "professionnel": 900},
    }
    return relais.add_service(client, "2026-12-04", [lasagne, gratin], capacity=1)


def _body(service, *lines, window=None):
    items = {i["name"]: i["id"] for i in service["items"]}
    return {
        "service_id": service["id"],
        "lines": [{"item_id": items[name], "quantity": n} for name, n in lines],
        "pickup_window_id": window or service["pickup_windows"][0]["id"],
    }


def _both_ways(client, person, body):
    """The answer on a read, and the answer of the general way (with a fresh key)."""
    early = client.post("/api/meal-orders", json=body, headers=person.headers)
    general = client.post(
        "/api/meal-orders",
        json=body,
        headers={**person.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    return early, general


def test_every_refusal_is_the_same_on_a_read_and_in_the_write(client, relais, friday):
    jeanne, karim = relais.world.neighbour, relais.world.professional
    ali = register(client, "ali@exemple.test", "neighbour", "Ali Voisin")
    first = client.post(
        "/api/meal-orders", json=_body(friday, ("Lasagnes", 1)), headers=jeanne.headers
    )
    assert first.status_code == 201, first.text
    thursday_window = relais.window("12:15")["id"]
    cases = [
        # Each first check that fails wins, though the pickup window is full for all.
        (jeanne, _body(friday, ("Gratin", 1)), 409, "already-ordered"),
        (ali, _body(friday, ("Lasagnes", 1)), 409, "pickup-window-full"),
        (karim, _body(friday, ("Lasagnes", 1)), 422, "no-price-for-tariff"),
        (ali, _body(friday, ("Gratin", 2)), 409, "sold-out"),
        (
            ali,
            _body(friday, ("Gratin", 1), window=thursday_window),
            422,
            "pickup-window-not-in-service",
        ),
        (ali, {**_body(friday, ("Gratin", 1)), "lines": []}, 422, "empty-order"),
    ]
    for person, body, status, code in cases:
        early, general = _both_ways(client, person, body)
        assert (early.status_code, early.json()["code"]) == (status, code), early.text
        assert (general.status_code, general.json()) == (early.status_code, early.json())
    # « already ordered » points at the order to change or cancel.
    assert (
        _both_ways(client, jeanne, _body(friday, ("Gratin", 1)))[0].json()["order_id"]
        == (first.json()["id"])
    )
    relais.clock.at(CUTOFF_UTC.replace(day=4))
    early, general = _both_ways(client, ali, _body(friday, ("Gratin", 1)))
    assert early.json()["code"] == "order-cutoff-passed"
    assert general.json() == early.json()
    # Nothing was taken by the refusals.
    menu = client.get(f"/api/meal-services/{friday['id']}").json()
    assert {i["name"]: i["remaining"] for i in menu["items"]} == {"Lasagnes": 2, "Gratin": 1}
    assert menu["pickup_windows"][0]["remaining"] == 0
    assert len(client.get("/api/meal-orders", headers=ali.headers).json()) == 0


def test_the_english_refusal_on_a_read(client, relais, friday):
    ali = register(client, "ali@exemple.test", "neighbour", "Ali Voisin")
    body = _body(friday, ("Gratin", 2))
    refused = client.post(
        "/api/meal-orders", json=body, headers={**ali.headers, "Accept-Language": "en"}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "sold-out"
    assert "Gratin" in refused.json()["detail"] and "sur" not in refused.json()["detail"]


def test_a_refusal_answers_while_another_write_holds_the_database(client, relais, friday, settings):
    """A rush refusal waits for no writer: before, on SQLite, it queued behind the open
    write transaction (BEGIN IMMEDIATE) and failed when the wait ran out."""
    jeanne, karim = relais.world.neighbour, relais.world.professional
    ali = register(client, "ali@exemple.test", "neighbour", "Ali Voisin")
    assert (
        client.post(
            "/api/meal-orders", json=_body(friday, ("Lasagnes", 1)), headers=jeanne.headers
        ).status_code
        == 201
    )
    with database_locked(settings, writes_only=True):
        full = client.post(
            "/api/meal-orders", json=_body(friday, ("Lasagnes", 1)), headers=ali.headers
        )
        no_price = client.post(
            "/api/meal-orders", json=_body(friday, ("Lasagnes", 1)), headers=karim.headers
        )
    assert (full.status_code, full.json()["code"]) == (409, "pickup-window-full")
    assert (no_price.status_code, no_price.json()["code"]) == (422, "no-price-for-tariff")
