"""SQLite: small statements run in the event loop's thread (no hand-off to the connection's
thread), except what must wait for a lock another process holds, which waits in that
thread while the loop keeps serving."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, text

from tierslieu import db

pytestmark = pytest.mark.slow

THREAD_ID = text("SELECT thread_id()")


def _engine_with_thread_id(settings, ends: list[tuple[str, int]] | None = None):
    engine = db.create_engine(settings)

    @event.listens_for(engine.sync_engine, "connect")
    def _register(dbapi_connection, _record) -> None:
        raw = dbapi_connection._connection._conn
        # The SQL function tells which thread ran the statement…
        raw.create_function("thread_id", 0, threading.get_ident)
        if ends is not None:  # …and SQLite's trace which thread ended each transaction.
            raw.set_trace_callback(
                lambda sql: (
                    ends.append((sql.split()[0].upper(), threading.get_ident()))
                    if sql.split()[0].upper() in {"COMMIT", "ROLLBACK"}
                    else None
                )
            )

    return engine


def test_small_statements_run_in_the_loop_thread_except_the_write_lock(settings):
    if not settings.is_sqlite:
        pytest.skip("SQLite only")

    ends: list[tuple[str, int]] = []

    async def main() -> dict[str, bool]:
        engine = _engine_with_thread_id(settings, ends)
        loop_thread = threading.get_ident()
        seen: dict[str, bool] = {}
        try:
            async with db.read_only(engine).connect() as connection:
                seen["read, not marked"] = await connection.scalar(THREAD_ID) == loop_thread
                await connection.rollback()
                with db.small_statements():
                    seen["read, marked"] = await connection.scalar(THREAD_ID) == loop_thread
            # Ending a transaction that only read lets its snapshot go: in the loop's thread.
            seen["read ended"] = ends[-1] == ("ROLLBACK", loop_thread)
            async with engine.connect() as connection, connection.begin():
                with db.small_statements():
                    # The first statement carries BEGIN IMMEDIATE: tried here without
                    # waiting; the lock is free (no other process), so it is ours at once.
                    seen["write begin"] = await connection.scalar(THREAD_ID) == loop_thread
                    # The lock is ours now: nothing in this transaction can wait.
                    seen["in write transaction"] = await connection.scalar(THREAD_ID) == loop_thread
                    await connection.execute(text("UPDATE schedule_version SET value = value + 1"))
            # A commit that wrote may checkpoint the WAL: in the connection's thread.
            seen["write committed elsewhere"] = ends[-1][0] == "COMMIT" and (
                ends[-1][1] != loop_thread
            )
            async with db.read_only(engine).connect() as connection:
                seen["committed"] = (
                    await connection.scalar(text("SELECT value FROM schedule_version WHERE id = 1"))
                    is not None
                )
        finally:
            await engine.dispose()
        return seen

    assert asyncio.run(main()) == {
        "read, not marked": False,
        "read, marked": True,
        "read ended": True,
        "write begin": True,
        "in write transaction": True,
        "write committed elsewhere": True,
        "committed": True,
    }


def test_a_write_waiting_for_another_process_does_not_stop_the_loop(settings):
    """Another process (here a plain sqlite3 connection) holds the write lock for 0.4 s: a
    booking-like write in ``small_statements()`` waits for it in the connection's thread,
    and meanwhile the event loop keeps running other requests (a 10 ms ticker)."""
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    path = settings.database_url.split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE schedule_version SET value = value")

    async def main() -> tuple[int, float]:
        engine = db.create_engine(settings)
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                await asyncio.sleep(0.01)
                ticks += 1

        async def write() -> float:
            started = time.perf_counter()
            async with engine.connect() as connection, connection.begin():
                with db.small_statements():
                    await connection.execute(text("UPDATE schedule_version SET value = value + 1"))
            return time.perf_counter() - started

        ticking = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        loop.call_later(0.4, other.commit)  # the other process lets go after 0.4 s
        try:
            waited = await write()
        finally:
            stop.set()
            await ticking
            await engine.dispose()
        return ticks, waited

    try:
        ticks, waited = asyncio.run(main())
    finally:
        other.close()
    assert waited >= 0.35  # it did wait for the other process's lock…
    assert ticks >= 15  # …while the loop went on (40 ticks if it never stopped)
