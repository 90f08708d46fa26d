"""Feeds for the meeting room (busy blocks, never a name) and for meal orders."""

from __future__ import annotations

import datetime as dt

import icalendar

from tests.api.test_feeds import check_ics
from tests.conftest import register, unique_email
from tierslieu.services.clock import utcnow


def test_room_feed_shows_busy_blocks_without_names(client, world):
    room = client.post(
        "/api/structures/chrs-le-relais/assets",
        headers=world.manager_b.headers,
        json={
            "name": "Salle Simone Veil",
            "kind": "room",
            "booking_mode": "exclusive",
            "capacity": 20,
            "audience": ["professionals", "public"],
            "rules": {"max_party_size": 20, "max_advance_days": 366},
        },
    ).json()
    day = (utcnow() + dt.timedelta(days=10)).date()
    assert (
        client.post(
            f"/api/assets/{room['id']}/availability",
            headers=world.staff_b.headers,
            json={
                "weekdays": [1, 2, 3, 4, 5, 6, 7],
                "start_time": "09:00",
                "end_time": "18:00",
                "valid_from": day.isoformat(),
                "valid_until": day.isoformat(),
            },
        ).status_code
        == 201
    )
    asso = register(client, unique_email("asso-femmes-relais"), "professional", "Fatou Camara")
    booked = client.post(
        "/api/bookings",
        headers=asso.headers,
        json={
            "asset_id": room["id"],
            "starts_at": f"{day}T14:00:00",
            "ends_at": f"{day}T16:00:00",
            "party_size": 12,
            "note": "Atelier ABS accès aux droits",
        },
    )
    assert booked.status_code == 201, booked.text
    body = client.get(f"/ical/assets/{room['id']}.ics").content
    cal = check_ics(body)
    busy = [e for e in cal.walk("VEVENT") if str(e["SUMMARY"]).endswith("— réservé")]
    assert len(busy) == 1
    assert busy[0].decoded("DTEND") - busy[0].decoded("DTSTART") == __import__(
        "datetime"
    ).timedelta(hours=2)
    for private in (b"Fatou", b"Camara", b"asso-femmes-relais", b"Atelier ABS"):
        assert private not in body


def test_a_meal_order_has_its_calendar_and_joins_the_person_feed(client, relais):
    karim = relais.world.professional
    order = client.post(
        "/api/meal-orders",
        headers=karim.headers,
        json=relais.order_body(("Curry", 1), window="12:15"),
    ).json()
    single = client.get(f"/api/meal-orders/{order['id']}/calendar.ics", headers=karim.headers)
    assert single.status_code == 200
    assert single.headers["content-type"].startswith("text/calendar")
    event = icalendar.Calendar.from_ical(single.content).walk("VEVENT")[0]
    assert event.decoded("DTSTART").isoformat() == "2026-12-03T11:15:00+00:00"  # 12:15 in Paris
    stranger = register(client, unique_email(), "professional")
    assert (
        client.get(
            f"/api/meal-orders/{order['id']}/calendar.ics", headers=stranger.headers
        ).status_code
        == 404
    )
    assert client.get(f"/api/meal-orders/{order['id']}/calendar.ics").status_code == 401

    links = client.post("/api/me/feed-token", headers=karim.headers).json()
    feed = client.get("/" + links["https"].split("/", 3)[3])
    assert feed.status_code == 200
    assert str(event["UID"]).encode() in feed.content.replace(b"\r\n ", b"")
