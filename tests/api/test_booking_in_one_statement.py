"""A person booking a shared slot for themself is written in one statement
(``services/booking_sql.py``): what the checks assumed (not staff, under the limit of
bookings to come, the rules as cached) is checked again in that statement, and a refusal
writes nothing: no places taken, no booking, no message."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select, text

from tests.conftest import STRUCTURE_A, add_member, register, run_db, unique_email
from tests.db_lock import database_locked
from tests.scenarios.garden import MARCH_15, book, open_garden
from tierslieu.models import Booking, OutboxMessage
from tierslieu.services.clock import frozen

EVERY_DAY = {
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "start_time": "09:00",
    "end_time": "12:00",
    "valid_from": "2027-04-01",
    "valid_until": "2027-10-31",
    "slot_minutes": 60,
}
PARIS = dt.timezone(dt.timedelta(hours=2))  # April 2027, summer time


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def slot(n: int) -> tuple[str, str]:
    """The n-th slot from 1 April 2027 09:00 (three a day)."""
    start = dt.datetime(2027, 4, 1 + n // 3, 9 + n % 3, tzinfo=PARIS)
    return start.isoformat(), (start + dt.timedelta(hours=1)).isoformat()


def counts(settings) -> tuple[int, int]:
    """(bookings, « confirmed » messages) in the database."""

    async def read(session):
        bookings = await session.scalar(select(func.count()).select_from(Booking))
        told = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "booking-confirmed")
        )
        return bookings, told

    return run_db(settings, read)


def as_stored(settings, value: str) -> uuid.UUID | bytes:
    """A UUID as another process writes it with plain SQL."""
    return uuid.UUID(value) if "postgresql" in settings.database_url else uuid.UUID(value).bytes


def places_left(client, garden: str, start: str) -> int:
    day = start[:10]
    slots = client.get(f"/api/assets/{garden}/slots", params={"from": day, "to": day}).json()
    return next(s["remaining"] for s in slots if s["starts_at"] == start)


def test_the_limit_of_bookings_to_come_is_checked_by_the_write(settings, client, world):
    garden = open_garden(client, world, EVERY_DAY)["id"]
    for n in range(20):
        assert book(client, world.neighbour, garden, *slot(n)).status_code == 201
    assert counts(settings) == (20, 20)

    refused = book(client, world.neighbour, garden, *slot(20))
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "too-many-bookings"
    assert counts(settings) == (20, 20)  # nothing written, nobody told
    assert places_left(client, garden, slot(20)[0]) == 8
    # Someone else still books that slot.
    other = register(client, unique_email("voisine"))
    assert book(client, other, garden, *slot(20)).status_code == 201


def test_a_full_slot_is_refused_with_what_is_left_and_nothing_written(settings, client, world):
    garden = open_garden(client, world, EVERY_DAY)["id"]
    start, end = slot(0)
    for size in (4, 2):  # the garden's 8 places, at most 4 a booking
        other = register(client, unique_email("voisine"))
        assert book(client, other, garden, start, end, party_size=size).status_code == 201

    refused = book(client, world.neighbour, garden, start, end, party_size=3)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "slot-full"
    assert refused.json()["remaining"] == 2
    assert counts(settings) == (2, 2)
    assert places_left(client, garden, start) == 2

    assert book(client, world.neighbour, garden, start, end, party_size=2).status_code == 201
    assert places_left(client, garden, start) == 0
    assert counts(settings) == (3, 3)


def test_staff_booking_as_anyone_would_must_still_name_the_person(settings, client, world):
    """The write checks the caller is not staff of the structure: a staff member's request
    that passes every check made for the public is still staff's (name the person)."""
    garden = open_garden(client, world, EVERY_DAY)["id"]
    helper = register(client, unique_email("benevole"))  # a neighbour, in the garden's public
    add_member(client, world.manager_a, STRUCTURE_A["slug"], helper, "staff")
    assert book(client, world.neighbour, garden, *slot(0)).status_code == 201  # rules cached

    refused = book(client, helper, garden, *slot(1))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "person-required"
    assert counts(settings) == (1, 1)
    assert places_left(client, garden, slot(1)[0]) == 8


