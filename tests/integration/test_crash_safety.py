"""Kill the server with SIGKILL in the middle of a booking storm, restart it, and check
that nothing acknowledged was lost and nothing was half written (PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import run_db
from tests.integration.test_booking_concurrency import PARIS, _day_ahead, _setup
from tests.server_process import start_server
from tierslieu.models import Booking, SlotCounter

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


# Three slots of 8 places and parties of 1 or 2: the storm is sure to see at least 12
# bookings acknowledged (4 parties of 2 per slot), whatever order they arrive in.
KILL_AFTER = 10


async def _load(
    base: str, people: list[dict], slots: list[dict], server_pid: int
) -> list[tuple[str, int | None]]:
    """Fire bookings from everyone; kill the server once some have been acknowledged.

    If the storm ends before that (it should not), the server is killed all the same and
    the test fails on the count below instead of waiting for ever."""
    outcomes: list[tuple[str, int | None]] = []
    enough_acknowledged = asyncio.Event()
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=base, timeout=20, limits=limits) as client:

        async def one(i: int, headers: dict) -> None:
            slot = slots[i % len(slots)]
            try:
                response = await client.post(
                    "/api/bookings", json={**slot, "party_size": 1 + i % 2}, headers=headers
                )
                outcomes.append((response.json().get("id", ""), response.status_code))
                if sum(1 for _, status in outcomes if status == 201) >= KILL_AFTER:
                    enough_acknowledged.set()
            except httpx.HTTPError:
                outcomes.append(("", None))  # no answer: the process died under it

        async def killer() -> None:
            await enough_acknowledged.wait()
            os.kill(server_pid, signal.SIGKILL)

        kill = asyncio.create_task(killer())
        await asyncio.gather(*(one(i, headers) for i, headers in enumerate(people * 4)))
        if not kill.done():
            kill.cancel()
            os.kill(server_pid, signal.SIGKILL)
    return outcomes


def test_sigkill_mid_load_loses_nothing_acknowledged(settings, tmp_path):
    log = tmp_path / "server.log"
    server = start_server(settings, log_path=log)
    try:
        world = _setup(server.base_url, settings, people=40)
        day = _day_ahead(9)
        slots = [
            {
                "asset_id": world["garden"]["id"],
                "starts_at": dt.datetime.combine(day, dt.time(h), tzinfo=PARIS).isoformat(),
                "ends_at": dt.datetime.combine(day, dt.time(h + 1), tzinfo=PARIS).isoformat(),
            }
            for h in (9, 10, 11)
        ]
        outcomes = asyncio.run(
            _load(server.base_url, world["neighbours"], slots, server.process.pid)
        )
        server.process.wait(timeout=10)
        assert server.process.returncode == -signal.SIGKILL
    finally:
        server.stop()

    acknowledged = {booking_id for booking_id, status in outcomes if status == 201}
    assert len(acknowledged) >= KILL_AFTER
    assert all(status is None or status < 500 for _, status in outcomes)

    restarted = start_server(settings, log_path=log)
    try:
        assert httpx.get(f"{restarted.base_url}/health").json()["status"] == "ok"

        async def _check(session):
            stored = {
                str(b)
                for b in await session.scalars(
                    select(Booking.id).where(Booking.status == "confirmed")
                )
            }
            counters = {
                starts_at: (taken, capacity)
                for starts_at, taken, capacity in (
                    await session.execute(
                        select(SlotCounter.starts_at, SlotCounter.taken, SlotCounter.capacity)
                    )
                ).tuples()
            }
            rows = await session.execute(
                select(Booking.starts_at, func.sum(Booking.party_size))
                .where(Booking.status == "confirmed")
                .group_by(Booking.starts_at)
            )
            sums = {starts_at: total for starts_at, total in rows.tuples()}
            return stored, counters, sums

        stored, counters, sums = run_db(settings, _check)
        # Every 201 is in the database; every stored booking is counted; no slot oversold.
        assert acknowledged <= stored
        for starts_at, (taken, capacity) in counters.items():
            assert taken == (sums.get(starts_at) or 0)
            assert 0 <= taken <= capacity
        # The service goes on: a new booking works after the restart.
        extra = world["neighbours"][0]
        # The storm may have filled every slot it targeted: book the next morning instead.
        next_day = day + dt.timedelta(days=1)
        fresh_slot = {
            "asset_id": world["garden"]["id"],
            "starts_at": dt.datetime.combine(next_day, dt.time(9), tzinfo=PARIS).isoformat(),
            "ends_at": dt.datetime.combine(next_day, dt.time(10), tzinfo=PARIS).isoformat(),
        }
        answer = httpx.post(
            f"{restarted.base_url}/api/bookings",
            json={**fresh_slot, "party_size": 1},
            headers={**extra, "Idempotency-Key": str(uuid.uuid4())},
            timeout=20,
        )
        assert answer.status_code == 201, answer.text
    finally:
        restarted.stop()
