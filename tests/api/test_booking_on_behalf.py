"""Booking on behalf (issue 13): every staff booking belongs to a person staff can find again.

Scenario 1 walked through the API: Mme Martin phones the EHPAD, Sophie books for her as a
contact; later Mme Martin's account is linked and her bookings follow her — « Mes
réservations », her calendar feed, and one person in the statistics.
"""

from __future__ import annotations

import icalendar
import pytest

from tests.conftest import register, unique_email
from tests.notifications.helpers import last_link, outbox_rows, token_of
from tests.scenarios.garden import MARCH_15, TUESDAY_10, TUESDAY_11, book, open_garden
from tierslieu.services.clock import frozen, travel_to

TILLEULS = "/api/structures/ehpad-les-tilleuls"
SATURDAY_10, SATURDAY_11 = "2027-04-10T10:00:00+02:00", "2027-04-10T11:00:00+02:00"
MARTIN_PHONE = "01 48 00 00 01"


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield
    travel_to(None)


@pytest.fixture
def garden(client, world):
    return open_garden(client, world)


def contacts_named(client, staff, q):
    response = client.get(f"{TILLEULS}/contacts", params={"q": q}, headers=staff.headers)
    assert response.status_code == 200, response.text
    return response.json()


def my_bookings(client, person):
    response = client.get("/api/bookings", headers=person.headers)
    assert response.status_code == 200, response.text
    return sorted(b["starts_at"] for b in response.json())


def feed_events(client, person):
    links = client.post("/api/me/feed-token", headers=person.headers).json()
    body = client.get("/" + links["https"].split("/", 3)[3]).content
    return [e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]


def different_people(client, manager):
    report = client.get(
        f"{TILLEULS}/stats",
        params={"from": "2027-04-01", "to": "2027-04-30", "group": "month"},
        headers=manager.headers,
    )
    assert report.status_code == 200, report.text
    (garden,) = report.json()["assets"]
    return garden["total"]["people"], garden["total"]["people_by_kind"]


