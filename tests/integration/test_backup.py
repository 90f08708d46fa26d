"""`tierslieu backup` during a booking storm against a real server, then `tierslieu restore`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import IS_POSTGRES
from tests.integration.test_booking_concurrency import PARIS, _setup
from tests.server_process import running_server

pytestmark = pytest.mark.slow


def tierslieu(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIERSLIEU_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "tierslieu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _read(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite online backup; PostgreSQL uses pg_dump")
def test_backup_during_a_booking_storm_keeps_every_confirmed_booking(settings, tmp_path):
    database = Path(settings.database_url.split(":///", 1)[1])
    copy = tmp_path / "copie.db"
    with running_server(settings, workers=2, log_path=tmp_path / "server.log") as base:
        world = _setup(base, settings, people=16)
        confirmed: list[tuple[float, str]] = []  # (monotonic time the 201 arrived, booking id)
        lock = threading.Lock()
        stop = threading.Event()
        today = dt.datetime.now(PARIS).date()

        def storm(worker: int) -> None:
            headers = world["neighbours"][worker]
            with httpx.Client(base_url=base, timeout=30) as client:
                for n in range(20):  # at most 20 upcoming bookings per person
                    if stop.is_set():
                        return
                    day = today + dt.timedelta(days=2 + (worker + n) % 12)
                    start = dt.datetime.combine(day, dt.time(9 + n % 3), tzinfo=PARIS)
                    response = client.post(
                        "/api/bookings",
                        json={
                            "asset_id": world["garden"]["id"],
                            "starts_at": start.isoformat(),
                            "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
                        },
                        headers=headers,
                    )
                    if response.status_code == 201:
                        with lock:
                            confirmed.append((time.monotonic(), response.json()["id"]))

        threads = [threading.Thread(target=storm, args=(w,)) for w in range(16)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(confirmed) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        with lock:
            before = {booking_id for at, booking_id in confirmed if at < started}
        result = tierslieu(settings.database_url, "backup", str(copy))
        during = len(confirmed) - len(before)
        stop.set()
        for thread in threads:
            thread.join()

    assert result.returncode == 0, result.stderr
    assert "Sauvegarde écrite" in result.stdout
    assert len(before) >= 40
    assert _read(copy, "PRAGMA integrity_check") == [("ok",)]
    in_copy = {row[0] for row in _read(copy, "SELECT lower(hex(id)) FROM booking")}
    missing = {b for b in before if b.replace("-", "") not in in_copy}
    assert not missing, f"{len(missing)} confirmed bookings missing from the copy"
    # The copy is one consistent instant: every counter equals its bookings.
    counters = _read(
        copy,
        "SELECT c.taken, (SELECT coalesce(sum(b.party_size), 0) FROM booking b "
        "WHERE b.asset_id = c.asset_id AND b.starts_at = c.starts_at "
        "AND b.status IN ('pending', 'confirmed', 'attended', 'no_show')) FROM slot_counter c",
    )
    assert counters and all(taken == booked for taken, booked in counters), counters
    print(f"{len(before)} bookings before the backup, {during} while it ran")

    # Restore into a fresh database file (the service is stopped).
    restored = tmp_path / "restauree.db"
    done = tierslieu(_sqlite_url(restored), "restore", str(copy))
    assert done.returncode == 0, done.stderr
    assert _read(restored, "PRAGMA integrity_check") == [("ok",)]
    assert {r[0] for r in _read(restored, "SELECT lower(hex(id)) FROM booking")} == in_copy
    revision = "SELECT version_num FROM alembic_version"
    assert _read(restored, revision) == _read(copy, revision) == _read(database, revision)


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite only")
def test_restore_refuses_what_is_not_a_tierslieu_backup(settings, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("pas une base")
    result = tierslieu(settings.database_url, "restore", str(junk))
    assert result.returncode == 1 and "n'est pas une base SQLite" in result.stderr
    other = tmp_path / "autre.db"
    with contextlib.closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE t (x)")
    result = tierslieu(settings.database_url, "restore", str(other))
    assert result.returncode == 1 and "n'est pas une base tierslieu" in result.stderr
    missing = tierslieu(settings.database_url, "restore", str(tmp_path / "absent.db"))
    assert missing.returncode == 1 and "introuvable" in missing.stderr


def test_backup_on_postgresql_explains_pg_dump(tmp_path):
    url = "postgresql://postgres@127.0.0.1:5432/tierslieu"
    result = tierslieu(url, "backup", str(tmp_path / "x.dump"))
    assert result.returncode != 0
    assert "pg_dump" in result.stderr and "pg_restore" in result.stderr
    assert not (tmp_path / "x.dump").exists()
