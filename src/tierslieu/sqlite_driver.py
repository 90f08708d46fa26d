"""SQLAlchemy's aiosqlite dialect with one thread hop per statement instead of four.

aiosqlite runs each sqlite3 call in its connection's thread; SQLAlchemy's adapter makes
four of those calls per statement (cursor, execute, fetchall, close), each a hand-off to
the thread and back to the event loop. On a busy 2-core machine every hand-off waits for
the scheduler: a booking made ~40 of them. Here a statement is one function run in that
same thread (same connection, same order, same errors); the BEGIN travels with the first
statement and an empty COMMIT/ROLLBACK stays home: a listing is 2 hops, a booking 5.
Everything else is SQLAlchemy's dialect unchanged. Engines get it via ``db.create_engine``.

Small statements, no hop at all: code that only runs small indexed statements (a listing's
counters, a booking's checks and writes) says so with ``small_statements()``; there a
statement that cannot wait for a lock runs in the event loop's own thread (~50 µs of
SQLite) instead of being handed to the connection's thread and back. A hop cost 0.5-1 ms
of CPU in GIL hand-offs, thread and loop wake-ups, and, for a write, the lock was held
meanwhile. A write transaction's ``BEGIN IMMEDIATE`` is tried inline without waiting (the
process's own writers took turns before it, so SQLite's lock is free unless another process
holds it); if it is taken, the wait happens in the connection's thread. Never inline: the
COMMIT or ROLLBACK of a transaction that wrote (a commit
may checkpoint the WAL), a write outside a write transaction, and anything outside
``small_statements()``. The end of a transaction that only read is always inline (it only
lets its snapshot go).
The hottest of those skip SQLAlchemy too: ``read_here`` (a read) and ``write_here`` (a write
in a write transaction whose lock is ours), called by ``db.fetch_rows`` and ``db.write_rows``.

Write queue: SQLite has one writer at a time, and a writer that finds the lock taken
sleeps in SQLite's busy handler (1, 2, 5 … 100 ms naps): 16 concurrent bookings made a
p99 of seconds. Here a write transaction (``BEGIN IMMEDIATE``) first takes its turn in
an asyncio lock of the engine (FIFO), so the process's writers run one after the other
without sleeping. ``BEGIN IMMEDIATE`` and the busy timeout stay underneath: several
processes on one file remain correct (they then wait for each other as before). The
hottest writes go further: ``group_commit`` runs those that arrive together in one write
transaction with one COMMIT.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sqlite3
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER_NAME = "sqlite+tierslieu_aiosqlite"
# What db.py's "begin" hook sends; kept and sent with the transaction's first statement.
WRITE_BEGIN = "BEGIN IMMEDIATE"
BEGIN_STATEMENTS = frozenset({"BEGIN", WRITE_BEGIN})
# How long a statement waits for another process's lock before "database is locked".
BUSY_TIMEOUT_MS = 15_000
# As long as SQLite's own busy timeout: then "database is locked".
WRITE_QUEUE_TIMEOUT_S = BUSY_TIMEOUT_MS / 1000


P = ParamSpec("P")
R = TypeVar("R")
_small = contextvars.ContextVar("tierslieu_sqlite_small_statements", default=False)


@contextmanager
def small_statements() -> Iterator[None]:
    """The statements run in this block are small (indexed, a few rows): on SQLite each
    that cannot wait for a lock runs in the event loop's thread (see the module's text).
    No effect on PostgreSQL."""
    token = _small.set(True)
    try:
        yield
    finally:
        _small.reset(token)


def only_small_statements(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """``small_statements()`` around every call of the coroutine function ``fn``."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with small_statements():
            return await fn(*args, **kwargs)

    return wrapper


def _reads_only(operation: str) -> bool:
    head = operation.lstrip()[:6].upper()
    return head.startswith(("SELECT", "WITH", "VALUES"))


async def _no_wait() -> None:
    """An await that completes at once: SQLAlchemy's async adaptation wants one per call."""