def test_scenario_1_mme_martin_keeps_her_bookings_and_finds_them_once_linked(
    client, world, garden, settings
):
    sophie = world.manager_a
    # Sophie forgets to say for whom: she is asked, not booked herself.
    forgot = book(client, sophie, garden["id"], party_size=2)
    assert forgot.status_code == 422 and forgot.json()["code"] == "person-required"
    assert "au nom d'une personne" in forgot.json()["detail"]
    assert client.get(f"{TILLEULS}/bookings", headers=sophie.headers).json() == []

    # Mme Martin phones: nobody of that name yet, Sophie books her with her number.
    assert contacts_named(client, sophie, "martin") == []
    first = book(
        client,
        sophie,
        garden["id"],
        party_size=2,
        guest={"name": "Mme Martin", "phone": MARTIN_PHONE},
        note="avec son petit-fils",
    )
    assert first.status_code == 201, first.text
    assert first.json()["person"]["guest"] is True
    [card] = contacts_named(client, sophie, "MARTIN")
    assert first.json()["person"]["contact_id"] == card["id"]

    # She phones again: found by her number however it is typed, booked on her card.
    [again] = contacts_named(client, sophie, "0148000001")
    assert again["id"] == card["id"]
    second = book(client, sophie, garden["id"], SATURDAY_10, SATURDAY_11, contact_id=card["id"])
    assert second.status_code == 201, second.text
    # Typing her name and number again (the old guest form) finds the same card.
    third = book(
        client,
        world.staff_a,
        garden["id"],
        TUESDAY_10,
        TUESDAY_11,
        guest={"name": "mme MARTIN", "phone": "+33 1 48 00 00 01"},
    )
    assert third.json()["person"]["contact_id"] == card["id"]
    assert (
        client.post(f"/api/bookings/{third.json()['id']}/cancel", headers=sophie.headers).json()[
            "status"
        ]
        == "cancelled"
    )
    view = client.get(f"{TILLEULS}/contacts/{card['id']}", headers=sophie.headers).json()
    assert view["bookings"] == 3 and view["has_account"] is False
    # Another person's number under her name is a duplicate to pick, not a new person.
    clash = book(client, sophie, garden["id"], guest={"name": "M. Durand", "phone": MARTIN_PHONE})
    assert clash.status_code == 409 and clash.json()["existing_id"] == card["id"]

    # Her daughter makes her an account; Sophie adds the address and sends an invitation.
    martin = register(client, unique_email("jeanne.martin"), name="Jeanne Martin")
    assert my_bookings(client, martin) == []
    patched = client.patch(
        f"{TILLEULS}/contacts/{card['id']}", json={"email": martin.email}, headers=sophie.headers
    )
    assert patched.status_code == 200, patched.text
    sent = client.post(f"{TILLEULS}/contacts/{card['id']}/invite", headers=sophie.headers)
    assert sent.status_code == 202, sent.text
    [mail] = outbox_rows(settings, "contact-invite", email=martin.email)
    assert "Les Tilleuls" in mail.params["structure"]
    token = token_of(last_link(settings, "contact-invite", martin.email))
    # Nobody else can use it; she accepts once, signed in.
    assert client.post("/api/me/contact-links", json={"token": token}).status_code == 401
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    bad = client.post("/api/me/contact-links", json={"token": forged}, headers=martin.headers)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid-invitation"
    linked = client.post("/api/me/contact-links", json={"token": token}, headers=martin.headers)
    assert linked.status_code == 200, linked.text
    assert (
        linked.json()["bookings"] == 3 and linked.json()["structure_slug"] == "ehpad-les-tilleuls"
    )
    replay = client.post("/api/me/contact-links", json={"token": token}, headers=martin.headers)
    assert replay.status_code == 400

    # Her bookings are hers now: « Mes réservations », her feed, the day sheet.
    assert my_bookings(client, martin) == [TUESDAY_10, TUESDAY_10, SATURDAY_10]
    events = feed_events(client, martin)
    assert len(events) == 3
    assert sorted(str(e["STATUS"]) for e in events) == ["CANCELLED", "CONFIRMED", "CONFIRMED"]
    listed = client.get(f"{TILLEULS}/bookings", headers=sophie.headers).json()
    assert {b["person"]["name"] for b in listed} == {"Jeanne Martin"}
    assert all(b["person"]["guest"] is False for b in listed)
    assert client.get(f"{TILLEULS}/contacts/{card['id']}", headers=sophie.headers).json()[
        "has_account"
    ]

    # She books once herself: still one neighbour in the statistics.
    own = book(client, martin, garden["id"], SATURDAY_10, SATURDAY_11)
    assert own.status_code == 201, own.text
    people, by_kind = different_people(client, sophie)
    assert people == 1 and by_kind.get("guest", 0) == 0

    # Booked through her card later, it goes straight to her account.
    later = book(client, sophie, garden["id"], contact_id=card["id"])
    assert later.status_code == 201 and later.json()["person"]["guest"] is False
    assert len(my_bookings(client, martin)) == 5


def test_an_account_is_found_only_if_the_person_agreed(client, world, garden):
    karim = register(client, unique_email("karim"), name="Karim", phone="06 70 00 00 07")
    by_phone = {"account": {"phone": "0670000007"}}
    refused = book(client, world.staff_a, garden["id"], **by_phone)
    unknown = book(client, world.staff_a, garden["id"], account={"email": "nobody@exemple.test"})
    # The same answer whether there is no such account or it did not agree.
    assert refused.status_code == unknown.status_code == 422
    assert refused.json() == {**unknown.json(), "instance": refused.json()["instance"]}
    assert refused.json()["code"] == "account-not-found"

    me = client.get("/api/me", headers=karim.headers).json()
    assert me["findable_by_staff"] is False
    turned_on = client.patch("/api/me", json={"findable_by_staff": True}, headers=karim.headers)
    assert turned_on.status_code == 200 and turned_on.json()["findable_by_staff"] is True
    assert (
        client.patch("/api/me", json={"findable_by_staff": 1}, headers=karim.headers).status_code
        == 422
    )

    for how in (by_phone, {"account": {"email": karim.email.upper()}}):
        booked = book(client, world.staff_a, garden["id"], **how)
        assert booked.status_code == 201, booked.text
        assert booked.json()["person"] == {
            "name": "Karim",
            "phone": "06 70 00 00 07",
            "guest": False,
        }
    assert len(my_bookings(client, karim)) == 2
    # Only staff book on behalf; one person per booking.
    assert book(client, world.neighbour, garden["id"], **by_phone).status_code == 403
    both = book(client, world.staff_a, garden["id"], guest={"name": "X"}, **by_phone)
    assert both.status_code == 422 and both.json()["code"] == "one-person-only"
    # Another structure's contact is not one of this structure's.
    theirs = client.post(
        "/api/structures/chrs-le-relais/contacts",
        json={"name": "Mme Petit"},
        headers=world.staff_b.headers,
    ).json()
    foreign = book(client, world.staff_a, garden["id"], contact_id=theirs["id"])
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "contact_id"


