"""The common refusals, through the real API, read in English when the caller asks for it.

Every problem code is also rendered in English by ``tests/unit/test_problem_texts.py``;
here the texts come back through the exception handlers, with the caller's own data.
"""

from __future__ import annotations

from tests.unit.test_problem_texts import FRENCH

EN = {"Accept-Language": "en-GB,en;q=0.9"}


def _english(response, code: str, *user_data: str) -> dict:
    body = response.json()
    assert body["code"] == code, body
    assert response.headers["content-language"] == "en"
    texts = [body["title"], body["detail"], *(e["message"] for e in body.get("errors", []))]
    for text in texts:
        for data in user_data:
            text = text.replace(data, "")
        assert FRENCH.search(text) is None, (code, text)
        assert "(s)" not in text
    return body


def test_common_refusals_in_english(client, world):
    unknown = "0190f0f0-0000-7000-8000-000000000000"
    _english(client.get("/api/bookings", headers=EN), "unauthenticated")
    _english(client.get(f"/api/assets/{unknown}", headers=EN), "not-found")
    _english(
        client.post(
            "/api/bookings",
            content=b"{not json",
            headers={**world.neighbour.headers, **EN, "content-type": "application/json"},
        ),
        "malformed-body",
    )
    _english(
        client.post("/api/bookings", json={}, headers={**world.neighbour.headers, **EN}),
        "validation-error",
    )
    body = _english(
        client.get(
            f"/api/assets/{world.garden['id']}/slots",
            params={"from": "9999-12-31", "to": "9999-12-31"},
            headers=EN,
        ),
        "date-out-of-range",
    )
    assert "1 January 2000" in body["detail"]


def test_canteen_refusals_in_english(client, relais):
    karim = relais.world.professional
    body = relais.order_body(("Curry", 1))
    order = client.post("/api/meal-orders", json=body, headers=karim.headers).json()
    cancel = f"/api/meal-orders/{order['id']}/cancel"
    assert client.post(cancel, headers=karim.headers).status_code == 200
    again = _english(client.post(cancel, headers={**karim.headers, **EN}), "order-not-cancellable")
    assert again["detail"] == "This order is cancelled: it can no longer be cancelled."
    # The same refusal in French names the status in French.
    french = client.post(cancel, headers=karim.headers).json()
    assert french["detail"] == "Cette commande est annulée : elle ne s'annule plus."


def test_menu_labels_follow_the_callers_language(client, relais):
    url = f"/api/meal-services/{relais.service['id']}"
    english = client.get(url, headers=EN).json()
    curry = next(i for i in english["items"] if i["name"].startswith("Curry"))
    assert curry["allergens"] == [{"code": "celery", "label": "Celery"}]
    assert {d["label"] for d in curry["diets"]} >= {"Vegetarian", "Vegan"}
    french = client.get(url).json()
    curry = next(i for i in french["items"] if i["name"].startswith("Curry"))
    assert curry["kind_label"] == "Plat principal"
