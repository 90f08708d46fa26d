"""Wording a person notices: real plurals, the time left in words, one time format, the greeting."""

from __future__ import annotations

import datetime as dt

from tests.api.test_bookings import GARDEN_RULE
from tests.web.helpers import sign_in
from tierslieu.templating import time_of_day
from tierslieu.web.account import first_name
from tierslieu.web.canteen import _left


def test_the_directory_counts_with_a_real_plural(client, world):
    page = client.get("/")
    assert "1 ressource trouvée." in page.text
    assert "(s)" not in page.text
    client.get("/langue/en?next=/")
    assert "1 resource found." in client.get("/").text


def test_who_may_book_names_the_residents_structure(client, world):
    page = client.get(f"/ressources/{world.garden['id']}")
    assert "Public : habitants du quartier, résidents (EHPAD Les Tilleuls)" in page.text
    assert "Ouvert à" not in page.text


def test_the_time_left_to_order_is_said_in_words():
    assert _left(dt.timedelta(days=2, hours=12, minutes=40), "fr") == "2 jours et 12 heures"
    assert _left(dt.timedelta(days=1), "fr") == "1 jour"
    assert _left(dt.timedelta(hours=1, minutes=1), "fr") == "1 heure et 1 minute"
    assert _left(dt.timedelta(minutes=40), "fr") == "40 minutes"
    assert _left(dt.timedelta(days=2, hours=1), "en") == "2 days and 1 hour"


def test_opening_rules_use_the_pages_time_format(client, world):
    response = client.post(
        f"/api/assets/{world.garden['id']}/availability",
        json=GARDEN_RULE,
        headers=world.staff_a.headers,
    )
    assert response.status_code == 201, response.text
    sign_in(client, world.staff_a.email)
    page = client.get(f"/structures/ehpad-les-tilleuls/ressources/{world.garden['id']}/horaires")
    assert '>9 h 00</td><td data-label="Fin">12 h 00</td>' in page.text
    assert "09:00" not in page.text
    assert "Durée d&#39;un créneau (en minutes)" in page.text
    assert time_of_day(dt.time(9, 0), "en") == "09:00"


def test_the_greeting_uses_the_first_name_with_a_comma(client, world):
    sign_in(client, world.manager_a.email)
    assert "Bienvenue, Sophie !" in client.get("/").text
    assert first_name("Mme Martin") == "Mme Martin"
    assert first_name("Cuisine") == "Cuisine"
