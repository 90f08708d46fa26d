"""Web forms accept exactly what the API accepts (review D10): the same invalid values sent
through the API and through the page get the same refusal, and nothing is stored."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import PASSWORD
from tests.scenarios.garden import MARCH_15, TUESDAY_10, TUESDAY_11, book, open_garden
from tests.web.helpers import post_form, sign_in
from tierslieu.services.clock import frozen

APRIL_1 = dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)
SLOT = f"{TUESDAY_10}/{TUESDAY_11}"


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world):
    return open_garden(client, world)


def day_sheet(client, world, garden):
    return client.get(
        f"/api/assets/{garden['id']}/day-sheet",
        params={"date": TUESDAY_10[:10], "format": "csv"},
        headers=world.staff_a.headers,
    ).text


# (guest name, guest phone, note): each breaks one rule of the API's BookingIn schema.
INVALID_BOOKINGS = [
    ("Mme Martin", '=HYPERLINK("http://e.t")', "", "guest.phone", "guest_phone"),
    ("Mme Martin", "01 48 00 00 01", "=1+1\x00nul", "note", None),
    ("Nul\x00Name", "", "", "guest.name", None),
    ("M" * 121, "", "", "guest.name", "guest_name"),
    ("Mme Martin", "0" * 31, "", "guest.phone", "guest_phone"),
    ("Mme Martin", "", "x" * 1001, "note", None),
]


@pytest.mark.parametrize(("name", "phone", "note", "api_field", "form_field"), INVALID_BOOKINGS)
def test_booking_on_behalf_is_refused_like_the_api(
    client, world, garden, name, phone, note, api_field, form_field
):
    with frozen(APRIL_1):
        guest = {"name": name, **({"phone": phone} if phone else {})}
        api = book(client, world.staff_a, garden["id"], guest=guest, note=note)
        assert api.status_code == 422, api.text
        problem = api.json()
        assert problem["code"] == "validation-error"
        assert [e["field"] for e in problem["errors"]] == [api_field]

        sign_in(client, world.staff_a.email)
        web = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {
                "slot": SLOT,
                "party_size": "1",
                "guest_name": name,
                "guest_phone": phone,
                "note": note,
            },
        )
        assert web.status_code == 422, web.text[:300]
        assert problem["title"] in web.text  # the same refusal, in the same words
        if form_field:
            assert f'id="f-{form_field}-error"' in web.text
            assert problem["errors"][0]["message"] in web.text
        # Nothing stored by either path: the day sheet is still empty.
        assert day_sheet(client, world, garden).count("\r\n") == 1


def test_a_valid_booking_on_behalf_still_works_on_both(client, world, garden):
    with frozen(APRIL_1):
        sign_in(client, world.staff_a.email)
        web = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"slot": SLOT, "party_size": "2", "guest_name": "Mme Martin",
             "guest_phone": "+33 (0)1 48.00-00 01", "note": "à 10 h"},
        )  # fmt: skip
        assert web.status_code == 303, web.text[:300]
        assert "Mme Martin;2;'+33 (0)1 48.00-00 01;confirmée;à 10 h" in day_sheet(
            client, world, garden
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("display_name", "Nul\x00Name"), ("display_name", "N" * 121), ("phone", "=1+1")],
)
def test_registration_is_refused_like_the_api(client, field, value):
    body = {
        "email": "nul@exemple.test",
        "password": PASSWORD,
        "display_name": "Nadège",
        "kind": "neighbour",
        field: value,
    }
    api = client.post("/api/auth/register", json=body)
    assert api.status_code == 422, api.text
    problem = api.json()
    assert problem["code"] == "validation-error"
    web = post_form(client, "/inscription", "/inscription", {**body, "next": ""})
    assert web.status_code == 422
    assert problem["title"] in web.text
    assert problem["errors"][0]["message"] in web.text
    # No account was created by either path.
    login = client.post("/api/auth/login", json={"email": "nul@exemple.test", "password": PASSWORD})
    assert login.status_code == 401


def test_closure_reason_is_refused_like_the_api(client, world, garden):
    for reason in ("Travaux\x00", "x" * 301):
        api = client.post(
            f"/api/assets/{garden['id']}/closures",
            json={"starts_on": "2027-05-01", "ends_on": "2027-05-01", "reason": reason},
            headers=world.staff_a.headers,
        )
        assert api.status_code == 422, api.text
        problem = api.json()
        assert [e["field"] for e in problem["errors"]] == ["reason"]
        sign_in(client, world.staff_a.email)
        schedule = f"/structures/ehpad-les-tilleuls/ressources/{garden['id']}/horaires"
        web = post_form(
            client,
            schedule,
            f"{schedule}/fermetures",
            {"starts_on": "2027-05-01", "ends_on": "", "reason": reason},
        )
        assert web.status_code == 422
        assert problem["errors"][0]["message"] in web.text
        listed = client.get(f"/api/assets/{garden['id']}/closures", headers=world.staff_a.headers)
        assert listed.json() == []
    web = post_form(
        client, schedule, f"{schedule}/fermetures", {"starts_on": "2027-05-01", "reason": "Fête"}
    )
    assert web.status_code == 303
    listed = client.get(f"/api/assets/{garden['id']}/closures", headers=world.staff_a.headers)
    assert [c["reason"] for c in listed.json()] == ["Fête"]


def test_tariff_label_is_refused_like_the_api(client, world):
    slug = "chrs-le-relais"
    api = client.put(
        f"/api/structures/{slug}/tariffs/solidaire",
        json={"label": "Solidaire\x00"},
        headers=world.manager_b.headers,
    )
    assert api.status_code == 422, api.text
    problem = api.json()
    sign_in(client, world.manager_b.email)
    web = post_form(
        client,
        f"/structures/{slug}/equipe",
        f"/structures/{slug}/equipe/tarifs",
        {"code": "solidaire", "label": "Solidaire\x00", "description": ""},
    )
    assert web.status_code == 422
    assert problem["errors"][0]["message"] in web.text
    assert client.get(f"/api/structures/{slug}/tariffs").json() == []
