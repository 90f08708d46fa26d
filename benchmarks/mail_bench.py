"""E-mail delivery benchmark: 10,000 queued messages delivered to a local SMTP server
(aiosmtpd), and the booking latency of a real server meanwhile.

    .venv/bin/python benchmarks/mail_bench.py                  # SQLite (temporary file)
    .venv/bin/python benchmarks/mail_bench.py --db postgresql  # TIERSLIEU_BENCH_PG database

1. A real `tierslieu` server (uvicorn, in-process delivery off), a garden, 40 neighbours.
2. Booking latency alone: sequential POST /api/bookings, p50 / p99.
3. 10,000 rows enqueued; one delivery worker (``services.delivery.deliver_due`` in this
   process, as `tierslieu worker` runs it) delivers them to aiosmtpd on loopback while the
   same bookings go on: delivery rate (messages/s) and booking p50 / p99 meanwhile.

The messages use a renderer of this benchmark (text, HTML and an iCalendar part, the size
of a booking confirmation), registered for one kind: the cost measured is delivery's, not
a template's. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.conftest import make_settings  # noqa: E402
from tests.integration.test_booking_concurrency import PARIS, _day_ahead, _setup  # noqa: E402
from tests.mailbox import Mailbox  # noqa: E402
from tests.server_process import start_server  # noqa: E402

from tierslieu import db  # noqa: E402
from tierslieu.domain.notifications import Kind  # noqa: E402
from tierslieu.models import OutboxMessage  # noqa: E402
from tierslieu.services import mail  # noqa: E402
from tierslieu.services.delivery import deliver_due  # noqa: E402
from tierslieu.services.mail import Mail  # noqa: E402
from tierslieu.services.outbox import Recipient, enqueue  # noqa: E402

MESSAGES = 10_000
BOOKINGS = 200  # per phase
PEOPLE = 40
KIND = Kind.BOOKING_CONFIRMED
PG = os.environ.get(
    "TIERSLIEU_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/tierslieu_mail_bench"
)

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tierslieu//bench//FR\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:{n}@tierslieu\r\nSEQUENCE:0\r\nDTSTAMP:20261201T080000Z\r\n"
    "DTSTART:20261203T110000Z\r\nDTEND:20261203T120000Z\r\nSUMMARY:Jardin des Tilleuls\r\n"
    "LOCATION:12 rue des Tilleuls\\, Bondy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def bench_mail(params: Any, language: str, settings: Any) -> Mail:
    n = params["n"]
    body = (
        f"Bonjour Jeanne,\n\nVotre réservation n° {n} au Jardin des Tilleuls est confirmée : "
        "jeudi 3 décembre, de 12 h à 13 h, 2 personnes.\n\nPour annuler : "
        "https://tierslieu.test/mes-reservations\n\nÀ bientôt,\nL'équipe des Tilleuls\n"
    )
    return Mail(
        subject=f"Réservation confirmée — Jardin des Tilleuls (n° {n})",
        text=body,
        html="<p>" + body.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>",
        calendar=ICS.format(n=n).encode(),
        calendar_method="REQUEST",
    )


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return (
        statistics.median(ordered),
        ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    )


async def book(
    base: str, people: list[dict], garden_id: str, first: int, count: int
) -> list[float]:
    """Sequential bookings (each person, each slot distinct); latency of each, in ms."""
    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for i in range(first, first + count):
            day = _day_ahead(2 + i // 24)
            hour = 9 + (i // 8) % 3
            slot = {
                "asset_id": garden_id,
                "starts_at": dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS).isoformat(),
                "ends_at": dt.datetime.combine(day, dt.time(hour + 1), tzinfo=PARIS).isoformat(),
                "party_size": 1,
            }
            started = time.perf_counter()
            response = await client.post("/api/bookings", json=slot, headers=people[i % PEOPLE])
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
    return latencies


async def enqueue_all(settings: Any) -> None:
    engine = db.create_engine(settings)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            for n in range(MESSAGES):
                to = Recipient(email=f"personne{n}@exemple.test", name="Jeanne Martin")
                enqueue(session, KIND, to, {"n": n}, public_url=settings.public_url)
                if n % 1000 == 999:
                    await session.commit()
            await session.commit()
    finally:
        await engine.dispose()


async def deliver_all(settings: Any) -> tuple[float, int]:
    engine = db.create_engine(settings)
    try:
        factory = async_sessionmaker(engine, expire_on_commit=False)
        started = time.perf_counter()
        total = 0
        while True:
            done = await deliver_due(factory, settings)
            if not done:
                break
            total += done
        elapsed = time.perf_counter() - started
        async with factory() as session:
            sent = await session.scalar(select(func.count()).where(OutboxMessage.status == "sent"))
        return elapsed, int(sent or 0)
    finally:
        await engine.dispose()


async def both(settings: Any, base: str, people: list[dict], garden_id: str) -> Any:
    delivery = asyncio.create_task(deliver_all(settings))
    await asyncio.sleep(0.2)  # delivery under way
    latencies = await book(base, people, garden_id, BOOKINGS, BOOKINGS)
    still_running = not delivery.done()
    elapsed, sent = await delivery
    return latencies, still_running, elapsed, sent


def fresh(kind: str, workdir: Path) -> Any:
    if kind == "sqlite":
        settings = make_settings(f"sqlite:///{workdir / 'bench.db'}")
    else:
        settings = make_settings(PG)

        async def reset() -> None:
            engine = db.create_engine(settings)
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(reset())
    db.upgrade(settings)
    return settings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    mail._load()
    mail.renderer(KIND)(bench_mail)
    box = Mailbox(parse=False)
    box.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = fresh(args.db, Path(tmp))
        settings = dataclasses.replace(settings, smtp_url=box.url)
        server = start_server(settings, log_path=Path(tmp) / "server.log")
        try:
            world = _setup(server.base_url, settings, people=PEOPLE)
            garden = world["garden"]["id"]
            alone = asyncio.run(book(server.base_url, world["neighbours"], garden, 0, BOOKINGS))
            asyncio.run(enqueue_all(settings))
            during, overlapped, elapsed, sent = asyncio.run(
                both(settings, server.base_url, world["neighbours"], garden)
            )
        finally:
            server.stop()
            box.stop()
    received = len(box.messages)
    unique = len(set(box.message_ids()))
    p50a, p99a = percentiles(alone)
    p50d, p99d = percentiles(during)
    print(f"database: {args.db}; cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    print(f"delivered {sent} messages in {elapsed:.1f} s: {sent / elapsed:.0f} msg/s "
          f"(received {received}, distinct Message-IDs {unique})")  # fmt: skip
    print(f"booking alone:            p50 {p50a:.1f} ms  p99 {p99a:.1f} ms  ({len(alone)})")
    print(f"booking during delivery:  p50 {p50d:.1f} ms  p99 {p99d:.1f} ms  ({len(during)}"
          f"{'' if overlapped else '; delivery ended before the bookings'})")  # fmt: skip
    return 0 if sent == MESSAGES == unique else 1


if __name__ == "__main__":
    sys.exit(main())
