"""Canteen pages through the TestClient: filters, prices per caller, closed ordering."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

from tests.browser.test_canteen_in_browser import tomorrow_menu
from tests.scenarios.relais import setup_relais_canteen
from tests.web.helpers import post_form, sign_in
from tierslieu.templating import long_date


def test_menu_filters_and_the_callers_price(client, world):
    _chef, asset, _service = setup_relais_canteen(client, world, tomorrow_menu())
    anonymous = client.get(f"/cantine/{asset['id']}")
    assert anonymous.status_code == 200
    assert "Falafels" in anonymous.text and "Votre prix" not in anonymous.text
    assert "Connectez-vous pour commander" in anonymous.text
    filtered = client.get(f"/cantine/{asset['id']}?sans=sesame&regime=vegetarian")
    assert "Curry de légumes" in filtered.text
    assert "Falafels" not in filtered.text and "Poulet basquaise" not in filtered.text
    sign_in(client, world.neighbour.email)
    mine = client.get(f"/cantine/{asset['id']}")
    assert "Votre prix : 6,00\xa0€ (tarif Habitant)" in mine.text


def test_order_without_a_window_is_refused_on_the_field(client, world):
    _chef, asset, service = setup_relais_canteen(client, world, tomorrow_menu())
    sign_in(client, world.professional.email)
    curry = next(i for i in service["items"] if i["name"].startswith("Curry"))
    response = post_form(
        client,
        f"/cantine/{asset['id']}",
        f"/cantine/{asset['id']}/commander",
        {"service_id": service["id"], f"qty-{curry['id']}": "1"},
    )
    assert response.status_code == 422
    assert 'aria-describedby="f-pickup_window_id-error"' in response.text
    # The summary at the top of the form links to that message, beside the field.
    assert '<a href="#f-pickup_window_id-error">' in response.text
    assert 'id="f-pickup_window_id-error"' in response.text
    assert client.get("/api/meal-orders", headers=world.professional.headers).json() == []


def test_kitchen_page_is_for_the_canteen_team_only(client, world):
    _chef, asset, _service = setup_relais_canteen(client, world, tomorrow_menu())
    sign_in(client, world.professional.email)
    page = client.get(f"/structures/chrs-le-relais/cantine/{asset['id']}/")
    assert page.status_code == 403


def test_manager_gives_a_person_the_solidarity_tariff(client, world):
    _chef, asset, _service = setup_relais_canteen(client, world, tomorrow_menu())
    sign_in(client, world.manager_b.email)
    unknown = post_form(
        client,
        "/structures/chrs-le-relais/equipe/",
        "/structures/chrs-le-relais/equipe/tarifs-personnes",
        {"email": "personne@exemple.test", "code": "solidaire"},
    )
    assert unknown.status_code == 422
    assert 'aria-describedby="f-assign-email-error"' in unknown.text
    done = post_form(
        client,
        "/structures/chrs-le-relais/equipe/",
        "/structures/chrs-le-relais/equipe/tarifs-personnes",
        {"email": world.professional.email, "code": "solidaire"},
    )
    assert done.status_code == 303
    assert "Karim Benali — Solidaire" in client.get("/structures/chrs-le-relais/equipe/").text
    sign_in(client, world.professional.email)
    menu = client.get(f"/cantine/{asset['id']}")
    assert "Votre prix : 1,00\xa0€ (tarif Solidaire)" in menu.text


def test_the_confirmation_says_what_to_pay_at_the_counter_and_when(client, world):
    """Audit S3 and §8.8–9: the amount (computed by the server), the pickup in words, the note."""
    _chef, asset, service = setup_relais_canteen(client, world, tomorrow_menu())
    sign_in(client, world.professional.email)
    curry = next(i for i in service["items"] if i["name"].startswith("Curry"))
    window = next(w for w in service["pickup_windows"] if w["starts_at"][11:16] == "12:15")
    response = post_form(
        client,
        f"/cantine/{asset['id']}",
        f"/cantine/{asset['id']}/commander",
        {
            "service_id": service["id"],
            f"qty-{curry['id']}": "1",
            "pickup_window_id": window["id"],
            "note": "Allergie aux arachides",
        },
    )
    assert response.status_code == 303
    page = html.unescape(client.get(response.headers["location"]).text)
    assert "À régler au comptoir : 9,50\xa0€" in page
    assert re.search(r"À retirer le \w+ \d+(er)? \w+ \d{4}, entre 12 h 15 et 12 h 30", page)
    assert "Allergie aux arachides" in page
    order = client.get("/api/meal-orders", headers=world.professional.headers).json()[0]
    assert order["note"] == "Allergie aux arachides"


def _menu_on(day):
    menu = tomorrow_menu()
    old = menu["date"]
    text = json.dumps(menu).replace(old, day.isoformat())
    return json.loads(text)


def test_the_canteen_shows_one_day_at_a_time_with_a_day_picker(client, world):
    """Audit §1 « Canteen » (11 screens on a phone) and §5.9 (a menu 7 days ahead missing)."""
    chef, asset, _service = setup_relais_canteen(client, world, tomorrow_menu())
    tomorrow = dt.date.fromisoformat(tomorrow_menu()["date"])
    later = tomorrow + dt.timedelta(days=8)
    later_menu = _menu_on(later)
    later_menu["items"][0]["name"] = "Lasagnes du jeudi suivant"
    response = client.post(
        f"/api/assets/{asset['id']}/meal-services", json=later_menu, headers=chef.headers
    )
    assert response.status_code == 201, response.text
    first = html.unescape(client.get(f"/cantine/{asset['id']}").text)
    assert "Curry de légumes" in first and "Lasagnes du jeudi suivant" not in first
    assert f'aria-current="page">{long_date(tomorrow)}</a>' in first
    assert f"?jour={later.isoformat()}" in first
    other = html.unescape(client.get(f"/cantine/{asset['id']}?jour={later.isoformat()}").text)
    assert "Lasagnes du jeudi suivant" in other and "Curry de légumes" not in other
    # Filters keep the day; a day without a menu shows the first one open to orders.
    filtered = client.get(f"/cantine/{asset['id']}?jour={later.isoformat()}&regime=vegetarian")
    assert f'name="jour" value="{later.isoformat()}"' in filtered.text
    nothing = html.unescape(client.get(f"/cantine/{asset['id']}?jour=2020-01-01").text)
    assert "Curry de légumes" in nothing
    assert client.get(f"/cantine/{asset['id']}?jour=demain").status_code == 400