def test_a_role_granted_elsewhere_counts_in_the_same_write(settings, client, world):
    """Granted by another process after this one cached the rules: the schedule version
    moved (membership is part of it), the write refuses, the general way sees staff."""
    garden = open_garden(client, world, EVERY_DAY)["id"]
    assert book(client, world.neighbour, garden, *slot(0)).status_code == 201

    async def granted(session):
        await session.execute(
            text(
                "INSERT INTO membership (id, structure_id, user_id, role, created_at, "
                "updated_at) SELECT :id, structure_id, :user, 'staff', :now, :now "
                "FROM asset WHERE id = :asset"
            ),
            {
                "id": as_stored(settings, str(uuid.uuid4())),
                "user": as_stored(settings, world.neighbour.id),
                "asset": as_stored(settings, garden),
                "now": MARCH_15,
            },
        )
        await session.commit()

    run_db(settings, granted)
    refused = book(client, world.neighbour, garden, *slot(1))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "person-required"
    assert counts(settings) == (1, 1)
    assert places_left(client, garden, slot(1)[0]) == 8


def test_a_closure_made_elsewhere_is_seen_by_the_write(settings, client, world):
    """This process cached the garden's rules; another one closes a day with plain SQL.
    The write runs under the cached schedule version only: it refuses, and the general
    way reloads the rules and explains."""
    garden = open_garden(client, world, EVERY_DAY)["id"]
    assert book(client, world.neighbour, garden, *slot(0)).status_code == 201  # rules cached

    async def closed(session):
        await session.execute(
            text(
                "INSERT INTO closure (id, asset_id, starts_at, ends_at, reason, created_at, "
                "updated_at) VALUES (:id, :asset, :starts, :ends, 'travaux', :now, :now)"
            ),
            {
                "id": as_stored(settings, str(uuid.uuid4())),
                "asset": as_stored(settings, garden),
                "starts": dt.datetime(2027, 4, 2, 0, 0, tzinfo=dt.UTC),
                "ends": dt.datetime(2027, 4, 3, 0, 0, tzinfo=dt.UTC),
                "now": MARCH_15,
            },
        )
        await session.commit()

    run_db(settings, closed)
    refused = book(client, world.neighbour, garden, *slot(3))  # 2 April, 09:00
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "asset-closed"
    assert counts(settings) == (1, 1)


def test_a_token_ended_elsewhere_books_nothing(settings, client, world):
    """The token is read with the write's first statement, not from any cache: signed
    out (here, or by another worker), the next booking is a 401 and writes nothing."""
    garden = open_garden(client, world, EVERY_DAY)["id"]
    person = register(client, unique_email("voisine"))
    assert book(client, person, garden, *slot(0)).status_code == 201  # rules cached
    assert client.post("/api/auth/logout", headers=person.headers).status_code == 204

    refused = book(client, person, garden, *slot(1))
    assert refused.status_code == 401, refused.text
    assert counts(settings) == (1, 1)
    assert places_left(client, garden, slot(1)[0]) == 8


def test_a_booking_waits_for_a_write_lock_held_elsewhere_then_is_written(settings, client, world):
    """Another process holds the database's write lock: the booking waits for it (on SQLite
    in the connection's thread: the loop answers meanwhile), then writes its places, its
    booking and its message, once."""
    garden = open_garden(client, world, EVERY_DAY)["id"]
    start, end = slot(0)
    assert book(client, world.neighbour, garden, *slot(1)).status_code == 201
    other = register(client, unique_email("voisine"))
    answers = []
    with database_locked(settings, writes_only=True):
        waiting = threading.Thread(
            target=lambda: answers.append(book(client, other, garden, start, end, party_size=2))
        )
        waiting.start()
        time.sleep(0.5)
        assert answers == []  # still waiting for the lock
        assert client.get("/livez").status_code == 200
    waiting.join(30)
    assert answers[0].status_code == 201, answers[0].text
    assert counts(settings) == (2, 2)
    assert places_left(client, garden, start) == 6
