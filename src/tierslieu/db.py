"""Database engines, the SQLite concurrency set-up, and Alembic migrations."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import JSON, Integer, bindparam, event, exc, inspect, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from tierslieu import sqlite_driver
from tierslieu.settings import Settings
from tierslieu.sqlite_driver import only_small_statements, small_statements

__all__ = ["only_small_statements", "small_statements"]  # for the services (no-ops on PostgreSQL)

logger = logging.getLogger("tierslieu")
_ASYNCPG = postgresql.asyncpg.dialect()
_SQLITE = sqlite_driver.OneHopDialect()
SQLITE_BUSY_TIMEOUT_MS = sqlite_driver.BUSY_TIMEOUT_MS
SQLITE_CACHE_KIB = 512
# Connections a pool may open above TIERSLIEU_DB_POOL_SIZE at a peak.
POOL_OVERFLOW = 10
# Execution option marking a connection whose transactions only read (GET requests).
READ_ONLY_OPTION = "tierslieu_read_only"
# The public origin rides on the engine, so a service that only has a session can build
# what needs it (the outbox's Message-ID host): ``public_url(session)``.
PUBLIC_URL_OPTION = "tierslieu_public_url"


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for the configured database.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE`` so that a
    read-then-write transaction takes the single write lock up front and
    waits for it (busy timeout) instead of failing with SQLITE_BUSY_SNAPSHOT
    when another writer committed in between. WAL lets readers go on meanwhile.
    """
    kwargs: dict[str, Any] = {
        "echo": settings.echo_sql,
        "execution_options": {PUBLIC_URL_OPTION: settings.public_url},
    }
    # As many connections as requests in flight: a pool smaller than the concurrency made
    # every request above it open (and close) a connection of its own (SQLite: a thread
    # and four PRAGMAs; PostgreSQL: a TCP connection, authentication, statements prepared
    # again). A few overflow connections for requests that briefly hold two.
    kwargs.update(pool_size=settings.db_pool_size, max_overflow=POOL_OVERFLOW)
    url = make_url(settings.database_url)
    if settings.is_sqlite:
        # check_same_thread: small statements may run in the event loop's thread
        # (sqlite_driver.small_statements), never two at once on one connection.
        kwargs["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
        }
        url = url.set(drivername=sqlite_driver.DRIVER_NAME)  # one thread hop per statement
    else:
        # No pre-ping round trip per checkout (it was one of a listing's two): a connection
        # the server closed (restart, idle timeout, pg_terminate_backend) is known locally,
        # since asyncpg reads its socket all the time; see _install_liveness_check.
        kwargs.update(pool_pre_ping=False, pool_recycle=1800)
    engine = create_async_engine(url, **kwargs)
    if settings.is_sqlite:
        _install_sqlite_hooks(engine)
    else:
        _install_liveness_check(engine)
    return engine


