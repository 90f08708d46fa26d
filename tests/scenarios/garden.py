"""The garden scenario: the EHPAD garden opened Tuesdays and Saturdays 09:00–12:00
(1-hour slots) from April to October 2027, with the clock on 15 March 2027."""

from __future__ import annotations

import datetime as dt
from typing import Any

MARCH_15 = dt.datetime(2027, 3, 15, 10, 0, tzinfo=dt.UTC)
GARDEN_RULE = {
    "weekdays": [2, 6],
    "start_time": "09:00",
    "end_time": "12:00",
    "valid_from": "2027-04-01",
    "valid_until": "2027-10-31",
    "slot_minutes": 60,
}
TUESDAY_10 = "2027-04-06T10:00:00+02:00"
TUESDAY_11 = "2027-04-06T11:00:00+02:00"


def open_garden(client: Any, world: Any, rule: dict[str, Any] = GARDEN_RULE) -> dict[str, Any]:
    """The garden's staff opens it by ``rule``; the garden's asset."""
    response = client.post(
        f"/api/assets/{world.garden['id']}/availability",
        json=rule,
        headers=world.staff_a.headers,
    )
    assert response.status_code == 201, response.text
    return world.garden


def book(client, person, asset_id, starts=TUESDAY_10, ends=TUESDAY_11, party_size=1, **extra):
    """POST /api/bookings as ``person``; the response (not checked)."""
    return client.post(
        "/api/bookings",
        json={
            "asset_id": asset_id,
            "starts_at": starts,
            "ends_at": ends,
            "party_size": party_size,
            **extra,
        },
        headers=person.headers,
    )
