"""Staff sheets: any day's sheet from the dashboard, a way back and a print button on every
sheet (audit §1 « Day sheet », S1 step 8), and controls that stay visible (audit §5.1)."""

from __future__ import annotations

import html
import re

import pytest

from tests.scenarios.garden import MARCH_15, book, open_garden
from tests.web.helpers import sign_in
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
