"""``db.fetch_rows``: a small hot read by the driver itself (asyncpg, or sqlite3 in the event
loop's thread) reads exactly what SQLAlchemy reads, and on SQLite never runs where it
could wait for the write lock."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import Integer, column, text

from tierslieu import db
from tierslieu.security import token_digest
from tierslieu.services import accounts, canteen_early
from tierslieu.services.canteen_orders import caller_facts_values


def test_the_shortest_way_reads_what_sqlalchemy_reads(client, relais, settings):
    karim = relais.world.professional
    token = karim.headers["Authorization"].split()[1]
    service = relais.service

    async def main() -> list[tuple[object, object]]:
        engine = db.create_engine(settings)
        pairs = []
        try:
            async with db.read_only(engine).connect() as connection:
                now = dt.datetime.now(dt.UTC)
                person_values = {"digest": token_digest(token), "now": now}
                person = await accounts.person_for_token(connection, token)
                assert person is not None and person.display_name == "Karim Benali"
                order_values = {
                    **caller_facts_values(person, uuid.UUID(service["id"]), now),
                    "window_id": uuid.UUID(service["pickup_windows"][0]["id"]),
                }
                for fast, values in (
                    (accounts._PERSON_FOR_TOKEN_FAST, person_values),
                    (canteen_early._ORDER_READS_FAST, order_values),
                ):
                    with db.small_statements():
                        quick = [tuple(r) for r in await db.fetch_rows(connection, fast, values)]
                    usual = [tuple(r) for r in (await connection.execute(fast.statement, values))]
                    pairs.append((quick, usual))
                tariff_values = {"structure_id": pairs[1][1][0][2], "user_id": person.id}
                with db.small_statements():
                    quick = await db.fetch_rows(
                        connection, canteen_early._TARIFFS_FAST, tariff_values
                    )
                usual = await connection.execute(
                    canteen_early._TARIFFS_FAST.statement, tariff_values
                )
                pairs.append(([tuple(r) for r in quick], [tuple(r) for r in usual]))
        finally:
            await engine.dispose()
        return pairs

    pairs = asyncio.run(main())
    for quick, usual in pairs:
        assert quick == usual and quick
    # Typed as SQLAlchemy types them: UUIDs, aware datetimes, JSON, None.
    menu_rows = pairs[1][0]
    assert len(menu_rows) == len(service["items"])
    row = menu_rows[0]
    assert isinstance(row[2], uuid.UUID) and row[0].tzinfo is not None
    assert isinstance(row[-4], dict) and row[1] is None
    assert {t[1] for t in pairs[2][0]} == {"professionnel", "habitant", "solidaire"}


def test_sqlite_reads_in_the_loop_thread_never_before_the_write_lock(settings):
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    statement = db.prepared(text("SELECT thread_id() AS t").columns(column("t", Integer)))

    async def main() -> dict[str, object]:
        engine = db.create_engine(settings)
        from sqlalchemy import event

        @event.listens_for(engine.sync_engine, "connect")
        def _register(dbapi_connection, _record) -> None:
            dbapi_connection._connection._conn.create_function("thread_id", 0, threading.get_ident)

        loop_thread = threading.get_ident()
        seen: dict[str, object] = {}
        try:
            async with db.read_only(engine).connect() as connection:
                raw = connection.sync_connection.connection.dbapi_connection._connection._conn
                with db.small_statements():
                    rows = await db.fetch_rows(connection, statement, {})
                seen["alone, in the loop"] = rows[0][0] == loop_thread
                seen["alone: no transaction left open"] = raw.in_transaction
                await connection.begin()
                with db.small_statements():
                    rows = await db.fetch_rows(connection, statement, {})
                seen["in SQLAlchemy's read transaction"] = raw.in_transaction
                rows = await db.fetch_rows(connection, statement, {})
                seen["not marked small: the connection's thread"] = rows[0][0] != loop_thread
            async with engine.connect() as connection, connection.begin():
                raw = connection.sync_connection.connection.dbapi_connection
                with db.small_statements():
                    # BEGIN IMMEDIATE still to send: not here (it may wait for the lock).
                    seen["before the write lock"] = raw.read_here("SELECT 1", ()) is None
                    rows = await db.fetch_rows(connection, statement, {})
                seen["write transaction begun"] = raw._write_locked
        finally:
            await engine.dispose()
        return seen

    assert asyncio.run(main()) == {
        "alone, in the loop": True,
        "alone: no transaction left open": False,
        "in SQLAlchemy's read transaction": True,
        "not marked small: the connection's thread": True,
        "before the write lock": True,
        "write transaction begun": True,
    }
