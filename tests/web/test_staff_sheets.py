"""Staff sheets: any day's sheet from the dashboard, a way back and a print button on every
sheet (audit §1 « Day sheet », S1 step 8), and controls that stay visible (audit §5.1)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tests.scenarios.garden import MARCH_15, book, open_garden
from tests.web.helpers import csrf_of, sign_in
from tierslieu.services.clock import frozen

EHPAD = "ehpad-les-tilleuls"


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def test_the_dashboard_opens_the_sheet_of_any_day(client, world):
    garden = open_garden(client, world)
    assert (
        book(client, world.neighbour, garden["id"], note="Vient avec son petit-fils").status_code
        == 201
    )
    sign_in(client, world.staff_a.email)
    dashboard = client.get(f"/structures/{EHPAD}/tableau").text
    # A GET form per asset: its action is the sheet, its field the date (any date).
    action = f'action="/structures/{EHPAD}/ressources/{garden["id"]}/feuille"'
    assert action in dashboard
    assert 'name="date" type="date"' in dashboard
    # The date picked in that form: Tuesday 6 April, three weeks ahead.
    sheet = client.get(f"/structures/{EHPAD}/ressources/{garden['id']}/feuille?date=2027-04-06")
    assert sheet.status_code == 200
    text = html.unescape(sheet.text)
    assert "mardi 6 avril 2027" in text
    assert "Jeanne Martin" in text and "Vient avec son petit-fils" in text
    # A way back, a print button (shown by the same-origin script) and another day's field.
    assert f'href="/structures/{EHPAD}/tableau">Retour au tableau de bord</a>' in text
    assert re.search(r'<button type="button" id="imprimer" hidden>Imprimer</button>', text)
    assert '<script src="/static/report.js" defer></script>' in text
    assert 'value="2027-04-06"' in text
    assert '<meta name="viewport"' in text


def test_the_api_sheet_has_no_page_tools(client, world):
    garden = open_garden(client, world)
    sheet = client.get(
        f"/api/assets/{garden['id']}/day-sheet?date=2027-04-06", headers=world.staff_a.headers
    )
    assert sheet.status_code == 200
    assert "Retour au tableau de bord" not in sheet.text
    assert "imprimer" not in sheet.text


def test_link_style_buttons_take_the_link_colour(client):
    """« Annuler », « Supprimer », « Retirer » were white on white: ``button.link`` took the
    white text of every button (the browser test measures the contrast; this pins the rule)."""
    css = client.get("/static/site.css").text
    rule = re.search(r"button\.link \{([^}]*)\}", css)
    assert rule and "color: var(--brand)" in rule.group(1)


def _requires_approval(client, world, garden):
    changed = client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"requires_approval": True}},
        headers=world.staff_a.headers,
    )
    assert changed.status_code == 200, changed.text


def test_the_agenda_shows_any_week_and_decides_requests_for_any_date(client, world):
    """Audit §8.1 and S6: a request three weeks ahead is seen and decided from the agenda."""
    garden = open_garden(client, world)
    _requires_approval(client, world, garden)
    request = book(client, world.neighbour, garden["id"], note="Avec son petit-fils")
    assert request.json()["status"] == "pending"
    closure = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-04-08", "ends_on": "2027-04-08", "reason": "Taille des haies"},
        headers=world.staff_a.headers,
    )
    assert closure.status_code == 201, closure.text
    sign_in(client, world.staff_a.email)
    assert (
        "/structures/ehpad-les-tilleuls/agenda" in client.get(f"/structures/{EHPAD}/tableau").text
    )
    # This week (15 March): nothing yet.
    this_week = html.unescape(client.get(f"/structures/{EHPAD}/agenda").text)
    assert "semaine du lundi 15 mars 2027" in this_week
    assert "Aucune demande en attente cette semaine." in this_week
    # Any week, by its ISO name or by a date in it.
    page = client.get(f"/structures/{EHPAD}/agenda?semaine=2027-W14")
    assert page.status_code == 200
    week = html.unescape(page.text)
    assert week == html.unescape(client.get(f"/structures/{EHPAD}/agenda?du=2027-04-08").text)
    assert "semaine du lundi 5 avril 2027" in week
    assert "Jeanne Martin" in week and "en attente de validation" in week
    assert "Fermé : Jardin des Tilleuls — Taille des haies" in week
    assert f"/ressources/{garden['id']}/feuille?date=2027-04-06" in week
    assert "semaine=2027-W13" in week and "semaine=2027-W15" in week
    here = "/structures/ehpad-les-tilleuls/agenda?semaine=2027-W14"
    response = client.post(
        f"/structures/{EHPAD}/reservations/{request.json()['id']}/decision",
        data={"approve": "1", "retour": here, "_csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == here
    after = html.unescape(client.get(here).text)
    assert "Décision enregistrée." in after and "confirmée" in after
    status = client.get(f"/api/bookings/{request.json()['id']}", headers=world.neighbour.headers)
    assert status.json()["status"] == "confirmed"


def test_attendance_is_corrected_after_the_day_from_the_agenda(client, world):
    garden = open_garden(client, world)
    booking = book(client, world.neighbour, garden["id"]).json()
    sign_in(client, world.staff_a.email)
    here = "/structures/ehpad-les-tilleuls/agenda?semaine=2027-W14"
    with frozen(dt.datetime(2027, 4, 9, 8, 0, tzinfo=dt.UTC)):  # Friday, three days later
        page = client.get(here)
        assert "Noter l'absence : Jeanne Martin" in html.unescape(page.text)
        for status in ("no_show", "attended"):  # marked absent, then corrected
            response = client.post(
                f"/structures/{EHPAD}/reservations/{booking['id']}/presence",
                data={"status": status, "retour": here, "_csrf_token": csrf_of(page.text)},
                follow_redirects=False,
            )
            assert response.status_code == 303 and response.headers["location"] == here
    got = client.get(f"/api/bookings/{booking['id']}", headers=world.neighbour.headers)
    assert got.json()["status"] == "attended"


@pytest.mark.parametrize("week", ["2027-W99", "semaine", "2027-W1'"])
def test_a_malformed_week_is_a_page_not_a_crash(client, world, week):
    sign_in(client, world.staff_a.email)
    response = client.get(f"/structures/{EHPAD}/agenda", params={"semaine": week})
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]


def test_the_agenda_is_for_the_structures_staff_only(client, world):
    sign_in(client, world.staff_b.email)
    response = client.get(f"/structures/{EHPAD}/agenda")
    assert response.status_code == 403
    sign_in(client, world.neighbour.email)
    assert client.get(f"/structures/{EHPAD}/agenda").status_code == 403


def test_cancelling_for_someone_asks_first(client, world):
    garden = open_garden(client, world)
    booking = book(client, world.neighbour, garden["id"]).json()
    sign_in(client, world.staff_a.email)
    url = f"/structures/{EHPAD}/reservations/{booking['id']}/annuler"
    here = "/structures/ehpad-les-tilleuls/agenda?semaine=2027-W14"
    # The agenda links to a confirmation page; nothing is cancelled by opening it.
    assert f'href="{url}?retour=' in client.get(here).text
    page = client.get(url, params={"retour": here})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Annuler cette réservation ?" in text
    assert "Jeanne Martin" in text and "mardi 6 avril 2027, 10 h 00" in text
    assert f'href="{here}">Non, revenir</a>' in text
    assert (
        client.get(f"/api/bookings/{booking['id']}", headers=world.neighbour.headers).json()[
            "status"
        ]
        == "confirmed"
    )
    response = client.post(
        url, data={"retour": here, "_csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == here
    assert (
        client.get(f"/api/bookings/{booking['id']}", headers=world.neighbour.headers).json()[
            "status"
        ]
        == "cancelled"
    )
    # Another structure's staff gets no confirmation page, and « retour » stays in the structure.
    sign_in(client, world.staff_b.email)
    assert client.get(url).status_code in (403, 404)


def test_the_way_back_never_leaves_the_structure(client, world):
    garden = open_garden(client, world)
    booking = book(client, world.neighbour, garden["id"]).json()
    sign_in(client, world.staff_a.email)
    url = f"/structures/{EHPAD}/reservations/{booking['id']}/annuler"
    for elsewhere in (
        "https://exemple.test/",
        "//exemple.test",
        "/structures/chrs-le-relais/tableau",
    ):
        page = client.get(url, params={"retour": elsewhere})
        assert f'href="/structures/{EHPAD}/tableau">Non, revenir</a>' in html.unescape(page.text)


def test_deleting_a_rule_or_a_closure_and_removing_a_member_ask_first(client, world):
    """Audit §8.11: each list links to a page saying what will go, holding the POST form."""
    garden = open_garden(client, world)
    rule = client.get(f"/api/assets/{garden['id']}/availability", headers=world.staff_a.headers)
    rule_id = rule.json()[0]["id"]
    response = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-05-01", "ends_on": "2027-05-01", "reason": "Fête du travail"},
        headers=world.staff_a.headers,
    )
    assert response.status_code == 201, response.text
    closure = response.json()["closure"]
    sign_in(client, world.manager_a.email)
    schedule = f"/structures/{EHPAD}/ressources/{garden['id']}/horaires"
    listing = client.get(schedule).text
    for kind, item_id, title, line in (
        ("regles", rule_id, "Supprimer cette règle d'ouverture ?", "Oui, supprimer la règle"),
        ("fermetures", closure["id"], "Supprimer cette fermeture ?", "Oui, supprimer la fermeture"),
    ):
        url = f"{schedule}/{kind}/{item_id}/supprimer"
        assert f'href="{url}"' in listing
        page = client.get(url)
        assert page.status_code == 200
        text = html.unescape(page.text)
        assert title in text and line in text and f'href="{schedule}">Non, revenir</a>' in text
        if kind == "fermetures":
            assert "samedi 1er mai 2027" in text or "samedi 1 mai 2027" in text
            assert "Fête du travail" in text
        else:
            assert "Jardin des Tilleuls" in text
        done = client.post(url, data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert done.status_code == 303
        assert client.get(url).status_code == 404  # gone: nothing left to confirm
    team = f"/structures/{EHPAD}/equipe"
    url = f"{team}/membres/{world.staff_a.id}/retirer"
    assert f'href="{url}"' in client.get(team).text
    page = client.get(url)
    assert "Retirer Lucas Moreau de l'équipe ?" in html.unescape(page.text)
    done = client.post(url, data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert "Lucas Moreau" not in client.get(team).text
    # Staff who are not managers get no confirmation page for the team.
    sign_in(client, world.kitchen_a.email)
    assert client.get(f"{team}/membres/{world.manager_a.id}/retirer").status_code == 403


def test_the_agenda_leads_to_booking_on_behalf_with_the_person_search(client, world):
    garden = open_garden(client, world)
    sign_in(client, world.staff_a.email)
    agenda = html.unescape(client.get(f"/structures/{EHPAD}/agenda?semaine=2027-W14").text)
    link = f'href="/ressources/{garden["id"]}#reserver"'
    assert link in agenda and "Réserver pour quelqu'un" in agenda
    # The asset page it leads to offers the person search to staff (slots open in April).
    with frozen(dt.datetime(2027, 4, 2, 8, 0, tzinfo=dt.UTC)):
        asset_page = client.get(f"/ressources/{garden['id']}").text
    assert 'name="person_q"' in asset_page
