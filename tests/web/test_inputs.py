"""One input path for pages and API (issue 11): signed-in pages send a signed-out person to
the sign-in page (GET and POST alike), refused actions come back once on the page, and the
same invalid values through a form and through the API get the same refusal code."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from tests.api.canteen_fixtures import RELAIS
from tests.api.test_bookings import MARCH_15, TUESDAY_10, TUESDAY_11, book
from tests.conftest import PASSWORD
from tests.scenarios.garden import open_garden
from tests.web.helpers import csrf_of, post_form, sign_in
from tierslieu.services.clock import frozen

APRIL_1 = dt.datetime(2027, 4, 1, 8, 0, tzinfo=dt.UTC)
SLUG = "ehpad-les-tilleuls"


@pytest.fixture
def march_15():
    """The garden scenario's clock (the accounts are made then: their tokens still hold)."""
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(march_15, client, world):
    return open_garden(client, world)


def _refusal(response) -> tuple[int, str]:
    body = response.json()
    return response.status_code, body["code"]


# --- signed in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/mon-compte"),
        ("GET", "/mes-reservations"),
        ("GET", f"/structures/{SLUG}/tableau"),
        ("GET", f"/structures/{SLUG}/equipe"),
        ("GET", f"/structures/{SLUG}/bilan"),
        ("POST", "/mes-reservations/abonnement"),
        ("POST", f"/structures/{SLUG}/calendrier-equipe"),
        ("POST", f"/structures/{SLUG}/equipe/membres"),
    ],
)
def test_signed_in_pages_send_a_signed_out_person_to_the_sign_in_page(client, method, path):
    page = client.get("/connexion")  # the CSRF cookie and token a browser would have
    data = {"_csrf_token": csrf_of(page.text)} if method == "POST" else None
    response = client.request(method, path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"] == f"/connexion?next={quote(path)}"
    shown = client.get(response.headers["location"])
    assert "Connectez-vous pour continuer." in shown.text


def test_a_refused_action_comes_back_once_on_the_page(march_15, client, world, garden):
    """Cancelling someone else's booking: a 303 back, the refusal shown once, nothing done."""
    with frozen(APRIL_1):
        mine = book(client, world.neighbour, garden["id"])
        assert mine.status_code == 201, mine.text
        sign_in(client, world.professional.email)
        response = post_form(
            client,
            "/mes-reservations",
            f"/mes-reservations/{mine.json()['id']}/annuler",
            {"back": "/mes-reservations"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/mes-reservations"
        first = client.get("/mes-reservations")
        assert "flash-error" in first.text
        again = client.get("/mes-reservations")
        assert "flash-error" not in again.text
        still = client.get(f"/api/bookings/{mine.json()['id']}", headers=world.neighbour.headers)
        assert still.json()["status"] == "confirmed"


# --- the same values refused through both paths ---------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("weekdays", "8"),
        ("start_time", "9h"),
        ("start_time", "24:00"),
        ("valid_from", "2027-02-30"),
        ("slot_minutes", "4"),
        ("slot_minutes", "1441"),
        ("capacity", "0"),
        ("capacity", "10001"),
        ("capacity", "dix"),
    ],
)
def test_opening_rule_is_refused_like_the_api(client, world, field, value):
    garden = world.garden["id"]
    rule = {"weekdays": "2", "start_time": "09:00", "end_time": "12:00", "valid_from": "2027-04-01"}
    api_body = {**rule, "weekdays": [2], field: value}
    if field == "weekdays":
        api_body["weekdays"] = [int(value)]
    api = client.post(
        f"/api/assets/{garden}/availability", json=api_body, headers=world.staff_a.headers
    )
    assert api.status_code == 422, api.text
    assert api.json()["code"] == "validation-error"
    sign_in(client, world.staff_a.email)
    schedule = f"/structures/{SLUG}/ressources/{garden}/horaires"
    web = post_form(client, schedule, f"{schedule}/regles", {**rule, field: value})
    assert web.status_code == 422, web.text[:300]
    assert api.json()["title"] in web.text
    assert (
        client.get(f"/api/assets/{garden}/availability", headers=world.staff_a.headers).json() == []
    )


@pytest.mark.parametrize("party_size", ["0", "501", "deux"])
def test_party_size_is_refused_like_the_api(march_15, client, world, garden, party_size):
    with frozen(APRIL_1):
        api = client.post(
            "/api/bookings",
            json={
                "asset_id": garden["id"],
                "starts_at": TUESDAY_10,
                "ends_at": TUESDAY_11,
                "party_size": party_size,
            },
            headers=world.staff_a.headers,
        )
        assert _refusal(api) == (422, "validation-error")
        sign_in(client, world.staff_a.email)
        web = post_form(
            client,
            f"/ressources/{garden['id']}",
            f"/ressources/{garden['id']}/reserver",
            {"slot": f"{TUESDAY_10}/{TUESDAY_11}", "party_size": party_size},
        )
        assert web.status_code == 422, web.text[:300]
        assert api.json()["title"] in web.text


def test_attendance_status_is_refused_like_the_api(march_15, client, world, garden):
    with frozen(APRIL_1):
        booking = book(client, world.neighbour, garden["id"]).json()
        api = client.post(
            f"/api/bookings/{booking['id']}/attendance",
            json={"status": "present"},
            headers=world.staff_a.headers,
        )
        assert _refusal(api) == (422, "validation-error")
        sign_in(client, world.staff_a.email)
        web = post_form(
            client,
            f"/structures/{SLUG}/tableau",
            f"/structures/{SLUG}/reservations/{booking['id']}/presence",
            {"status": "present"},
        )
        assert web.status_code == 303
        shown = client.get(web.headers["location"])
        assert api.json()["title"] in shown.text


def test_member_role_is_refused_like_the_api(client, world):
    slug = "chrs-le-relais"
    api = client.put(
        f"/api/structures/{slug}/members",
        json={"email": world.neighbour.email, "role": "boss"},
        headers=world.manager_b.headers,
    )
    assert _refusal(api) == (422, "validation-error")
    sign_in(client, world.manager_b.email)
    web = post_form(
        client,
        f"/structures/{slug}/equipe/",
        f"/structures/{slug}/equipe/membres",
        {"email": world.neighbour.email, "role": "boss"},
    )
    assert web.status_code == 422
    assert api.json()["title"] in web.text


def test_delete_account_password_is_never_cut_short(client, world):
    """The page once kept the first 200 characters of the password; the API refuses 201."""
    long = PASSWORD + "x" * (201 - len(PASSWORD))
    api = client.request(
        "DELETE", "/api/me", json={"password": long}, headers=world.neighbour.headers
    )
    assert _refusal(api) == (422, "validation-error")
    sign_in(client, world.neighbour.email)
    web = post_form(client, "/mon-compte/supprimer", "/mon-compte/supprimer", {"password": long})
    assert web.status_code == 422
    assert api.json()["errors"][0]["message"] in web.text
    assert client.get("/api/me", headers=world.neighbour.headers).status_code == 200


@pytest.mark.parametrize("quantity", ["11", "-1", "un"])
def test_order_quantity_is_refused_like_the_api(client, relais, quantity):
    """The page accepted up to 20 of a dish while the API stopped at 10."""
    world = relais.world
    curry = relais.item("Curry")
    body = {
        **relais.order_body(("Curry", 1)),
        "lines": [{"item_id": curry["id"], "quantity": quantity}],
    }
    api = client.post("/api/meal-orders", json=body, headers=world.professional.headers)
    assert _refusal(api) == (422, "validation-error")
    sign_in(client, world.professional.email)
    canteen_page = f"/cantine/{relais.asset['id']}"
    web = post_form(
        client,
        canteen_page,
        f"{canteen_page}/commander",
        {
            "service_id": relais.service["id"],
            f"qty-{curry['id']}": quantity,
            "pickup_window_id": relais.window("12:15")["id"],
        },
    )
    assert web.status_code == 422, web.text[:300]
    assert api.json()["title"] in web.text
    assert client.get("/api/meal-orders", headers=world.professional.headers).json() == []


def test_kitchen_status_is_refused_like_the_api(client, relais):
    world = relais.world
    order = client.post(
        "/api/meal-orders", json=relais.order_body(("Curry", 1)), headers=world.professional.headers
    ).json()
    api = client.post(
        f"/api/meal-orders/{order['id']}/status",
        json={"status": "eaten"},
        headers=relais.chef.headers,
    )
    assert _refusal(api) == (422, "validation-error")
    sign_in(client, relais.chef.email)
    counter = f"/structures/{RELAIS}/cantine/{relais.asset['id']}"
    web = post_form(
        client, f"{counter}/", f"{counter}/commandes/{order['id']}", {"status": "eaten"}
    )
    assert web.status_code == 303
    assert api.json()["title"] in client.get(web.headers["location"]).text
