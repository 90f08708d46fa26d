"""A structure's contacts: people staff book for without an account (Mme Martin by phone)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from tests.api.test_personal_data import TUESDAY_10, book
from tests.conftest import run_db
from tests.scenarios.garden import MARCH_15, open_garden
from tierslieu.models import Booking
from tierslieu.services.clock import frozen, travel_to

URL = "/api/structures/ehpad-les-tilleuls/contacts"
MARTIN = {"name": "Mme Martin", "phone": "06 12 34 56 78", "note": "Appeler le matin"}


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield
    travel_to(None)


def add(client, person, body, url=URL):
    response = client.post(url, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()


def find(client, person, q, url=URL):
    response = client.get(url, params={"q": q}, headers=person.headers)
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()]


def test_staff_find_mme_martin_however_they_type_her(client, world):
    staff = world.staff_a
    martin = add(client, staff, MARTIN)
    assert martin["phone"] == "06 12 34 56 78" and martin["has_account"] is False
    add(client, staff, {"name": "Paul Durand", "email": "paul@exemple.test"})
    add(
        client,
        world.staff_b,
        {"name": "Mme Martin", "phone": "07 00 00 00 00"},
        url="/api/structures/chrs-le-relais/contacts",
    )
    for q in ("martin", "MARTÍN", "0612", "+33 6 12 34", "06.12.34.56.78"):
        assert find(client, staff, q) == ["Mme Martin"], q
    assert find(client, staff, "paul@exemple.test") == ["Paul Durand"]
    assert sorted(find(client, staff, "")) == ["Mme Martin", "Paul Durand"]
    assert find(client, staff, "personne") == []
    assert find(client, staff, "%") == []  # a wildcard is a character, not "everything"


def test_contacts_are_the_structures_staff_business_only(client, world):
    martin = add(client, world.staff_a, MARTIN)
    for person in (world.neighbour, world.staff_b, world.kitchen_a):
        assert client.get(URL, headers=person.headers).status_code == 403
        assert client.post(URL, json=MARTIN, headers=person.headers).status_code == 403
    own_url = "/api/structures/chrs-le-relais/contacts"
    assert client.get(f"{own_url}/{martin['id']}", headers=world.staff_b.headers).status_code == 404
    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}/{martin['id']}", headers=world.manager_a.headers).status_code == 200


def test_the_same_number_is_one_contact_not_two(client, world, lang="fr"):
    martin = add(client, world.staff_a, MARTIN)
    again = client.post(
        URL,
        json={"name": "Josette Martin", "phone": "+33 6 12 34 56 78"},
        headers={**world.staff_a.headers, "Accept-Language": lang},
    )
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "contact-exists" and body["existing_id"] == martin["id"]
    assert "Mme Martin est déjà dans les contacts" in body["detail"]
    english = client.post(
        URL,
        json={"name": "J. Martin", "phone": "0612345678"},
        headers={**world.staff_a.headers, "Accept-Language": "en"},
    )
    assert english.json()["title"] == "Contact already known"
    bad = client.post(URL, json={"name": "X", "phone": "12"}, headers=world.staff_a.headers)
    assert bad.status_code == 422
    assert find(client, world.staff_a, "") == ["Mme Martin"]


def test_correcting_a_contact_and_refusing_a_taken_number(client, world):
    staff = world.staff_a
    martin = add(client, staff, MARTIN)
    paul = add(client, staff, {"name": "Paul Durand", "phone": "07 11 22 33 44"})
    fixed = client.patch(
        f"{URL}/{martin['id']}", json={"name": "Mme Jeanne Martin"}, headers=staff.headers
    )
    assert fixed.status_code == 200 and fixed.json()["name"] == "Mme Jeanne Martin"
    taken = client.patch(f"{URL}/{paul['id']}", json={"phone": "0612345678"}, headers=staff.headers)
    assert taken.status_code == 409 and taken.json()["existing_id"] == martin["id"]
    assert client.get(f"{URL}/{paul['id']}", headers=staff.headers).json()["phone"] == (
        "07 11 22 33 44"
    )


def test_merging_duplicates_moves_their_bookings_to_one_person(client, world, settings):
    staff = world.staff_a
    garden = open_garden(client, world)
    first = book(client, staff, garden["id"], TUESDAY_10, guest={"name": "Mme Martin"})
    second = book(client, staff, garden["id"], TUESDAY_10, guest={"name": "Martin J."})
    martin = add(client, staff, MARTIN)
    duplicate = add(client, staff, {"name": "Martin J.", "email": "jm@exemple.test"})

    async def link(session):
        for booking_id, contact_id in (
            (first["id"], martin["id"]),
            (second["id"], duplicate["id"]),
        ):
            await session.execute(
                update(Booking)
                .where(Booking.id == uuid.UUID(booking_id))
                .values(contact_id=uuid.UUID(contact_id))
            )
        await session.commit()

    run_db(settings, link)
    assert (
        client.post(
            f"{URL}/{martin['id']}/merge", json={"other_id": martin["id"]}, headers=staff.headers
        ).json()["code"]
        == "same-contact"
    )
    merged = client.post(
        f"{URL}/{martin['id']}/merge", json={"other_id": duplicate["id"]}, headers=staff.headers
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["bookings"], body["email"], body["phone"]) == (
        2,
        "jm@exemple.test",
        MARTIN["phone"],
    )
    assert client.get(f"{URL}/{duplicate['id']}", headers=staff.headers).status_code == 404

    async def names(session):
        rows = await session.execute(select(Booking.guest_name, Booking.guest_email))
        return sorted(rows.tuples())

    assert run_db(settings, names) == [("Mme Martin", "jm@exemple.test")] * 2


def test_erasing_a_guest_erases_their_contact_card(client, world):
    staff = world.staff_a
    garden = open_garden(client, world)
    booking = book(client, staff, garden["id"], TUESDAY_10, guest={"name": "Mme Martin"})
    martin = add(client, staff, MARTIN)
    erased = client.post(f"/api/bookings/{booking['id']}/erase-guest", headers=staff.headers)
    assert erased.status_code == 200, erased.text
    assert find(client, staff, "martin") == [] and find(client, staff, "0612") == []
    assert client.get(f"{URL}/{martin['id']}", headers=staff.headers).status_code == 404