def _begin_without_waiting(connection: sqlite3.Connection) -> bool:
    """``BEGIN IMMEDIATE`` here and now if SQLite's write lock is free (this process's
    writers already took their turn in the write queue, so it is, unless another process
    holds it); False, with nothing begun, if it is taken: the caller then waits for it in
    the connection's thread as before."""
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execute(WRITE_BEGIN)
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return False
        raise
    finally:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return True


def _run(
    connection: sqlite3.Connection, begin: str | None, operation: str, parameters: Any
) -> tuple[Any, ...]:
    """In aiosqlite's thread: the pending BEGIN if any, then the whole statement, rows included."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        connection: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        if not parameters and operation in BEGIN_STATEMENTS:
            if operation == WRITE_BEGIN and not connection._holds_write_turn:
                connection._wait_for_write_turn()
            # Sent with the transaction's first statement (one hop less).
            connection._pending_begin = operation
            connection._may_be_in_transaction = True
            self.description, self.lastrowid, self.rowcount = None, -1, -1
            return
        begin, connection._pending_begin = connection._pending_begin, None
        connection._may_be_in_transaction = True
        if begin == WRITE_BEGIN or not _reads_only(operation):
            connection._wrote = True
        small = _small.get()
        try:
            if small and begin == WRITE_BEGIN and _begin_without_waiting(self._connection._conn):
                begin, connection._write_locked = None, True  # the lock was free: ours now
            # Inline only what cannot wait: in a write transaction whose BEGIN IMMEDIATE
            # went through (SQLite's write lock is ours), anything; else (a read
            # transaction, or the BEGIN still to send) a read that starts no write.
            inline = small and (
                (begin is None and connection._write_locked)
                or (begin != WRITE_BEGIN and _reads_only(operation))
            )
            if inline:
                self.await_(_no_wait())
                description, rows, lastrowid, rowcount = _run(
                    self._connection._conn, begin, operation, parameters
                )
            else:
                description, rows, lastrowid, rowcount = self.await_(
                    self._connection._execute(
                        _run, self._connection._conn, begin, operation, parameters
                    )
                )
            if begin == WRITE_BEGIN:
                connection._write_locked = True
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        if description:
            self.description = description
            self.lastrowid = self.rowcount = -1
            self._rows = deque(rows)
        else:
            self.description = None
            self.lastrowid = lastrowid
            self.rowcount = rowcount


async def _acquire(lock: asyncio.Lock, seconds: float) -> None:
    """Take ``lock`` within ``seconds``, else "database is locked".

    ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11, a ``wait_for`` cancelled
    just as the lock was granted returns as if nothing happened, swallowing the
    cancellation. The writer then went on with its transaction, and a task stopped there
    (the retention purge at shutdown) never stopped: a CI run waited on it for 80 minutes.
    ``Lock.acquire`` cancelled at any moment hands a turn it was just granted to the next
    waiter, so nothing is leaked either way."""
    try:
        async with asyncio.timeout(seconds):
            await lock.acquire()
    except TimeoutError:
        raise sqlite3.OperationalError("database is locked (write queue)") from None


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Also: a COMMIT or ROLLBACK when no statement ran since the last one (the pool's reset
    on check-in, a read that ended before its first query) costs no hop at all."""

    __slots__ = (
        "_holds_write_turn",
        "_may_be_in_transaction",
        "_pending_begin",
        "_write_locked",
        "_wrote",
    )

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._pending_begin: str | None = None
        self._holds_write_turn = False
        # True once this transaction's BEGIN IMMEDIATE went through: SQLite's lock is ours.
        self._write_locked = False
        # True once this transaction sent anything but reads (or BEGIN IMMEDIATE).
        self._wrote = False
        # False only when certain: no statement (so no BEGIN) since the last commit/rollback.
        self._may_be_in_transaction = True

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else OneHopCursor(self)

    def _wait_for_write_turn(self) -> None:
        """Queue (FIFO) behind this process's other write transactions on this engine."""
        lock = self.dbapi.write_lock()
        self.await_(_acquire(lock, WRITE_QUEUE_TIMEOUT_S))
        self._holds_write_turn = True

    def _release_write_turn(self) -> None:
        if self._holds_write_turn:
            self._holds_write_turn = False
            self.dbapi.write_lock().release()

    def _ends_transaction(self, end: Any, end_here: Any) -> None:
        """``end`` in the connection's thread; ``end_here`` (the same, in this thread) for
        a transaction that only read: ending it only lets its snapshot go, it cannot wait
        for a lock nor checkpoint the WAL."""
        self._pending_begin = None
        self._write_locked = False
        wrote, self._wrote = self._wrote, False
        try:
            if self._may_be_in_transaction:
                if wrote:
                    end()
                else:
                    try:
                        end_here()
                    except Exception as error:
                        self._handle_exception(error)
            self._may_be_in_transaction = False
        finally:
            self._release_write_turn()

    def close(self) -> None:
        self._write_locked = self._wrote = False
        try:
            super().close()
        finally:
            self._release_write_turn()

    def _terminate_force_close(self) -> None:
        self._write_locked = self._wrote = False
        try:
            super()._terminate_force_close()
        finally:
            self._release_write_turn()

    def read_here(self, operation: str, parameters: tuple[Any, ...]) -> list[Any] | None:
        """A small read run in the event loop's thread with nothing of SQLAlchemy around it
        (``db.fetch_rows``): its rows as SQLite gives them, or None (nothing run) when it
        may not run here: outside ``small_statements()``, or with a ``BEGIN IMMEDIATE``
        to send first (that may wait for the write lock). A BEGIN still to send goes with
        it, as with any statement; else it runs in the transaction under way, or alone
        (SQLite's autocommit: its own snapshot)."""
        if not _small.get() or self._pending_begin == WRITE_BEGIN:
            return None
        begin, self._pending_begin = self._pending_begin, None
        return self._rows_here(begin, operation, parameters)

    def write_here(self, operation: str, parameters: tuple[Any, ...]) -> list[Any] | None:
        """A small write run in the event loop's thread with nothing of SQLAlchemy around it
        (``db.write_rows``), in this write transaction once SQLite's write lock is ours: its
        ``BEGIN IMMEDIATE`` went through, or goes through now without waiting. Its rows
        (RETURNING; [] without), or None (nothing run): outside ``small_statements()``,
        outside a write transaction, or with the lock taken by another process (the caller
        then goes through SQLAlchemy, which waits for it in the connection's thread)."""
        if not _small.get():
            return None
        if self._pending_begin == WRITE_BEGIN:
            if not _begin_without_waiting(self._connection._conn):
                return None
            self._pending_begin, self._write_locked = None, True
        if not self._write_locked:
            return None
        self._may_be_in_transaction = self._wrote = True
        rows = self._rows_here(None, operation, parameters)
        return [] if rows is None else rows

    def _rows_here(self, begin: str | None, operation: str, parameters: Any) -> list[Any] | None:
        """``_run`` in this thread, its errors raised as SQLAlchemy's adapter raises them."""
        try:
            return _run(self._connection._conn, begin, operation, parameters)[1]
        except Exception as error:
            self._handle_exception(error)
            raise  # not reached: _handle_exception raises

    def commit(self) -> None:
        self._ends_transaction(super().commit, lambda: self._connection._conn.commit())

    def rollback(self) -> None:
        self._ends_transaction(super().rollback, lambda: self._connection._conn.rollback())


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """One per engine: it also holds the engine's write queue (one asyncio lock per loop)."""

    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self._write_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def write_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        connection = super().connect(*arg, **kw)
        if type(connection) is AsyncAdapt_aiosqlite_connection:
            return OneHopConnection(self, connection._connection)
        return connection


class OneHopDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register("sqlite.tierslieu_aiosqlite", __name__, "OneHopDialect")
