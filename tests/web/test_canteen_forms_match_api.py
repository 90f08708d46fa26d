"""Canteen web forms read with the API's schemas (review D10): menu editor, voucher orders."""

from __future__ import annotations

from tests.scenarios.relais import RELAIS
from tests.web.helpers import post_form, sign_in

EDITOR_FORM = {
    "date": "2026-12-10",
    "cutoff": "10:30",
    "first_pickup": "12:00",
    "last_pickup": "13:00",
    "window_minutes": "30",
    "window_capacity": "10",
    "dish0_name": "Soupe de potiron",
    "dish0_kind": "main",
    "dish0_portions": "20",
    "dish0_price_professionnel": "9,50",
    "note": "",
}


def test_menu_editor_refuses_what_the_api_refuses_and_publishes_the_rest(client, relais):
    editor = f"/structures/{RELAIS}/cantine/{relais.asset['id']}/services/nouveau"
    sign_in(client, relais.chef.email)
    listing = {"asset": relais.asset["id"], "from": "2026-12-01", "to": "2026-12-31"}
    before = client.get("/api/meal-services", params=listing).json()
    for field, value in (("dish0_name", "Soupe\x00"), ("note", "n" * 5001)):
        web = post_form(client, editor, editor, {**EDITOR_FORM, field: value})
        assert web.status_code == 422, web.text[:300]
    after = client.get("/api/meal-services", params=listing).json()
    assert len(after) == len(before)
    published = post_form(client, editor, editor, EDITOR_FORM)
    assert published.status_code == 303, published.text[:500]
    after = client.get("/api/meal-services", params=listing).json()
    assert len(after) == len(before) + 1


def test_voucher_order_guest_name_is_refused_like_the_api(client, relais):
    pool = f"/api/structures/{RELAIS}/suspended-meals"
    world = relais.world
    order = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), suspended_meals=1),
        headers=world.professional.headers,
    ).json()
    client.post(
        f"/api/meal-orders/{order['id']}/status", json={"paid": True}, headers=relais.chef.headers
    )
    code = client.post(f"{pool}/vouchers", json={}, headers=world.staff_b.headers).json()["code"]
    body = relais.order_body(("Poulet", 1), window="12:30", voucher_code=code)
    api = client.post("/api/meal-orders", json={**body, "guest_name": "M. D\x00"})
    assert api.status_code == 422, api.text
    problem = api.json()
    canteen_page = f"/cantine/{relais.asset['id']}"
    web = post_form(
        client,
        canteen_page,
        f"{canteen_page}/commander",
        {
            "voucher_code": code,
            "guest_name": "M. D\x00",
            "item": relais.item("Poulet")["id"],
            "service_id": relais.service["id"],
            "pickup_window_id": relais.window("12:30")["id"],
        },
    )
    assert web.status_code == 422, web.text[:300]
    assert problem["title"] in web.text
    # The voucher is still unused: the right name goes through.
    ok = client.post("/api/meal-orders", json={**body, "guest_name": "M. D."})
    assert ok.status_code == 201, ok.text
