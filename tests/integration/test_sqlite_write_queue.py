"""SQLite: a process's write transactions take turns in arrival order instead of sleeping
in SQLite's busy handler (where the next writer is whoever wakes first)."""

from __future__ import annotations

import asyncio
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


def test_a_writer_cancelled_as_its_turn_comes_does_not_keep_the_queue():
    """A request cut by its time limit just as its write turn was granted must not leave
    the queue taken by no one (every later writer of the process would wait)."""
    import asyncio

    from tierslieu.sqlite_driver import _acquire

    async def main() -> None:
        for wait_before_cancel in (0, 1, 2):
            lock = asyncio.Lock()
            await lock.acquire()
            task = asyncio.create_task(_acquire(lock, 5.0))
            await asyncio.sleep(0)
            lock.release()  # its turn is granted…
            for _ in range(wait_before_cancel):
                await asyncio.sleep(0)
            task.cancel()  # …and it is cancelled around that moment
            await asyncio.gather(task, return_exceptions=True)
            if task.cancelled():
                await asyncio.wait_for(lock.acquire(), 1.0)  # not leaked
            else:
                lock.release()  # it got its turn: it releases it as a writer would

    asyncio.run(main())
