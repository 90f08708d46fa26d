"""Meal pickups are reminded the day before, once, and the reminder is dropped when the
order is cancelled before it went out."""

from __future__ import annotations

import datetime as dt

from tests.notifications.helpers import outbox_rows
from tests.notifications.test_reminders import run_job
from tests.scenarios.relais import MONDAY_MORNING
from tierslieu.services.clock import frozen
from tierslieu.services.mail import render


def test_meal_pickups_are_reminded_and_dropped_on_cancel(client, world, relais, settings):
    with frozen(MONDAY_MORNING):
        jeanne = world.neighbour
        order = client.post(
            "/api/meal-orders", json=relais.order_body(("Curry", 1)), headers=jeanne.headers
        )
        assert order.status_code == 201, order.text
        other = client.post(
            "/api/meal-orders",
            json=relais.order_body(("Poulet", 1)),
            headers=world.professional.headers,
        )
        assert other.status_code == 201, other.text
    # Pickup Thursday 12:15 in Paris (11:15 UTC): reminded Wednesday 12:15 = 11:15 UTC.
    wednesday = dt.datetime(2026, 12, 2, 11, 15, tzinfo=dt.UTC)
    with frozen(wednesday):
        assert run_job(settings) == [2]
        assert run_job(settings) == [0]
    rows = outbox_rows(settings, "order-reminder")
    mine = next(r for r in rows if r.email == jeanne.email)
    mail = render("order-reminder", mine.params, "fr", settings)
    assert "Cantine du Relais" in mail.text and "12 h 15" in mail.text
    assert "À régler au comptoir : 6,00" in mail.text and mail.unsubscribe_url
    relais.clock.at(wednesday + dt.timedelta(minutes=1))
    with frozen(wednesday + dt.timedelta(minutes=1)):
        cancel = client.post(
            f"/api/meal-orders/{order.json()['id']}/cancel", headers=jeanne.headers
        )
        assert cancel.status_code == 200, cancel.text
    statuses = {r.email: r.status for r in outbox_rows(settings, "order-reminder")}
    assert statuses == {jeanne.email: "dropped", world.professional.email: "pending"}
