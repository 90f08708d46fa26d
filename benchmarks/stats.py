"""Statistics at scale: 1,000,000 bookings, then a year of monthly figures (target < 2 s).

    .venv/bin/python benchmarks/stats.py                 # SQLite in a temporary file
    .venv/bin/python benchmarks/stats.py --bookings 200000 --keep /tmp/stats-bench.db
    .venv/bin/python benchmarks/stats.py --db postgresql://postgres@127.0.0.1:5432/stats_bench
    .venv/bin/python benchmarks/stats.py --keep /tmp/stats-bench.db --reuse   # measure again

The bookings are bulk-inserted (SQLite: the sqlite3 module, ``executemany`` in one
transaction; PostgreSQL: asyncpg's ``COPY``; the schema from the Alembic migrations),
spread over 18 months, five shared assets and 3,000 people (accounts and guests, every
status), the same rows on both databases. A PostgreSQL database given with ``--db`` is
emptied first (every table dropped) unless ``--reuse``. The measured call is the same
service the API and the Bilan page use (``services.stats.compute_report``), run three
times; the best and the median are printed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import asyncpg  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: E402

from tierslieu import db  # noqa: E402
from tierslieu.domain.stats import Grouping  # noqa: E402
from tierslieu.models import Structure  # noqa: E402
from tierslieu.services.stats import compute_report  # noqa: E402
from tierslieu.settings import Settings, normalise_database_url  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
TARGET_SECONDS = 2.0
STATUSES = ["attended"] * 12 + ["confirmed"] * 3 + ["no_show", "cancelled", "cancelled"]


def stamp(moment: dt.datetime) -> str:
    """How SQLAlchemy stores a UTC DateTime on SQLite."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


BOOKING_COLUMNS = (
    "id, asset_id, user_id, guest_name, guest_phone, starts_at, ends_at, party_size, note,"
    " status, exclusive, sequence, cancelled_at, created_at, updated_at"
)


