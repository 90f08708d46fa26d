"""The schema comes only from migrations: up from empty, down to base, up again, and the
models match what the migrations built (no autogenerate diff) — on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import IS_POSTGRES, PG_URL, make_settings
from tierslieu import db
from tierslieu.models import metadata
from tierslieu.settings import Settings


@pytest.fixture
def empty_database(tmp_path) -> Iterator[Settings]:
    if not IS_POSTGRES:
        yield make_settings(f"sqlite:///{tmp_path / 'empty.db'}")
        return
    name = f"tierslieu_mig_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(make_settings(PG_URL).database_url)

    async def _admin(sql: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_settings(admin_url.set(database=name).render_as_string(hide_password=False))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _inspect(settings: Settings) -> tuple[set[str], list[Any]]:
    def _work(connection: Any) -> tuple[set[str], list[Any]]:
        tables = set(inspect(connection).get_table_names())
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": db_compare_type(), "target_metadata": metadata},
        )
        return tables, compare_metadata(context, metadata)

    async def _run() -> tuple[set[str], list[Any]]:
        engine = db.create_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_work)
        finally:
            await engine.dispose()

    return asyncio.run(_run())


def db_compare_type() -> Any:
    from advanced_alchemy.types import GUID, DateTimeUTC

    def _compare(_ctx, _ic, _mc, _it, metadata_type):
        return False if isinstance(metadata_type, GUID | DateTimeUTC) else None

    return _compare


def test_upgrade_downgrade_upgrade_and_models_match(empty_database: Settings) -> None:
    settings = empty_database
    db.upgrade(settings)
    tables, diff = _inspect(settings)
    assert set(metadata.tables) <= tables
    assert diff == [], f"models and migrations differ: {diff}"

    db.downgrade(settings, "base")
    tables, _ = _inspect(settings)
    assert tables <= {"alembic_version"}

    db.upgrade(settings)
    tables, diff = _inspect(settings)
    assert set(metadata.tables) <= tables
    assert diff == []
    assert db.current_revision(settings) is not None
