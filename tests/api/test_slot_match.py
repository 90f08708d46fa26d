"""``CachedAsset.match`` finds a requested slot by a dict: it must answer exactly what
``match_slot`` answers over the same slots, for every kind of request (a slot as offered,
one in a closure, one cut off the grid, one outside the opening hours)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.conftest import run_db
from tests.scenarios.garden import MARCH_15, open_garden
from tierslieu.domain.bookings import match_slot
from tierslieu.domain.slots import Period
from tierslieu.errors import DomainError
from tierslieu.services import schedule_cache
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def _answer(find, requested):
    try:
        slot, closure = find(requested)
    except DomainError as refusal:
        return type(refusal).__name__
    return slot.starts_at, slot.ends_at, slot.capacity, closure


def test_the_dict_answers_every_request_as_match_slot_does(client, world, settings):
    garden = open_garden(client, world)
    closed = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-04-06", "ends_on": "2027-04-06", "reason": "plan canicule"},
        headers=world.staff_a.headers,
    )
    assert closed.status_code == 201
    schedule_cache.clear()

    async def load(session):
        return await schedule_cache.load(session, uuid.UUID(garden["id"]))

    entry = run_db(settings, load)
    first, last = dt.date(2027, 4, 5), dt.date(2027, 4, 11)  # closed Tuesday, open Saturday
    start = dt.datetime(2027, 4, 4, 22, 0, tzinfo=dt.UTC)
    answers: dict[str, int] = {}
    for quarter in range(0, 7 * 24 * 4):
        for minutes in (15, 30, 60, 90, 120):
            begins = start + dt.timedelta(minutes=15 * quarter)
            requested = Period(begins, begins + dt.timedelta(minutes=minutes))
            expected = _answer(
                lambda r: match_slot(r, entry.slots_with_closures(first, last)), requested
            )
            assert _answer(lambda r: entry.match(first, last, r), requested) == expected
            kind = expected if isinstance(expected, str) else "slot"
            answers[kind] = answers.get(kind, 0) + 1
    # The grid met every answer: slots offered, a closure, off the grid, outside the hours.
    assert set(answers) == {"slot", "AssetClosed", "NotSlotAligned", "OutsideOpeningHours"}