class Data:
    """The same rows for either database (Python values; each loader converts them)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.draw = random.Random(7)
        self.now = dt.datetime.now(dt.UTC)
        self.structure_id = uuid.uuid4()
        self.assets = [uuid.uuid4() for _ in range(5)]
        self.users = [uuid.uuid4() for _ in range(2000)]

    def structure(self) -> tuple[Any, ...]:
        return (self.structure_id, self.now, self.now)

    def assets_rows(self) -> list[tuple[Any, ...]]:
        return [
            (a, self.structure_id, f"Jardin {n}", self.now, self.now)
            for n, a in enumerate(self.assets)
        ]

    def rules(self) -> list[tuple[Any, ...]]:
        return [(uuid.uuid4(), a, self.now, self.now) for a in self.assets]

    def users_rows(self) -> list[tuple[Any, ...]]:
        return [
            (u, f"p{i}@bench.test", "neighbour" if i % 3 else "professional", self.now, self.now)
            for i, u in enumerate(self.users)
        ]

    def bookings(self, n: int) -> Iterator[tuple[Any, ...]]:
        draw, first = self.draw, dt.datetime(2025, 1, 1, 8, tzinfo=PARIS)
        for _ in range(n):
            day = first + dt.timedelta(days=draw.randrange(546), hours=draw.randrange(12))
            starts = day.astimezone(dt.UTC)
            status = draw.choice(STATUSES)
            guest = draw.random() < 0.3
            yield (
                uuid.uuid4(),
                draw.choice(self.assets),
                None if guest else draw.choice(self.users),
                f"Invité {draw.randrange(1000)}" if guest else None,
                f"06{draw.randrange(10**8):08d}" if guest else None,
                starts,
                starts + dt.timedelta(hours=1),
                draw.randint(1, 3),
                "",
                status,
                False,
                0,
                starts - dt.timedelta(hours=draw.choice([1, 48]))
                if status == "cancelled"
                else None,
                self.now,
                self.now,
            )


STRUCTURE_SQL = (
    "INSERT INTO structure (id, slug, name, kind, address, postcode, commune, timezone,"
    " description, closed_on_public_holidays, share_stats, created_at, updated_at)"
    " VALUES ({0}, 'bench', 'Bench', 'ehpad', '', '', 'Bondy', 'Europe/Paris', '', true, false,"
    " {1}, {2})"
)
ASSET_SQL = (
    "INSERT INTO asset (id, structure_id, name, kind, booking_mode, capacity, audience,"
    " description, wheelchair, step_free, accessible_toilets, min_notice_minutes,"
    " max_advance_days, cancel_until_minutes, max_party_size, requires_approval,"
    " created_at, updated_at) VALUES ({0}, {1}, {2}, 'garden', 'shared', 40,"
    " '[\"neighbours\"]', '', true, true, true, 0, 60, 120, 4, false, {3}, {4})"
)
RULE_SQL = (
    "INSERT INTO availability_rule (id, asset_id, weekdays, start_time, end_time,"
    " valid_from, slot_minutes, capacity, created_at, updated_at)"
    " VALUES ({0}, {1}, '[1,2,3,4,5,6,7]', {start}, {end}, {valid_from}, 60, 40, {2}, {3})"
)
USER_SQL = (
    "INSERT INTO user_account (id, email, password_hash, display_name, kind, locale,"
    " is_admin, is_active, created_at, updated_at)"
    " VALUES ({0}, {1}, 'x', 'p', {2}, 'fr', false, true, {3}, {4})"
)


def load_sqlite(path: Path, count: int) -> None:
    data = Data(count)

    def native(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            v.bytes
            if isinstance(v, uuid.UUID)
            else stamp(v)
            if isinstance(v, dt.datetime)
            else int(v)
            if isinstance(v, bool)
            else v
            for v in row
        )

    def marks(sql: str, n: int, **extra: str) -> str:
        return sql.format(*["?"] * n, **extra)

    con = sqlite3.connect(path)
    con.execute(marks(STRUCTURE_SQL, 3), native(data.structure()))
    con.executemany(marks(ASSET_SQL, 5), map(native, data.assets_rows()))
    con.executemany(
        marks(
            RULE_SQL,
            4,
            start="'08:00:00.000000'",
            end="'20:00:00.000000'",
            valid_from="'2025-01-01'",
        ),
        map(native, data.rules()),
    )
    con.executemany(marks(USER_SQL, 5), map(native, data.users_rows()))
    started = time.perf_counter()
    batch = 100_000
    for offset in range(0, count, batch):
        con.executemany(
            f"INSERT INTO booking ({BOOKING_COLUMNS}) VALUES ({', '.join(['?'] * 15)})",  # noqa: S608
            map(native, data.bookings(min(batch, count - offset))),
        )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    print(f"loaded {count:,} bookings in {time.perf_counter() - started:.1f} s")


async def load_postgresql(url: str, count: int) -> None:
    data = Data(count)
    con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:

        def marks(sql: str, n: int, **extra: str) -> str:
            return sql.format(*[f"${i + 1}" for i in range(n)], **extra)

        await con.execute(marks(STRUCTURE_SQL, 3), *data.structure())
        await con.executemany(marks(ASSET_SQL, 5), data.assets_rows())
        await con.executemany(
            marks(RULE_SQL, 4, start="'08:00'", end="'20:00'", valid_from="'2025-01-01'"),
            data.rules(),
        )
        await con.executemany(marks(USER_SQL, 5), data.users_rows())
        started = time.perf_counter()
        columns = [c.strip() for c in BOOKING_COLUMNS.split(",")]
        batch = 100_000
        for offset in range(0, count, batch):
            await con.copy_records_to_table(
                "booking", records=list(data.bookings(min(batch, count - offset))), columns=columns
            )
        await con.execute("VACUUM ANALYZE booking")
        await con.execute("ANALYZE")
        print(f"loaded {count:,} bookings in {time.perf_counter() - started:.1f} s")
    finally:
        await con.close()


async def empty_postgresql(url: str) -> None:
    con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await con.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await con.close()


async def measure(settings: Settings, runs: int) -> list[float]:
    """Wall-clock seconds per report; prints the median CPU time of this process (all of
    it on SQLite, which runs in the process; only the client's share on PostgreSQL)."""
    engine = db.create_engine(settings)
    timings: list[float] = []
    cpu_times: list[float] = []
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            structure = await session.scalar(select(Structure).where(Structure.slug == "bench"))
            assert structure is not None
            for _ in range(runs):
                started, cpu = time.perf_counter(), time.process_time()
                report = await compute_report(
                    session, structure, dt.date(2025, 1, 1), dt.date(2025, 12, 31), Grouping.MONTH
                )
                timings.append(time.perf_counter() - started)
                cpu_times.append(time.process_time() - cpu)
            total = sum(a.total.bookings for a in report.assets)
            print(f"a year of monthly figures: {len(report.assets)} assets, {total:,} bookings")
            print(
                f"median CPU time of this process per report: {statistics.median(cpu_times):.2f} s"
            )
    finally:
        await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--keep", type=Path, help="SQLite: keep the database at this path")
    parser.add_argument(
        "--reuse", action="store_true", help="measure an already loaded database (--keep or --db)"
    )
    args = parser.parse_args()
    if args.db:
        settings = Settings(database_url=normalise_database_url(args.db))
        if not args.reuse:
            asyncio.run(empty_postgresql(settings.database_url))
            db.upgrade(settings)
            asyncio.run(load_postgresql(settings.database_url, args.bookings))
        else:
            db.upgrade(settings)
    else:
        path = args.keep or Path(tempfile.mkdtemp(prefix="tierslieu-stats-")) / "bench.db"
        settings = Settings(database_url=normalise_database_url(f"sqlite:///{path}"))
        if not args.reuse:
            path.unlink(missing_ok=True)
            db.upgrade(settings)
            load_sqlite(path, args.bookings)
        else:
            db.upgrade(settings)
    timings = asyncio.run(measure(settings, args.runs))
    best, median = min(timings), statistics.median(timings)
    verdict = "met" if median < TARGET_SECONDS else "missed"
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"best {best:.2f} s, median {median:.2f} s (target < {TARGET_SECONDS:.0f} s: {verdict});"
        f" load average {load}"
    )
    if not args.db and not args.keep:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
