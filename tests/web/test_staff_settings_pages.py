"""What staff could only set through the API now has its page: an asset's booking conditions
(notice, horizon, approval, reminder), the structure's phone and address, and the reason a
person is told when staff decline or cancel their booking."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.conftest import run_db
from tests.scenarios.garden import MARCH_15, book, open_garden
from tests.web.helpers import post_form, sign_in
from tierslieu.models import OutboxMessage
from tierslieu.services.clock import frozen

EHPAD = "ehpad-les-tilleuls"


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def _words(response) -> str:
    """The page's text as read: tags removed, entities decoded, spaces joined."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def _asset(client, world, asset_id):
    return client.get(f"/api/assets/{asset_id}", headers=world.staff_a.headers).json()


def _told(settings, kind):
    async def read(session):
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        return [row.params for row in rows]

    return run_db(settings, read)


def test_staff_set_the_booking_conditions_of_an_asset_from_its_page(client, world):
    garden = open_garden(client, world)
    sign_in(client, world.staff_a.email)
    here = f"/structures/{EHPAD}/ressources/{garden['id']}/horaires"
    action = f"{here}/conditions"
    page = html.unescape(client.get(here).text)
    assert "Conditions de réservation" in page
    assert 'name="reminder_hours"' in page and 'name="requires_approval"' in page
    values = {
        "min_notice_minutes": "120",
        "max_advance_days": "30",
        "cancel_until_minutes": "60",
        "max_party_size": "4",
        "reminder_hours": "48",
        "requires_approval": "1",
        "waitlist": "1",
        "waitlist_max_length": "12",
    }
    saved = post_form(client, here, action, values)
    assert saved.status_code == 303, saved.text
    assert "Conditions de réservation enregistrées." in html.unescape(client.get(here).text)
    assert _asset(client, world, garden["id"])["rules"] == {
        "min_notice_minutes": 120,
        "max_advance_days": 30,
        "cancel_until_minutes": 60,
        "max_party_size": 4,
        "requires_approval": True,
        "reminder_hours": 48,
        "waitlist": True,
        "waitlist_max_length": 12,
    }
    # The page shows what is set; an unticked box (not sent by a browser) means « no ».
    assert 'name="max_party_size" type="number" value="4"' in client.get(here).text
    unticked = {k: v for k, v in values.items() if k not in ("requires_approval", "waitlist")}
    assert post_form(client, here, action, unticked).status_code == 303
    rules = _asset(client, world, garden["id"])["rules"]
    assert rules["requires_approval"] is False and rules["waitlist"] is False
    # A value out of bounds: the form again, with the field's message; nothing changed.
    refused = post_form(client, here, action, {**values, "reminder_hours": "500"})
    assert refused.status_code == 422
    assert 'id="f-reminder_hours-error"' in refused.text
    assert _asset(client, world, garden["id"])["rules"]["reminder_hours"] == 48


def test_a_neighbour_cannot_change_an_asset_s_conditions(client, world):
    garden = open_garden(client, world)
    sign_in(client, world.neighbour.email)
    page = client.get(f"/structures/{EHPAD}/ressources/{garden['id']}/horaires")
    assert page.status_code == 403
    before = _asset(client, world, garden["id"])["rules"]
    sign_in(client, world.staff_b.email)  # staff of another structure
    refused = post_form(
        client,
        "/",
        f"/structures/{EHPAD}/ressources/{garden['id']}/horaires/conditions",
        {"max_party_size": "50", "min_notice_minutes": "0", "max_advance_days": "366"},
    )
    assert refused.status_code in (403, 404)
    assert _asset(client, world, garden["id"])["rules"] == before


def test_the_manager_gives_the_structure_s_phone_which_the_asset_page_shows(client, world):
    sign_in(client, world.manager_a.email)
    here = f"/structures/{EHPAD}/equipe"
    action = f"{here}/coordonnees"
    facts = {"phone": "01 23 45 67 89", "address": "12 rue des Tilleuls", "postcode": "75011"}
    assert post_form(client, here, action, facts).status_code == 303
    assert "Coordonnées enregistrées." in html.unescape(client.get(here).text)
    asset_page = _words(client.get(f"/ressources/{world.garden['id']}"))
    assert "Pour réserver par téléphone : 01 23 45 67 89" in asset_page
    assert "12 rue des Tilleuls, 75011" in asset_page
    # A letter in the number: the form again, nothing changed.
    refused = post_form(client, here, action, {**facts, "phone": "appelez-nous"})
    assert refused.status_code == 422 and 'id="f-phone-error"' in refused.text
    # Emptied, the number is gone (no longer answered), not kept.
    assert post_form(client, here, action, {**facts, "phone": ""}).status_code == 303
    asset_page = _words(client.get(f"/ressources/{world.garden['id']}"))
    assert "Pour réserver par téléphone" not in asset_page
    # Staff (not managers) cannot change the structure's facts.
    sign_in(client, world.staff_a.email)
    denied = post_form(client, f"/structures/{EHPAD}/agenda", action, facts)
    assert denied.status_code == 403


def test_staff_decline_or_cancel_with_a_reason_the_person_reads(client, world, settings):
    garden = open_garden(client, world)
    client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"requires_approval": True}},
        headers=world.staff_a.headers,
    )
    request = book(client, world.neighbour, garden["id"]).json()
    sign_in(client, world.staff_a.email)
    agenda = client.get(f"/structures/{EHPAD}/agenda?semaine=2027-W14").text
    ask = f"/structures/{EHPAD}/reservations/{request['id']}/refuser"
    assert f'href="{ask}?retour=' in agenda  # « Refuser » asks first, with a reason
    page = html.unescape(client.get(ask).text)
    assert "Refuser cette demande ?" in page and "Motif, dit à la personne" in page
    declined = post_form(
        client,
        ask,
        f"/structures/{EHPAD}/reservations/{request['id']}/decision",
        {"approve": "0", "reason": "  Atelier réservé\r\nà l'EHPAD ce jour-là ", "retour": ""},
    )
    assert declined.status_code == 303
    status = client.get(f"/api/bookings/{request['id']}", headers=world.neighbour.headers)
    assert status.json()["status"] == "declined"
    [told] = _told(settings, "booking-declined")
    assert told["reason"] == "Atelier réservé\nà l'EHPAD ce jour-là"

    other = book(client, world.neighbour, garden["id"], starts="2027-04-10T10:00:00+02:00",
                 ends="2027-04-10T11:00:00+02:00").json()  # fmt: skip
    ask = f"/structures/{EHPAD}/reservations/{other['id']}/annuler"
    cancel = f"/structures/{EHPAD}/reservations/{other['id']}/annuler"
    too_long = post_form(client, ask, cancel, {"reason": "x" * 301})
    assert too_long.status_code == 303  # back to the page, with the message; nothing done
    assert client.get(f"/api/bookings/{other['id']}", headers=world.neighbour.headers).json()[
        "status"
    ] in ("pending", "confirmed")
    assert post_form(client, ask, cancel, {"reason": "Orage annoncé"}).status_code == 303
    [cancelled] = _told(settings, "booking-cancelled")
    assert cancelled["reason"] == "Orage annoncé"
