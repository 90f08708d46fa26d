"""The asset page for a neighbour: « Se connecter pour réserver » keeps the slot chosen, the
``next`` of the sign-in never leads to another site, and slots outside the booking window
(too soon, too far ahead) are shown as not bookable online, with the reason."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import PASSWORD
from tests.scenarios.garden import TUESDAY_10, TUESDAY_11, open_garden
from tests.web.helpers import post_form, sign_in
from tierslieu.services.clock import frozen

APRIL_1 = dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)
SLOT = f"{TUESDAY_10}/{TUESDAY_11}"


def _utc(day: int, hour: int) -> str:
    """A slot's value in the page: its start and end in UTC (April 2027: Paris is UTC+2)."""
    start = dt.datetime(2027, 4, day, hour - 2, tzinfo=dt.UTC)
    return f"{start.isoformat()}/{(start + dt.timedelta(hours=1)).isoformat()}"


TUESDAY_10_UTC = _utc(6, 10)


@pytest.fixture
def garden(client, world):
    return open_garden(client, world)


def _radio(html: str, value: str) -> str:
    match = re.search(rf'<input type="radio"[^>]*value="{re.escape(value)}"[^>]*>', html)
    assert match, f"no radio for {value}"
    return match.group(0)


def test_signing_in_to_book_brings_the_neighbour_back_with_the_slot_chosen(client, world, garden):
    with frozen(APRIL_1):
        page = client.get(f"/ressources/{garden['id']}").text
        # Not signed in: the choices go to the sign-in step, not to a lost link.
        assert f'action="/ressources/{garden["id"]}/se-connecter"' in page
        assert "Se connecter pour réserver" in page
        asked = client.get(
            f"/ressources/{garden['id']}/se-connecter",
            params={"slot": TUESDAY_10_UTC, "party_size": "2", "note": "Avec mon petit-fils"},
            follow_redirects=False,
        )
        assert asked.status_code == 303
        to_login = urlsplit(asked.headers["location"])
        assert to_login.path == "/connexion"
        back = parse_qs(to_login.query)["next"][0]
        assert back.startswith(f"/ressources/{garden['id']}?")
        login_page = client.get(asked.headers["location"]).text
        assert 'name="next" value="/ressources/' in login_page

        signed = post_form(
            client,
            asked.headers["location"],
            "/connexion",
            {"email": world.neighbour.email, "password": PASSWORD, "next": back},
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == back
        again = client.get(back).text
        assert "checked" in _radio(again, TUESDAY_10_UTC)
        assert 'value="2"' in again
        assert "Avec mon petit-fils" in again
        assert "Votre choix est gardé" in again
        # One press on « Réserver » and it is booked, as chosen.
        booked = post_form(
            client,
            back,
            f"/ressources/{garden['id']}/reserver",
            {"slot": TUESDAY_10_UTC, "party_size": "2", "note": "Avec mon petit-fils"},
        )
        assert booked.status_code == 303
    mine = client.get("/api/bookings", headers=world.neighbour.headers).json()
    assert [(b["party_size"], b["note"]) for b in mine] == [(2, "Avec mon petit-fils")]


def test_registering_to_book_also_comes_back_to_the_slot(client, world, garden):
    with frozen(APRIL_1):
        asked = client.get(
            f"/ressources/{garden['id']}/se-connecter",
            params={"slot": TUESDAY_10_UTC, "party_size": "1", "compte": "inscription"},
            follow_redirects=False,
        )
        to_register = urlsplit(asked.headers["location"])
        assert to_register.path == "/inscription"
        back = parse_qs(to_register.query)["next"][0]
        registered = post_form(
            client,
            asked.headers["location"],
            "/inscription",
            {
                "email": "lucienne@exemple.test",
                "password": PASSWORD,
                "display_name": "Lucienne Dupont",
                "kind": "neighbour",
                "next": back,
            },
        )
        assert registered.status_code == 303
        to_login = urlsplit(registered.headers["location"])
        assert to_login.path == "/connexion"
        assert parse_qs(to_login.query)["next"][0] == back
        signed = post_form(
            client,
            registered.headers["location"],
            "/connexion",
            {"email": "lucienne@exemple.test", "password": PASSWORD, "next": back},
        )
        assert signed.headers["location"] == back
        assert "checked" in _radio(client.get(back).text, TUESDAY_10_UTC)


def test_a_kept_slot_that_filled_up_meanwhile_is_said_so(client, world, garden):
    # Filled by staff on today's clock (their API token is of today): two groups of 4.
    for group in ("Groupe de l'école", "Club des aînés"):
        full = client.post(
            "/api/bookings",
            json={
                "asset_id": garden["id"],
                "starts_at": TUESDAY_10,
                "ends_at": TUESDAY_11,
                "party_size": 4,
                "guest": {"name": group},
            },
            headers=world.staff_a.headers,
        )
        assert full.status_code == 201, full.text
    with frozen(APRIL_1):
        sign_in(client, world.neighbour.email)
        page = client.get(f"/ressources/{garden['id']}", params={"slot": TUESDAY_10_UTC}).text
        assert "n'est plus disponible" in html.unescape(page)
        assert "checked" not in _radio(page, TUESDAY_10_UTC)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "javascript:alert(1)",
        "http:/evil.example",
        " //evil.example",
    ],
)
def test_the_next_of_sign_in_never_leads_to_another_site(client, world, target):
    signed = post_form(
        client,
        "/connexion",
        "/connexion",
        {"email": world.neighbour.email, "password": PASSWORD, "next": target},
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/mes-reservations"
    # Nor is it carried on by the sign-in and registration forms.
    for form_page in ("/connexion", "/inscription"):
        shown = client.get(form_page, params={"next": target}).text
        assert '<input type="hidden" name="next" value="">' in shown


def test_slots_too_soon_or_too_far_ahead_are_not_offered_to_a_neighbour(client, world, garden):
    changed = client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"min_notice_minutes": 60, "max_advance_days": 3}},
        headers=world.manager_a.headers,
    )
    assert changed.status_code == 200, changed.text
    # Tuesday 6 April 2027, 09:30 in Paris: 10 h starts in 30 minutes, 11 h in 90.
    with frozen(dt.datetime(2027, 4, 6, 7, 30, tzinfo=dt.UTC)):
        sign_in(client, world.neighbour.email)
        page = client.get(f"/ressources/{garden['id']}").text
        ten = _radio(page, TUESDAY_10_UTC)
        assert "disabled" in ten
        assert "trop tard pour réserver en ligne" in page
        eleven = _radio(page, _utc(6, 11))
        assert "disabled" not in eleven
        # Saturday 10 April, 10 h: more than 3 days ahead, with the day it opens.
        saturday = _radio(page, _utc(10, 10))
        assert "disabled" in saturday
        assert "réservable à partir du mercredi 7 avril 2027, 10 h 00" in page
        assert "au plus tard 60 minutes avant le début" in page
        # What is offered is what the booking accepts (and what is not, is refused).
        refused = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"slot": SLOT, "party_size": "1"},
        )
        assert refused.status_code == 422
        assert "Hors de la période de réservation" in refused.text
        # Staff, who book by phone, are not held to the window: 10 h is offered to them.
        client.cookies.clear()
        sign_in(client, world.staff_a.email)
        staff_page = client.get(f"/ressources/{garden['id']}").text
        assert "disabled" not in _radio(staff_page, TUESDAY_10_UTC)
        assert "trop tard pour réserver en ligne" not in staff_page
