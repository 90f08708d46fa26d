"""How the statistics read the bookings (a year of monthly figures on 1,000,000 bookings
took 17.6 s when every booking was looked up in the table and sorted; see
benchmarks/README.md): three statements, each one range of the covering index
``ix_booking_stats``, no table scan. SQLite's plan; PostgreSQL chooses by its statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.stats_fixtures import build_known_months
from tests.conftest import IS_POSTGRES, World, run_db
from tierslieu.domain.stats import Grouping
from tierslieu.models import Structure
from tierslieu.services.stats import compute_report
from tierslieu.settings import Settings

pytestmark = pytest.mark.skipif(IS_POSTGRES, reason="EXPLAIN QUERY PLAN is SQLite's")


def test_a_report_reads_each_booking_once_from_the_covering_index(
    client: Any, settings: Settings, world: World
) -> None:
    build_known_months(settings, world)

    async def work(session: AsyncSession) -> tuple[int, list[str]]:
        seen: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if "FROM booking" in statement:
                seen.append((statement, params))

        structure = await session.scalar(
            select(Structure).where(Structure.slug == "ehpad-les-tilleuls")
        )
        assert structure is not None
        bind = session.get_bind()
        event.listen(bind, "before_cursor_execute", record)
        try:
            report = await compute_report(
                session, structure, dt.date(2026, 2, 1), dt.date(2026, 3, 31), Grouping.MONTH
            )
        finally:
            event.remove(bind, "before_cursor_execute", record)
        connection = await session.connection()
        plans = []
        for statement, params in seen:
            rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            plans.append(" | ".join(str(row[3]) for row in rows))
        return report.assets[0].total.bookings, plans

    bookings, plans = run_db(settings, work)
    assert bookings == 8  # the hand count of stats_fixtures.py
    assert len(plans) == 3, plans
    for plan in plans:
        assert "USING COVERING INDEX ix_booking_stats" in plan, plan
        assert "SCAN booking" not in plan, plan
