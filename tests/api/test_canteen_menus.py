"""Tariffs, tariff assignments, and the kitchen publishing meal services."""

from __future__ import annotations

import copy

from tests.scenarios.relais import RELAIS, THURSDAY_MENU


def test_tariffs_are_set_by_the_manager_and_public(client, relais):
    world = relais.world
    url = f"/api/structures/{RELAIS}/tariffs"
    tariffs = client.get(url).json()
    assert [(t["code"], t["default_for"]) for t in tariffs] == [
        ("habitant", ["neighbour"]),
        ("professionnel", ["professional"]),
        ("solidaire", []),
    ]
    for person in (world.staff_b, relais.chef, world.manager_a, world.professional):
        response = client.put(f"{url}/solidaire", json={"label": "x"}, headers=person.headers)
        assert response.status_code == 403
    changed = client.put(
        f"{url}/solidaire",
        json={"label": "Solidaire", "description": "1 €"},
        headers=world.manager_b.headers,
    )
    assert changed.status_code == 200
    clash = client.put(
        f"{url}/voisin",
        json={"label": "Voisin", "default_for": ["neighbour"]},
        headers=world.manager_b.headers,
    )
    assert (clash.status_code, clash.json()["code"]) == (409, "tariff-default-taken")
    assert "habitant" in clash.json()["detail"]
    for bad in (
        {"label": ""},
        {"label": "x", "default_for": ["martian"]},
        {"label": "x", "price": 1},
    ):
        assert (
            client.put(f"{url}/nouveau", json=bad, headers=world.manager_b.headers).status_code
            == 422
        )
    assert client.put(
        f"{url}/Pas Bon", json={"label": "x"}, headers=world.manager_b.headers
    ).status_code in (404, 422)
    assert (
        client.put(
            f"/api/structures/{RELAIS}/tariff-assignments/{world.neighbour.id}",
            json={"code": "inexistant"},
            headers=world.staff_b.headers,
        ).json()["code"]
        == "unknown-tariff"
    )
    assert (
        client.put(
            f"/api/structures/{RELAIS}/tariff-assignments/0190f0f0-0000-7000-8000-000000000000",
            json={"code": "solidaire"},
            headers=world.staff_b.headers,
        ).json()["code"]
        == "unknown-person"
    )


def test_assignments_can_be_listed_and_removed(client, relais):
    world = relais.world
    base = f"/api/structures/{RELAIS}/tariff-assignments"
    client.put(
        f"{base}/{world.neighbour.id}", json={"code": "solidaire"}, headers=world.staff_b.headers
    )
    listed = client.get(base, headers=world.manager_b.headers).json()
    assert [(a["display_name"], a["tariff"]["code"]) for a in listed] == [
        ("Jeanne Martin", "solidaire")
    ]
    assert client.get(base, headers=world.neighbour.headers).status_code == 403
    assert (
        client.delete(f"{base}/{world.neighbour.id}", headers=world.staff_b.headers).status_code
        == 204
    )
    menu = client.get(
        f"/api/meal-services/{relais.service['id']}", headers=world.neighbour.headers
    ).json()
    assert menu["my_tariff"]["code"] == "habitant"
    assert menu["items"][0]["my_price_cents"] == 600


def test_publishing_a_service_needs_the_canteen_team(client, relais):
    world = relais.world
    menu = {**THURSDAY_MENU, "date": "2026-12-10", "order_cutoff": "2026-12-10T10:30:00"}
    menu["pickup_windows"] = [
        {"starts_at": "2026-12-10T12:00:00", "ends_at": "2026-12-10T13:00:00", "capacity": 20}
    ]
    url = f"/api/assets/{relais.asset['id']}/meal-services"
    for person in (world.neighbour, world.professional, world.kitchen_a, world.manager_a):
        assert client.post(url, json=menu, headers=person.headers).status_code == 403
    assert client.post(url, json=menu).status_code == 401
    for person in (world.staff_b, world.manager_b):
        response = client.post(url, json=menu, headers=person.headers)
        assert response.status_code in (201, 409)
    assert (
        client.post(url, json=menu, headers=relais.chef.headers).json()["code"]
        == "meal-service-exists"
    )
    garden = client.post(
        f"/api/assets/{world.garden['id']}/meal-services", json=menu, headers=world.staff_a.headers
    )
    assert (garden.status_code, garden.json()["code"]) == (422, "not-a-canteen")


