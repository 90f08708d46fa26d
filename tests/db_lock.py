"""Hold the database's lock from the test, so that the app's next query really waits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from tierslieu import db
from tierslieu.models import metadata
from tierslieu.settings import Settings


@contextmanager
def database_locked(settings: Settings, *, writes_only: bool = False) -> Iterator[None]:
    """SQLite: an open ``BEGIN IMMEDIATE`` (every write waits). PostgreSQL: every table
    locked ``ACCESS EXCLUSIVE`` (every query waits), or with ``writes_only`` ``EXCLUSIVE``
    (every write waits, reads go on, as on SQLite). Released when the block ends."""
    ready, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    async def hold() -> None:
        engine = db.create_engine(settings)
        try:
            async with engine.connect() as connection:
                await connection.begin()  # SQLite: the engine's hook emits BEGIN IMMEDIATE
                if not settings.is_sqlite:
                    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
                    mode = "EXCLUSIVE" if writes_only else "ACCESS EXCLUSIVE"
                    await connection.execute(text(f"LOCK TABLE {tables} IN {mode} MODE"))
                else:
                    await connection.execute(text("SELECT 1"))
                ready.set()
                await asyncio.to_thread(release.wait)
                await connection.rollback()
        except BaseException as exc:  # report to the test thread
            failure.append(exc)
            ready.set()
        finally:
            await engine.dispose()

    thread = threading.Thread(target=asyncio.run, args=(hold(),), daemon=True)
    thread.start()
    assert ready.wait(15), "could not take the database lock"
    if failure:
        raise failure[0]
    try:
        yield
    finally:
        release.set()
        thread.join(30)
