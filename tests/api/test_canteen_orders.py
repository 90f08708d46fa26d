"""Scenario 3: Karim orders Thursday's vegetarian lunch at CHRS Le Relais."""

from __future__ import annotations

import datetime as dt

from tests.api.canteen_fixtures import CUTOFF_UTC, RELAIS, clock, relais  # noqa: F401


def test_karim_orders_a_vegetarian_dish_without_sesame_before_the_cutoff(client, relais):
    karim = relais.world.professional
    week = client.get(
        "/api/meal-services",
        params={"asset": relais.asset["id"], "from": "2026-11-30", "to": "2026-12-06"},
        headers=karim.headers,
    )
    assert week.status_code == 200, week.text
    [thursday] = week.json()
    assert thursday["order_cutoff"] == "2026-12-03T10:30:00+01:00"
    assert thursday["my_tariff"]["code"] == "professionnel"
    veggie_no_sesame = [
        i
        for i in thursday["items"]
        if "vegetarian" in {d["code"] for d in i["diets"]}
        and "sesame" not in {a["code"] for a in i["allergens"]}
        and i["kind"] == "main"
    ]
    assert [i["name"] for i in veggie_no_sesame] == ["Curry de légumes, riz basmati"]
    assert veggie_no_sesame[0]["my_price_cents"] == 950
    falafel = relais.item("Falafels")
    assert {"code": "sesame", "label": "Graines de sésame"} in falafel["allergens"]

    response = client.post(
        "/api/meal-orders",
        json=relais.order_body(
            ("Curry", 1), window="12:15", suspended_meals=1, note="Sans coriandre"
        ),
        headers=karim.headers,
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "placed"
    assert order["tariff"] == {"code": "professionnel", "label": "Professionnel"}
    assert order["pickup_window"]["starts_at"] == "2026-12-03T12:15:00+01:00"
    assert order["suspended_meals"] == 1
    assert order["total_cents"] == 950 + 600
    assert order["lines"][0]["line_cents"] == 950

    menu = client.get(f"/api/meal-services/{relais.service['id']}").json()
    curry = next(i for i in menu["items"] if i["name"].startswith("Curry"))
    assert curry["remaining"] == 19
    assert (
        next(w for w in menu["pickup_windows"] if w["id"] == order["pickup_window"]["id"])[
            "remaining"
        ]
        == 9
    )
    assert menu["my_tariff"] is None  # anonymous: no personal price
    mine = client.get("/api/meal-orders", headers=karim.headers).json()
    assert [o["id"] for o in mine] == [order["id"]]


def test_one_second_before_and_after_the_cutoff(client, relais):
    karim, jeanne = relais.world.professional, relais.world.neighbour
    relais.clock.at(CUTOFF_UTC - dt.timedelta(seconds=1))
    ok = client.post(
        "/api/meal-orders", json=relais.order_body(("Curry", 1)), headers=karim.headers
    )
    assert ok.status_code == 201, ok.text
    relais.clock.at(CUTOFF_UTC)
    late = client.post(
        "/api/meal-orders", json=relais.order_body(("Curry", 1)), headers=jeanne.headers
    )
    assert late.status_code == 422
    assert late.json()["code"] == "order-cutoff-passed"
    assert "03/12/2026 10:30" in late.json()["detail"]
    assert late.json()["order_cutoff"] == "2026-12-03T10:30:00+01:00"
    relais.clock.at(CUTOFF_UTC + dt.timedelta(seconds=1))
    assert (
        client.post(
            "/api/meal-orders", json=relais.order_body(("Curry", 1)), headers=jeanne.headers
        ).json()["code"]
        == "order-cutoff-passed"
    )
