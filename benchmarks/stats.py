"""Statistics at scale: 1,000,000 bookings, then a year of monthly figures (target < 2 s).

    .venv/bin/python benchmarks/stats.py                 # SQLite in a temporary file
    .venv/bin/python benchmarks/stats.py --bookings 200000 --keep /tmp/stats-bench.db

The bookings are bulk-inserted with the sqlite3 module (``executemany`` in one
transaction, the schema from the Alembic migrations), spread over 18 months, five
shared assets and 3,000 people (accounts and guests, every status). The measured call
is the same service the API and the Bilan page use (``services.stats.compute_report``),
run three times; the best and the median are printed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

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


def load(path: Path, count: int) -> None:
    draw = random.Random(7)
    con = sqlite3.connect(path)
    now = stamp(dt.datetime.now(dt.UTC))
    structure_id = uuid.uuid4().bytes
    con.execute(
        "INSERT INTO structure (id, slug, name, kind, address, postcode, commune, timezone,"
        " description, closed_on_public_holidays, share_stats, created_at, updated_at)"
        " VALUES (?, 'bench', 'Bench', 'ehpad', '', '', 'Bondy', 'Europe/Paris', '', 1, 0, ?, ?)",
        (structure_id, now, now),
    )
    assets = [uuid.uuid4().bytes for _ in range(5)]
    for n, asset in enumerate(assets):
        con.execute(
            "INSERT INTO asset (id, structure_id, name, kind, booking_mode, capacity, audience,"
            " description, wheelchair, step_free, accessible_toilets, min_notice_minutes,"
            " max_advance_days, cancel_until_minutes, max_party_size, requires_approval,"
            " created_at, updated_at) VALUES (?, ?, ?, 'garden', 'shared', 40,"
            " '[\"neighbours\"]', '', 1, 1, 1, 0, 60, 120, 4, 0, ?, ?)",
            (asset, structure_id, f"Jardin {n}", now, now),
        )
        con.execute(
            "INSERT INTO availability_rule (id, asset_id, weekdays, start_time, end_time,"
            " valid_from, slot_minutes, capacity, created_at, updated_at)"
            " VALUES (?, ?, '[1,2,3,4,5,6,7]', '08:00:00.000000', '20:00:00.000000',"
            " '2025-01-01', 60, 40, ?, ?)",
            (uuid.uuid4().bytes, asset, now, now),
        )
    users = [uuid.uuid4().bytes for _ in range(2000)]
    con.executemany(
        "INSERT INTO user_account (id, email, password_hash, display_name, kind, locale,"
        " is_admin, is_active, created_at, updated_at) VALUES (?, ?, 'x', 'p', ?, 'fr', 0, 1, ?, ?)",
        [
            (u, f"p{i}@bench.test", "neighbour" if i % 3 else "professional", now, now)
            for i, u in enumerate(users)
        ],
    )
    first = dt.datetime(2025, 1, 1, 8, tzinfo=PARIS)

    def rows(n: int):
        for _ in range(n):
            day = first + dt.timedelta(days=draw.randrange(546), hours=draw.randrange(12))
            starts = day.astimezone(dt.UTC)
            status = draw.choice(STATUSES)
            guest = draw.random() < 0.3
            yield (
                uuid.uuid4().bytes,
                draw.choice(assets),
                None if guest else draw.choice(users),
                f"Invité {draw.randrange(1000)}" if guest else None,
                f"06{draw.randrange(10**8):08d}" if guest else None,
                stamp(starts),
                stamp(starts + dt.timedelta(hours=1)),
                draw.randint(1, 3),
                status,
                stamp(starts - dt.timedelta(hours=draw.choice([1, 48])))
                if status == "cancelled"
                else None,
                now,
                now,
            )

    started = time.perf_counter()
    batch = 100_000
    for offset in range(0, count, batch):
        con.executemany(
            "INSERT INTO booking (id, asset_id, user_id, guest_name, guest_phone, starts_at,"
            " ends_at, party_size, note, status, exclusive, sequence, cancelled_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, 0, 0, ?, ?, ?)",
            rows(min(batch, count - offset)),
        )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    print(f"loaded {count:,} bookings in {time.perf_counter() - started:.1f} s")


async def measure(settings: Settings, runs: int) -> list[float]:
    engine = db.create_engine(settings)
    timings = []
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            structure = await session.scalar(select(Structure).where(Structure.slug == "bench"))
            assert structure is not None
            for _ in range(runs):
                started = time.perf_counter()
                report = await compute_report(
                    session, structure, dt.date(2025, 1, 1), dt.date(2025, 12, 31), Grouping.MONTH
                )
                timings.append(time.perf_counter() - started)
            total = sum(a.total.bookings for a in report.assets)
            print(f"a year of monthly figures: {len(report.assets)} assets, {total:,} bookings")
    finally:
        await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the database at this path")
    args = parser.parse_args()
    path = args.keep or Path(tempfile.mkdtemp(prefix="tierslieu-stats-")) / "bench.db"
    path.unlink(missing_ok=True)
    settings = Settings(database_url=normalise_database_url(f"sqlite:///{path}"))
    db.upgrade(settings)
    load(path, args.bookings)
    timings = asyncio.run(measure(settings, args.runs))
    best, median = min(timings), statistics.median(timings)
    verdict = "met" if median < TARGET_SECONDS else "missed"
    print(f"best {best:.2f} s, median {median:.2f} s (target < {TARGET_SECONDS:.0f} s: {verdict})")
    if not args.keep:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
