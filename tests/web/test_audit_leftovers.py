"""Small items of the UX audit (ux-2026-11 §1): where staff land after signing in, a cancelled
booking no longer « à venir », no empty headings on a canteen-only dashboard."""

from __future__ import annotations

import html

import pytest

from tests.conftest import PASSWORD
from tests.scenarios.garden import MARCH_15, book, open_garden
from tests.web.helpers import post_form, sign_in
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def test_staff_land_on_their_dashboard_and_neighbours_on_their_bookings(client, world):
    staff = post_form(
        client,
        "/connexion",
        "/connexion",
        {"email": world.manager_a.email, "password": PASSWORD, "next": ""},
    )
    assert staff.headers["location"] == "/structures/ehpad-les-tilleuls/tableau"
    client.cookies.clear()
    neighbour = sign_in(client, world.neighbour.email)
    assert neighbour.headers["location"] == "/mes-reservations"
    # A « next » still wins, for staff too.
    client.cookies.clear()
    chosen = post_form(
        client,
        "/connexion",
        "/connexion",
        {"email": world.manager_a.email, "password": PASSWORD, "next": "/mon-compte"},
    )
    assert chosen.headers["location"] == "/mon-compte"


def test_a_cancelled_booking_is_listed_apart_without_an_agenda_link(client, world):
    garden = open_garden(client, world)
    kept = book(client, world.neighbour, garden["id"])
    assert kept.status_code == 201, kept.text
    gone = book(
        client,
        world.neighbour,
        garden["id"],
        starts="2027-04-10T10:00:00+02:00",
        ends="2027-04-10T11:00:00+02:00",
    )
    assert gone.status_code == 201, gone.text
    cancelled = client.post(
        f"/api/bookings/{gone.json()['id']}/cancel", headers=world.neighbour.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    sign_in(client, world.neighbour.email)
    page = html.unescape(client.get("/mes-reservations").text)
    upcoming = page.split("<h2>À venir</h2>", 1)[1].split("<h2>Annulées</h2>", 1)
    assert len(upcoming) == 2, "the cancelled booking has its own list"
    assert "mardi 6 avril 2027" in upcoming[0] and "samedi 10 avril 2027" not in upcoming[0]
    cancelled_part = upcoming[1].split("<h2>", 1)[0]
    assert "samedi 10 avril 2027" in cancelled_part
    assert "calendrier.ics" not in cancelled_part
    assert f"/mes-reservations/{kept.json()['id']}/calendrier.ics" in upcoming[0]


def test_a_canteen_only_dashboard_has_no_empty_headings(client, world):
    sign_in(client, world.staff_b.email)
    page = html.unescape(client.get("/structures/chrs-le-relais/tableau").text)
    assert "<h2>Ressources</h2>" not in page
    assert "Réservations du jour et du lendemain" not in page
    sign_in(client, world.manager_a.email)
    ehpad = html.unescape(client.get("/structures/ehpad-les-tilleuls/tableau").text)
    assert "Réservations du jour et du lendemain" in ehpad


def test_a_new_feed_link_is_shown_where_the_page_opens(client, world):
    """Audit §5.3: the page no longer jumps to « Mon calendrier » while the one-time link
    sits in the message at the top, off-screen."""
    sign_in(client, world.neighbour.email)
    rotated = post_form(client, "/mes-reservations", "/mes-reservations/abonnement", {})
    assert rotated.status_code == 303
    assert rotated.headers["location"] == "/mes-reservations"
    page = client.get("/mes-reservations").text
    assert page.index("/ical/") < page.index('id="calendrier"')


def test_the_opening_hours_page_says_whether_public_holidays_are_closed(client, world):
    sign_in(client, world.manager_a.email)
    url = f"/structures/ehpad-les-tilleuls/ressources/{world.garden['id']}/horaires"
    assert "Fermé les jours fériés" in html.unescape(client.get(url).text)
    changed = client.patch(
        "/api/structures/ehpad-les-tilleuls",
        json={"closed_on_public_holidays": False},
        headers=world.manager_a.headers,
    )
    assert changed.status_code == 200, changed.text
    assert "Ouvert les jours fériés" in html.unescape(client.get(url).text)


def test_cancelling_my_booking_asks_first(client, world):
    garden = open_garden(client, world)
    mine = book(client, world.neighbour, garden["id"])
    assert mine.status_code == 201, mine.text
    booking_id = mine.json()["id"]
    sign_in(client, world.professional.email)
    assert client.get(f"/mes-reservations/{booking_id}/annuler").status_code == 404
    client.cookies.clear()
    sign_in(client, world.neighbour.email)
    listing = client.get("/mes-reservations").text
    assert f'href="/mes-reservations/{booking_id}/annuler"' in listing
    asked = client.get(f"/mes-reservations/{booking_id}/annuler")
    assert asked.status_code == 200
    text = html.unescape(asked.text)
    assert "Annuler cette réservation ?" in text
    assert "mardi 6 avril 2027, 10 h 00" in text
    assert "Non, revenir" in text
    # Nothing happened yet; « Oui » cancels.
    assert (
        client.get(f"/api/bookings/{booking_id}", headers=world.neighbour.headers).json()["status"]
        == "confirmed"
    )
    done = post_form(
        client,
        f"/mes-reservations/{booking_id}/annuler",
        f"/mes-reservations/{booking_id}/annuler",
        {"back": "/mes-reservations"},
    )
    assert done.status_code == 303
    assert (
        client.get(f"/api/bookings/{booking_id}", headers=world.neighbour.headers).json()["status"]
        == "cancelled"
    )
