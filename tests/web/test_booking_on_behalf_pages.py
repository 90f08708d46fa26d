"""Staff book on behalf from the asset page, without JavaScript: they search the person by
name or phone, pick their contact card (or type a new person), and are asked when they
forget to say for whom."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.scenarios.garden import MARCH_15, TUESDAY_10, TUESDAY_11, book, open_garden
from tests.web.helpers import post_form, sign_in
from tierslieu.services.clock import frozen

APRIL_1 = dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)
SLOT = f"{TUESDAY_10}/{TUESDAY_11}"
TILLEULS = "/api/structures/ehpad-les-tilleuls"


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world):
    return open_garden(client, world)


def test_staff_search_pick_mme_martin_and_book_for_her(client, world, garden):
    card = client.post(
        f"{TILLEULS}/contacts",
        json={"name": "Mme Martin", "phone": "01 48 00 00 01"},
        headers=world.staff_a.headers,
    ).json()
    with frozen(APRIL_1):
        sign_in(client, world.staff_a.email)
        page = f"/ressources/{garden['id']}"
        action = f"{page}/reserver"
        # Forgetting the person: asked, nothing booked.
        forgot = post_form(client, page, action, {"slot": SLOT, "party_size": "2"})
        assert forgot.status_code == 422
        assert "Pour qui est cette réservation" in forgot.text
        assert 'id="f-person_q-error"' in forgot.text
        # « Chercher » shows her card, the chosen slot still chosen.
        found = post_form(
            client,
            page,
            action,
            {"slot": SLOT, "party_size": "2", "person_q": "0148", "action": "chercher"},
        )
        assert found.status_code == 200
        assert f'value="contact:{card["id"]}"' in found.text
        assert "Mme Martin — 01 48 00 00 01" in found.text
        booked = post_form(
            client,
            page,
            action,
            {"slot": SLOT, "party_size": "2", "person": f"contact:{card['id']}"},
        )
        assert booked.status_code == 303, booked.text[:500]
        assert booked.headers["location"].endswith("/structures/ehpad-les-tilleuls/tableau")
        # A new person typed in the form becomes a contact.
        new = post_form(
            client,
            page,
            action,
            {"slot": SLOT, "party_size": "1", "person": "new", "guest_name": "M. Durand"},
        )
        assert new.status_code == 303, new.text[:500]
        nobody = post_form(
            client,
            page,
            action,
            {"slot": SLOT, "person": "account", "account_ref": "inconnu@exemple.test"},
        )
        assert nobody.status_code == 422 and 'id="f-account_ref-error"' in nobody.text
    view = client.get(f"{TILLEULS}/contacts/{card['id']}", headers=world.staff_a.headers).json()
    assert view["bookings"] == 1
    names = [
        c["name"] for c in client.get(f"{TILLEULS}/contacts", headers=world.staff_a.headers).json()
    ]
    assert sorted(names) == ["M. Durand", "Mme Martin"]
    assert book(client, world.neighbour, garden["id"]).status_code == 201  # others unchanged


def test_the_invitation_link_asks_to_sign_in_then_to_confirm(client, world, garden, settings):
    from tests.conftest import register, unique_email
    from tests.notifications.helpers import last_link, token_of

    email = unique_email("martin")
    booked = book(client, world.staff_a, garden["id"], guest={"name": "Mme Martin", "email": email})
    card = booked.json()["person"]["contact_id"]
    invited = client.post(f"{TILLEULS}/contacts/{card}/invite", headers=world.staff_a.headers)
    assert invited.status_code == 202, invited.text
    path = f"/rattacher/{token_of(last_link(settings, 'contact-invite', email))}"
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/connexion" in anonymous.headers["location"]
    martin = register(client, unique_email("jeanne"), name="Jeanne Martin")
    sign_in(client, martin.email)
    shown = client.get(path)
    assert shown.status_code == 200 and "EHPAD Les Tilleuls" in shown.text
    assert client.get("/api/bookings", headers=martin.headers).json() == []  # opening: nothing
    accepted = post_form(client, path, path, {})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/mes-reservations"
    assert len(client.get("/api/bookings", headers=martin.headers).json()) == 1
    assert client.get(path).status_code == 400  # used
