"""What people are told about their bookings and meal orders: the outbox row is written with
the change (and not when it rolls back), and its calendar part matches the person's feed."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from sqlalchemy import select

from tests.conftest import register, run_db, unique_email
from tests.scenarios.garden import MARCH_15, book, open_garden
from tests.scenarios.room import open_room
from tierslieu.models import OutboxMessage
from tierslieu.services import feeds
from tierslieu.services.clock import frozen
from tierslieu.services.mail import render

GUEST = {"name": "Odette Lemaire", "phone": "06 12 34 56 78", "email": "odette@exemple.test"}


@pytest.fixture(autouse=True)
def now():
    feeds.clear_cache()
    with frozen(MARCH_15):
        yield
    feeds.clear_cache()


@pytest.fixture
def garden(client, world, now):
    return open_garden(client, world)


def messages(settings, kind: str | None = None) -> list[OutboxMessage]:
    """The outbox, without the address confirmations the world's registrations queued."""

    async def read(session):
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.kind != "email-confirm")
            .order_by(OutboxMessage.id)
        )
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(await session.scalars(query))

    return run_db(settings, read)


def booked(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def feed_event(client, person, uid: str) -> icalendar.Event:
    """The event ``uid`` in the person's own feed, fetched as their calendar app would."""
    response = client.post("/api/me/feed-token", headers=person.headers)
    assert response.status_code == 201, response.text
    url = "/" + response.json()["https"].split("/", 3)[3]
    feed = client.get(url)
    assert feed.status_code == 200
    cal = icalendar.Calendar.from_ical(feed.content)
    return next(e for e in cal.walk("VEVENT") if str(e["UID"]) == uid)


def invitation(row: OutboxMessage, settings, lang: str | None = None):
    mail = render(row.kind, row.params, lang or row.language, settings)
    assert mail.calendar is not None
    cal = icalendar.Calendar.from_ical(mail.calendar)
    [event] = cal.walk("VEVENT")
    return mail, cal, event


def same_as_feed(client, person, row, settings, method: str) -> None:
    mail, cal, event = invitation(row, settings)
    assert str(cal["METHOD"]) == method == mail.calendar_method
    in_feed = feed_event(client, person, str(event["UID"]))
    assert str(event["UID"]) == str(in_feed["UID"])
    assert int(event["SEQUENCE"]) == int(in_feed["SEQUENCE"])
    assert str(event["STATUS"]) == str(in_feed["STATUS"])
    assert event.DTSTART == in_feed.DTSTART
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert str(event["ATTENDEE"]) == f"mailto:{person.email}"


# --- bookings -------------------------------------------------------------------------------


def test_a_confirmed_then_cancelled_booking_tells_the_person_and_updates_their_calendar(
    client, world, garden, settings
):
    booking = booked(book(client, world.neighbour, garden["id"], party_size=2))
    [confirmed] = messages(settings)
    assert confirmed.kind == "booking-confirmed"
    assert (confirmed.channel, confirmed.email) == ("email", world.neighbour.email)
    assert str(confirmed.user_id) == world.neighbour.id
    assert confirmed.params["uid"] == f"booking-{booking['id']}@tierslieu"
    assert confirmed.params["sequence"] == 0
    same_as_feed(client, world.neighbour, confirmed, settings, "REQUEST")
    mail = render(confirmed.kind, confirmed.params, "fr", settings)
    assert mail.subject == "Réservation confirmée : Jardin des Tilleuls, mardi 6 avril 2027"
    assert "mardi 6 avril 2027 à 10 h 00, jusqu'à 11 h 00" in mail.text
    assert f"{settings.public_url}/mes-reservations" in mail.text

    cancel = client.post(f"/api/bookings/{booking['id']}/cancel", headers=world.neighbour.headers)
    assert cancel.status_code == 200, cancel.text
    [cancelled] = messages(settings, "booking-cancelled")
    assert cancelled.params["sequence"] == 1
    assert cancelled.params["by_staff"] is False
    same_as_feed(client, world.neighbour, cancelled, settings, "CANCEL")
    text = render(cancelled.kind, cancelled.params, "fr", settings).text
    assert "Votre réservation est annulée, comme vous l'avez demandé." in text


def test_a_full_slot_or_a_taken_interval_leaves_no_message(client, world, garden, settings):
    booked(book(client, world.neighbour, garden["id"], party_size=4))
    booked(book(client, world.staff_a, garden["id"], party_size=4, guest={"name": "Mme Martin"}))
    full = book(client, world.staff_a, garden["id"], party_size=1, guest=GUEST)
    assert full.status_code == 409, full.text
    # The guest without phone nor e-mail cannot be told; the refused request tells no one.
    assert [m.email for m in messages(settings)] == [world.neighbour.email]

    rule = {"weekdays": [2], "start_time": "09:00", "end_time": "18:00", "valid_from": "2027-04-01"}
    room = open_room(client, world, rule)
    interval = {"starts": "2027-04-06T14:00:00+02:00", "ends": "2027-04-06T16:00:00+02:00"}
    booked(book(client, world.professional, room["id"], **interval))
    taken = book(client, world.staff_a, room["id"], guest=GUEST, **interval)
    assert taken.status_code == 409, taken.text
    assert [m.email for m in messages(settings)] == [
        world.neighbour.email,
        world.professional.email,
    ]


def test_staff_booking_for_a_guest_tells_the_guest_by_mail_or_by_phone(
    client, world, garden, settings
):
    booked(book(client, world.staff_a, garden["id"], guest=GUEST))
    phone_only = {"name": "Mme Martin", "phone": "01 48 00 00 00"}
    booked(book(client, world.staff_a, garden["id"], guest=phone_only))
    by_mail, by_phone = messages(settings)
    assert (by_mail.kind, by_mail.channel, by_mail.email) == (
        "booking-confirmed",
        "email",
        GUEST["email"],
    )
    assert by_mail.user_id is None and by_mail.params["name"] == "Odette Lemaire"
    assert by_mail.params["path"] == f"/ressources/{garden['id']}"
    assert (by_phone.channel, by_phone.phone, by_phone.email) == ("phone", "01 48 00 00 00", None)
    said = render(by_phone.kind, by_phone.params, "fr", settings).text
    assert "Bonjour Mme Martin," in said
    assert "mardi 6 avril 2027 à 10 h 00" in said


def test_staff_cancelling_tells_the_person_it_was_staff(client, world, garden, settings):
    booking = booked(book(client, world.neighbour, garden["id"]))
    cancel = client.post(f"/api/bookings/{booking['id']}/cancel", headers=world.staff_a.headers)
    assert cancel.status_code == 200, cancel.text
    [row] = messages(settings, "booking-cancelled")
    assert row.email == world.neighbour.email and row.params["by_staff"] is True
    text = render(row.kind, row.params, "fr", settings).text
    assert "EHPAD Les Tilleuls a annulé votre réservation." in text
    same_as_feed(client, world.neighbour, row, settings, "CANCEL")


def test_requests_awaiting_approval_one_digest_per_staff_member_per_hour(
    client, world, garden, settings
):
    changed = client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"requires_approval": True}},
        headers=world.staff_a.headers,
    )
    assert changed.status_code == 200, changed.text
    first = booked(book(client, world.neighbour, garden["id"]))
    assert first["status"] == "pending"
    [received] = messages(settings, "booking-received")
    same_as_feed(client, world.neighbour, received, settings, "REQUEST")
    assert "doit encore l'accepter" in render(received.kind, received.params, "fr", settings).text
    others = [register(client, unique_email(), "neighbour", f"Voisin {n}") for n in range(4)]
    later = [booked(book(client, others[0], garden["id"]))]
    with frozen(MARCH_15 + dt.timedelta(minutes=50)):
        for person in others[1:3]:
            later.append(booked(book(client, person, garden["id"])))
    digests = messages(settings, "staff-digest")
    # manager_a and staff_a, not the kitchen; once each for four requests in the hour.
    assert sorted(d.email for d in digests) == sorted([world.manager_a.email, world.staff_a.email])
    end_of_hour = dt.datetime(2027, 3, 15, 11, 0, tzinfo=dt.UTC)
    assert all(d.next_attempt_at.astimezone(dt.UTC) == end_of_hour for d in digests)
    mail = render(digests[0].kind, digests[0].params, "fr", settings)
    assert mail.subject == "Demandes de réservation à examiner : EHPAD Les Tilleuls"
    assert "entre 11 h 00 et 12 h 00" in mail.text  # Paris time in March: UTC+1
    assert f"{settings.public_url}/structures/ehpad-les-tilleuls/tableau" in mail.text
    assert mail.calendar is None
    with frozen(MARCH_15 + dt.timedelta(hours=1, minutes=5)):
        booked(book(client, others[3], garden["id"]))
    assert len(messages(settings, "staff-digest")) == 4  # the next hour: a new digest each

    approve = client.post(f"/api/bookings/{first['id']}/approve", headers=world.staff_a.headers)
    assert approve.status_code == 200, approve.text
    [approved] = messages(settings, "booking-approved")
    assert approved.email == world.neighbour.email
    same_as_feed(client, world.neighbour, approved, settings, "REQUEST")
    decline = client.post(
        f"/api/bookings/{later[0]['id']}/decline",
        json={"reason": "Atelier complet ce jour-là"},
        headers=world.staff_a.headers,
    )
    assert decline.status_code == 200, decline.text
    [declined] = messages(settings, "booking-declined")
    assert declined.email == others[0].email
    assert (
        "Motif : Atelier complet ce jour-là"
        in render(declined.kind, declined.params, "fr", settings).text
    )
    same_as_feed(client, others[0], declined, settings, "CANCEL")
    # A decision that fails (already decided) writes nothing.
    again = client.post(f"/api/bookings/{first['id']}/approve", headers=world.staff_a.headers)
    assert again.status_code == 409
    assert len(messages(settings, "booking-approved")) == 1


def test_staff_may_give_a_reason_and_the_person_reads_it(client, world, garden, settings):
    booking = booked(book(client, world.neighbour, garden["id"]))
    url = f"/api/bookings/{booking['id']}/cancel"
    too_long = client.post(url, json={"reason": "x" * 301}, headers=world.staff_a.headers)
    assert too_long.status_code in (400, 422), too_long.text
    unknown = client.post(url, json={"motif": "Orage"}, headers=world.staff_a.headers)
    assert unknown.status_code in (400, 422), unknown.text
    assert messages(settings, "booking-cancelled") == []
    cancel = client.post(url, json={"reason": " Orage annoncé "}, headers=world.staff_a.headers)
    assert cancel.status_code == 200, cancel.text
    [row] = messages(settings, "booking-cancelled")
    assert row.params["reason"] == "Orage annoncé"
    assert "Motif : Orage annoncé" in render(row.kind, row.params, "fr", settings).text
    english = render(row.kind, row.params, "en", settings)
    assert "Reason: Orage annoncé" in english.text
    assert english.subject == "Booking cancelled: Jardin des Tilleuls, Tuesday, 6 April 2027"