def test_service_input_is_validated(client, relais):
    url = f"/api/assets/{relais.asset['id']}/meal-services"
    good = copy.deepcopy(THURSDAY_MENU) | {
        "date": "2026-12-11",
        "order_cutoff": "2026-12-11T10:30:00",
    }
    good["pickup_windows"] = [
        {"starts_at": "2026-12-11T12:00:00", "ends_at": "2026-12-11T12:30:00", "capacity": 5}
    ]
    item = good["items"][0]
    bad = [
        {**good, "items": [{**item, "allergens": ["peanut"]}]},  # not the regulation's code
        {**good, "items": [{**item, "diets": ["paleo"]}]},
        {**good, "items": [{**item, "kind": "snack"}]},
        {**good, "items": [{**item, "prices": {"professionnel": -1}}]},
        {**good, "items": [{**item, "prices": {"professionnel": 9.5}}]},
        {**good, "items": [{**item, "prices": {"vip": 100}}]},  # unknown tariff
        {**good, "items": [item, item]},  # same dish twice
        {**good, "items": []},
        {**good, "pickup_windows": []},
        {**good, "order_cutoff": "2026-12-11T12:10:00"},  # after the first pickup
        {
            **good,
            "pickup_windows": [
                {
                    "starts_at": "2026-12-12T12:00:00",
                    "ends_at": "2026-12-12T12:30:00",
                    "capacity": 5,
                }
            ],
        },
        {
            **good,
            "pickup_windows": [
                {
                    "starts_at": "2026-12-11T12:30:00",
                    "ends_at": "2026-12-11T12:00:00",
                    "capacity": 5,
                }
            ],
        },
        {
            **good,
            "pickup_windows": [
                {
                    "starts_at": "2026-12-11T12:00:00",
                    "ends_at": "2026-12-11T12:30:00",
                    "capacity": 0,
                }
            ],
        },
        {**good, "items": [{**item, "sold": 5}]},
    ]
    for body in bad:
        response = client.post(url, json=body, headers=relais.chef.headers)
        assert response.status_code == 422, body
    # An instant with an explicit offset is taken as is.
    ok = client.post(
        url, json={**good, "order_cutoff": "2026-12-11T09:30:00Z"}, headers=relais.chef.headers
    )
    assert ok.status_code == 201
    assert ok.json()["order_cutoff"] == "2026-12-11T10:30:00+01:00"


def test_summer_time_offsets_and_the_missing_hour(client, relais):
    url = f"/api/assets/{relais.asset['id']}/meal-services"
    summer = {
        "date": "2027-03-28",  # clocks go forward at 02:00 in Paris
        "order_cutoff": "2027-03-28T02:30:00",
        "pickup_windows": [
            {"starts_at": "2027-03-28T12:00:00", "ends_at": "2027-03-28T12:30:00", "capacity": 5}
        ],
        "items": [
            {"name": "Brunch", "kind": "formula", "portions": 10, "prices": {"habitant": 700}}
        ],
    }
    gap = client.post(url, json=summer, headers=relais.chef.headers)
    assert gap.status_code == 422
    assert gap.json()["errors"][0]["field"] == "order_cutoff"
    ok = client.post(
        url, json={**summer, "order_cutoff": "2027-03-28T10:30:00"}, headers=relais.chef.headers
    )
    assert ok.json()["order_cutoff"] == "2027-03-28T10:30:00+02:00"
    assert ok.json()["pickup_windows"][0]["starts_at"] == "2027-03-28T12:00:00+02:00"


