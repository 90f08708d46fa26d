"""Security review 2026-11, D1 and D11: the date horizon and inputs that used to crash (500).

Each test replays a reproduction of the review; every answer must be a 4xx problem.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from tests.conftest import STRUCTURE_A, unique_email
from tests.web.helpers import csrf_of, post_form, sign_in

EXTREME_DAYS = ["9999-12-31", "0001-01-01"]
SLUG = STRUCTURE_A["slug"]


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


# --- D11: bodies the JSON decoder cannot take ------------------------------------------------


def test_a_json_body_that_is_not_utf8_is_a_400_and_creates_nothing(client):
    email = unique_email("utf")
    body = (
        b'{"email":"' + email.encode() + b'","password":"Longenough-1",'
        b'"display_name":"a\xff\xfeb","kind":"neighbour"}'
    )
    response = client.post(
        "/api/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "malformed-body")
    login = client.post("/api/auth/login", json={"email": email, "password": "Longenough-1"})
    assert login.status_code == 401


@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
def test_deeply_nested_json_is_a_400(client, depth):
    nested = b"[" * depth + b"]" * depth
    body = b'{"email":"x@exemple.test","password":"x","x":' + nested + b"}"
    response = client.post(
        "/api/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "malformed-body")


def test_fifty_thousand_nested_objects_are_a_400(client):
    body = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    response = client.post(
        "/api/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "malformed-body")


def test_a_nul_byte_in_a_static_path_is_a_404(client):
    assert_problem(client.get("/static/site.css%00.png"), 404, "not-found")
    assert client.get("/static/site.css").status_code == 200


# --- D11 and D1: extreme dates on every date input, staff included ----------------------------


@pytest.mark.parametrize("day", EXTREME_DAYS)
def test_extreme_dates_on_public_slots_are_422(client, world, day):
    response = client.get(
        f"/api/assets/{world.garden['id']}/slots",
        params={"from": day, "to": day},
        headers={"Accept-Language": "en"},
    )
    body = assert_problem(response, 422, "date-out-of-range")
    assert body["errors"][0]["field"] == "from"
    assert "1 January 2000" in body["detail"]  # a date as the reader writes it


@pytest.mark.parametrize("day", EXTREME_DAYS)
def test_extreme_dates_on_staff_listings_are_422(client, world, day):
    staff = world.staff_a.headers
    garden = world.garden["id"]
    assert_problem(
        client.get(f"/api/assets/{garden}/day-sheet", params={"date": day}, headers=staff),
        422,
        "date-out-of-range",
    )
    assert_problem(
        client.get(
            f"/api/assets/{garden}/day-sheet", params={"date": day, "format": "csv"}, headers=staff
        ),
        422,
        "date-out-of-range",
    )
    for params in ({"from": day, "to": day}, {"from": day}, {"to": day}):
        assert_problem(
            client.get(f"/api/structures/{SLUG}/bookings", params=params, headers=staff),
            422,
            "date-out-of-range",
        )
    assert_problem(
        client.get("/api/meal-services", params={"from": day, "to": day}),
        422,
        "date-out-of-range",
    )


@pytest.mark.parametrize("day", EXTREME_DAYS)
def test_extreme_dates_on_closures_and_rules_are_422_and_change_nothing(client, world, day):
    staff = world.staff_a.headers
    url = f"/api/assets/{world.garden['id']}"
    assert_problem(
        client.post(f"{url}/closures", json={"starts_on": day, "ends_on": day}, headers=staff),
        422,
        "date-out-of-range",
    )
    assert_problem(
        client.post(
            f"{url}/closures",
            json={"starts_at": f"{day}T09:00:00+01:00", "ends_at": f"{day}T10:00:00+01:00"},
            headers=staff,
        ),
        422,
        "date-out-of-range",
    )
    rule = {"weekdays": [2], "start_time": "09:00", "end_time": "12:00", "valid_from": day}
    assert_problem(
        client.post(f"{url}/availability", json=rule, headers=staff), 422, "date-out-of-range"
    )
    assert client.get(f"{url}/closures", headers=staff).json() == []
    assert client.get(f"{url}/availability", headers=staff).json() == []


@pytest.mark.parametrize("moment", ["2099-12-22T09:00:00+01:00", "9999-12-28T09:00:00+01:00"])
def test_a_far_future_staff_booking_is_refused(client, world, moment):
    """D1: staff skip the booking window, never the date horizon."""
    end = moment.replace("T09:00", "T10:00")
    response = client.post(
        "/api/bookings",
        json={
            "asset_id": world.garden["id"],
            "starts_at": moment,
            "ends_at": end,
            "guest": {"name": "future"},
        },
        headers=world.manager_a.headers,
    )
    body = assert_problem(response, 422, "date-out-of-range")
    assert body["errors"][0]["field"] == "starts_at"
    assert (
        client.get(f"/api/structures/{SLUG}/bookings", headers=world.manager_a.headers).json() == []
    )


def test_the_horizon_is_two_years_ahead(client, world):
    """A rule valid up to 2 years ahead is accepted; one day more is refused."""
    staff = world.staff_a.headers
    url = f"/api/assets/{world.garden['id']}/availability"
    today = dt.datetime.now(dt.UTC).date()
    rule = {"weekdays": [2], "start_time": "09:00", "end_time": "12:00"}
    ok = {**rule, "valid_from": "2000-01-01", "valid_until": str(today + dt.timedelta(days=730))}
    assert client.post(url, json=ok, headers=staff).status_code == 201
    late = {**rule, "valid_from": str(today), "valid_until": str(today + dt.timedelta(days=800))}
    assert_problem(client.post(url, json=late, headers=staff), 422, "date-out-of-range")
    early = {**rule, "valid_from": "1999-12-31"}
    assert_problem(client.post(url, json=early, headers=staff), 422, "date-out-of-range")


def test_a_meal_service_far_ahead_is_refused(client, world):
    canteen = client.post(
        f"/api/structures/{SLUG}/assets",
        json={
            "name": "Cantine",
            "kind": "canteen",
            "booking_mode": "shared",
            "capacity": 30,
            "audience": ["neighbours"],
        },
        headers=world.staff_a.headers,
    )
    assert canteen.status_code == 201, canteen.text
    menu = {
        "date": "9999-12-31",
        "order_cutoff": "9999-12-31T10:30:00",
        "pickup_windows": [
            {"starts_at": "9999-12-31T12:00:00", "ends_at": "9999-12-31T12:15:00", "capacity": 5}
        ],
        "items": [{"name": "Soupe", "kind": "main", "portions": 5}],
    }
    response = client.post(
        f"/api/assets/{canteen.json()['id']}/meal-services",
        json=menu,
        headers=world.kitchen_a.headers,
    )
    assert_problem(response, 422, "date-out-of-range")


@pytest.mark.parametrize("day", EXTREME_DAYS)
def test_the_web_day_sheet_refuses_extreme_dates_with_a_page(client, world, day):
    sign_in(client, world.staff_a.email)
    response = client.get(
        f"/structures/{SLUG}/ressources/{world.garden['id']}/feuille", params={"date": day}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")


def test_problem_texts_exist_in_both_languages(client, world):
    url = f"/api/assets/{world.garden['id']}/slots?from=9999-12-31&to=9999-12-31"
    fr = client.get(url).json()
    en = client.get(url, headers={"Accept-Language": "en"}).json()
    assert fr["title"] == "Date hors limites"
    assert en["title"] == "Date out of range"
    assert json.dumps(fr) != json.dumps(en)


@pytest.mark.parametrize("day", EXTREME_DAYS)
def test_web_forms_refuse_extreme_dates_and_store_nothing(client, world, day):
    """The staff forms (closure, rule) and the booking form give a 4xx page, never a 500."""
    sign_in(client, world.staff_a.email)
    garden = world.garden["id"]
    schedule = f"/structures/{SLUG}/ressources/{garden}/horaires"
    closure = post_form(
        client, schedule, f"{schedule}/fermetures", {"starts_on": day, "ends_on": day}
    )
    rule = post_form(
        client,
        schedule,
        f"{schedule}/regles",
        {"weekdays": "2", "start_time": "09:00", "end_time": "12:00", "valid_from": day},
    )
    booking = post_form(
        client,
        f"/ressources/{garden}",
        f"/ressources/{garden}/reserver",
        {"slot": f"{day}T10:00:00+01:00/{day}T11:00:00+01:00", "party_size": "1"},
    )
    for response in (closure, rule, booking):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("text/html")
    staff = world.staff_a.headers
    assert client.get(f"/api/assets/{garden}/closures", headers=staff).json() == []
    assert client.get(f"/api/assets/{garden}/availability", headers=staff).json() == []
    assert client.get(f"/api/structures/{SLUG}/bookings", headers=staff).json() == []


def test_the_web_import_refuses_the_secondly_calendar_quickly(client, world):
    """D2 through the web form: a refusal message (303), then a good file still imports."""
    sign_in(client, world.staff_a.email)
    garden = world.garden["id"]
    schedule = f"/structures/{SLUG}/ressources/{garden}/horaires"
    # A one-second event 20 days ago: seconds fixed at 00 and 01, so that start and end
    # always differ (taken from the clock, they were equal once a minute).
    minute = (dt.datetime.now(dt.UTC) - dt.timedelta(days=20)).strftime("%Y%m%dT%H%M")
    start, end = f"{minute}00Z", f"{minute}01Z"
    event = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:r@x\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        "{rule}SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    secondly = event.format(start=start, end=end, rule="RRULE:FREQ=SECONDLY\r\n").encode()
    holiday = event.format(start="20271225T090000Z", end="20271225T100000Z", rule="").encode()
    for data, expected in ((secondly, 0), (holiday, 1)):
        token = csrf_of(client.get(schedule).text)
        began = time.perf_counter()
        response = client.post(
            f"{schedule}/import",
            data={"_csrf_token": token},
            files={"file": ("c.ics", data, "text/calendar")},
            follow_redirects=False,
        )
        assert time.perf_counter() - began < 2
        assert response.status_code == 303, response.text
        closures = client.get(f"/api/assets/{garden}/closures", headers=world.staff_a.headers)
        assert len(closures.json()) == expected