def test_confirming_the_same_address_links_the_contact(client, world, garden, settings):
    email = unique_email("paul")
    booked = book(
        client, world.staff_a, garden["id"], guest={"name": "Paul Durand", "email": email}
    )
    assert booked.status_code == 201, booked.text
    paul = register(client, email.upper(), name="Paul")
    assert my_bookings(client, paul) == []
    token = token_of(last_link(settings, "email-confirm", email))
    assert client.post("/api/auth/email-confirm", json={"token": token}).status_code == 204
    assert my_bookings(client, paul) == [TUESDAY_10]


def test_meal_orders_on_behalf_use_the_same_contacts(client, relais):
    from tests.scenarios.relais import RELAIS

    team = relais.world.staff_b
    url = f"/api/structures/{RELAIS}/contacts"
    typed = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), guest_name="M. Benali"),
        headers=team.headers,
    )
    assert typed.status_code == 201, typed.text
    [card] = client.get(url, params={"q": "benali"}, headers=team.headers).json()
    again = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Tarte", 1), contact_id=card["id"]),
        headers=team.headers,
    )
    assert again.status_code == 201, again.text
    view = client.get(f"{url}/{card['id']}", headers=team.headers).json()
    assert view["meal_orders"] == 2
    # Only the team orders for a contact; one person per order.
    karim = relais.world.professional
    mine = relais.order_body(("Curry", 1), contact_id=card["id"])
    assert client.post("/api/meal-orders", json=mine, headers=karim.headers).status_code == 403
    both = relais.order_body(("Curry", 1), contact_id=card["id"], guest_name="X")
    assert client.post("/api/meal-orders", json=both, headers=team.headers).status_code == 422


def test_contact_cards_in_export_erasure_and_retention(client, world, garden, settings):
    import datetime as dt

    from tests.conftest import PASSWORD, Person, login, run_db
    from tierslieu.services import personal_data

    staff = world.staff_a
    email = unique_email("odette")
    book(client, staff, garden["id"], guest={"name": "Odette", "email": email})
    odette = register(client, email, name="Odette")
    token = token_of(last_link(settings, "email-confirm", email))
    client.post("/api/auth/email-confirm", json={"token": token})
    [card] = client.get("/api/me/export", headers=odette.headers).json()["contact_cards"]
    assert card["structure_slug"] == "ehpad-les-tilleuls" and card["email"] == email
    # Deleting her account erases her contact card too.
    gone = client.request("DELETE", "/api/me", json={"password": PASSWORD}, headers=odette.headers)
    assert gone.status_code == 200, gone.text
    assert contacts_named(client, staff, "odette") == []

    # A card staff made and never used goes after the retention period; a used one stays.
    client.post(f"{TILLEULS}/contacts", json={"name": "Jamais Venu"}, headers=staff.headers)
    book(client, staff, garden["id"], guest={"name": "Mme Leroy"})
    travel_to(dt.datetime(2028, 3, 20, 8, 0, tzinfo=dt.UTC))
    report = run_db(settings, lambda s: personal_data.purge(s, settings))
    assert report.contacts == 1
    travel_to(MARCH_15)
    staff = Person(staff.email, login(client, staff.email), staff.id)  # the purge took its token
    names = {c["name"] for c in contacts_named(client, staff, "")}
    assert names == {"Mme Leroy"}
