"""tierslieu benchmarks: real server, realistic data, wrk on loopback, one table.

    .venv/bin/python benchmarks/run.py            # SQLite and PostgreSQL
    .venv/bin/python benchmarks/run.py --db sqlite --duration 5

Every throughput is a ratio to ``GET /livez`` measured in the same run on the same
server (the framework's ceiling on this machine). Needs ``wrk`` (Debian package) and,
for PostgreSQL, a server at TIERSLIEU_BENCH_PG (default postgres@127.0.0.1:5432), where it
drops and recreates the database TIERSLIEU_BENCH_DB (default tierslieu_bench).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.server_process import free_port  # noqa: E402

from tierslieu import db  # noqa: E402
from tierslieu.models import ApiToken, Booking, Membership, SlotCounter, Structure, User  # noqa: E402
from tierslieu.security import token_digest  # noqa: E402
from tierslieu.settings import Settings, normalise_database_url  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
LUA = Path(__file__).resolve().parent / "lua"
PG_ADMIN = os.environ.get(
    "TIERSLIEU_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
# The database run.py drops and recreates on that server (several checkouts can each use their own).
BENCH_DB = os.environ.get("TIERSLIEU_BENCH_DB", "tierslieu_bench")
# Enough people that repeated all-201 runs (several servers) stay under the limit of 20
# bookings to come per person and structure.
PEOPLE = 2000
ROTATING_ASSETS = 200


# Figures one run hands to a later one (one worker's booking rate for the 4-worker run).
RESULTS: dict[str, float] = {}


@dataclass
class Figure:
    name: str
    value: str
    target: str
    ok: bool | None


@dataclass
class Wrk:
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)


def run_wrk(
    url: str, *, connections: int, duration: int, script: Path | None = None, args: list[str] = ()
) -> Wrk:
    threads = min(2, connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if script:
        cmd += ["-s", str(script)]
    cmd += [url, *(["--", *args] if args else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    statuses = {}
    if match := re.search(r"STATUSES (.+)", out):
        statuses = {k: int(v) for k, v in (kv.split("=") for kv in match.group(1).split())}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors and not statuses:
        statuses["non_2xx_3xx"] = int(errors.group(1))
    return Wrk(rps, percentile("50"), percentile("99"), statuses)


# --- the database ------------------------------------------------------------------------------


async def _admin_sql(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def fresh_database(kind: str, workdir: Path) -> Settings:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        asyncio.run(_admin_sql(f'CREATE DATABASE "{BENCH_DB}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + BENCH_DB
    settings = Settings(database_url=normalise_database_url(url), secret_key="bench-secret-key")
    db.upgrade(settings)
    return settings


async def _with_session(settings: Settings, work: Any) -> Any:
    engine = db.create_engine(settings)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            return await work(session)
    finally:
        await engine.dispose()


async def _seed_people(session: AsyncSession) -> dict[str, Any]:
    """A structure, its staff, and PEOPLE neighbours with tokens (issued directly)."""
    now = dt.datetime.now(dt.UTC)
    structure = Structure(
        slug="ehpad-bench",
        name="EHPAD Les Tilleuls",
        kind="ehpad",
        commune="Bondy",
        timezone="Europe/Paris",
        closed_on_public_holidays=False,
    )
    staff = User(
        email="sophie@bench.test", password_hash="x", display_name="Sophie", kind="professional"
    )
    session.add_all([structure, staff])
    await session.flush()
    session.add(Membership(structure_id=structure.id, user_id=staff.id, role="manager"))
    tokens = {"staff": secrets.token_urlsafe(32), "people": []}
    session.add(
        ApiToken(
            user_id=staff.id,
            token_hash=token_digest(tokens["staff"]),
            expires_at=now + dt.timedelta(days=2),
        )
    )
    for i in range(PEOPLE):
        person = User(
            email=f"voisin{i}@bench.test",
            password_hash="x",
            display_name=f"Voisin {i}",
            kind="neighbour",
        )
        session.add(person)
        await session.flush()
        token = secrets.token_urlsafe(32)
        session.add(
            ApiToken(
                user_id=person.id,
                token_hash=token_digest(token),
                expires_at=now + dt.timedelta(days=2),
            )
        )
        tokens["people"].append(token)
    await session.commit()
    return tokens


def _api(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def seed_through_api(base: str, tokens: dict[str, Any]) -> dict[str, Any]:
    """Assets, opening hours, ~200 bookings and a canteen service, as staff would."""
    staff = _api(base, tokens["staff"])
    today = dt.datetime.now(PARIS).date()
    out: dict[str, Any] = {"today": today}

    def asset(name: str, kind: str = "garden", capacity: int = 8, audience=("neighbours",)) -> str:
        r = staff.post(
            "/api/structures/ehpad-bench/assets",
            json={
                "name": name,
                "kind": kind,
                "capacity": capacity,
                "audience": list(audience),
                "rules": {"min_notice_minutes": 0, "max_advance_days": 366, "max_party_size": 4},
            },
        )
        r.raise_for_status()
        return r.json()["id"]

    def rule(asset_id: str, start: str, end: str, minutes: int) -> None:
        r = staff.post(
            f"/api/assets/{asset_id}/availability",
            json={
                "weekdays": [1, 2, 3, 4, 5, 6, 7],
                "start_time": start,
                "end_time": end,
                "valid_from": today.isoformat(),
                "slot_minutes": minutes,
            },
        )
        r.raise_for_status()

    # The garden read by the slots benchmark: 2 slots a day, 62 in 31 days, ~200 bookings.
    out["garden"] = asset("Jardin des Tilleuls")
    rule(out["garden"], "09:00", "11:00", 60)
    first = today + dt.timedelta(days=1)
    slots = httpx.get(
        f"{base}/api/assets/{out['garden']}/slots",
        params={"from": first.isoformat(), "to": (first + dt.timedelta(days=30)).isoformat()},
    ).json()
    out["slots_range"] = (first, first + dt.timedelta(days=30))
    booked = 0
    for i, slot in enumerate(slots * 4):
        if booked >= 200:
            break
        person = _api(base, tokens["people"][i % PEOPLE])
        r = person.post(
            "/api/bookings",
            json={
                "asset_id": out["garden"],
                "starts_at": slot["starts_at"],
                "ends_at": slot["ends_at"],
                "party_size": 1,
            },
        )
        booked += r.status_code == 201
    out["bookings_seeded"] = booked

    # 20 contended slots for the POST benchmark: one slot a day for 20 days.
    out["contended"] = asset("Potager partagé")
    rule(out["contended"], "14:00", "15:00", 60)
    contended = httpx.get(
        f"{base}/api/assets/{out['contended']}/slots",
        params={"from": first.isoformat(), "to": (first + dt.timedelta(days=19)).isoformat()},
    ).json()
    out["contended_bodies"] = [
        f'{{"asset_id":"{out["contended"]}","starts_at":"{s["starts_at"]}","ends_at":"{s["ends_at"]}","party_size":1}}'
        for s in contended
    ]

    # All-201 bookings: a large shared hall (capacity 10,000), hourly slots 8-20 for 60 days.
    out["hall"] = asset("Grande salle", kind="room", capacity=10_000)
    rule(out["hall"], "08:00", "20:00", 60)
    hall_slots = httpx.get(
        f"{base}/api/assets/{out['hall']}/slots",
        params={"from": first.isoformat(), "to": (first + dt.timedelta(days=59)).isoformat()},
    ).json()
    out["hall_bodies"] = [
        f'{{"asset_id":"{out["hall"]}","starts_at":"{s["starts_at"]}","ends_at":"{s["ends_at"]}","party_size":1}}'
        for s in hall_slots
    ]

    # Many assets, many ranges: 200 gardens, each listed over random 1-31-day ranges.
    rng = random.Random(16)
    many = []
    for i in range(ROTATING_ASSETS):
        many.append(asset(f"Parcelle {i}"))
        rule(many[-1], f"{8 + i % 6:02d}:00", f"{12 + i % 6:02d}:00", 60)
    out["rotating_paths"] = []
    for _ in range(4000):
        start_day = first + dt.timedelta(days=rng.randrange(0, 60))
        end_day = start_day + dt.timedelta(days=rng.randrange(0, 31))
        out["rotating_paths"].append(
            f"/api/assets/{rng.choice(many)}/slots?from={start_day}&to={end_day}"
        )

    # The feed benchmark: 6 hourly slots a day over the feed's year, ~2,200 events.
    out["feed_asset"] = asset("Salle polyvalente", kind="room", capacity=12, audience=("public",))
    rule(out["feed_asset"], "08:00", "14:00", 60)

    # The canteen: a tariff, a service with plenty of portions, far cutoff.
    canteen = asset(
        "Cantine", kind="canteen", capacity=200, audience=("neighbours", "professionals")
    )
    staff.put(
        "/api/structures/ehpad-bench/tariffs/habitant",
        json={"label": "Habitant", "default_for": ["neighbour"]},
    ).raise_for_status()
    day = first + dt.timedelta(days=2)
    service = staff.post(
        f"/api/assets/{canteen}/meal-services",
        json={
            "date": day.isoformat(),
            "order_cutoff": f"{day.isoformat()}T10:30:00",
            "pickup_windows": [
                {
                    "starts_at": f"{day.isoformat()}T12:00:00",
                    "ends_at": f"{day.isoformat()}T12:30:00",
                    "capacity": 150,
                }
            ],
            "items": [
                {
                    "name": "Curry de légumes",
                    "kind": "main",
                    "portions": 120,
                    "prices": {"habitant": 600},
                },
                {
                    "name": "Poulet basquaise",
                    "kind": "main",
                    "portions": 120,
                    "prices": {"habitant": 600},
                },
            ],
        },
    )
    service.raise_for_status()
    s = service.json()
    out["order_bodies"] = [
        f'{{"service_id":"{s["id"]}","lines":[{{"item_id":"{item["id"]}","quantity":1}}],'
        f'"pickup_window_id":"{s["pickup_windows"][0]["id"]}"}}'
        for item in s["items"]
    ]
    out["service"] = s["id"]
    return out


async def _bulk_bookings(session: AsyncSession, total: int) -> None:
    """``total`` confirmed bookings (with their slot counters) on 1,000 other assets."""
    structure_id = await session.scalar(select(Structure.id))
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("""
            INSERT INTO asset (id, structure_id, name, kind, booking_mode, capacity, audience, description,
                wheelchair, step_free, accessible_toilets, min_notice_minutes, max_advance_days,
                cancel_until_minutes, max_party_size, requires_approval, created_at, updated_at)
            SELECT gen_random_uuid(), :s, 'Ressource ' || g, 'workshop', 'shared', 8, '["public"]', '',
                false, false, false, 0, 60, 0, 4, false, now(), now() FROM generate_series(1, 1000) g"""),
            {"s": structure_id},
        )
        per_asset = total // 1000
        await session.execute(
            text("""
            INSERT INTO booking (id, asset_id, guest_name, starts_at, ends_at, party_size, note, status,
                exclusive, sequence, created_at, updated_at)
            SELECT gen_random_uuid(), a.id, 'Invité', t, t + interval '1 hour', 1, '', 'confirmed', false, 0,
                now(), now()
            FROM (SELECT id FROM asset WHERE name LIKE 'Ressource %') a,
                 LATERAL (SELECT now() - interval '400 days' + g * interval '1 hour' AS t
                          FROM generate_series(1, :n) g) times"""),
            {"n": per_asset},
        )
        await session.execute(
            text("""
            INSERT INTO slot_counter (id, asset_id, starts_at, ends_at, capacity, taken, created_at, updated_at)
            SELECT gen_random_uuid(), asset_id, starts_at, ends_at, 8, 1, now(), now()
            FROM booking WHERE guest_name = 'Invité'""")
        )
        await session.commit()
        await session.execute(text("ANALYZE"))
        return
    # SQLite: executemany in chunks.
    now = dt.datetime.now(dt.UTC)
    assets = [uuid.uuid4() for _ in range(1000)]
    await session.execute(
        text(
            "INSERT INTO asset (id, structure_id, name, kind, booking_mode, capacity, audience, description, "
            "wheelchair, step_free, accessible_toilets, min_notice_minutes, max_advance_days, cancel_until_minutes, "
            "max_party_size, requires_approval, created_at, updated_at) VALUES (:id, :s, :n, 'workshop', 'shared', "
            "8, '[\"public\"]', '', 0, 0, 0, 0, 60, 0, 4, 0, :now, :now)"
        ),
        [
            {"id": a.bytes, "s": structure_id.bytes, "n": f"Ressource {i}", "now": now}
            for i, a in enumerate(assets)
        ],
    )
    per_asset = total // 1000
    base = now - dt.timedelta(days=400)
    chunk: list[dict[str, Any]] = []
    counters: list[dict[str, Any]] = []

    async def flush() -> None:
        await session.execute(
            text(
                "INSERT INTO booking (id, asset_id, guest_name, starts_at, ends_at, party_size, note, status, "
                "exclusive, sequence, created_at, updated_at) VALUES (:id, :a, 'Invité', :s, :e, 1, '', "
                "'confirmed', 0, 0, :now, :now)"
            ),
            chunk,
        )
        await session.execute(
            text(
                "INSERT INTO slot_counter (id, asset_id, starts_at, ends_at, capacity, taken, created_at, updated_at) "
                "VALUES (:cid, :a, :s, :e, 8, 1, :now, :now)"
            ),
            counters,
        )
        chunk.clear()
        counters.clear()

    for asset_id in assets:
        for h in range(per_asset):
            starts = (base + dt.timedelta(hours=h)).isoformat(sep=" ")
            ends = (base + dt.timedelta(hours=h + 1)).isoformat(sep=" ")
            row = {
                "id": uuid.uuid4().bytes,
                "cid": uuid.uuid4().bytes,
                "a": asset_id.bytes,
                "s": starts,
                "e": ends,
                "now": now,
            }
            chunk.append(row)
            counters.append(row)
            if len(chunk) >= 20_000:
                await flush()
    if chunk:
        await flush()
    await session.commit()
    await session.execute(text("ANALYZE"))


# --- the run -----------------------------------------------------------------------------------


# Servers compared on the same database (issue 16): the default (uvicorn, taking httptools
# and uvloop when installed), uvicorn with its pure-Python parser and asyncio's loop, and
# granian (not a dependency: only when installed, `pip install granian`).
SERVERS = {
    "uvicorn (httptools, uvloop)": [],
    "uvicorn (h11, asyncio)": ["--http", "h11", "--loop", "asyncio"],
    "granian 1 worker (uvloop)": None,
}


def _granian() -> str | None:
    """granian's command: beside this Python (a virtualenv), else on the PATH."""
    beside = Path(sys.executable).parent / "granian"
    return str(beside) if beside.exists() else shutil.which("granian")


