"""Recurring bookings under load: many series for the same Tuesdays at once, through a real
server with real concurrent connections. No slot is oversold, every counter equals its
bookings, each series books what fitted and lists the rest, nobody sees an error page."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import run_db
from tests.integration.test_booking_concurrency import PARIS, _day_ahead, _setup, _storm
from tests.server_process import running_server

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", [1, 2])
def test_ten_weekly_series_for_the_same_four_slots(settings, tmp_path, workers):
    with running_server(settings, workers=workers, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, people=10)
        day = _day_ahead(7)
        body = {
            "asset_id": world["garden"]["id"],
            "starts_at": dt.datetime.combine(day, dt.time(10), tzinfo=PARIS).isoformat(),
            "ends_at": dt.datetime.combine(day, dt.time(11), tzinfo=PARIS).isoformat(),
            "party_size": 2,
            "repeat": {"every_weeks": 1, "count": 4},
        }
        answers = asyncio.run(_storm(base, [(h, body) for h in world["neighbours"]]))
        assert all(r.status_code in (201, 409) for r in answers), [r.text for r in answers]
        booked = 0
        for r in answers:
            found = r.json()
            if r.status_code == 201:
                assert len(found["bookings"]) + len(found["skipped"]) == 4
                booked += len(found["bookings"])
                assert all(s["code"] == "slot-full" for s in found["skipped"])
            else:
                assert found["code"] == "series-refused"
        # 8 places, 2 per occurrence: exactly 4 occurrences fit in each of the 4 slots.
        assert booked == 16

        async def _counters(session):
            rows = await session.execute(
                text(
                    "SELECT c.taken, (SELECT coalesce(sum(b.party_size), 0) FROM booking b "
                    "WHERE b.asset_id = c.asset_id AND b.starts_at = c.starts_at "
                    "AND b.status IN ('pending', 'confirmed', 'attended', 'no_show')) "
                    "FROM slot_counter c"
                )
            )
            return [tuple(row) for row in rows]

        assert run_db(settings, _counters) == [(8, 8)] * 4
