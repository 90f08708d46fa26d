"""Scenario 2 and the room storm, through a real server with real concurrent connections."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import PASSWORD, run_db
from tests.server_process import running_server
from tierslieu.models import Booking, SlotCounter
from tierslieu.services.accounts import create_admin

PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.slow


def _day_ahead(days: int) -> dt.date:
    return (dt.datetime.now(PARIS) + dt.timedelta(days=days)).date()


def _setup(base: str, settings, people: int) -> dict:
    """Admin, a structure, its staff, a garden open every day and a room; ``people`` neighbours."""
    run_db(
        settings,
        lambda s: create_admin(s, settings, email="admin@tierslieu.test", password=PASSWORD),
    )
    with httpx.Client(base_url=base, timeout=30) as c:

        def login(email):
            r = c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['token']}"}

        admin = login("admin@tierslieu.test")
        assert (
            c.post(
                "/api/structures",
                json={
                    "slug": "ehpad-les-tilleuls",
                    "name": "EHPAD Les Tilleuls",
                    "kind": "ehpad",
                    "commune": "Bondy",
                },
                headers=admin,
            ).status_code
            == 201
        )
        c.post(
            "/api/auth/register",
            json={
                "email": "sophie@les-tilleuls.test",
                "password": PASSWORD,
                "display_name": "Sophie",
                "kind": "professional",
            },
        )
        c.put(
            "/api/structures/ehpad-les-tilleuls/members",
            json={"email": "sophie@les-tilleuls.test", "role": "manager"},
            headers=admin,
        )
        staff = login("sophie@les-tilleuls.test")
        garden = c.post(
            "/api/structures/ehpad-les-tilleuls/assets",
            json={
                "name": "Jardin",
                "kind": "garden",
                "capacity": 8,
                "audience": ["neighbours"],
                "rules": {"max_party_size": 8},
            },
            headers=staff,
        ).json()
        room = c.post(
            "/api/structures/ehpad-les-tilleuls/assets",
            json={
                "name": "Salle",
                "kind": "room",
                "booking_mode": "exclusive",
                "capacity": 20,
                "audience": ["public"],
                "rules": {"max_party_size": 20},
            },
            headers=staff,
        ).json()
        rule = {
            "weekdays": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "09:00",
            "end_time": "12:00",
            "valid_from": dt.date.today().isoformat(),
            "slot_minutes": 60,
        }
        assert (
            c.post(f"/api/assets/{garden['id']}/availability", json=rule, headers=staff).status_code
            == 201
        )
        rule.pop("slot_minutes")
        assert (
            c.post(f"/api/assets/{room['id']}/availability", json=rule, headers=staff).status_code
            == 201
        )
        neighbours = []
        for i in range(people):
            email = f"voisin{i}-{uuid.uuid4().hex[:6]}@exemple.test"
            assert (
                c.post(
                    "/api/auth/register",
                    json={
                        "email": email,
                        "password": PASSWORD,
                        "display_name": f"Voisin {i}",
                        "kind": "neighbour",
                    },
                ).status_code
                == 202
            )
            neighbours.append(login(email))
    return {"staff": staff, "garden": garden, "room": room, "neighbours": neighbours}


async def _storm(base: str, requests: list[tuple[dict, dict]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post("/api/bookings", json=body, headers=headers)
                for headers, body in requests
            )
        )


@pytest.mark.parametrize("workers", [1, 2])
def test_fifty_neighbours_for_the_last_three_places(settings, tmp_path, workers):
    with running_server(settings, workers=workers, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, people=51)
        day = _day_ahead(7)
        slot = {
            "asset_id": world["garden"]["id"],
            "starts_at": dt.datetime.combine(day, dt.time(10), tzinfo=PARIS).isoformat(),
            "ends_at": dt.datetime.combine(day, dt.time(11), tzinfo=PARIS).isoformat(),
        }
        first = httpx.post(
            f"{base}/api/bookings",
            json={**slot, "party_size": 5},
            headers=world["neighbours"][50],
            timeout=30,
        )
        assert first.status_code == 201, first.text

        answers = asyncio.run(
            _storm(base, [(h, {**slot, "party_size": 1}) for h in world["neighbours"][:50]])
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses.count(201) == 3, statuses
        assert statuses.count(409) == 47, statuses
        assert all(r.json()["code"] == "slot-full" for r in answers if r.status_code == 409)

        async def _count(session):
            taken = await session.scalar(select(SlotCounter.taken))
            places = await session.scalar(
                select(func.sum(Booking.party_size)).where(Booking.status == "confirmed")
            )
            return taken, places

        assert run_db(settings, _count) == (8, 8)

        # Cancelling frees the place for the next request at once.
        winner = next(i for i, r in enumerate(answers) if r.status_code == 201)
        booking_id = answers[winner].json()["id"]
        cancel = httpx.post(
            f"{base}/api/bookings/{booking_id}/cancel",
            headers=world["neighbours"][winner],
            timeout=30,
        )
        assert cancel.status_code == 200
        loser = next(i for i, r in enumerate(answers) if r.status_code == 409)
        retry = httpx.post(
            f"{base}/api/bookings",
            json={**slot, "party_size": 1},
            headers=world["neighbours"][loser],
            timeout=30,
        )
        assert retry.status_code == 201
        assert run_db(settings, _count) == (8, 8)


@pytest.mark.parametrize("workers", [1, 2])
def test_thirty_overlapping_requests_for_a_free_room_interval(settings, tmp_path, workers):
    with running_server(settings, workers=workers, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, people=30)
        day = _day_ahead(3)
        requests = []
        for i, headers in enumerate(world["neighbours"]):
            start = dt.datetime.combine(day, dt.time(9), tzinfo=PARIS) + dt.timedelta(
                minutes=5 * (i % 12)
            )
            requests.append(
                (
                    headers,
                    {
                        "asset_id": world["room"]["id"],
                        "party_size": 4,
                        "starts_at": start.isoformat(),
                        "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
                    },
                )
            )
        answers = asyncio.run(_storm(base, requests))
        statuses = sorted(r.status_code for r in answers)
        assert statuses.count(201) == 1, statuses
        assert statuses.count(409) == 29, statuses

        async def _active(session):
            return await session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.status.in_(["pending", "confirmed"]))
            )

        assert run_db(settings, _active) == 1


@pytest.mark.postgres_only
def test_exclusion_constraint_refuses_overlap_even_bypassing_the_app(settings):
    async def _probe(session):
        found = await session.scalar(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ex_booking_no_overlap'"
            )
        )
        assert found is not None and "EXCLUDE USING gist" in found and "&&" in found
        await session.execute(
            text(
                "INSERT INTO structure (id, slug, name, kind, address, postcode, commune, timezone, description, "
                "closed_on_public_holidays, created_at, updated_at) VALUES "
                "(gen_random_uuid(), 's', 'S', 'other', '', '', 'Bondy', 'Europe/Paris', '', true, now(), now())"
            )
        )
        await session.execute(
            text(
                "INSERT INTO asset (id, structure_id, name, kind, booking_mode, capacity, audience, description, "
                "wheelchair, step_free, accessible_toilets, min_notice_minutes, max_advance_days, "
                "cancel_until_minutes, max_party_size, requires_approval, created_at, updated_at) "
                "SELECT '00000000-0000-0000-0000-0000000000aa', id, 'Salle', 'room', 'exclusive', 10, '[]', '', "
                "false, false, false, 0, 10, 0, 10, false, now(), now() FROM structure"
            )
        )
        insert = text(
            "INSERT INTO booking (id, asset_id, guest_name, starts_at, ends_at, party_size, note, status, "
            "exclusive, sequence, created_at, updated_at) VALUES (gen_random_uuid(), "
            "'00000000-0000-0000-0000-0000000000aa', 'X', :s, :e, 1, '', :status, true, 0, now(), now())"
        )
        await session.execute(
            insert,
            {
                "s": dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC),
                "e": dt.datetime(2030, 1, 1, 11, tzinfo=dt.UTC),
                "status": "confirmed",
            },
        )
        # Touching ends are fine (half-open ranges); cancelled rows never conflict.
        await session.execute(
            insert,
            {
                "s": dt.datetime(2030, 1, 1, 11, tzinfo=dt.UTC),
                "e": dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC),
                "status": "confirmed",
            },
        )
        await session.execute(
            insert,
            {
                "s": dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC),
                "e": dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC),
                "status": "cancelled",
            },
        )
        await session.commit()
        with pytest.raises(IntegrityError) as refused:
            await session.execute(
                insert,
                {
                    "s": dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC),
                    "e": dt.datetime(2030, 1, 1, 10, 30, tzinfo=dt.UTC),
                    "status": "pending",
                },
            )
        await session.rollback()
        return str(refused.value)

    message = run_db(settings, _probe)
    assert "ex_booking_no_overlap" in message