def _command(workers: int, port: int, server: list[str] | None) -> list[str]:
    if server is None:
        return [
            _granian() or "granian",
            "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "1", "--no-ws",
            "tierslieu.app:create_app",
        ]  # fmt: skip
    return [
        str(Path(sys.executable).parent / "tierslieu"),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *server,
    ]


def start(
    settings: Settings,
    workers: int,
    log: Path,
    *,
    cache: bool = True,
    server: list[str] | None = SERVERS["uvicorn (httptools, uvloop)"],
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "TIERSLIEU_DATABASE_URL": settings.database_url,
        "TIERSLIEU_SECRET_KEY": settings.secret_key,
        "TIERSLIEU_LISTING_CACHE": "1" if cache else "0",
        "TIERSLIEU_LOOP_LAG_LOG": "1",
        # E-mails are rendered by a separate `tierslieu worker` in production set-ups with
        # several workers; in-process, each worker's delivery loop rendered the run's
        # confirmations (an e-mail and an iCalendar file each) during the measurement, a
        # backlog that grows with the request rate and made more workers look slower.
        "TIERSLIEU_DELIVERY_IN_PROCESS": "0",
    }
    process = subprocess.Popen(
        _command(workers, port, server),
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def loop_lag(log: Path) -> tuple[float, float]:
    """(p99, max) event-loop lag in ms logged by the server's probe at shutdown (the last
    line: the process just stopped; with several workers, the worst worker)."""
    found = re.findall(r"LOOP_LAG_MS n=\d+ p50=[\d.]+ p99=([\d.]+) max=([\d.]+)", log.read_text())
    if not found:
        return float("nan"), float("nan")
    return max(float(p) for p, _ in found), max(float(m) for _, m in found)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def mixed_load(base: str, paths: list[str], total: int, etag: str) -> None:
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            async with sem:
                path = paths[i % len(paths)]
                headers = {"If-None-Match": etag} if path.endswith(".ics") else {}
                await client.get(path, headers=headers)

        await asyncio.gather(*(one(i) for i in range(total)))


def cold_feed_ms(base: str, data: dict[str, Any], tokens: dict[str, Any], feed_url: str) -> float:
    """Median time of a feed GET right after a booking changed it (the feed is rebuilt)."""
    slots = httpx.get(
        f"{base}/api/assets/{data['feed_asset']}/slots",
        params={
            "from": data["today"].isoformat(),
            "to": (data["today"] + dt.timedelta(days=20)).isoformat(),
        },
    ).json()
    timings = []
    for i, slot in enumerate(slots[:15]):
        person = _api(base, tokens["people"][-1 - i])
        person.post(
            "/api/bookings",
            json={
                "asset_id": data["feed_asset"],
                "starts_at": slot["starts_at"],
                "ends_at": slot["ends_at"],
                "party_size": 1,
            },
        ).raise_for_status()
        started = time.perf_counter()
        assert httpx.get(feed_url, timeout=30).status_code == 200
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)[len(timings) // 2]


def check_invariants(settings: Settings) -> tuple[int, int]:
    """(overbooked slots, counters that disagree with their bookings) — both must be 0."""

    async def work(session: AsyncSession) -> tuple[int, int]:
        over = await session.scalar(
            select(func.count()).where(SlotCounter.taken > SlotCounter.capacity)
        )
        sums = (
            select(Booking.asset_id, Booking.starts_at, func.sum(Booking.party_size).label("n"))
            .where(Booking.status.in_(["pending", "confirmed", "attended", "no_show"]))
            .group_by(Booking.asset_id, Booking.starts_at)
            .subquery()
        )
        wrong = await session.scalar(
            select(func.count())
            .select_from(SlotCounter)
            .join(
                sums,
                (sums.c.asset_id == SlotCounter.asset_id)
                & (sums.c.starts_at == SlotCounter.starts_at),
            )
            .where(sums.c.n != SlotCounter.taken)
        )
        return int(over or 0), int(wrong or 0)

    return asyncio.run(_with_session(settings, work))


def bench(
    kind: str, duration: int, workdir: Path, figures: list[Figure], skip_million: bool
) -> None:
    print(f"\n== {kind}: seeding", flush=True)
    settings = fresh_database(kind, workdir)
    tokens = asyncio.run(_with_session(settings, _seed_people))
    (workdir / "tokens.txt").write_text("\n".join(tokens["people"]) + "\n")
    log = workdir / f"server-{kind}.log"
    process, base = start(settings, 1, log)
    try:
        data = seed_through_api(base, tokens)
        first, last = data["slots_range"]
        slots_url = f"{base}/api/assets/{data['garden']}/slots?from={first}&to={last}"
        feed_url = f"{base}/ical/assets/{data['feed_asset']}.ics"
        events = httpx.get(feed_url).text.count("BEGIN:VEVENT")
        etag = httpx.get(feed_url).headers["etag"]

        print(f"== {kind}: measuring", flush=True)
        livez = run_wrk(f"{base}/livez", connections=16, duration=duration)
        slots = run_wrk(slots_url, connections=16, duration=duration)
        (workdir / "rotating.txt").write_text("\n".join(data["rotating_paths"]) + "\n")
        rotating = run_wrk(
            f"{base}/livez",
            connections=16,
            duration=duration,
            script=LUA / "get_rotate.lua",
            args=[str(workdir / "rotating.txt")],
        )
        (workdir / "hall.txt").write_text("\n".join(data["hall_bodies"]) + "\n")
        all201 = run_wrk(
            f"{base}/api/bookings",
            connections=16,
            duration=duration,
            script=LUA / "post_rotate.lua",
            args=["/api/bookings", str(workdir / "hall.txt"), str(workdir / "tokens.txt")],
        )
        RESULTS[f"{kind} all-201 rps"] = all201.rps
        (workdir / "bookings.txt").write_text("\n".join(data["contended_bodies"]) + "\n")
        post = run_wrk(
            f"{base}/api/bookings",
            connections=16,
            duration=duration,
            script=LUA / "post_rotate.lua",
            args=["/api/bookings", str(workdir / "bookings.txt"), str(workdir / "tokens.txt")],
        )
        (workdir / "orders.txt").write_text("\n".join(data["order_bodies"]) + "\n")
        orders = run_wrk(
            f"{base}/api/meal-orders",
            connections=16,
            duration=duration,
            script=LUA / "post_rotate.lua",
            args=["/api/meal-orders", str(workdir / "orders.txt"), str(workdir / "tokens.txt")],
        )
        feed = run_wrk(feed_url, connections=1, duration=duration)
        feed_cold = cold_feed_ms(base, data, tokens, feed_url)
        etag = httpx.get(feed_url).headers["etag"]  # the feed changed: its new ETag
        feed_304 = run_wrk(
            feed_url,
            connections=16,
            duration=duration,
            script=LUA / "get_header.lua",
            args=["If-None-Match", etag],
        )
        over, wrong = check_invariants(settings)

        # Memory: 20,000 mixed requests, RSS at half and at the end.
        paths = [
            "/livez",
            slots_url.removeprefix(base),
            "/api/assets",
            f"/api/meal-services/{data['service']}",
            feed_url.removeprefix(base),
            "/api/structures",
        ]
        asyncio.run(mixed_load(base, paths, 10_000, etag))
        rss_half = rss_mb(process.pid)
        asyncio.run(mixed_load(base, paths, 10_000, etag))
        rss_end = rss_mb(process.pid)
    finally:
        stop(process)
    lag_p99, lag_max = loop_lag(log)

    # Listing cache off: every listing is computed (one statement), 16 connections.
    log_uncached = workdir / f"server-{kind}-uncached.log"
    process, base = start(settings, 1, log_uncached, cache=False)
    try:
        u_livez = run_wrk(f"{base}/livez", connections=16, duration=duration)
        u_slots = run_wrk(
            f"{base}/api/assets/{data['garden']}/slots?from={first}&to={last}",
            connections=16,
            duration=duration,
        )
        u_rotating = run_wrk(
            f"{base}/livez",
            connections=16,
            duration=duration,
            script=LUA / "get_rotate.lua",
            args=[str(workdir / "rotating.txt")],
        )
    finally:
        stop(process)
    u_lag_p99, u_lag_max = loop_lag(log_uncached)

    def uncached_slots() -> Wrk:
        """The slots query on the database path (listing cache off)."""
        process, base = start(settings, 1, log, cache=False)
        try:
            return run_wrk(
                f"{base}/api/assets/{data['garden']}/slots?from={first}&to={last}",
                connections=1,
                duration=duration,
            )
        finally:
            stop(process)

    small = uncached_slots()

    # The same work under other servers (listing cache off): livez, the 31-day listing and
    # all-201 bookings; the framework's share and ours, server by server.
    compared: list[tuple[str, Wrk, Wrk, Wrk, float]] = []
    for name, server in SERVERS.items():
        if server is None and _granian() is None:
            print(f"   {name}: not installed, skipped", flush=True)
            continue
        log_server = workdir / f"server-{kind}-{len(compared)}.log"
        process, base = start(settings, 1, log_server, cache=False, server=server)
        try:
            s_livez = run_wrk(f"{base}/livez", connections=16, duration=duration)
            s_slots = run_wrk(
                f"{base}/api/assets/{data['garden']}/slots?from={first}&to={last}",
                connections=16,
                duration=duration,
            )
            s_book = run_wrk(
                f"{base}/api/bookings",
                connections=16,
                duration=duration,
                script=LUA / "post_rotate.lua",
                args=["/api/bookings", str(workdir / "hall.txt"), str(workdir / "tokens.txt")],
            )
        finally:
            stop(process)
        compared.append((name, s_livez, s_slots, s_book, loop_lag(log_server)[0]))

    million = None
    if not skip_million:
        print(f"== {kind}: loading 1,000,000 bookings", flush=True)
        started = time.monotonic()
        asyncio.run(_with_session(settings, lambda s: _bulk_bookings(s, 1_000_000)))
        print(f"   loaded in {time.monotonic() - started:.0f} s", flush=True)
        million = uncached_slots()

    def ratio(w: Wrk) -> float:
        return w.rps / livez.rps

    def errors(w: Wrk) -> int:
        return sum(v for k, v in w.statuses.items() if k not in {"201", "409"})

    post_errors = post.statuses.get("5xx", 0) + post.statuses.get("4xx", 0)
    order_errors = orders.statuses.get("5xx", 0) + orders.statuses.get("4xx", 0)
    figures += [
        Figure(
            f"{kind}: GET /livez (baseline)",
            f"{livez.rps:,.0f} req/s, p99 {livez.p99_ms:.1f} ms",
            "—",
            None,
        ),
        Figure(
            f"{kind}: slots, 31 days ({len(httpx.Response(200).text) or 62} slots, "
            f"{data['bookings_seeded']} bookings)",
            f"{ratio(slots):.2f}× livez, p99 {slots.p99_ms:.1f} ms",
            "≥ 0.30×, p99 ≤ 50 ms",
            ratio(slots) >= 0.30 and slots.p99_ms <= 50,
        ),
        Figure(
            f"{kind}: slots, 31 days, listing cache off (livez {u_livez.rps:,.0f} req/s)",
            f"{u_slots.rps / u_livez.rps:.2f}× livez ({u_slots.rps:,.0f} req/s), "
            f"p99 {u_slots.p99_ms:.1f} ms",
            "≥ 0.30×, p99 ≤ 50 ms",
            u_slots.rps / u_livez.rps >= 0.30 and u_slots.p99_ms <= 50,
        ),
        Figure(
            f"{kind}: slots, {ROTATING_ASSETS} assets × random 1-31-day ranges, cache on",
            f"{ratio(rotating):.2f}× livez ({rotating.rps:,.0f} req/s), p99 {rotating.p99_ms:.1f} ms",
            "≥ 0.30×, p99 ≤ 50 ms",
            ratio(rotating) >= 0.30 and rotating.p99_ms <= 50,
        ),
        Figure(
            f"{kind}: same rotation, listing cache off",
            f"{u_rotating.rps / u_livez.rps:.2f}× livez ({u_rotating.rps:,.0f} req/s), "
            f"p99 {u_rotating.p99_ms:.1f} ms",
            "—",
            None,
        ),
        Figure(
            f"{kind}: POST /api/bookings, every answer 201 (hall of 10,000, 720 slots)",
            f"{ratio(all201):.2f}× livez ({all201.rps:,.0f} req/s), p99 {all201.p99_ms:.1f} ms, "
            f"{all201.statuses}",
            "≥ 0.20×, p99 ≤ " + ("100" if kind == "postgresql" else "300") + " ms",
            ratio(all201) >= 0.20
            and all201.p99_ms <= (100 if kind == "postgresql" else 300)
            and set(all201.statuses) <= {"201", "409", "429", "4xx", "5xx"}
            and all201.statuses.get("201", 0) > 0
            and sum(v for k, v in all201.statuses.items() if k != "201") == 0,
        ),
        Figure(
            f"{kind}: event-loop lag during the runs (probe every 10 ms)",
            f"p99 {lag_p99:.1f} ms, max {lag_max:.0f} ms (cache on); "
            f"p99 {u_lag_p99:.1f} ms, max {u_lag_max:.0f} ms (cache off)",
            "p99 < 20 ms",
            lag_p99 < 20 and u_lag_p99 < 20,
        ),
        Figure(
            f"{kind}: POST /api/bookings on 20 slots",
            f"{ratio(post):.2f}× livez, p99 {post.p99_ms:.1f} ms, "
            f"{post.statuses}, overbooked slots {over}, counters off {wrong}",
            "≥ 0.20×, p99 ≤ "
            + ("100" if kind == "postgresql" else "300")
            + " ms, 0 errors, 0 overbooking",
            ratio(post) >= 0.20
            and post.p99_ms <= (100 if kind == "postgresql" else 300)
            and post_errors == 0
            and over == 0
            and wrong == 0,
        ),
        Figure(
            f"{kind}: POST /api/meal-orders",
            f"{ratio(orders):.2f}× livez, {orders.statuses}",
            "≥ 0.20×",
            ratio(orders) >= 0.20 and order_errors == 0,
        ),
        Figure(
            f"{kind}: public feed, {events} events, full body",
            f"p50 {feed.p50_ms:.1f} ms unchanged (body cache), {feed_cold:.0f} ms rebuilt after a change",
            "p50 ≤ 150 ms",
            feed.p50_ms <= 150 and feed_cold <= 150,
        ),
        Figure(
            f"{kind}: same feed, If-None-Match (304)",
            f"{ratio(feed_304):.2f}× livez",
            "≥ 0.50×",
            ratio(feed_304) >= 0.50,
        ),
        Figure(
            f"{kind}: server RSS after 20,000 mixed requests",
            f"{rss_end:.0f} MB (half-way {rss_half:.0f} MB, +{(rss_end / rss_half - 1) * 100:.1f} %)",
            "≤ 200 MB, < 10 % growth",
            rss_end <= 200 and rss_end < rss_half * 1.10,
        ),
    ]
    for name, s_livez, s_slots, s_book, s_lag in compared:
        figures.append(
            Figure(
                f"{kind}, {name}, cache off: livez / slots 31 days / POST all-201",
                f"{s_livez.rps:,.0f} / {s_slots.rps:,.0f} ({s_slots.rps / s_livez.rps:.2f}×, "
                f"p99 {s_slots.p99_ms:.1f} ms) / {s_book.rps:,.0f} req/s "
                f"({s_book.rps / s_livez.rps:.2f}×, p99 {s_book.p99_ms:.1f} ms, "
                f"{s_book.statuses}); loop lag p99 {s_lag:.1f} ms",
                "—",
                None,
            )
        )
    if million is not None:
        figures.append(
            Figure(
                f"{kind}: slots p50 (listing cache off) with 1,000,000 bookings vs ~1,000",
                f"{million.p50_ms:.1f} ms vs {small.p50_ms:.1f} ms = {million.p50_ms / small.p50_ms:.2f}",
                "ratio ≤ 2.0",
                million.p50_ms / small.p50_ms <= 2.0,
            )
        )


def four_workers(duration: int, workdir: Path, figures: list[Figure]) -> None:
    """PostgreSQL with 4 worker processes: contention still never oversells."""
    print("\n== postgresql, 4 workers", flush=True)
    settings = fresh_database("postgresql", workdir)
    tokens = asyncio.run(_with_session(settings, _seed_people))
    (workdir / "tokens.txt").write_text("\n".join(tokens["people"]) + "\n")
    process, base = start(settings, 4, workdir / "server-4w.log")
    try:
        data = seed_through_api(base, tokens)
        (workdir / "bookings.txt").write_text("\n".join(data["contended_bodies"]) + "\n")
        livez = run_wrk(f"{base}/livez", connections=32, duration=duration)
        (workdir / "hall.txt").write_text("\n".join(data["hall_bodies"]) + "\n")
        all201 = run_wrk(
            f"{base}/api/bookings",
            connections=32,
            duration=duration,
            script=LUA / "post_rotate.lua",
            args=["/api/bookings", str(workdir / "hall.txt"), str(workdir / "tokens.txt")],
        )
        post = run_wrk(
            f"{base}/api/bookings",
            connections=32,
            duration=duration,
            script=LUA / "post_rotate.lua",
            args=["/api/bookings", str(workdir / "bookings.txt"), str(workdir / "tokens.txt")],
        )
    finally:
        stop(process)
    lag_p99, _ = loop_lag(workdir / "server-4w.log")
    over, wrong = check_invariants(settings)
    one = RESULTS.get("postgresql all-201 rps")
    all201_errors = sum(v for k, v in all201.statuses.items() if k != "201")
    figures.append(
        Figure(
            "postgresql, 4 workers: POST /api/bookings, every answer 201, vs 1 worker",
            f"{all201.rps:,.0f} req/s"
            + (f" vs {one:,.0f} = {all201.rps / one:.2f}×" if one else "")
            + f", p99 {all201.p99_ms:.1f} ms, {all201.statuses}, loop lag p99 {lag_p99:.1f} ms",
            "≥ 1.6× one worker, 0 errors",
            bool(one) and all201.rps / one >= 1.6 and all201_errors == 0,
        )
    )
    errors = post.statuses.get("5xx", 0) + post.statuses.get("4xx", 0)
    figures.append(
        Figure(
            "postgresql, 4 workers: POST /api/bookings on 20 slots",
            f"{post.rps / livez.rps:.2f}× livez (livez {livez.rps:,.0f} req/s), p99 {post.p99_ms:.1f} ms, "
            f"{post.statuses}, "
            f"overbooked slots {over}, counters off {wrong}",
            "0 errors, 0 overbooking",
            errors == 0 and over == 0 and wrong == 0,
        )
    )


def livez_by_workers(duration: int, workdir: Path, figures: list[Figure]) -> None:
    """``/livez`` with 1, 2 and 4 worker processes: more workers never slower per request
    (catches Nagle's algorithm left on for accepted connections, uvicorn #3149)."""
    print("\n== /livez by worker count", flush=True)
    (workdir / "livez").mkdir(exist_ok=True)
    settings = fresh_database("sqlite", workdir / "livez")
    rates: dict[int, Wrk] = {}
    for workers in (1, 2, 4):
        process, base = start(settings, workers, workdir / f"server-livez-{workers}w.log")
        try:
            rates[workers] = run_wrk(f"{base}/livez", connections=16, duration=duration)
        finally:
            process.terminate()
            process.wait()
    one = rates[1].rps
    for workers in (2, 4):
        w = rates[workers]
        figures.append(
            Figure(
                f"/livez with {workers} workers vs 1",
                f"{w.rps:,.0f} vs {one:,.0f} req/s = {w.rps / one:.2f}×, p99 {w.p99_ms:.1f} ms",
                "≥ 0.9×",
                w.rps / one >= 0.9,
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument(
        "--skip-million", action="store_true", help="skip the 1,000,000-booking scale test"
    )
    parser.add_argument(
        "--livez-only", action="store_true", help="only /livez with 1, 2 and 4 workers"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="tierslieu-bench-") as tmp:
        workdir = Path(tmp)
        livez_by_workers(args.duration, workdir, figures)
        kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
        for kind in [] if args.livez_only else kinds:
            bench(kind, args.duration, workdir, figures, args.skip_million)
        if args.db in ("postgresql", "both") and not args.livez_only:
            four_workers(args.duration, workdir, figures)
    print(
        f"\nMachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
    )
    print("| figure | measured | target | met |")
    print("|---|---|---|---|")
    for f in figures:
        met = "—" if f.ok is None else ("yes" if f.ok else "**no**")
        print(f"| {f.name} | {f.value} | {f.target} | {met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
