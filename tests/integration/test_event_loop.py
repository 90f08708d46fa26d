"""Nothing blocks the event loop (issue 10; security review D1 and D2), through a real server.

While the heavy requests of the review run, ``/livez`` is asked every 100 ms on another
connection and must always answer within 250 ms; each heavy request answers in 2 s.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import PASSWORD, run_db
from tests.db_lock import database_locked
from tests.server_process import running_server
from tierslieu.services.accounts import create_admin

PARIS = ZoneInfo("Europe/Paris")
SLUG = "ehpad-les-tilleuls"
pytestmark = pytest.mark.slow


class LivezWatch:
    """Asks /livez every 100 ms on its own connection; records how long each answer took."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as client:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    status = client.get("/livez").status_code
                    if status != 200:
                        self.failures.append(f"status {status}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.latencies.append(time.monotonic() - began)
                self._stop.wait(0.1)

    def __enter__(self) -> LivezWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def assert_always_answered(self, limit: float = 0.25) -> None:
        assert not self.failures, self.failures
        assert len(self.latencies) >= 5
        worst = max(self.latencies)
        assert worst < limit, f"/livez took {worst * 1000:.0f} ms"


@contextmanager
def timed(limit: float = 2.0) -> Iterator[None]:
    began = time.monotonic()
    yield
    elapsed = time.monotonic() - began
    assert elapsed < limit, f"took {elapsed:.2f} s"


def _secondly_ics(days_ago: int) -> bytes:
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).strftime(
        "%Y%m%dT%H%M00Z"
    )  # DTEND one second later, always
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:r@x\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART:{stamp}\r\nDTEND:{stamp[:-3]}01Z\r\n"
        "RRULE:FREQ=SECONDLY\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _setup(c: httpx.Client, settings, slot_minutes: int = 15) -> dict:
    """A structure, its manager, and a garden open every day 08:00–20:00 in 15-minute slots."""
    run_db(
        settings,
        lambda s: create_admin(s, settings, email="admin@tierslieu.test", password=PASSWORD),
    )

    def login(email: str) -> dict:
        r = c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    admin = login("admin@tierslieu.test")
    r = c.post(
        "/api/structures",
        json={"slug": SLUG, "name": "EHPAD", "kind": "ehpad", "commune": "Bondy"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = c.post(
        "/api/auth/register",
        json={
            "email": "sophie@les-tilleuls.test",
            "password": PASSWORD,
            "display_name": "Sophie",
            "kind": "professional",
        },
    )
    assert r.status_code == 202, r.text  # same answer for new and known addresses
    r = c.put(
        f"/api/structures/{SLUG}/members",
        json={"email": "sophie@les-tilleuls.test", "role": "manager"},
        headers=admin,
    )
    assert r.status_code in (200, 201), r.text
    staff = login("sophie@les-tilleuls.test")
    garden = c.post(
        f"/api/structures/{SLUG}/assets",
        json={
            "name": "Jardin",
            "kind": "garden",
            "capacity": 8,
            "audience": ["neighbours"],
            "rules": {"max_party_size": 4},
        },
        headers=staff,
    ).json()
    rules = []
    for weekdays in ([1, 2, 3, 4, 5, 6, 7], [2, 6]):
        r = c.post(
            f"/api/assets/{garden['id']}/availability",
            json={
                "weekdays": weekdays,
                "start_time": "08:00",
                "end_time": "20:00",
                "valid_from": "2000-01-01",
                "slot_minutes": slot_minutes,
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
        rules.append(r.json()["rule"]["id"])
    return {"staff": staff, "garden": garden, "rules": rules}


def _book(c: httpx.Client, staff: dict, garden: dict, day: dt.date) -> httpx.Response:
    starts = dt.datetime.combine(day, dt.time(10), PARIS)
    return c.post(
        "/api/bookings",
        json={
            "asset_id": garden["id"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + dt.timedelta(minutes=15)).isoformat(),
            "guest": {"name": "Invité"},
        },
        headers=staff,
    )


def test_the_reviews_heavy_requests_never_stall_the_server(settings, tmp_path):
    with (
        running_server(settings, log_path=tmp_path / "server.log") as base,
        httpx.Client(base_url=base, timeout=30) as c,
    ):
        world = _setup(c, settings)
        staff, garden = world["staff"], world["garden"]
        today = dt.datetime.now(PARIS).date()
        # Bookings tomorrow and at the edge of the horizon (23 months ahead).
        assert _book(c, staff, garden, today + dt.timedelta(days=1)).status_code == 201
        edge = _book(c, staff, garden, today + dt.timedelta(days=700))
        assert edge.status_code == 201, edge.text
        asset_url = f"/api/assets/{garden['id']}"

        with LivezWatch(base) as watch:
            time.sleep(0.3)
            # D1: the far-future staff booking is refused outright.
            for year in (2099, 9999):
                with timed():
                    far = _book(c, staff, garden, dt.date(year, 12, 22))
                assert far.status_code == 422, far.text
                assert far.json()["code"] == "date-out-of-range"
            # The bounded schedule paths, with a booking at the horizon's edge.
            with timed():
                conflicts = c.get(f"{asset_url}/availability/conflicts", headers=staff)
            assert conflicts.status_code == 200, conflicts.text
            assert conflicts.json()["affected_bookings"] == []
            closed_day = today + dt.timedelta(days=1)
            with timed():
                closure = c.post(
                    f"{asset_url}/closures",
                    json={"starts_on": str(closed_day), "ends_on": str(closed_day)},
                    headers=staff,
                )
            assert closure.status_code == 201, closure.text
            assert len(closure.json()["affected_bookings"]) == 1
            with timed():
                removed = c.delete(f"{asset_url}/availability/{world['rules'][1]}", headers=staff)
            assert removed.status_code == 200, removed.text
            # D2: the 198-byte SECONDLY calendar, DTSTART 20 days ago and in 1970.
            for days_ago in (20, (dt.date.today() - dt.date(1970, 1, 1)).days):
                with timed():
                    imported = c.post(
                        f"{asset_url}/closures/import",
                        files={"file": ("c.ics", _secondly_ics(days_ago), "text/calendar")},
                        headers=staff,
                    )
                assert imported.status_code == 422, imported.text
                assert imported.json()["code"] == "calendar-recurrence-too-costly"
                with timed():
                    imported = c.post(
                        f"/api/structures/{SLUG}/closures/import",
                        files={"file": ("c.ics", _secondly_ics(days_ago), "text/calendar")},
                        headers=staff,
                    )
                assert imported.status_code == 422, imported.text
            # A legitimate import still works: a weekly meeting since 2000, expanded off the loop.
            weekly = (
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:w@x\r\n"
                "DTSTAMP:20260101T000000Z\r\nDTSTART:20000103T130000Z\r\n"
                "DTEND:20000103T140000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\nSUMMARY:Réunion\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n"
            ).encode()
            with timed():
                imported = c.post(
                    f"{asset_url}/closures/import",
                    files={"file": ("w.ics", weekly, "text/calendar")},
                    headers=staff,
                )
            assert imported.status_code == 200, imported.text
            assert imported.json()["closures"] > 60
            time.sleep(0.3)
        watch.assert_always_answered()
        health = c.get("/health").json()
        assert health["status"] == "ok"
        assert isinstance(health["loop_lag_ms"], int | float)


def test_the_request_limit_cuts_a_stuck_request_on_a_real_server(settings, tmp_path):
    """TIERSLIEU_REQUEST_TIMEOUT_SECONDS=2: a request waiting on a database lock held by the
    test is answered 503 after about two seconds; the server keeps answering, and once the
    lock is gone ordinary requests and the calendar feed work again."""
    with (
        running_server(
            settings,
            log_path=tmp_path / "server.log",
            env={"TIERSLIEU_REQUEST_TIMEOUT_SECONDS": "2"},
        ) as base,
        httpx.Client(base_url=base, timeout=30) as c,
    ):
        world = _setup(c, settings)
        with database_locked(settings), LivezWatch(base) as watch:
            began = time.monotonic()
            stuck = c.post(
                "/api/auth/login",
                json={"email": "sophie@les-tilleuls.test", "password": PASSWORD},
            )
            elapsed = time.monotonic() - began
            # D14: the cut request's log line escapes the caller's path (CR/LF/NUL).
            forged = c.put(
                "/api/structures/x%0D%0AWARNING%20-%20FORGED/members",
                json={"email": "a@exemple.test", "role": "staff"},
                headers={"Authorization": "Bearer " + "t" * 43},
            )
        watch.assert_always_answered()
        assert forged.status_code == 503, forged.text
        log = (tmp_path / "server.log").read_bytes()
        assert not any(line.startswith(b"WARNING - FORGED") for line in log.splitlines())
        assert b"request cut after 2 s: PUT /api/structures/x\\r\\nWARNING - FORGED/members" in log
        assert stuck.status_code == 503, stuck.text
        assert stuck.headers["content-type"].startswith("application/problem+json")
        assert stuck.json()["code"] == "request-timeout"
        assert 1.9 < elapsed < 6
        login = c.post(
            "/api/auth/login", json={"email": "sophie@les-tilleuls.test", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        links = c.post("/api/me/feed-token", headers=world["staff"])
        assert links.status_code == 201, links.text
        feed = c.get(links.json()["https"].removeprefix(settings.public_url))
        assert feed.status_code == 200, feed.text
        assert feed.text.startswith("BEGIN:VCALENDAR")
