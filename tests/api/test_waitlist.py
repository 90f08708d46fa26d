"""Waiting lists: scenario 2's latecomers join the list of the full slot and get the places
that come free, first come first served, without anyone asking."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api.test_feeds import person_feed_url
from tests.conftest import PASSWORD, register, run_db, unique_email
from tests.notifications.helpers import clear_outbox, outbox_rows
from tests.scenarios.garden import MARCH_15, TUESDAY_10, book, open_garden
from tierslieu.models import Booking, SlotCounter
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world, now):
    garden = open_garden(client, world)
    response = client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"waitlist": True, "waitlist_max_length": 5, "max_party_size": 8}},
        headers=world.staff_a.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["rules"]["waitlist"] is True
    return garden


def _people(client, n):
    return [register(client, unique_email("voisin"), "neighbour", f"Voisin {i}") for i in range(n)]


def _fill(client, world, garden, places=8):
    response = book(client, world.neighbour, garden["id"], party_size=places)
    assert response.status_code == 201, response.text
    return response.json()


def _slot_state(settings):
    async def read(session):
        counter = (await session.execute(select(SlotCounter.taken, SlotCounter.waiting))).one()
        confirmed = await session.scalar(
            select(Booking.party_size).where(Booking.status == "confirmed").limit(1)
        )
        waiting = (
            await session.execute(
                select(Booking.waitlist_position, Booking.party_size)
                .where(Booking.status == "waitlisted")
                .order_by(Booking.waitlist_position)
            )
        ).all()
        return tuple(counter), confirmed is not None, [tuple(w) for w in waiting]

    return run_db(settings, read)


def test_a_full_slot_offers_its_waiting_list_and_keeps_order(client, world, garden, settings):
    first = _fill(client, world, garden)
    late = _people(client, 3)
    refused = book(client, late[0], garden["id"])
    assert refused.status_code == 409
    assert refused.json()["code"] == "slot-full"
    assert refused.json()["waitlist_available"] is True

    entries = [book(client, p, garden["id"], waitlist=True) for p in late]
    assert [e.status_code for e in entries] == [201, 201, 201]
    assert [e.json()["status"] for e in entries] == ["waitlisted"] * 3
    assert [e.json()["waitlist_position"] for e in entries] == [1, 2, 3]
    mine = client.get("/api/bookings", headers=late[1].headers).json()
    assert [(b["status"], b["waitlist_position"]) for b in mine] == [("waitlisted", 2)]

    # The second leaves the list: the third moves up.
    left = client.post(f"/api/bookings/{entries[1].json()['id']}/cancel", headers=late[1].headers)
    assert left.status_code == 200 and left.json()["status"] == "cancelled"
    third = client.get(f"/api/bookings/{entries[2].json()['id']}", headers=late[2].headers)
    assert third.json()["waitlist_position"] == 2

    # Jeanne cancels her 8 places: the first two in line are confirmed and told.
    clear_outbox(settings)
    cancel = client.post(f"/api/bookings/{first['id']}/cancel", headers=world.neighbour.headers)
    assert cancel.status_code == 200
    for i in (0, 2):
        got = client.get(f"/api/bookings/{entries[i].json()['id']}", headers=late[i].headers)
        assert got.json()["status"] == "confirmed"
        assert "waitlist_position" not in got.json()
    promoted = outbox_rows(settings, "booking-promoted")
    assert sorted(r.user_id for r in promoted) == sorted(uuid_of(late[i]) for i in (0, 2))
    assert _slot_state(settings) == ((2, 0), True, [])


def uuid_of(person):
    import uuid

    return uuid.UUID(person.id)


def test_a_large_party_at_the_head_blocks_those_behind(client, world, garden, settings):
    first = _fill(client, world, garden, places=6)
    other = _people(client, 3)
    assert book(client, other[0], garden["id"], party_size=2).status_code == 201
    big = book(client, other[1], garden["id"], party_size=3, waitlist=True).json()
    small = book(client, other[2], garden["id"], party_size=1, waitlist=True).json()
    assert (big["waitlist_position"], small["waitlist_position"]) == (1, 2)

    # Two places come free: the party of 3 does not fit, so the single person behind waits.
    mine = client.get("/api/bookings", headers=other[0].headers).json()[0]
    client.post(f"/api/bookings/{mine['id']}/cancel", headers=other[0].headers)
    assert _slot_state(settings) == ((6, 2), True, [(1, 3), (2, 1)])
    # Newcomers do not jump the line either, and the slot shows as full.
    newcomer = book(client, _people(client, 1)[0], garden["id"])
    assert newcomer.status_code == 409 and newcomer.json()["remaining"] == 0
    slots = client.get(
        f"/api/assets/{garden['id']}/slots", params={"from": "2027-04-06", "to": "2027-04-06"}
    ).json()
    assert [s["remaining"] for s in slots if s["starts_at"] == TUESDAY_10] == [0]
    public = client.get(f"/ical/assets/{garden['id']}.ics").text
    assert public.count("complet (8 places)") == 1  # the public feed agrees

    # Staff may take the single person out of order; positions close up.
    hand = client.post(f"/api/bookings/{small['id']}/promote", headers=world.staff_a.headers)
    assert hand.status_code == 200 and hand.json()["status"] == "confirmed"
    too_big = client.post(f"/api/bookings/{big['id']}/promote", headers=world.staff_a.headers)
    assert too_big.status_code == 409 and too_big.json()["code"] == "places-missing"
    assert _slot_state(settings) == ((7, 1), True, [(1, 3)])
    # A neighbour cannot promote anyone.
    assert (
        client.post(f"/api/bookings/{big['id']}/promote", headers=other[1].headers).status_code
        == 403
    )

    # Raising the capacity gives the new places to the head of the line at once.
    raised = client.patch(
        f"/api/assets/{garden['id']}", json={"capacity": 10}, headers=world.staff_a.headers
    )
    assert raised.status_code == 200
    got = client.get(f"/api/bookings/{big['id']}", headers=other[1].headers).json()
    assert got["status"] == "confirmed"
    assert _slot_state(settings) == ((10, 0), True, [])
    assert first["status"] == "confirmed"


def test_the_list_has_a_maximum_length_and_assets_without_one_refuse(
    client, world, garden, settings
):
    _fill(client, world, garden)
    people = _people(client, 6)
    answers = [book(client, p, garden["id"], waitlist=True) for p in people]
    assert [a.status_code for a in answers] == [201] * 5 + [409]
    assert answers[-1].json()["code"] == "waitlist-full"

    client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"waitlist": False}},
        headers=world.staff_a.headers,
    )
    later = book(client, people[5], garden["id"], waitlist=True)
    assert later.status_code == 409 and later.json()["code"] == "slot-full"
    assert "waitlist_available" not in later.json()


def test_the_day_sheet_lists_the_waiting_list(client, world, garden, settings):
    _fill(client, world, garden)
    waiting = _people(client, 2)
    for p in waiting:
        assert book(client, p, garden["id"], waitlist=True).status_code == 201
    sheet = client.get(
        f"/api/assets/{garden['id']}/day-sheet",
        params={"date": "2027-04-06", "format": "csv"},
        headers=world.staff_a.headers,
    )
    assert sheet.status_code == 200
    assert sheet.text.count("sur liste d'attente") == 2
    html = client.get(
        f"/api/assets/{garden['id']}/day-sheet",
        params={"date": "2027-04-06"},
        headers=world.staff_a.headers,
    )
    assert "Liste d&#39;attente : 2 inscriptions" in html.text and "Voisin 1" in html.text


def test_a_declined_request_promotes_the_next_in_line(client, world, garden, settings):
    client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"requires_approval": True}},
        headers=world.staff_a.headers,
    )
    request = book(client, world.neighbour, garden["id"], party_size=8).json()
    assert request["status"] == "pending"
    person = _people(client, 1)[0]
    entry = book(client, person, garden["id"], waitlist=True).json()
    declined = client.post(f"/api/bookings/{request['id']}/decline", headers=world.staff_a.headers)
    assert declined.status_code == 200
    # The asset requires approval: the promoted request waits for staff like any other.
    got = client.get(f"/api/bookings/{entry['id']}", headers=person.headers).json()
    assert got["status"] == "pending"


def test_a_removed_closure_promotes(client, world, garden, settings):
    entry_person = _people(client, 1)[0]
    first = _fill(client, world, garden)
    entry = book(client, entry_person, garden["id"], waitlist=True).json()
    closure = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-04-06", "ends_on": "2027-04-06", "reason": "canicule"},
        headers=world.staff_a.headers,
    ).json()["closure"]
    # Cancelled during the closure: nobody is promoted into a closed slot.
    client.post(f"/api/bookings/{first['id']}/cancel", headers=world.neighbour.headers)
    assert client.get(f"/api/bookings/{entry['id']}", headers=entry_person.headers).json()[
        "status"
    ] == ("waitlisted")
    removed = client.delete(
        f"/api/assets/{garden['id']}/closures/{closure['id']}", headers=world.staff_a.headers
    )
    assert removed.status_code == 204
    got = client.get(f"/api/bookings/{entry['id']}", headers=entry_person.headers).json()
    assert got["status"] == "confirmed"


def test_waitlisted_entries_stay_out_of_the_person_feed(client, world, garden, settings):
    _fill(client, world, garden)
    person = _people(client, 1)[0]
    entry = book(client, person, garden["id"], waitlist=True).json()
    url = person_feed_url(client, person)
    assert "Jardin" not in client.get(url).text
    # Promoted: now it is an appointment.
    first = client.get("/api/bookings", headers=world.neighbour.headers).json()[0]
    client.post(f"/api/bookings/{first['id']}/cancel", headers=world.neighbour.headers)
    feed = client.get(url).text
    assert "Jardin" in feed and "STATUS:CONFIRMED" in feed
    assert entry["status"] == "waitlisted"


def test_a_deleted_account_leaves_the_lists_and_frees_its_places(client, world, garden, settings):
    first = _fill(client, world, garden, places=8)
    waiting = _people(client, 2)
    entries = [book(client, p, garden["id"], waitlist=True).json() for p in waiting]
    # The first in line deletes their account: the second moves up.
    gone = client.request(
        "DELETE", "/api/me", json={"password": PASSWORD}, headers=waiting[0].headers
    )
    assert gone.status_code in (200, 204), gone.text
    got = client.get(f"/api/bookings/{entries[1]['id']}", headers=waiting[1].headers).json()
    assert got["waitlist_position"] == 1
    # Jeanne deletes hers: her places go to the one waiting, at once.
    client.request(
        "DELETE", "/api/me", json={"password": PASSWORD}, headers=world.neighbour.headers
    )
    got = client.get(f"/api/bookings/{entries[1]['id']}", headers=waiting[1].headers).json()
    assert got["status"] == "confirmed"
    assert _slot_state(settings) == ((1, 0), True, [])
    assert first["party_size"] == 8
