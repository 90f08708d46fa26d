"""One rule for wall-clock times without an offset, whichever form they are typed in:
a time skipped by the spring change is refused (422 on its field), a repeated autumn
time is its first occurrence (docs/decisions.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from tierslieu.services.clock import frozen

MARCH_15 = dt.datetime(2027, 3, 15, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def _refused_on(response, field):
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation-error"
    assert [e["field"] for e in problem["errors"]] == [field]
    return problem["errors"][0]


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [
        ("2027-03-28T02:30:00", "2027-03-28T04:00:00", "starts_at"),  # clocks go 02:00 → 03:00
        ("2027-03-28T01:00:00", "2027-03-28T02:00:00", "ends_at"),
    ],
)
def test_a_booking_at_a_time_that_does_not_exist_is_refused(client, world, starts, ends, field):
    response = client.post(
        "/api/bookings",
        json={"asset_id": world.garden["id"], "starts_at": starts, "ends_at": ends},
        headers=world.staff_a.headers,
    )
    error = _refused_on(response, field)
    english = client.post(
        "/api/bookings",
        json={"asset_id": world.garden["id"], "starts_at": starts, "ends_at": ends},
        headers={**world.staff_a.headers, "Accept-Language": "en"},
    )
    assert english.json()["errors"][0]["message"] != error["message"]  # translated, both


def test_a_closure_in_the_missing_hour_is_refused_and_the_repeated_hour_is_the_first(client, world):
    url = f"/api/assets/{world.garden['id']}/closures"
    gap = client.post(
        url,
        json={"starts_at": "2027-03-28T02:15:00", "ends_at": "2027-03-28T05:00:00"},
        headers=world.staff_a.headers,
    )
    _refused_on(gap, "starts_at")
    fold = client.post(
        url,
        json={"starts_at": "2027-10-31T02:30:00", "ends_at": "2027-10-31T04:00:00"},
        headers=world.staff_a.headers,
    )
    assert fold.status_code == 201, fold.text
    assert fold.json()["closure"]["starts_at"] == "2027-10-31T02:30:00+02:00"  # summer time
    assert fold.json()["closure"]["ends_at"] == "2027-10-31T04:00:00+01:00"
    with_offset = client.post(  # an instant with its offset is never refused
        url,
        json={"starts_at": "2027-03-28T01:30:00+00:00", "ends_at": "2027-03-28T05:00:00+02:00"},
        headers=world.staff_a.headers,
    )
    assert with_offset.status_code == 201, with_offset.text
    assert with_offset.json()["closure"]["starts_at"] == "2027-03-28T03:30:00+02:00"
