"""The booking form of a room: a time skipped by the spring change is said beside the field."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.scenarios.room import open_room
from tests.web.helpers import post_form, sign_in
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    """A week before the spring change (people sign in then, too)."""
    with frozen(dt.datetime(2027, 3, 20, 8, 0, tzinfo=dt.UTC)):
        yield


def test_a_room_booked_in_the_missing_hour_is_refused_beside_the_start(client, world):
    room = open_room(
        client,
        world,
        {
            "weekdays": [7],
            "start_time": "00:00",
            "end_time": "06:00",
            "valid_from": "2027-03-01",
        },
    )
    sign_in(client, world.professional.email)
    url = f"/ressources/{room['id']}"
    fields = {"day": "2027-03-28", "start": "02:30", "end": "04:00", "party_size": "2"}
    refused = post_form(client, url, f"{url}/reserver", fields)
    assert refused.status_code == 422, (refused.headers.get("location"), refused.text[:300])
    assert 'aria-describedby="f-start-error' in refused.text
    assert "Cette heure n" in refused.text  # n'existe pas ce jour-là (changement d'heure)
    booked = post_form(client, url, f"{url}/reserver", {**fields, "start": "03:00"})
    assert booked.status_code == 303, booked.text
