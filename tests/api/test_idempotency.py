"""Idempotency-Key on POST /api/bookings: retries never book twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from tests.conftest import register, run_db, unique_email
from tests.scenarios.garden import MARCH_15
from tierslieu.models import IdempotencyKey
from tierslieu.services import idempotency
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world):
    rule = {
        "weekdays": [2, 6],
        "start_time": "09:00",
        "end_time": "12:00",
        "valid_from": "2027-04-01",
        "slot_minutes": 60,
    }
    assert (
        client.post(
            f"/api/assets/{world.garden['id']}/availability",
            json=rule,
            headers=world.staff_a.headers,
        ).status_code
        == 201
    )
    return world.garden


def body(asset_id, party_size=2, hour=10):
    return json.dumps(
        {
            "asset_id": asset_id,
            "starts_at": f"2027-04-06T{hour}:00:00+02:00",
            "ends_at": f"2027-04-06T{hour + 1}:00:00+02:00",
            "party_size": party_size,
        }
    ).encode()


def post(client, person, content, key):
    headers = {**person.headers, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/bookings", content=content, headers=headers)


def remaining(client, garden):
    slots = client.get(
        f"/api/assets/{garden['id']}/slots", params={"from": "2027-04-06", "to": "2027-04-06"}
    )
    return [s["remaining"] for s in slots.json()]


def test_a_retry_returns_the_stored_response_without_booking_twice(client, world, garden):
    first = post(client, world.neighbour, body(garden["id"]), "resa-2027-04-06-a")
    assert first.status_code == 201
    retry = post(client, world.neighbour, body(garden["id"]), "resa-2027-04-06-a")
    assert retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert remaining(client, garden) == [8, 6, 8]
    assert len(client.get("/api/bookings", headers=world.neighbour.headers).json()) == 1


def test_same_key_other_body_is_422_and_keys_are_per_caller(client, world, garden):
    assert post(client, world.neighbour, body(garden["id"]), "cle-1").status_code == 201
    other_body = post(client, world.neighbour, body(garden["id"], party_size=3), "cle-1")
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency-key-reused"
    someone_else = register(client, unique_email(), "neighbour")
    theirs = post(client, someone_else, body(garden["id"]), "cle-1")
    assert theirs.status_code == 201 and theirs.json()["id"] != other_body.json().get("id")
    assert remaining(client, garden) == [8, 4, 8]


def test_a_refused_request_stores_nothing_and_can_be_retried(client, world, garden):
    big = register(client, unique_email("famille"), "neighbour")
    client.patch(
        f"/api/assets/{garden['id']}",
        json={"rules": {"max_party_size": 8}},
        headers=world.staff_a.headers,
    )
    blocker = post(client, big, body(garden["id"], party_size=8), None)
    assert blocker.status_code == 201
    full = post(client, world.neighbour, body(garden["id"]), "essai-1")
    assert full.status_code == 409 and full.json()["code"] == "slot-full"
    client.post(f"/api/bookings/{blocker.json()['id']}/cancel", headers=big.headers)
    again = post(client, world.neighbour, body(garden["id"]), "essai-1")
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers


def test_while_the_first_request_runs_a_retry_gets_409(client, world, garden, settings):
    content = body(garden["id"])
    neighbour_id = world.neighbour.id

    async def claim(session):
        import uuid

        session.add(
            IdempotencyKey(
                user_id=uuid.UUID(neighbour_id),
                key="en-cours",
                fingerprint=idempotency.fingerprint("POST", "/api/bookings", content),
                state="running",
                expires_at=MARCH_15 + dt.timedelta(hours=24),
                created_at=MARCH_15,
                updated_at=MARCH_15,
            )
        )
        await session.commit()

    run_db(settings, claim)
    busy = post(client, world.neighbour, content, "en-cours")
    assert busy.status_code == 409 and busy.json()["code"] == "request-in-progress"
    assert busy.headers["retry-after"] == "1"
    assert remaining(client, garden) == [8, 8, 8]
    # A claim abandoned by a dead process is taken over after a while.
    with frozen(MARCH_15 + dt.timedelta(minutes=5)):
        assert post(client, world.neighbour, content, "en-cours").status_code == 201


def test_keys_expire_after_24_hours(client, world, garden):
    assert (
        post(client, world.neighbour, body(garden["id"], party_size=1), "quotidien").status_code
        == 201
    )
    with frozen(MARCH_15 + dt.timedelta(hours=25)):
        again = post(client, world.neighbour, body(garden["id"], party_size=1), "quotidien")
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert remaining(client, garden) == [8, 6, 8]


def test_malformed_keys_are_refused(client, world, garden):
    for key in ("x" * 256, "avec espace", "tab\tulation"):
        response = post(client, world.neighbour, body(garden["id"]), key)
        assert response.status_code == 400, key
    assert remaining(client, garden) == [8, 8, 8]


def test_concurrent_retries_with_one_key_book_once(settings, tmp_path):
    """Ten copies of one request at once, same key: one booking, the rest replay or 409."""
    import httpx

    from tests.server_process import running_server

    with running_server(settings, log_path=tmp_path / "server.log") as base:
        from tests.integration.test_booking_concurrency import PARIS, _day_ahead, _setup

        world = _setup(base, settings, people=1)
        day = _day_ahead(5)
        content = json.dumps(
            {
                "asset_id": world["garden"]["id"],
                "party_size": 1,
                "starts_at": dt.datetime.combine(day, dt.time(9), tzinfo=PARIS).isoformat(),
                "ends_at": dt.datetime.combine(day, dt.time(10), tzinfo=PARIS).isoformat(),
            }
        )
        headers = {
            **world["neighbours"][0],
            "Content-Type": "application/json",
            "Idempotency-Key": "meme-cle",
        }

        async def storm():
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                return await asyncio.gather(
                    *(c.post("/api/bookings", content=content, headers=headers) for _ in range(10))
                )

        answers = asyncio.run(storm())
        assert {r.status_code for r in answers} <= {201, 409}
        created = {r.json()["id"] for r in answers if r.status_code == 201}
        assert len(created) == 1
        mine = httpx.get(f"{base}/api/bookings", headers=world["neighbours"][0]).json()
        assert len(mine) == 1