def test_public_menus_by_week_and_asset(client, relais):
    week = client.get(
        "/api/meal-services", params={"from": "2026-11-30", "to": "2026-12-06"}
    ).json()
    assert [m["date"] for m in week] == ["2026-12-03"]
    assert week[0]["ordering_open"] is True
    assert week[0]["my_tariff"] is None
    assert all(i["my_price_cents"] is None for i in week[0]["items"])
    assert week[0]["suspended_meal_cents"] == 600
    assert (
        client.get("/api/meal-services", params={"from": "2026-12-04", "to": "2026-12-06"}).json()
        == []
    )
    other = client.get(
        "/api/meal-services", params={"asset": relais.world.garden["id"], "from": "2026-11-30"}
    ).json()
    assert other == []
    assert client.get("/api/meal-services", params={"from": "demain"}).status_code == 422
    assert client.get("/api/meal-services/0190f0f0-0000-7000-8000-000000000000").status_code == 404
    curry = relais.item("Curry")
    assert curry["allergens"] == [{"code": "celery", "label": "Céleri"}]
    assert {d["label"] for d in curry["diets"]} >= {"Végétarien", "Végétalien"}
    assert curry["prices"] == {"habitant": 600, "professionnel": 950, "solidaire": 100}


def test_changing_a_dish_once_ordered(client, relais):
    world = relais.world
    service = relais.service["id"]
    curry = relais.item("Curry")
    poulet = relais.item("Poulet")
    item_url = f"/api/meal-services/{service}/items"
    # Nobody ordered the chicken: the kitchen may change anything.
    changed = client.patch(
        f"{item_url}/{poulet['id']}",
        json={"name": "Poulet basquaise, riz", "allergens": ["celery"]},
        headers=relais.chef.headers,
    )
    assert changed.status_code == 200
    client.post(
        "/api/meal-orders", json=relais.order_body(("Curry", 2)), headers=world.professional.headers
    )
    for change in (
        {"allergens": []},
        {"prices": {"professionnel": 800}},
        {"name": "Curry"},
        {"portions": 5},
    ):
        refused = client.patch(
            f"{item_url}/{curry['id']}", json=change, headers=relais.chef.headers
        )
        assert (refused.status_code, refused.json()["code"]) == (409, "item-has-orders"), change
    more = client.patch(
        f"{item_url}/{curry['id']}", json={"portions": 30}, headers=relais.chef.headers
    )
    assert next(i for i in more.json()["items"] if i["id"] == curry["id"])["remaining"] == 28
    assert (
        client.patch(
            f"{item_url}/{curry['id']}", json={"portions": 30}, headers=world.professional.headers
        ).status_code
        == 403
    )
    # Adding a dish, then withdrawing the ordered one: orders are kept and reported.
    added = client.post(
        item_url,
        json={
            "name": "Salade de lentilles",
            "kind": "starter",
            "portions": 10,
            "prices": {"habitant": 200},
        },
        headers=relais.chef.headers,
    )
    assert added.status_code == 201
    withdrawn = client.delete(f"{item_url}/{curry['id']}", headers=relais.chef.headers).json()
    assert (withdrawn["orders_affected"], withdrawn["portions_ordered"]) == (1, 2)
    menu = client.get(f"/api/meal-services/{service}").json()
    assert "Curry de légumes, riz basmati" not in [i["name"] for i in menu["items"]]
    refused = client.post(
        "/api/meal-orders",
        json={
            **relais.order_body(("Poulet", 1)),
            "lines": [{"item_id": curry["id"], "quantity": 1}],
        },
        headers=world.neighbour.headers,
    )
    assert refused.json()["code"] == "item-withdrawn"
    sheet = client.get(
        f"/api/meal-services/{service}/kitchen-sheet", headers=relais.chef.headers
    ).json()
    assert next(i for i in sheet["items"] if i["id"] == curry["id"])["withdrawn"] is True
    cutoff = client.patch(
        f"/api/meal-services/{service}",
        json={"order_cutoff": "2026-12-03T11:00:00"},
        headers=relais.chef.headers,
    )
    assert cutoff.json()["order_cutoff"] == "2026-12-03T11:00:00+01:00"
    late = client.patch(
        f"/api/meal-services/{service}",
        json={"order_cutoff": "2026-12-03T12:05:00"},
        headers=relais.chef.headers,
    )
    assert late.status_code == 422
