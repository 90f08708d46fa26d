"""Scenario 3: Karim orders Thursday's vegetarian lunch at CHRS Le Relais."""

from __future__ import annotations

import datetime as dt

from tests.scenarios.relais import CUTOFF_UTC, RELAIS


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
    assert "jeudi 3 décembre 2026, 10 h 30" in late.json()["detail"]
    assert late.json()["order_cutoff"] == "2026-12-03T10:30:00+01:00"
    relais.clock.at(CUTOFF_UTC + dt.timedelta(seconds=1))
    assert (
        client.post(
            "/api/meal-orders", json=relais.order_body(("Curry", 1)), headers=jeanne.headers
        ).json()["code"]
        == "order-cutoff-passed"
    )


def _order(client, relais, person, *lines, **extra):
    return client.post(
        "/api/meal-orders", json=relais.order_body(*lines, **extra), headers=person.headers
    )


def test_each_refusal_has_its_own_problem_type(client, relais, settings):
    karim = relais.world.professional
    lasagne = {"name": "Lasagnes", "kind": "main", "portions": 2, "prices": {"habitant": 600}}
    other_service = relais.add_service(client, "2026-12-04", [lasagne], capacity=1)
    foreign_item = other_service["items"][0]["id"]
    body = relais.order_body(("Curry", 1))
    cases = [
        ({**body, "lines": []}, 422, "empty-order"),
        ({**body, "lines": [{"item_id": foreign_item, "quantity": 1}]}, 422, "item-not-in-service"),
        (
            {**body, "pickup_window_id": other_service["pickup_windows"][0]["id"]},
            422,
            "pickup-window-not-in-service",
        ),
        (
            {**body, "lines": [{"item_id": body["lines"][0]["item_id"], "quantity": 0}]},
            422,
            "validation-error",
        ),
        (
            {**body, "lines": [{"item_id": body["lines"][0]["item_id"], "quantity": 11}]},
            422,
            "validation-error",
        ),
        (
            relais.order_body(("Curry", 6), ("Tarte", 5)),
            422,
            "order-too-large",
        ),
        ({**body, "tariff": "solidaire"}, 422, "validation-error"),
        ({**body, "total_cents": 0}, 422, "validation-error"),
        ({**body, "suspended_meals": -1}, 422, "validation-error"),
    ]
    for payload, status, code in cases:
        response = client.post("/api/meal-orders", json=payload, headers=karim.headers)
        assert (response.status_code, response.json()["code"]) == (status, code), payload
    # Karim is a professional: Friday's lasagne has no professional price.
    response = client.post(
        "/api/meal-orders",
        json={
            "service_id": other_service["id"],
            "lines": [{"item_id": foreign_item, "quantity": 1}],
            "pickup_window_id": other_service["pickup_windows"][0]["id"],
        },
        headers=karim.headers,
    )
    assert response.json()["code"] == "no-price-for-tariff"
    assert client.post("/api/meal-orders", json=body).status_code == 401


def test_sold_out_names_the_dish_and_what_remains(client, relais):
    falafel = relais.item("Falafels")
    response = client.patch(
        f"/api/meal-services/{relais.service['id']}/items/{falafel['id']}",
        json={"portions": 2},
        headers=relais.chef.headers,
    )
    assert response.status_code == 200, response.text
    jeanne, karim = relais.world.neighbour, relais.world.professional
    assert _order(client, relais, jeanne, ("Falafels", 2)).status_code == 201
    refused = _order(client, relais, karim, ("Falafels", 1), ("Tarte", 1))
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "sold-out"
    assert problem["item"] == "Falafels, houmous et taboulé"
    assert problem["remaining"] == 0
    assert "Falafels" in problem["detail"] and "n'est plus disponible" in problem["detail"]
    # Nothing of the refused order was kept: the tart is untouched.
    menu = client.get(f"/api/meal-services/{relais.service['id']}").json()
    assert next(i for i in menu["items"] if i["name"].startswith("Tarte"))["remaining"] == 30


