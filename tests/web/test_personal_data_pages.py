"""« Mon compte » (download my data, delete my account) and the /confidentialite page."""

from __future__ import annotations

import icalendar

from tests.web.helpers import post_form, sign_in


def test_privacy_page_in_french_and_english_linked_from_every_footer(client, world):
    for path in ("/", "/connexion", "/inscription"):
        assert 'href="/confidentialite"' in client.get(path).text
    page = client.get("/confidentialite")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert "365 jours après leur dernière réservation" in page.text
    assert "24 heures" in page.text
    client.get("/langue/en?next=/confidentialite")
    english = client.get("/confidentialite")
    assert '<html lang="en">' in english.text
    assert "Erased 365 days after their last booking or order" in english.text


def test_my_account_downloads_my_data_and_calendar(client, world):
    sign_in(client, world.neighbour.email)
    page = client.get("/mon-compte")
    assert page.status_code == 200
    assert "Jeanne Martin" in page.text
    assert 'href="/mon-compte/mes-donnees.json"' in page.text
    assert 'href="/mon-compte/mes-reservations.ics"' in page.text
    assert 'href="/mon-compte"' in client.get("/").text  # in the menu once signed in
    data = client.get("/mon-compte/mes-donnees.json")
    assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
    assert data.json()["account"]["email"] == world.neighbour.email
    ics = client.get("/mon-compte/mes-reservations.ics")
    assert ics.status_code == 200
    assert icalendar.Calendar.from_ical(ics.content).walk("VEVENT") == []


def test_my_account_needs_a_session(client, world):
    for path in ("/mon-compte", "/mon-compte/mes-donnees.json", "/mon-compte/supprimer"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


def test_deleting_my_account_from_the_pages(client, world):
    sign_in(client, world.neighbour.email)
    wrong = post_form(
        client, "/mon-compte/supprimer", "/mon-compte/supprimer", {"password": "faux"}
    )
    assert wrong.status_code == 403
    assert "Le mot de passe ne correspond pas" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert client.get("/mon-compte").status_code == 200  # still signed in, nothing deleted

    done = post_form(
        client,
        "/mon-compte/supprimer",
        "/mon-compte/supprimer",
        {"password": "mot-de-passe-solide"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    home = client.get("/")
    assert "Votre compte est supprimé" in home.text
    assert client.get("/mon-compte", follow_redirects=False).status_code == 303
    assert client.get("/api/me", headers=world.neighbour.headers).status_code == 401


def test_the_last_manager_is_told_what_to_do_on_the_page(client, world):
    sign_in(client, world.manager_a.email)
    refused = post_form(
        client,
        "/mon-compte/supprimer",
        "/mon-compte/supprimer",
        {"password": "mot-de-passe-solide"},
    )
    assert refused.status_code == 409
    assert "EHPAD Les Tilleuls" in refused.text and "Nommez un autre responsable" in refused.text
