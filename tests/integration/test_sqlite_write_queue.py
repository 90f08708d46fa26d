"""SQLite: a process's write transactions take turns in arrival order instead of sleeping
in SQLite's busy handler (where the next writer is whoever wakes first)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import event, text

from tierslieu import db

pytestmark = pytest.mark.slow
HOLD = 0.03


def test_writers_take_turns_in_arrival_order(settings):
    if not settings.is_sqlite:
        pytest.skip("SQLite only")

    async def main() -> tuple[list[int], list[int], float]:
        engine = db.create_engine(settings)
        asked: list[int] = []
        order: list[int] = []

        @event.listens_for(engine.sync_engine, "begin", insert=True)
        def _asks(connection) -> None:  # runs before the hook that sends BEGIN IMMEDIATE
            asked.append(connection.info["writer"])

        async def writer(i: int) -> None:
            async with engine.connect() as connection:
                (await connection.get_raw_connection()).info["writer"] = i
                async with connection.begin():
                    await connection.execute(text("UPDATE schedule_version SET value = value"))
                    order.append(i)
                    await asyncio.sleep(HOLD)  # work inside the transaction, holding the lock

        try:
            started = time.perf_counter()
            await asyncio.gather(*(writer(i) for i in range(16)))
            return asked, order, time.perf_counter() - started
        finally:
            await engine.dispose()

    asked, order, elapsed = asyncio.run(main())
    assert sorted(order) == list(range(16))
    assert order == asked
    # 16 turns of HOLD back to back (~0.6 s here); sleeping in SQLite's busy handler
    # instead, the lock sat idle between turns: ~0.9 s.
    assert elapsed < 16 * HOLD * 1.5


def test_a_writer_cancelled_as_its_turn_comes_stops_and_leaves_the_queue_free():
    """A writer cancelled (a request cut by its time limit, the purge task stopped at
    shutdown) at any moment around the grant of its turn stops: the cancellation is never
    swallowed, and the turn is not left taken by no one."""
    from tierslieu.sqlite_driver import _acquire

    async def main() -> list[str]:
        seen = []
        for wait_before_cancel in range(8):
            lock = asyncio.Lock()
            await lock.acquire()
            task = asyncio.create_task(_acquire(lock, 5.0))
            await asyncio.sleep(0)
            lock.release()  # its turn is granted…
            for _ in range(wait_before_cancel):
                await asyncio.sleep(0)
            was_running = task.cancel()  # …and it is cancelled around that moment
            await asyncio.gather(task, return_exceptions=True)
            if was_running:
                assert task.cancelled(), f"cancellation swallowed after {wait_before_cancel} steps"
                async with asyncio.timeout(1.0):
                    await lock.acquire()  # the turn was handed on, not leaked
                seen.append("cancelled")
            else:
                assert lock.locked()  # it had its turn before the cancel: a writer's to release
                seen.append("granted")
        return seen

    seen = asyncio.run(main())
    assert "cancelled" in seen  # the race itself was exercised


def test_a_writer_waits_at_most_the_queue_timeout():
    from tierslieu.sqlite_driver import _acquire

    async def main() -> None:
        lock = asyncio.Lock()
        await lock.acquire()
        with pytest.raises(sqlite3.OperationalError, match="write queue"):
            await _acquire(lock, 0.05)
        lock.release()
        await _acquire(lock, 0.05)  # the queue still works after a timeout
        assert lock.locked()

    asyncio.run(main())
