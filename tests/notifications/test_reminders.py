"""The reminder job, run directly as the delivery loop will run it: once per booking or
order even when run twice (and twice at once on PostgreSQL), never for cancelled or pending
bookings, dropped when cancelled after being queued; and the staff call list."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from tests.conftest import register, run_db, unique_email
from tests.notifications.helpers import outbox_rows
from tests.scenarios.garden import MARCH_15, TUESDAY_10, TUESDAY_11, book, open_garden
from tests.web.helpers import csrf_of, sign_in
from tierslieu import db
from tierslieu.models import Booking
from tierslieu.services.clock import frozen
from tierslieu.services.mail import render
from tierslieu.services.reminders import enqueue_due_reminders

# Tuesday 6 April 2027 10:00 in Paris (CEST): reminded on Monday 5 April 10:00 = 08:00 UTC.
REMINDER_TIME = dt.datetime(2027, 4, 5, 8, 0, tzinfo=dt.UTC)
MME_MARTIN = {"name": "Mme Martin", "phone": "01 48 00 00 01"}


def run_job(settings: Any, times: int = 1) -> list[int]:
    """Run the job ``times`` times at once, each with its own engine (separate workers)."""

    async def _main() -> list[int]:
        engines = [db.create_engine(settings) for _ in range(times)]
        try:
            factories = [async_sessionmaker(e, expire_on_commit=False) for e in engines]
            return list(
                await asyncio.gather(*(enqueue_due_reminders(f, settings) for f in factories))
            )
        finally:
            for engine in engines:
                await engine.dispose()

    return run_db(settings, lambda _s: _main())


def db_do(settings: Any, work: Callable[[Any], Awaitable[Any]]) -> Any:
    async def _run(session: Any) -> Any:
        result = await work(session)
        await session.commit()
        return result

    return run_db(settings, _run)


@pytest.fixture(autouse=True)
def now():
    """People sign in on 15 March 2027 (their tokens last 30 days)."""
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world, now):
    return open_garden(client, world)


def test_one_reminder_per_booking_when_its_time_comes_and_never_twice(
    client, world, garden, settings
):
    with frozen(MARCH_15):
        mine = book(client, world.neighbour, garden["id"])
        assert mine.status_code == 201, mine.text
        guest = book(client, world.staff_a, garden["id"], guest=MME_MARTIN)
        assert guest.status_code == 201, guest.text
        assert run_job(settings) == [0]
    with frozen(REMINDER_TIME - dt.timedelta(minutes=1)):
        assert run_job(settings) == [0]
    with frozen(REMINDER_TIME):
        assert run_job(settings) == [2]
        assert run_job(settings) == [0]
    with frozen(REMINDER_TIME + dt.timedelta(hours=25)):  # after the start: nothing new
        assert run_job(settings) == [0]
    rows = outbox_rows(settings, "booking-reminder")
    assert len(rows) == 2
    by_channel = {r.channel: r for r in rows}
    assert by_channel["email"].email == world.neighbour.email
    assert by_channel["phone"].phone == MME_MARTIN["phone"] and by_channel["phone"].email is None
    assert by_channel["email"].dedupe_key == (
        f"reminder:booking:{mine.json()['id']}:2027-04-06T08:00:00+00:00"
    )
    mail = render("booking-reminder", by_channel["email"].params, "fr", settings)
    assert "Jardin des Tilleuls" in mail.subject and "mardi 6 avril 2027, 10 h 00" in mail.subject
    assert mail.unsubscribe_url and mail.unsubscribe_url.startswith(
        f"{settings.public_url}/desabonnement/"
    )
    assert mail.unsubscribe_url in mail.text and mail.html and mail.unsubscribe_url in mail.html
    phone_text = render("booking-reminder", by_channel["phone"].params, "fr", settings)
    assert "Bonjour Mme Martin," in phone_text.text and phone_text.unsubscribe_url is None
    english = render("booking-reminder", by_channel["email"].params, "en", settings)
    assert english.subject.startswith("Reminder: Jardin des Tilleuls")


@pytest.mark.postgres_only
def test_two_workers_at_once_queue_each_reminder_once(client, world, garden, settings):
    with frozen(MARCH_15):
        for _ in range(3):
            person = register(client, unique_email("voisin"))
            assert book(client, person, garden["id"]).status_code == 201
    with frozen(REMINDER_TIME):
        results = run_job(settings, times=2)
        assert sum(results) == 3
        assert sorted(run_job(settings, times=2)) == [0, 0]
    assert len(outbox_rows(settings, "booking-reminder")) == 3


def test_no_reminder_for_cancelled_pending_or_opted_out_and_drop_on_cancel(
    client, world, garden, settings
):
    karim, sophie = (
        register(client, unique_email("karim")),
        register(client, unique_email("sophie")),
    )
    quiet = register(client, unique_email("discret"))
    with frozen(MARCH_15):
        cancelled = book(client, world.neighbour, garden["id"]).json()
        assert (
            client.post(
                f"/api/bookings/{cancelled['id']}/cancel", headers=world.neighbour.headers
            ).status_code
            == 200
        )
        pending = book(client, sophie, garden["id"]).json()
        kept = book(client, karim, garden["id"], starts=TUESDAY_10, ends=TUESDAY_11)
        assert kept.status_code == 201, kept.text
        kept = kept.json()
        assert (
            client.patch("/api/me", json={"reminders": False}, headers=quiet.headers).json()[
                "reminders"
            ]
            is False
        )
        assert book(client, quiet, garden["id"]).status_code == 201

    async def _make_pending(session: Any) -> None:
        await session.execute(
            update(Booking).where(Booking.id == pending["id"]).values(status="pending")
        )

    db_do(settings, _make_pending)
    with frozen(REMINDER_TIME):
        assert run_job(settings) == [1]
    [row] = outbox_rows(settings, "booking-reminder")
    assert row.email == karim.email and row.status == "pending"
    # Cancelled after the reminder was queued, before it went out: it is dropped.
    with frozen(REMINDER_TIME + dt.timedelta(minutes=5)):
        response = client.post(f"/api/bookings/{kept['id']}/cancel", headers=world.staff_a.headers)
        assert response.status_code == 200, response.text
    [row] = outbox_rows(settings, "booking-reminder")
    assert row.status == "dropped"
    with frozen(REMINDER_TIME + dt.timedelta(minutes=10)):
        assert run_job(settings) == [0]


def test_the_call_list_shows_a_guest_with_a_phone_and_records_the_call(
    client, world, garden, settings
):
    with frozen(MARCH_15):
        assert book(client, world.staff_a, garden["id"], guest=MME_MARTIN).status_code == 201
    with frozen(REMINDER_TIME):
        assert run_job(settings) == [1]
        listed = client.get(
            "/api/structures/ehpad-les-tilleuls/phone-notices", headers=world.staff_a.headers
        )
        assert listed.status_code == 200, listed.text
        # Mme Martin was told of the booking itself, then of the reminder: two calls to make.
        kinds = [n["kind"] for n in listed.json()]
        assert kinds == ["booking-confirmed", "booking-reminder"]
        notice = listed.json()[1]
        assert notice["name"] == "Mme Martin" and notice["phone"] == MME_MARTIN["phone"]
        assert notice["kind"] == "booking-reminder" and "mardi 6 avril 2027" in notice["say"]
        # Another structure's staff neither sees nor ticks it.
        assert (
            client.get(
                "/api/structures/ehpad-les-tilleuls/phone-notices", headers=world.staff_b.headers
            ).status_code
            == 403
        )
        assert (
            client.post(
                f"/api/phone-notices/{notice['id']}/called", headers=world.staff_b.headers
            ).status_code
            == 404
        )
        assert (
            client.post(
                f"/api/phone-notices/{notice['id']}/called", headers=world.neighbour.headers
            ).status_code
            == 404
        )

        # The dashboard shows it with a tel: link; « Prévenu·e » records the call.
        sign_in(client, world.staff_a.email)
        page = client.get("/structures/ehpad-les-tilleuls/tableau")
        assert page.status_code == 200
        assert "À prévenir par téléphone" in page.text and "Mme Martin" in page.text
        assert 'href="tel:0148000001"' in page.text
        action = f"/structures/ehpad-les-tilleuls/appels/{notice['id']}/prevenu"
        assert action in page.text
        assert client.post(action, follow_redirects=False).status_code == 403  # no CSRF token
        done = client.post(action, data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert done.status_code == 303
        first = listed.json()[0]["id"]  # the booking's own notice, ticked through the API
        ticked = client.post(f"/api/phone-notices/{first}/called", headers=world.staff_a.headers)
        assert ticked.status_code in (200, 204), ticked.text
        assert (
            "Personne à appeler pour le moment."
            in client.get("/structures/ehpad-les-tilleuls/tableau").text
        )
        again = client.post(
            f"/api/phone-notices/{notice['id']}/called", headers=world.staff_a.headers
        )
        assert again.status_code == 409 and again.json()["code"] == "already-called"
    [row] = outbox_rows(settings, "booking-reminder")
    assert row.status == "called" and str(row.called_by_id) == world.staff_a.id
    assert row.called_at == REMINDER_TIME


def test_reminder_hours_of_an_asset_are_0_to_168_and_0_means_none(client, world, garden, settings):
    url = f"/api/assets/{garden['id']}"
    assert garden["rules"]["reminder_hours"] == 24
    for bad in (-1, 169, True):
        response = client.patch(
            url, json={"rules": {"reminder_hours": bad}}, headers=world.staff_a.headers
        )
        assert response.status_code == 422, response.text
    response = client.patch(
        url, json={"rules": {"reminder_hours": 0}}, headers=world.staff_a.headers
    )
    assert response.status_code == 200 and response.json()["rules"]["reminder_hours"] == 0
    assert book(client, world.neighbour, garden["id"]).status_code == 201
    with frozen(REMINDER_TIME):
        assert run_job(settings) == [0]


def test_the_delivery_loop_sends_the_reminder_and_one_click_turns_them_off(
    client, world, garden, settings, mailbox
):
    """The loop's periodic job queues the reminder, the loop sends it to a real SMTP server
    with RFC 8058 headers, and the mail client's one-click POST turns reminders off."""
    import dataclasses

    from tierslieu.services import delivery

    with frozen(MARCH_15):
        assert book(client, world.neighbour, garden["id"]).status_code == 201
    smtp = dataclasses.replace(settings, smtp_url=mailbox.url)

    async def one_pass(_session: Any) -> None:
        engine = db.create_engine(smtp)
        try:
            factory = async_sessionmaker(engine, expire_on_commit=False)
            for job in delivery.PERIODIC_JOBS:
                job.reset()
            await delivery.run_periodic_jobs(factory, smtp)
            await delivery.deliver_due(factory, smtp)
        finally:
            await engine.dispose()

    with frozen(REMINDER_TIME):
        run_db(settings, one_pass)
    reminders = [m for m in mailbox.wait_for(1) if "Rappel" in m["Subject"]]
    assert len(reminders) == 1, [m["Subject"] for m in mailbox.messages]
    message = reminders[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{settings.public_url}/desabonnement/")
    answer = client.post(
        url.removeprefix(settings.public_url),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    me = client.get("/api/me", headers=world.neighbour.headers).json()
    assert me["reminders"] is False
