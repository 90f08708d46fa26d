"""Group commit on SQLite: the small writes of requests that arrive together share one
write transaction and one COMMIT.

SQLite has one writer at a time. A booking's own statements take ~0.1 ms, but each write
transaction also costs its ``BEGIN IMMEDIATE``, a pooled connection, and a COMMIT handed to
the connection's thread (it may checkpoint the WAL), whose answer waits for the event loop:
with 16 bookings in flight, those made most of a booking's CPU and of the time the write
lock was held. Here a request hands its work (a coroutine function of the connection that
runs small statements, ``db.write_rows``/``db.fetch_rows``) to its engine's group and waits;
one drain task per engine and event loop takes whatever work is waiting, runs it in one
write transaction (FIFO, in the order it came) and commits once. The WAL gets each page
once per group instead of once per request.

Each work's outcome is its own; they are as if run one after the other (each sees the
writes of those before it, as a second transaction would). If one raises, the transaction
is rolled back, that work gets its error, and the others run again in a new transaction
(the whole batch gets the error if it is the database's: locked by another process, I/O):
nothing of a failed work is ever committed, and a work must only touch the database (it
may run twice; one that must leave nothing after writing part raises ``Undo``). A work
whose request was cancelled before its turn is not run. Every answer is given after its
COMMIT went through: a work reported done is durable as before.
Invariants stay in the statements themselves (conditional updates, constraints): several
processes on one file remain correct, each with its own groups.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .sqlite_driver import small_statements

R = TypeVar("R")
Work = Callable[[AsyncConnection], Awaitable[Any]]

# At most this many works in one transaction: they run in one step of the event loop
# (~0.1 ms each), and the write lock is held for all of them.
MAX_GROUP = 32


# A failure of the database rather than of one work (locked for too long by another
# process, I/O): the whole batch gets it instead of each work trying again in turn.
_NOT_THE_WORKS_OWN = (sqlite3.OperationalError, OperationalError)


class Undo(Exception):
    """Raised by a work that wrote part of what it meant to and must leave nothing (a
    conditional update that took nothing after an insert): the group's transaction is rolled
    back, the other works run again, and this work's result is ``answer``."""

    def __init__(self, answer: Any) -> None:
        super().__init__(answer)
        self.answer = answer


@dataclass(slots=True)
class _Waiting:
    work: Work
    future: asyncio.Future[Any]


class _Group:
    __slots__ = ("drainer", "waiting")

    def __init__(self) -> None:
        self.waiting: list[_Waiting] = []
        self.drainer: asyncio.Task[None] | None = None


def _group(engine: AsyncEngine, loop: asyncio.AbstractEventLoop) -> _Group:
    groups = engine.sync_engine.__dict__.get("_tierslieu_groups")
    if groups is None:
        groups = engine.sync_engine.__dict__["_tierslieu_groups"] = weakref.WeakKeyDictionary()
    group = groups.get(loop)
    if group is None:
        group = groups[loop] = _Group()
    return group


async def grouped(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[R]]) -> R:
    """``work(connection)`` in a write transaction of ``engine`` shared with the work other
    requests handed over meanwhile, committed together; its result once committed."""
    loop = asyncio.get_running_loop()
    group = _group(engine, loop)
    future: asyncio.Future[Any] = loop.create_future()
    group.waiting.append(_Waiting(work, future))
    if group.drainer is None:
        # A context of its own: it outlives the request that started it.
        group.drainer = loop.create_task(_drain(engine, group), context=contextvars.Context())
    return await future


async def _drain(engine: AsyncEngine, group: _Group) -> None:
    """While works wait: batches on one pooled connection, kept from one to the next (its
    page cache stays valid: its own commits do not make it stale, another's would)."""
    try:
        with small_statements():
            while group.waiting:
                async with engine.connect() as connection:
                    while group.waiting:
                        batch = [w for w in group.waiting[:MAX_GROUP] if not w.future.done()]
                        del group.waiting[:MAX_GROUP]
                        if batch and not await _run(connection, batch):
                            break  # the database failed: another connection for the next
    except BaseException as error:  # stopped (the server shutting down), no connection…
        for waiting in group.waiting:
            _fail(waiting, error)  # nobody waits forever
        group.waiting.clear()
        if not isinstance(error, Exception):
            raise
    finally:
        group.drainer = None


def _fail(waiting: _Waiting, error: BaseException) -> None:
    if not waiting.future.done():
        if isinstance(error, asyncio.CancelledError):
            waiting.future.cancel()
        else:
            waiting.future.set_exception(error)


async def _run(connection: AsyncConnection, batch: list[_Waiting]) -> bool:
    """The batch in one transaction; again without a work that raised, until all are done.
    False if the database failed (every work of the batch got the error)."""
    try:
        while batch:
            failed: tuple[int, Exception] | None = None
            results: list[Any] = []
            await connection.begin()  # BEGIN IMMEDIATE, in the process's write queue
            for index, waiting in enumerate(batch):
                try:
                    results.append(await waiting.work(connection))
                except Exception as error:
                    failed = index, error
                    break
            if failed is None:
                await connection.commit()
                for waiting, result in zip(batch, results, strict=True):
                    if not waiting.future.done():
                        waiting.future.set_result(result)
                return True
            await connection.rollback()
            index, error = failed
            if isinstance(error, _NOT_THE_WORKS_OWN):
                raise error
            if isinstance(error, Undo):
                if not batch[index].future.done():
                    batch[index].future.set_result(error.answer)
            else:
                _fail(batch[index], error)
            del batch[index]
            batch = [w for w in batch if not w.future.done()]  # in the order they came
        return True
    except Exception as error:  # locked by another process too long, a failed COMMIT…
        for waiting in batch:
            _fail(waiting, error)
        return False  # leaving ``engine.connect()`` rolls back what is open
    except BaseException as error:
        for waiting in batch:
            _fail(waiting, error)
        raise
