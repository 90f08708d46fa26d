"""Fair use under a storm: one person sends ten bookings at once, on ten different slots of
an asset that allows three to come. Through a real server with real concurrent connections
(and two worker processes): exactly three are booked, whatever the interleaving."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import run_db
from tests.integration.test_booking_concurrency import PARIS, _day_ahead, _setup, _storm
from tests.server_process import running_server
from tierslieu.models import Booking

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", [1, 2])
def test_ten_at_once_against_three_to_come(settings, tmp_path, workers):
    with running_server(settings, workers=workers, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, people=1)
        garden = world["garden"]
        changed = httpx.patch(
            f"{base}/api/assets/{garden['id']}",
            json={"quotas": {"upcoming": 3}},
            headers=world["staff"],
            timeout=30,
        )
        assert changed.status_code == 200, changed.text
        slots = [
            (day, hour) for day in (_day_ahead(d) for d in range(3, 7)) for hour in (9, 10, 11)
        ][:10]
        person = world["neighbours"][0]
        requests = [
            (
                person,
                {
                    "asset_id": garden["id"],
                    "starts_at": dt.datetime.combine(day, dt.time(h), tzinfo=PARIS).isoformat(),
                    "ends_at": dt.datetime.combine(day, dt.time(h + 1), tzinfo=PARIS).isoformat(),
                },
            )
            for day, h in slots
        ]
        answers = asyncio.run(_storm(base, requests))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] * 3 + [422] * 7, [r.text for r in answers]
        assert {r.json()["code"] for r in answers if r.status_code == 422} == {"quota-reached"}

    async def held(session):
        return await session.scalar(
            select(func.count()).select_from(Booking).where(Booking.status == "confirmed")
        )

    assert run_db(settings, held) == 3