def _install_liveness_check(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # The pool then throws this connection away and checks out (or opens) another.
        if dbapi_connection.driver_connection.is_closed():
            raise exc.DisconnectionError("the database closed this connection")


@dataclass(frozen=True, slots=True)
class RawStatement:
    """A statement as asyncpg takes it: its SQL ($1, $2 …) and its parameters' names in
    that order, with their defaults, and which ones are JSON (asyncpg takes them as text)."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    json: frozenset[str]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        found = [values[n] if n in values else self.defaults[n] for n in self.names]
        return [
            json.dumps(v) if n in self.json and v is not None else v
            for n, v in zip(self.names, found, strict=True)
        ]


def raw_statement(statement: Any) -> RawStatement:
    """``statement`` (typed parameters) compiled once for ``fetch_raw``."""
    compiled = statement.compile(dialect=_ASYNCPG)
    names = tuple(compiled.positiontup or ())
    binds = {n: compiled.binds[n] for n in names}
    return RawStatement(
        str(compiled),
        names,
        {n: b.value for n, b in binds.items() if b.value is not None},
        frozenset(n for n, b in binds.items() if isinstance(b.type.dialect_impl(_ASYNCPG), JSON)),
    )


@dataclass(frozen=True)
class SqliteStatement:
    """A statement as Python's sqlite3 takes it: its SQL (``?`` placeholders), its
    parameters' names in that order with their defaults and SQLAlchemy's converters (a
    UUID to its bytes, a datetime to its text…), and the converters of its columns."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binds: tuple[Any, ...]
    results: tuple[Any, ...]

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        found = [values[n] if n in values else self.defaults[n] for n in self.names]
        return tuple(v if f is None else f(v) for f, v in zip(self.binds, found, strict=True))

    @functools.cached_property
    def _converted(self) -> tuple[tuple[int, Any], ...]:
        """The columns that have a converter, with it."""
        return tuple((i, f) for i, f in enumerate(self.results) if f is not None)

    def rows(self, rows: list[Any]) -> Sequence[Sequence[Any]]:
        converted = self._converted
        if not converted:
            return rows  # sqlite3's tuples as they are (a listing's counters: ints and text)
        out = []
        for row in rows:
            values = list(row)
            for i, f in converted:
                values[i] = f(values[i])
            out.append(values)
        return out


@dataclass(frozen=True)
class Prepared:
    """A hot read compiled once for each engine's shortest way (``fetch_rows``)."""

    statement: Any  # SQLAlchemy's, for the general way
    pg: RawStatement
    sqlite: SqliteStatement


def prepared(statement: Any) -> Prepared:
    """``statement`` (typed parameters and columns, no list expanded at execution: one bound
    value each) compiled for ``fetch_rows``."""
    compiled = statement.compile(dialect=_SQLITE)
    names = tuple(compiled.positiontup or ())
    processors = compiled._bind_processors
    return Prepared(
        statement,
        raw_statement(statement),
        SqliteStatement(
            str(compiled),
            names,
            {n: compiled.binds[n].value for n in names if compiled.binds[n].value is not None},
            tuple(processors.get(n) for n in names),
            tuple(
                entry.type._cached_result_processor(_SQLITE, None)
                for entry in compiled._result_columns
            ),
        ),
    )


async def fetch_rows(
    connection: AsyncConnection, statement: Prepared, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows of a small read, by the shortest way: on PostgreSQL asyncpg itself
    (``fetch_raw``); on SQLite sqlite3 itself in the event loop's thread, within
    ``small_statements()`` (``sqlite_driver``'s ``read_here``: SQLAlchemy's execution and
    result machinery was ~40 % of an early meal-order refusal's CPU), else SQLAlchemy.
    Rows as tuples, columns converted as SQLAlchemy converts them. Not in a transaction
    SQLAlchemy began, it runs on its own (autocommit on both): one snapshot a statement."""
    if connection.dialect.name == "postgresql":
        return await fetch_raw(connection, statement.pg, values)
    rows = await _by_sqlite3(connection, "read_here", statement, values)
    if rows is not None:
        return rows
    return (await connection.execute(statement.statement, values)).all()


async def write_rows(
    connection: AsyncConnection, statement: Prepared, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """A small write in the write transaction begun on ``connection`` (``connection.begin()``
    first: SQLAlchemy then commits or rolls back what ran here). On SQLite, within
    ``small_statements()``, sqlite3 itself in the event loop's thread once the write lock
    is ours (``sqlite_driver``'s ``write_here``: SQLAlchemy's execution was ~30 % of a
    booking's CPU, spent while holding SQLite's only write lock); else SQLAlchemy. Its
    rows (RETURNING), converted as SQLAlchemy converts them; [] without."""
    if connection.dialect.name != "postgresql":
        rows = await _by_sqlite3(connection, "write_here", statement, values)
        if rows is not None:
            return rows
    result = await connection.execute(statement.statement, values)
    return result.all() if result.returns_rows else []


async def _by_sqlite3(
    connection: AsyncConnection, way: str, statement: Prepared, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]] | None:
    """``statement`` run by ``sqlite_driver``'s ``read_here`` or ``write_here`` (``way``),
    its rows converted; None when it may not run there (nothing run)."""
    run = getattr((await _pooled(connection)).dbapi_connection, way, None)
    if run is None:
        return None
    rows = run(statement.sqlite.sql, statement.sqlite.arguments(values))
    return None if rows is None else statement.sqlite.rows(rows)


M = TypeVar("M")


@dataclass(frozen=True)
class Whole:
    """A model's mapped columns in one order (not the ORM's insert sentinel): to select
    whole rows by the driver (``fetch_rows``) and to make ``transient`` instances of them."""

    model: type
    keys: tuple[str, ...]  # the attributes' names
    columns: tuple[Any, ...]  # their table columns, in the same order

    def __len__(self) -> int:
        return len(self.keys)

    def of(self, row: Sequence[Any], at: int = 0) -> Any:
        """The instance made of ``row``'s columns from ``at`` on (read only, see ``transient``)."""
        return transient(
            self.model, dict(zip(self.keys, row[at : at + len(self.keys)], strict=True))
        )


def whole(model: type) -> Whole:
    attributes = [a for a in inspect(model).column_attrs if not a.key.startswith("_")]
    return Whole(model, tuple(a.key for a in attributes), tuple(a.columns[0] for a in attributes))


def sqlite_utc(value: dt.datetime) -> str:
    """An instant as SQLite holds a ``DateTimeUTC`` column (what SQLAlchemy binds: UTC,
    ``YYYY-MM-DD HH:MM:SS.ffffff``), e.g. to look up rows read as text by that text."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def paged(query: Any) -> Prepared:
    """``query`` a page at a time (``:limit`` rows from ``:offset``), prepared."""
    return prepared(
        query.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))
    )


async def fetch_page(
    connection: AsyncConnection,
    statement_for: Callable[[tuple[str, ...]], Prepared],
    given: Mapping[str, Any],
    *,
    limit: int,
    offset: int,
) -> Sequence[Sequence[Any]]:
    """A page of a public list filtered by what the caller gave (``given``: each filter's
    value, None when not asked for), by ``fetch_rows``. ``statement_for(names)`` makes the
    statement for a combination of filters (cache it: one per combination, so PostgreSQL
    plans each with only its own conditions, not ``(:x IS NULL OR col = :x)``)."""
    names = tuple(name for name, value in given.items() if value is not None)
    values = {name: given[name] for name in names}
    return await fetch_rows(
        connection, statement_for(names), {**values, "limit": limit, "offset": offset}
    )


def transient(model: type[M], columns: Mapping[str, Any]) -> M:
    """A mapped instance made as the ORM's loader makes one from a row: its state set up and
    its columns put straight in its ``__dict__``, without ``__init__``'s attribute events
    (validators, change history: ~25 µs for a ``User``, ~1.5 µs this way). Only for values
    read from the database or already checked, on an object that is read and never added to
    a session (it would insert nothing: no change was recorded)."""
    instance = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    instance.__dict__.update(columns)
    return instance


async def fetch_raw(
    connection: AsyncConnection, statement: RawStatement, values: Mapping[str, Any]
) -> list[Any]:
    """PostgreSQL: ``statement`` on the connection's asyncpg connection itself, without
    SQLAlchemy's execution and result machinery (~0.1 ms a statement; the uncached
    listing went from 1,940 to 2,400 req/s). For the hottest statements only. It runs in
    the transaction SQLAlchemy began on this connection, if any, else on its own: only
    for a statement that is atomic by itself. Values as asyncpg takes them (UUIDs, aware
    datetimes, numbers, text; JSON parameters are encoded here): no other SQLAlchemy type
    processing. asyncpg records."""
    raw = await _pooled(connection)
    return await raw.driver_connection.fetch(statement.sql, *statement.arguments(values))


async def _pooled(connection: AsyncConnection) -> Any:
    """The connection's pooled DBAPI connection: at once when it holds one (the usual case;
    ``get_raw_connection`` hands even that to a greenlet, ~40 µs), else through SQLAlchemy
    (which reconnects an invalidated one)."""
    sync = connection.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection
    return await connection.get_raw_connection()


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for transactions that only read: on SQLite they start with a plain
    (deferred) BEGIN and run beside the single writer instead of queueing behind it.
    On PostgreSQL they run in autocommit: each statement already had its own snapshot
    (READ COMMITTED), and BEGIN and COMMIT were two round trips of a one-statement listing.
    Made once per engine (it was rebuilt on every GET request)."""
    derived = engine.sync_engine.__dict__.get("_tierslieu_read_only")
    if derived is None:
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        derived = engine.execution_options(**options)
        engine.sync_engine.__dict__["_tierslieu_read_only"] = derived
    return derived


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 512 KiB of page cache per connection (SQLite's default is 2 MiB): the pool keeps
        # up to 30 connections, and the file's pages stay in the OS cache anyway. From
        # 1 MiB: the benchmark server's RSS 205 -> 194 MB, no write or read slower
        # (harness, SQLite, two runs each).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            # Readers never wait for the write lock. Straight to the driver's cursor, which
            # keeps the BEGIN to send with the first statement (sqlite_driver): it cannot
            # fail nor wait, and SQLAlchemy's execution machinery around it was ~4 % of an
            # early meal-order refusal's CPU.
            connection.connection.dbapi_connection.cursor().execute("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # may wait; errors wrapped as usual


def public_url(bind: AsyncSession | AsyncEngine) -> str:
    """``settings.public_url`` of the engine (or the one behind a session; its default if
    unknown)."""
    engine = bind.get_bind() if isinstance(bind, AsyncSession) else bind.sync_engine
    options = engine.get_execution_options()
    default = Settings.__dataclass_fields__["public_url"].default
    return str(options.get(PUBLIC_URL_OPTION) or default)


def insert_for(session: AsyncSession) -> Any:
    """The ``insert`` of the session's database, with its ``on_conflict_do_*`` (an upsert
    reads the same on PostgreSQL and SQLite)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def open_connections(engine: AsyncEngine, count: int) -> None:
    """Open ``count`` pooled connections now (at start-up), each used once, then returned
    to the pool: opened on demand, the first burst of requests waited for them (a new
    SQLite connection is a thread and five PRAGMAs; the uncached listing's first seconds
    had a p99 of 230 ms, 21 ms once they were open). A database not reachable yet is only
    logged: the service starts anyway and connects on demand."""

    async def one() -> Any:
        connection = await read_only(engine).connect()
        await connection.exec_driver_sql("SELECT 1")
        return connection

    opened = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    for connection in opened:
        if isinstance(connection, BaseException):
            logger.warning("could not open a database connection at start-up: %s", connection)
        else:
            await connection.close()


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database; raises if it is unreachable."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# --- migrations -----------------------------------------------------------------


def migrations_path() -> Path:
    """Where the Alembic scripts are: shipped in the wheel, or the checkout's ``alembic/``."""
    packaged = Path(__file__).resolve().parent / "_migrations"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "alembic"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("tierslieu migrations not found (neither packaged nor in a checkout)")


def alembic_config(settings: Settings) -> AlembicConfig:
    """An Alembic configuration that needs no ``alembic.ini`` nor a working directory."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_path()))
    # '%' must be doubled for ConfigParser interpolation.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.attributes["tierslieu_settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings), revision)


def current_revision(settings: Settings) -> str | None:
    async def _read() -> str | None:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_current_from_connection)
        finally:
            await engine.dispose()

    return asyncio.run(_read())


def _current_from_connection(connection: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
