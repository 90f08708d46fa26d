"""The request pool on PostgreSQL: no ping round trip per request, yet a connection the
server closed (a restart, an idle timeout, pg_terminate_backend) is never handed out."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.slow


def _terminate_other_connections(database_url: str) -> int:
    async def main() -> int:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                killed = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                return int(killed or 0)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_requests_after_the_server_closed_the_pool_connections_succeed(client, settings, admin):
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    for _ in range(3):  # the pool now holds open connections
        assert client.get("/api/me", headers=admin.headers).status_code == 200
    assert _terminate_other_connections(settings.database_url) >= 1
    time.sleep(0.3)  # the closed sockets reach the app's event loop
    answers = [client.get("/api/me", headers=admin.headers).status_code for _ in range(5)]
    assert answers == [200] * 5