def test_full_pickup_window(client, relais, world):
    from tests.conftest import register

    window = relais.window("12:00")
    soup = {
        "name": "Soupe",
        "kind": "main",
        "portions": 5,
        "prices": {"habitant": 500, "professionnel": 700},
    }
    monday = relais.add_service(client, "2026-12-07", [soup], capacity=1, window_ends="12:15")
    assert window
    body = {
        "service_id": monday["id"],
        "lines": [{"item_id": monday["items"][0]["id"], "quantity": 1}],
        "pickup_window_id": monday["pickup_windows"][0]["id"],
    }
    first = client.post("/api/meal-orders", json=body, headers=world.neighbour.headers)
    assert first.status_code == 201
    other = register(client, "voisin@exemple.test", "neighbour", "Ali Voisin")
    second = client.post("/api/meal-orders", json=body, headers=other.headers)
    assert second.status_code == 409
    assert second.json()["code"] == "pickup-window-full"
    assert "12 h 00" in second.json()["detail"]
    menu = client.get(f"/api/meal-services/{monday['id']}").json()
    assert menu["items"][0]["remaining"] == 4  # the refused order's portion came back


def test_the_tariff_is_decided_by_the_server(client, relais):
    world = relais.world
    jeanne = world.neighbour
    habitant = _order(client, relais, jeanne, ("Curry", 1), ("Tarte", 1))
    assert habitant.json()["tariff"]["code"] == "habitant"
    assert habitant.json()["total_cents"] == 600 + 150
    # Staff assign Jeanne the solidarity tariff; her next order costs 1 € + 0,50 €.
    assign = client.put(
        f"/api/structures/{RELAIS}/tariff-assignments/{jeanne.id}",
        json={"code": "solidaire"},
        headers=world.staff_b.headers,
    )
    assert assign.status_code == 200, assign.text
    client.post(f"/api/meal-orders/{habitant.json()['id']}/cancel", headers=jeanne.headers)
    solidaire = _order(client, relais, jeanne, ("Curry", 1), ("Tarte", 1))
    assert solidaire.json()["tariff"]["code"] == "solidaire"
    assert solidaire.json()["total_cents"] == 150
    menu = client.get(f"/api/meal-services/{relais.service['id']}", headers=jeanne.headers).json()
    assert menu["my_tariff"]["code"] == "solidaire"
    # Karim cannot pick it himself, by any field.
    karim = world.professional
    for extra in ({"tariff": "solidaire"}, {"tariff_code": "solidaire"}, {"unit_cents": 1}):
        response = _order(client, relais, karim, ("Curry", 1), **extra)
        assert response.status_code == 422
    guest = _order(client, relais, karim, ("Curry", 1), guest_name="Ami", guest_tariff="solidaire")
    assert guest.status_code == 403
    # Nor can a neighbour assign tariffs, nor the kitchen.
    for person in (karim, jeanne, relais.chef):
        response = client.put(
            f"/api/structures/{RELAIS}/tariff-assignments/{karim.id}",
            json={"code": "solidaire"},
            headers=person.headers,
        )
        assert response.status_code == 403
    ok = _order(client, relais, karim, ("Curry", 1))
    assert ok.json()["tariff"]["code"] == "professionnel"
    assert ok.json()["total_cents"] == 950


def test_privacy_of_orders_and_of_the_kitchen_sheet(client, relais):
    world = relais.world
    karim, jeanne = world.professional, world.neighbour
    order = _order(client, relais, karim, ("Curry", 1)).json()
    url = f"/api/meal-orders/{order['id']}"
    assert client.get(url, headers=karim.headers).status_code == 200
    for stranger in (jeanne, world.staff_a, world.manager_a, world.kitchen_a):
        assert client.get(url, headers=stranger.headers).status_code == 404
        assert client.post(f"{url}/cancel", headers=stranger.headers).status_code == 404
    for team in (relais.chef, world.staff_b, world.manager_b, world.admin):
        assert client.get(url, headers=team.headers).status_code == 200
    assert client.get(url).status_code == 401
    assert client.get("/api/meal-orders", headers=jeanne.headers).json() == []
    sheet = f"/api/meal-services/{relais.service['id']}/kitchen-sheet"
    for stranger in (karim, jeanne, world.kitchen_a, world.staff_a):
        assert client.get(sheet, headers=stranger.headers).status_code == 403
    assert client.get(sheet).status_code == 401
    # Kitchen of another structure cannot change the order; nor can its owner.
    status = f"{url}/status"
    assert (
        client.post(status, json={"status": "ready"}, headers=world.kitchen_a.headers).status_code
        == 404
    )
    assert (
        client.post(status, json={"status": "collected"}, headers=karim.headers).status_code == 403
    )
    assert client.get(url, headers=karim.headers).json()["status"] == "placed"


