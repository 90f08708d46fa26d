"""Web pages through the TestClient (no browser): CSRF, cookies, POST-redirect-GET,
language, and privacy of bookings."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from tests.conftest import PASSWORD, make_settings
from tests.scenarios.garden import MARCH_15, TUESDAY_10, TUESDAY_11, book, open_garden
from tests.scenarios.room import open_room
from tests.web.helpers import csrf_of, post_form, sign_in
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world):
    return open_garden(client, world)


SLOT = f"{TUESDAY_10}/{TUESDAY_11}"


def test_directory_is_french_with_lang_and_filters(client, world):
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "Jardin des Tilleuls" in page.text
    assert "Bondy" in page.text
    assert "Jardin des Tilleuls" not in client.get("/?commune=Romainville").text
    assert "Jardin des Tilleuls" in client.get("/?commune=bondy&kind=garden&wheelchair=1").text
    assert "Jardin des Tilleuls" not in client.get("/?kind=room").text


def test_language_switch_sets_a_cookie_and_stays_local(client, world):
    response = client.get("/langue/en?next=/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = client.get("/")
    assert '<html lang="en">' in page.text
    assert "Directory of resources" in page.text
    # Never an open redirect.
    away = client.get("/langue/fr?next=//evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/"
    assert '<html lang="fr">' in client.get("/").text


def test_asset_page_shows_slots_in_local_time_and_places_left(client, world, garden):
    page = client.get(f"/ressources/{garden['id']}")
    assert page.status_code == 200
    # 15 March 2027: the rule starts on 1 April, beyond the two weeks shown.
    assert "Aucun créneau ouvert" in page.text
    with frozen(dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)):
        page = client.get(f"/ressources/{garden['id']}")
        assert "mardi 6 avril 2027" in page.text
        assert "10 h 00 – 11 h 00" in page.text
        assert "8 places libres sur 8" in page.text


def test_form_without_csrf_token_is_refused(client, world, garden):
    sign_in(client, world.neighbour.email)
    refused = client.post(
        f"/ressources/{garden['id']}/reserver",
        data={"slot": SLOT, "party_size": "1"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert "Le formulaire a expiré" in refused.text
    wrong = client.post(
        f"/ressources/{garden['id']}/reserver",
        data={"slot": SLOT, "party_size": "1", "_csrf_token": "forged"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    mine = client.get("/api/bookings", headers=world.neighbour.headers).json()
    assert mine == []


def test_api_and_ical_are_not_under_csrf(client, world, garden):
    # A bearer-token POST without any cookie or CSRF token works exactly as before.
    response = book(client, world.neighbour, garden["id"])
    assert response.status_code == 201, response.text
    assert "tl_csrf" not in response.headers.get("set-cookie", "")


def test_session_cookie_flags(client, world):
    response = sign_in(client, world.neighbour.email)
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("tl_session="))
    assert "HttpOnly" in session
    assert "samesite=lax" in session.lower()
    assert "Secure" not in session  # served over plain http here
    csrf_page = client.get("/connexion")
    assert csrf_page.status_code == 200


def test_cookies_are_secure_behind_https(settings, world):
    from litestar.testing import TestClient

    from tierslieu.app import create_app

    https_settings = make_settings(settings.database_url, public_url="https://tiers.example")
    with TestClient(app=create_app(https_settings), base_url="https://testserver.local") as web:
        page = web.get("/connexion")
        assert "Secure" in page.headers.get("set-cookie", "")
        response = post_form(
            web,
            "/connexion",
            "/connexion",
            {"email": world.neighbour.email, "password": PASSWORD, "next": ""},
        )
        assert response.status_code == 303
        session = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("tl_session=")
        )
        assert "Secure" in session and "HttpOnly" in session and "samesite=lax" in session.lower()


def test_wrong_password_shows_the_form_again_with_the_message(client, world):
    response = post_form(
        client,
        "/connexion",
        "/connexion",
        {"email": world.neighbour.email, "password": "pas-le-bon-mot", "next": ""},
    )
    assert response.status_code == 401
    assert "Identifiants incorrects" in response.text
    assert 'role="alert"' in response.text


def test_booking_is_post_redirect_get_with_a_confirmation(client, world, garden):
    sign_in(client, world.neighbour.email)
    with frozen(dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)):
        response = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"slot": SLOT, "party_size": "2"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/mes-reservations"
        page = client.get("/mes-reservations")
        assert "Réservation confirmée" in page.text
        assert "mardi 6 avril 2027, 10 h 00" in page.text
        # The message shows once.
        assert "Réservation confirmée" not in client.get("/mes-reservations").text
        asset_page = client.get(f"/ressources/{garden['id']}")
        assert "6 places libres sur 8" in asset_page.text


def test_full_slot_shows_a_clear_message_not_an_error_page(client, world, garden):
    with frozen(dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)):
        for size in (4, 3):  # max party size is 4
            by_phone = {"name": f"Voisin {size}"}
            assert (
                book(
                    client, world.staff_a, garden["id"], party_size=size, guest=by_phone
                ).status_code
                == 201
            )
        sign_in(client, world.neighbour.email)
        response = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"slot": SLOT, "party_size": "2"},
        )
        assert response.status_code == 409
        assert "Créneau complet" in response.text
        assert "Il ne reste qu'une place sur ce créneau, vous en demandez 2." in html.unescape(
            response.text
        )
        assert 'role="alert"' in response.text


def test_missing_slot_is_linked_to_its_field(client, world, garden):
    sign_in(client, world.neighbour.email)
    with frozen(dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)):
        response = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"party_size": "1"},
        )
    assert response.status_code == 200 or response.status_code == 422 or response.status_code == 400
    assert 'aria-describedby="f-slot-error"' in response.text
    assert "Choisissez un créneau." in response.text


def test_pages_never_show_another_persons_booking(client, world, garden):
    with frozen(dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)):
        mine = book(client, world.neighbour, garden["id"], note="allergie aux abeilles")
        assert mine.status_code == 201
        booking_id = mine.json()["id"]
        sign_in(client, world.professional.email)
        page = client.get("/mes-reservations")
        assert "Jardin des Tilleuls" not in page.text
        assert "abeilles" not in page.text
        # Someone else's .ics, cancel and staff pages: nothing.
        assert client.get(f"/mes-reservations/{booking_id}/calendrier.ics").status_code == 404
        cancel = post_form(
            client, "/mes-reservations", f"/mes-reservations/{booking_id}/annuler", {}
        )
        assert cancel.status_code == 303
        assert (
            client.get("/api/bookings", headers=world.neighbour.headers).json()[0]["status"]
            == "confirmed"
        )
        dashboard = client.get("/structures/ehpad-les-tilleuls/tableau")
        assert dashboard.status_code == 403
        assert "Jeanne Martin" not in dashboard.text
        sheet = client.get(
            f"/structures/ehpad-les-tilleuls/ressources/{garden['id']}/feuille?date=2027-04-06"
        )
        assert sheet.status_code == 403
        assert "Jeanne" not in sheet.text


def test_sign_out_revokes_the_session(client, world):
    sign_in(client, world.neighbour.email)
    assert "Jeanne Martin" in client.get("/mes-reservations").text
    page = client.get("/mes-reservations")
    response = client.post(
        "/deconnexion", data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    old = response.headers.get_list("set-cookie")
    assert any(c.startswith("tl_session=") and "Max-Age=0" in c for c in old)
    assert client.get("/mes-reservations", follow_redirects=False).status_code == 303


def test_anonymous_booking_goes_to_sign_in(client, world, garden):
    response = client.get("/mes-reservations", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion?next=")


def test_register_then_signed_in(client, world):
    response = post_form(
        client,
        "/inscription",
        "/inscription",
        {
            "display_name": "Paulette Durand",
            "email": "paulette@exemple.test",
            "password": PASSWORD,
            "kind": "neighbour",
            "phone": "",
            "next": "",
        },
    )
    # The same answer as for an existing address: to the sign-in page, then sign in.
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion"
    assert "vous pouvez vous connecter" in client.get("/connexion").text
    sign_in(client, "paulette@exemple.test")
    assert "Paulette Durand" in client.get("/mes-reservations").text
    again = post_form(
        client,
        "/inscription",
        "/inscription",
        {
            "display_name": "Autre",
            "email": "paulette@exemple.test",
            "password": "court",
            "kind": "neighbour",
            "next": "",
        },
    )
    assert again.status_code == 422
    assert 'aria-describedby="f-password-error' in again.text
    assert "au moins 10 caractères" in again.text


def test_members_page_is_for_managers_only(client, world):
    sign_in(client, world.staff_a.email)
    assert client.get("/structures/ehpad-les-tilleuls/equipe/").status_code == 403
    dashboard = client.get("/structures/ehpad-les-tilleuls/tableau")
    assert dashboard.status_code == 200
    assert "Équipe et tarifs" not in dashboard.text


def test_staff_approve_a_pending_request_from_the_dashboard(client, world, garden):
    changed = client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"requires_approval": True}},
        headers=world.staff_a.headers,
    )
    assert changed.status_code == 200, changed.text
    with frozen(dt.datetime(2027, 4, 5, 9, 0, tzinfo=dt.UTC)):
        request = book(client, world.neighbour, garden["id"])
        assert request.json()["status"] == "pending"
        sign_in(client, world.staff_a.email)
        dashboard = client.get("/structures/ehpad-les-tilleuls/tableau")
        assert "Jeanne Martin" in dashboard.text and "en attente de validation" in dashboard.text
        response = post_form(
            client,
            "/structures/ehpad-les-tilleuls/tableau",
            f"/structures/ehpad-les-tilleuls/reservations/{request.json()['id']}/decision",
            {"approve": "1"},
        )
        assert response.status_code == 303
        assert "Décision enregistrée." in client.get("/structures/ehpad-les-tilleuls/tableau").text
    status = client.get(f"/api/bookings/{request.json()['id']}", headers=world.neighbour.headers)
    assert status.json()["status"] == "confirmed"


def test_meeting_room_free_intervals_and_overlap_message(client, world):
    """Scenario 6: associations book free intervals of a room, never overlapping."""
    room = open_room(
        client,
        world,
        {
            "weekdays": [2],
            "start_time": "14:00",
            "end_time": "18:00",
            "valid_from": "2027-04-01",
        },
    )
    sign_in(client, world.professional.email)
    with frozen(dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)):
        page = client.get(f"/ressources/{room['id']}")
        assert "mardi 6 avril 2027, 14 h 00 – 18 h 00" in page.text
        fields = {"day": "2027-04-06", "start": "14:30", "end": "16:00", "party_size": "2"}
        first = post_form(
            client, f"/ressources/{room['id']}", f"/ressources/{room['id']}/reserver", fields
        )
        assert first.status_code == 303
        page = client.get(f"/ressources/{room['id']}")
        assert "mardi 6 avril 2027, 14 h 00 – 14 h 30" in page.text
        assert "mardi 6 avril 2027, 16 h 00 – 18 h 00" in page.text
        overlap = post_form(
            client,
            f"/ressources/{room['id']}",
            f"/ressources/{room['id']}/reserver",
            {**fields, "start": "15:00", "end": "17:00"},
        )
        assert overlap.status_code == 409
        assert "Déjà réservé" in overlap.text
        bad_time = post_form(
            client,
            f"/ressources/{room['id']}",
            f"/ressources/{room['id']}/reserver",
            {**fields, "start": "quinze heures"},
        )
        assert 'aria-describedby="f-start-error' in bad_time.text


def test_too_many_people_is_said_beside_the_field(client, world, garden):
    sign_in(client, world.neighbour.email)
    with frozen(dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)):
        response = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"slot": SLOT, "party_size": "6"},
        )
    assert response.status_code == 422
    assert 'aria-describedby="f-party_size-error' in response.text
    assert "entre 1 et 4" in response.text


def test_rendered_attributes_are_well_separated(client, world, garden):
    """Templates trim whitespace: no attribute may be glued to the previous one."""
    import re

    glued = re.compile(r'"[a-z-]+="|\b(required|checked|disabled|selected)[a-z]')
    sign_in(client, world.staff_a.email)
    for url in (
        "/",
        "/inscription",
        f"/ressources/{garden['id']}",
        "/mes-reservations",
        "/structures/ehpad-les-tilleuls/tableau",
        f"/structures/ehpad-les-tilleuls/ressources/{garden['id']}/horaires",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert not glued.search(page.text), (url, glued.search(page.text))


def test_a_throttled_sign_in_page_says_when_to_come_back(client, world):
    """The page refuses like the API: 429 with Retry-After, the message on the form."""
    for _ in range(5):
        post_form(
            client,
            "/connexion",
            "/connexion",
            {"email": world.neighbour.email, "password": "pas-le-bon-mot", "next": ""},
        )
    refused = post_form(
        client,
        "/connexion",
        "/connexion",
        {"email": world.neighbour.email, "password": "pas-le-bon-mot", "next": ""},
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert 'role="alert"' in refused.text


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nimportequoi", 404, "not-found"),
        ("GET", "/ressources/pas-un-identifiant", 404, "not-found"),
        ("DELETE", "/", 405, "method-not-allowed"),
    ],
)
def test_a_browser_never_sees_raw_json(client, method, path, status, code):
    """Unknown paths and wrong methods outside the API: an HTML page in French, with a
    title, the language and the problem code; the API keeps its problem details."""
    response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr"' in response.text
    assert "<title>" in response.text
    assert (
        f"Code de l'erreur : {code}" in response.text
        or f"Code de l&#39;erreur : {code}" in response.text
    )
    api = client.request(method, "/api/nimportequoi")
    assert api.status_code in (404, 405)
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] in ("not-found", "method-not-allowed")


def test_the_asset_page_links_its_public_feed(client, world):
    """A neighbour can follow the place in a calendar app from its page, with no name in it."""
    html = client.get(f"/ressources/{world.garden['id']}").text
    assert f"/ical/assets/{world.garden['id']}.ics" in html
    assert 'href="webcal://' in html
    feed = client.get(f"/ical/assets/{world.garden['id']}.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")


def test_asset_page_gives_the_structures_phone_for_booking_by_phone(client, world, garden):
    assert "Pour réserver par téléphone" not in client.get(f"/ressources/{garden['id']}").text
    changed = client.patch(
        "/api/structures/ehpad-les-tilleuls",
        json={"phone": "01 48 00 00 01"},
        headers=world.manager_a.headers,
    )
    assert changed.status_code == 200, changed.text
    page = client.get(f"/ressources/{garden['id']}").text
    assert "Pour réserver par téléphone" in page
    assert '<a href="tel:0148000001">01 48 00 00 01</a>' in page
