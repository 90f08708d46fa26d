"""End to end through a real SMTP server: a booking made then cancelled arrives as two mails
whose ``text/calendar`` parts (METHOD REQUEST then CANCEL) carry the UID and SEQUENCE of
the person's feed (``mailbox``: a real aiosmtpd server, messages parsed with ``email``).
"""

from __future__ import annotations

import dataclasses

import icalendar
import pytest

from tests.api.test_notifications import GUEST, booked, feed_event
from tests.mailbox import deliver_now
from tests.scenarios.garden import MARCH_15, book, open_garden
from tierslieu.services import feeds
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    feeds.clear_cache()
    with frozen(MARCH_15):
        yield
    feeds.clear_cache()


def calendar_part(message) -> tuple[str, icalendar.Event, icalendar.Calendar]:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    [event] = cal.walk("VEVENT")
    return part.get_param("method"), event, cal


def test_booking_then_cancellation_arrive_with_the_feed_uid_and_sequence(
    client, world, settings, mailbox
):
    garden = open_garden(client, world)
    booking = booked(book(client, world.neighbour, garden["id"], party_size=2))
    smtp = dataclasses.replace(settings, smtp_url=mailbox.url)
    deliver_now(smtp)
    cancel = client.post(f"/api/bookings/{booking['id']}/cancel", headers=world.neighbour.headers)
    assert cancel.status_code == 200, cancel.text
    deliver_now(smtp)

    # (Registration's address confirmation went to the same person: not a booking mail.)
    mine = [
        m
        for m in mailbox.messages
        if world.neighbour.email in m["To"] and m["Subject"].startswith("Réservation")
    ]
    assert [m["Subject"] for m in mine] == [
        "Réservation confirmée : Jardin des Tilleuls, mardi 6 avril 2027",
        "Réservation annulée : Jardin des Tilleuls, mardi 6 avril 2027",
    ]
    types = {p.get_content_type() for p in mine[0].walk()}
    assert {"text/plain", "text/html", "text/calendar"} <= types
    uid = f"booking-{booking['id']}@tierslieu"
    in_feed = feed_event(client, world.neighbour, uid)
    method, event, cal = calendar_part(mine[1])
    assert method == str(cal["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == uid
    assert int(event["SEQUENCE"]) == int(in_feed["SEQUENCE"]) == 1
    method, event, _cal = calendar_part(mine[0])
    assert (method, int(event["SEQUENCE"])) == ("REQUEST", 0)
    received = len(mailbox.messages)
    deliver_now(smtp)
    assert len(mailbox.messages) == received  # nothing is sent twice


def test_a_guest_with_email_gets_the_mail_a_guest_without_is_on_the_call_list(
    client, world, settings, mailbox
):
    garden = open_garden(client, world)
    booked(book(client, world.staff_a, garden["id"], guest=GUEST))
    booked(
        book(
            client,
            world.staff_a,
            garden["id"],
            guest={"name": "Mme Martin", "phone": "01 48 00 00 00"},
        )
    )
    deliver_now(dataclasses.replace(settings, smtp_url=mailbox.url))
    bookings = [m for m in mailbox.messages if m["Subject"].startswith("Réservation")]
    assert [GUEST["email"] in m["To"] for m in bookings] == [True]  # Mme Martin is called