def test_cancel_returns_portions_owner_until_cutoff_staff_after(client, relais):
    karim, jeanne = relais.world.professional, relais.world.neighbour
    first = _order(client, relais, karim, ("Curry", 2), window="12:00").json()
    assert _order(client, relais, karim, ("Curry", 1)).json()["code"] == "already-ordered"
    cancelled = client.post(f"/api/meal-orders/{first['id']}/cancel", headers=karim.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    menu = client.get(f"/api/meal-services/{relais.service['id']}").json()
    assert next(i for i in menu["items"] if i["name"].startswith("Curry"))["remaining"] == 20
    assert (
        next(w for w in menu["pickup_windows"] if w["id"] == first["pickup_window"]["id"])[
            "remaining"
        ]
        == 10
    )
    again = client.post(f"/api/meal-orders/{first['id']}/cancel", headers=karim.headers)
    assert again.json()["code"] == "order-not-cancellable"
    # Re-ordering after a cancellation is allowed.
    second = _order(client, relais, karim, ("Curry", 1)).json()
    third = _order(client, relais, jeanne, ("Poulet", 1)).json()
    relais.clock.at(CUTOFF_UTC)
    late = client.post(f"/api/meal-orders/{second['id']}/cancel", headers=karim.headers)
    assert late.status_code == 422
    assert late.json()["code"] == "cancel-cutoff-passed"
    by_staff = client.post(
        f"/api/meal-orders/{third['id']}/cancel", headers=relais.world.staff_b.headers
    )
    assert by_staff.status_code == 200
    menu = client.get(f"/api/meal-services/{relais.service['id']}").json()
    assert next(i for i in menu["items"] if i["name"].startswith("Poulet"))["remaining"] == 25


def test_kitchen_marks_ready_collected_no_show_and_paid(client, relais):
    karim, jeanne = relais.world.professional, relais.world.neighbour
    order = _order(client, relais, karim, ("Curry", 1)).json()
    url = f"/api/meal-orders/{order['id']}/status"
    chef = relais.chef.headers
    assert client.post(url, json={"status": "ready"}, headers=chef).json()["status"] == "ready"
    paid = client.post(url, json={"status": "collected", "paid": True}, headers=chef).json()
    assert (paid["status"], paid["paid"]) == ("collected", True)
    assert paid["paid_at"].endswith("+01:00")
    assert client.post(url, json={"status": "cancelled"}, headers=chef).status_code == 422
    assert client.post(url, json={}, headers=chef).status_code == 422
    assert client.post(f"/api/meal-orders/{order['id']}/cancel", headers=chef).json()["code"] == (
        "order-not-cancellable"
    )
    other = _order(client, relais, jeanne, ("Poulet", 1)).json()
    client.post(f"/api/meal-orders/{other['id']}/cancel", headers=jeanne.headers)
    refused = client.post(
        f"/api/meal-orders/{other['id']}/status", json={"status": "no_show"}, headers=chef
    )
    assert refused.json()["code"] == "order-cancelled"


def test_kitchen_sheet_at_the_cutoff(client, relais):
    world = relais.world
    karim, jeanne = world.professional, world.neighbour
    _order(
        client,
        relais,
        karim,
        ("Curry", 1),
        ("Tarte", 1),
        suspended_meals=1,
        note="Allergie arachide",
    )
    _order(client, relais, jeanne, ("Falafels", 2), window="12:00")
    cancelled = _order(client, relais, world.staff_b, ("Poulet", 1)).json()
    client.post(f"/api/meal-orders/{cancelled['id']}/cancel", headers=world.staff_b.headers)
    relais.clock.at(CUTOFF_UTC)
    url = f"/api/meal-services/{relais.service['id']}/kitchen-sheet"
    sheet = client.get(url, headers=relais.chef.headers)
    assert sheet.status_code == 200
    data = sheet.json()
    ordered = {i["name"]: i["ordered"] for i in data["items"]}
    assert ordered == {
        "Curry de légumes, riz basmati": 1,
        "Falafels, houmous et taboulé": 2,
        "Poulet basquaise": 0,
        "Tarte aux pommes": 1,
    }
    watch = {a["code"]: a["portions"] for a in data["allergens_to_watch"]}
    assert watch == {"celery": 1, "sesame": 2, "gluten": 3, "eggs": 1, "milk": 1}
    windows = {w["label"]: [o["name"] for o in w["orders"]] for w in data["pickup_windows"]}
    assert windows == {
        "12:00–12:15": ["Jeanne Martin"],
        "12:15–12:30": ["Karim Benali"],
        "12:30–12:45": [],
    }
    assert data["notes"][0]["note"] == "Allergie arachide"
    tariffs = {t["code"]: (t["orders"], t["amount_cents"]) for t in data["tariffs"]}
    assert tariffs == {"habitant": (1, 1200), "professionnel": (1, 950 + 250 + 600)}
    assert data["suspended_meals"]["paid_forward"] == 1
    assert data["totals"]["orders"] == 2

    html = client.get(url, params={"format": "html"}, headers=relais.chef.headers)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    page = html.text
    assert '<html lang="fr">' in page
    assert "Fiche de production" in page and "jeudi 3 décembre 2026" in page
    assert "Graines de sésame" in page and "Allergie arachide" in page
    assert "18,00\u00a0€" in page  # Karim: 9,50 + 2,50 + 6,00 (Babel: no-break space)

    csv_response = client.get(url, params={"format": "csv"}, headers=relais.chef.headers)
    assert csv_response.headers["content-type"].startswith("text/csv")
    lines = csv_response.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Créneau;Référence;Nom;Plat")
    assert len(lines) == 1 + 3
    assert any("Karim Benali;Tarte aux pommes;1" in line for line in lines)
    assert client.get(url, params={"format": "pdf"}, headers=relais.chef.headers).status_code == 422


def test_notes_cannot_inject_html_or_spreadsheet_formulas(client, relais):
    _order(
        client,
        relais,
        relais.world.professional,
        ("Curry", 1),
        note='=HYPERLINK("x") <script>x</script>',
    )
    url = f"/api/meal-services/{relais.service['id']}/kitchen-sheet"
    page = client.get(url, params={"format": "html"}, headers=relais.chef.headers).text
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    csv_text = client.get(url, params={"format": "csv"}, headers=relais.chef.headers).text
    assert "\"'=HYPERLINK" in csv_text


def test_active_orders_per_person_are_capped(client, relais):
    """OWASP API6: nobody may hold the whole fortnight's lunches."""
    from tierslieu.domain.canteen import MAX_ACTIVE_ORDERS_PER_PERSON

    karim = relais.world.professional
    dish = {"name": "Plat du jour", "kind": "main", "portions": 5, "prices": {"professionnel": 950}}
    services = []
    for offset in range(MAX_ACTIVE_ORDERS_PER_PERSON + 1):
        day = (dt.date(2026, 12, 7) + dt.timedelta(days=offset)).isoformat()
        services.append(relais.add_service(client, day, [dish], capacity=5))

    def order(service):
        return client.post(
            "/api/meal-orders",
            json={
                "service_id": service["id"],
                "lines": [{"item_id": service["items"][0]["id"], "quantity": 1}],
                "pickup_window_id": service["pickup_windows"][0]["id"],
            },
            headers=karim.headers,
        )

    for service in services[:-1]:
        assert order(service).status_code == 201
    refused = order(services[-1])
    assert (refused.status_code, refused.json()["code"]) == (409, "too-many-active-orders")
    first = client.get("/api/meal-orders", headers=karim.headers).json()[0]
    client.post(f"/api/meal-orders/{first['id']}/cancel", headers=karim.headers)
    assert order(services[-1]).status_code == 201
