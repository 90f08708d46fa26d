"""The waiting list on the pages: « M'inscrire sur la liste d'attente », the rank in « Mes
réservations », leaving the list, and the list on the staff dashboard."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from tests.scenarios.garden import MARCH_15, TUESDAY_10, TUESDAY_11, book, open_garden
from tests.web.helpers import post_form, sign_in
from tierslieu.services.clock import frozen

SLOT = f"{TUESDAY_10}/{TUESDAY_11}"
DAY_BEFORE = dt.datetime(2027, 4, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world):
    garden = open_garden(client, world)
    response = client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"waitlist": True}},
        headers=world.staff_a.headers,
    )
    assert response.status_code == 200, response.text
    return garden


def test_a_neighbour_joins_the_list_sees_the_rank_and_leaves(client, world, garden):
    with frozen(DAY_BEFORE):
        for size in (4, 4):  # max party size is 4: the slot of 8 is full
            assert (
                book(
                    client,
                    world.staff_a,
                    garden["id"],
                    party_size=size,
                    guest={"name": f"Groupe {size}"},
                ).status_code
                == 201
            )
        sign_in(client, world.neighbour.email)
        asset_page = client.get(f"/ressources/{garden['id']}")
        text = html.unescape(asset_page.text)
        assert "complet, liste d'attente ouverte" in text
        assert "M'inscrire sur la liste d'attente" in text
        response = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"slot": SLOT, "party_size": "2", "waitlist": "1"},
        )
        assert response.status_code == 303, response.text
        mine = html.unescape(client.get("/mes-reservations").text)
        assert "Inscription sur la liste d'attente, au rang 1" in mine
        assert "rang 1 sur la liste d'attente" in mine
        assert "sur liste d'attente" in mine

        sign_in(client, world.staff_a.email)
        dashboard = html.unescape(client.get("/structures/ehpad-les-tilleuls/tableau").text)
        assert "Jeanne Martin" in dashboard and "rang 1" in dashboard
        assert "Confirmer hors tour" in dashboard

        sign_in(client, world.neighbour.email)
        entry = client.get("/api/bookings", headers=world.neighbour.headers).json()[0]
        left = post_form(
            client,
            "/mes-reservations",
            f"/mes-reservations/{entry['id']}/annuler",
            {"leave": "1"},
        )
        assert left.status_code == 303
        assert "Vous avez quitté la liste d'attente." in html.unescape(
            client.get("/mes-reservations").text
        )
        assert client.get("/api/bookings", headers=world.neighbour.headers).json() == []


def test_staff_confirm_out_of_order_from_the_dashboard(client, world, garden):
    with frozen(DAY_BEFORE):
        assert (
            book(
                client, world.staff_a, garden["id"], party_size=4, guest={"name": "Groupe A"}
            ).status_code
            == 201
        )
        assert (
            book(
                client, world.staff_a, garden["id"], party_size=3, guest={"name": "Groupe B"}
            ).status_code
            == 201
        )
        # One place left: a party of two waits first; the single neighbour waits behind it.
        two = book(
            client,
            world.manager_a,
            garden["id"],
            party_size=2,
            waitlist=True,
            guest={"name": "Groupe C"},
        ).json()
        one = book(client, world.neighbour, garden["id"], party_size=1, waitlist=True).json()
        assert (two["waitlist_position"], one["waitlist_position"]) == (1, 2)
        sign_in(client, world.staff_a.email)
        response = post_form(
            client,
            "/structures/ehpad-les-tilleuls/tableau",
            f"/structures/ehpad-les-tilleuls/reservations/{one['id']}/promouvoir",
            {},
        )
        assert response.status_code == 303
        page = html.unescape(client.get("/structures/ehpad-les-tilleuls/tableau").text)
        assert "Réservation confirmée hors tour." in page
        got = client.get(f"/api/bookings/{one['id']}", headers=world.neighbour.headers)
        assert got.json()["status"] == "confirmed"
        still = client.get(f"/api/bookings/{two['id']}", headers=world.manager_a.headers)
        assert (still.json()["status"], still.json()["waitlist_position"]) == ("waitlisted", 1)
