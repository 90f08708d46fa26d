"""Alembic environment: async engine, same SQLite set-up as the service."""

from __future__ import annotations

import asyncio

from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import context
from sqlalchemy.engine import Connection

from tierslieu.db import create_engine
from tierslieu.models import metadata
from tierslieu.settings import Settings, normalise_database_url

config = context.config
settings: Settings | None = config.attributes.get("tierslieu_settings")
if settings is None:
    # Invoked as plain `alembic ...` from the checkout: read the environment.
    settings = Settings.from_env()
    url = config.get_main_option("sqlalchemy.url")
    if url:
        settings = Settings(database_url=normalise_database_url(url))


def _compare_type(_ctx, _inspected_column, _metadata_column, _inspected_type, metadata_type):
    # advanced-alchemy's portable types (GUID, DateTimeUTC) reflect as their storage
    # type (e.g. NUMERIC on SQLite): not a real difference.
    if isinstance(metadata_type, GUID | DateTimeUTC):
        return False
    return None


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=_compare_type,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings.database_url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
