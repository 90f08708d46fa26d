"""What people are told about their meal orders: confirmed, ready, cancelled — written with
the change, never for a refused one, the calendar part matching the person's feed."""

from __future__ import annotations

from tests.api.test_notifications import messages, same_as_feed
from tests.scenarios.relais import CUTOFF_UTC
from tierslieu.services.mail import render

# --- meal orders ----------------------------------------------------------------------------


def _order(client, relais, person, *lines, **extra):
    return client.post(
        "/api/meal-orders", json=relais.order_body(*lines, **extra), headers=person.headers
    )


def test_a_meal_order_confirmed_ready_and_cancelled(client, relais, settings):
    karim = relais.world.professional
    response = _order(client, relais, karim, ("Curry", 2), window="12:15")
    assert response.status_code == 201, response.text
    order = response.json()
    [confirmed] = messages(settings, "order-confirmed")
    assert confirmed.email == karim.email
    assert confirmed.params["dishes"] == [[2, "Curry de légumes, riz basmati"]]
    assert confirmed.params["total_cents"] == 1900
    mail = render(confirmed.kind, confirmed.params, "fr", settings)
    text = mail.text.replace("\u202f", " ").replace("\xa0", " ")
    assert "19,00 €, à payer au comptoir" in text
    assert "jeudi 3 décembre 2026, entre 12 h 15 et 12 h 30" in text
    assert f"{settings.public_url}/mes-commandes/{order['id']}" in text
    same_as_feed(client, karim, confirmed, settings, "REQUEST")

    status = f"/api/meal-orders/{order['id']}/status"
    assert client.post(status, json={"status": "ready"}, headers=relais.chef.headers).is_success
    assert client.post(status, json={"paid": True}, headers=relais.chef.headers).is_success
    [ready] = messages(settings, "order-ready")  # marking paid afterwards says nothing more
    mail = render(ready.kind, ready.params, "fr", settings)
    assert mail.subject == f"Votre repas est prêt : commande {order['id'][-6:].upper()}"
    assert mail.calendar is None


def test_cancelled_order_removes_the_pickup_from_the_calendar(client, relais, settings):
    karim = relais.world.professional
    order = _order(client, relais, karim, ("Curry", 1)).json()
    cancel = client.post(f"/api/meal-orders/{order['id']}/cancel", headers=karim.headers)
    assert cancel.status_code == 200, cancel.text
    [cancelled] = messages(settings, "order-cancelled")
    assert cancelled.params["sequence"] == 1
    same_as_feed(client, karim, cancelled, settings, "CANCEL")
    # A refused cancellation (already cancelled) and a refused order write nothing.
    again = client.post(f"/api/meal-orders/{order['id']}/cancel", headers=karim.headers)
    assert again.status_code == 409
    relais.clock.at(CUTOFF_UTC)
    late = _order(client, relais, relais.world.neighbour, ("Poulet", 1))
    assert late.status_code == 422
    assert [m.kind for m in messages(settings)] == ["order-confirmed", "order-cancelled"]
