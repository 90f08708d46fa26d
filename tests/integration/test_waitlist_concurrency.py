"""Scenario 2 with a waiting list, through a real server with real concurrent connections:
40 latecomers join the full slot's list at once, then 3 confirmed bookings are cancelled at
once; exactly the 3 first in line get the places, and nobody is skipped."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import run_db
from tests.integration.test_booking_concurrency import PARIS, _day_ahead, _setup, _storm
from tests.server_process import running_server
from tierslieu.models import Booking, SlotCounter

pytestmark = pytest.mark.slow


async def _cancel_all(base: str, requests: list[tuple[dict, str]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(f"/api/bookings/{booking_id}/cancel", headers=headers)
                for headers, booking_id in requests
            )
        )


async def _slot(session):
    counter = (await session.execute(select(SlotCounter.taken, SlotCounter.waiting))).one()
    rows = (
        await session.execute(
            select(Booking.id, Booking.status, Booking.party_size, Booking.waitlist_position)
        )
    ).all()
    return tuple(counter), [tuple(r) for r in rows]


@pytest.mark.parametrize("workers", [1, 2])
def test_forty_join_the_list_then_three_cancel_at_once(settings, tmp_path, workers):
    with running_server(settings, workers=workers, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, people=48)
        garden, people = world["garden"], world["neighbours"]
        opened = httpx.patch(
            f"{base}/api/assets/{garden['id']}",
            json={"rules": {"waitlist": True, "waitlist_max_length": 50}},
            headers=world["staff"],
            timeout=30,
        )
        assert opened.status_code == 200, opened.text
        day = _day_ahead(7)
        slot = {
            "asset_id": garden["id"],
            "starts_at": dt.datetime.combine(day, dt.time(10), tzinfo=PARIS).isoformat(),
            "ends_at": dt.datetime.combine(day, dt.time(11), tzinfo=PARIS).isoformat(),
            "party_size": 1,
        }
        holders = []
        for headers in people[:8]:
            answer = httpx.post(f"{base}/api/bookings", json=slot, headers=headers, timeout=30)
            assert answer.status_code == 201, answer.text
            holders.append((headers, answer.json()["id"]))

        latecomers = people[8:]
        answers = asyncio.run(_storm(base, [(h, {**slot, "waitlist": True}) for h in latecomers]))
        assert [r.status_code for r in answers] == [201] * 40, [r.text for r in answers]
        assert {r.json()["status"] for r in answers} == {"waitlisted"}
        positions = [r.json()["waitlist_position"] for r in answers]
        assert sorted(positions) == list(range(1, 41))  # unique and gap-free
        line = sorted(range(40), key=lambda i: positions[i])  # who is where
        assert run_db(settings, _slot)[0] == (8, 40)

        cancelled = asyncio.run(_cancel_all(base, holders[:3]))
        assert [r.status_code for r in cancelled] == [200, 200, 200], [r.text for r in cancelled]

        (taken, waiting), rows = run_db(settings, _slot)
        confirmed = {str(i) for i, status, _n, _p in rows if status == "confirmed"}
        booked = sum(n for _i, status, n, _p in rows if status == "confirmed")
        assert (taken, waiting) == (8, 37)
        assert booked == taken
        ids = [answers[i].json()["id"] for i in line]
        assert set(ids[:3]) <= confirmed  # the first three in line, nobody skipped
        assert not set(ids[3:]) & confirmed
        still = {str(i): p for i, status, _n, p in rows if status == "waitlisted"}
        assert [still[i] for i in ids[3:]] == list(range(1, 38))  # same order, moved up by 3

        # Each of the three sees it on their own page.
        for i in line[:3]:
            mine = httpx.get(f"{base}/api/bookings", headers=latecomers[i], timeout=30).json()
            assert [b["status"] for b in mine] == ["confirmed"]


async def _mixed(base: str, calls: list[tuple[str, dict, dict | None]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(client.post(path, json=body, headers=headers) for path, headers, body in calls)
        )


def test_joining_leaving_and_cancelling_at_once_keep_the_line_whole(settings, tmp_path):
    """Joins, leaves and cancellations of one slot at the same moment: the counter equals the
    places booked, the line is 1..n with no gap, and nobody waits behind a free place that
    fits the head of the line."""
    with running_server(settings, workers=2, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, people=36)
        garden, people = world["garden"], world["neighbours"]
        httpx.patch(
            f"{base}/api/assets/{garden['id']}",
            json={"rules": {"waitlist": True, "waitlist_max_length": 50}},
            headers=world["staff"],
            timeout=30,
        ).raise_for_status()
        day = _day_ahead(5)
        slot = {
            "asset_id": garden["id"],
            "starts_at": dt.datetime.combine(day, dt.time(9), tzinfo=PARIS).isoformat(),
            "ends_at": dt.datetime.combine(day, dt.time(10), tzinfo=PARIS).isoformat(),
            "party_size": 1,
        }
        holders, waiting = [], []
        for headers in people[:8]:
            answer = httpx.post(f"{base}/api/bookings", json=slot, headers=headers, timeout=30)
            holders.append((headers, answer.json()["id"]))
        for headers in people[8:16]:
            answer = httpx.post(
                f"{base}/api/bookings",
                json={**slot, "waitlist": True, "party_size": 2 if len(waiting) == 3 else 1},
                headers=headers,
                timeout=30,
            )
            assert answer.json()["status"] == "waitlisted", answer.text
            waiting.append((headers, answer.json()["id"]))

        calls = [("/api/bookings", h, {**slot, "waitlist": True}) for h in people[16:36]]
        calls += [(f"/api/bookings/{i}/cancel", h, None) for h, i in waiting[:4]]
        calls += [(f"/api/bookings/{i}/cancel", h, None) for h, i in holders[:5]]
        answers = asyncio.run(_mixed(base, calls))
        assert all(r.status_code in (200, 201) for r in answers), [
            r.text for r in answers if r.status_code not in (200, 201)
        ]

        (taken, line), rows = run_db(settings, _slot)
        booked = sum(n for _i, status, n, _p in rows if status == "confirmed")
        positions = sorted(p for _i, status, _n, p in rows if status == "waitlisted")
        assert taken == booked <= 8
        assert positions == list(range(1, line + 1))
        assert line == 8 - 4 + 20 - (booked - 3)  # everyone promoted left the line
        head = next(n for _i, status, n, p in rows if status == "waitlisted" and p == 1)
        assert head > 8 - taken  # the head does not fit: nobody waits behind a usable place
