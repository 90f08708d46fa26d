"""Delivery of the outbox to a real SMTP server (aiosmtpd on loopback): what arrives, what
is kept without a server, retries, failures, and no message sent twice."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import IS_POSTGRES, run_db
from tests.mailbox import deliver_now
from tierslieu.domain.notifications import Kind, retry_delay
from tierslieu.models import OutboxMessage
from tierslieu.services import clock, mail
from tierslieu.services.mail import Mail
from tierslieu.services.outbox import Recipient, enqueue

KIND = Kind.BOOKING_CONFIRMED
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tierslieu//test//FR\r\nMETHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\nUID:booking-1@tierslieu\r\nSEQUENCE:2\r\n"
    b"DTSTAMP:20261201T080000Z\r\nDTSTART:20261203T110000Z\r\nDTEND:20261203T120000Z\r\n"
    b"SUMMARY:Jardin des Tilleuls\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _test_mail(params: Any, language: str, settings: Any) -> Mail:
    if params.get("boom"):
        raise RuntimeError("renderer bug")
    n = params.get("n", 0)
    return Mail(
        subject=f"Réservation confirmée n° {n}",
        text=f"Bonjour, votre réservation n° {n} est confirmée.\nÀ bientôt !",
        html=f"<p>Bonjour, votre réservation n° {n} est <strong>confirmée</strong>.</p>",
        calendar=ICS if params.get("ics") else None,
        calendar_method="REQUEST" if params.get("ics") else None,
        unsubscribe_url="https://tierslieu.test/desabonnement/abc" if params.get("unsub") else None,
    )


@pytest.fixture(autouse=True)
def registered_test_renderer() -> Iterator[None]:
    """A renderer for one kind, for these tests only (the real ones are other modules')."""
    mail._load()
    previous = mail._RENDERERS.get(KIND)
    mail.renderer(KIND)(_test_mail)
    try:
        yield
    finally:
        if previous is None:
            mail._RENDERERS.pop(KIND, None)
        else:
            mail._RENDERERS[KIND] = previous


def _enqueue(settings: Any, count: int = 1, *, commit: bool = True, **params: Any) -> None:
    async def work(session: Any) -> None:
        for n in range(count):
            to = Recipient(email=f"personne{n}@exemple.test", name="Jeanne Martin-Lefèvre")
            enqueue(session, KIND, to, {"n": n, **params}, public_url=settings.public_url)
        if commit:
            await session.commit()
        else:
            await session.rollback()

    run_db(settings, work)


def _rows(settings: Any) -> list[OutboxMessage]:
    async def work(session: Any) -> list[OutboxMessage]:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    return run_db(settings, work)


def _with(settings: Any, mailbox: Any = None, **overrides: Any) -> Any:
    if mailbox is not None:
        overrides["smtp_url"] = mailbox.url
    return dataclasses.replace(settings, **overrides)


def test_rolled_back_rows_are_never_sent(settings, mailbox):
    settings = _with(settings, mailbox)
    _enqueue(settings, 2, commit=False)
    _enqueue(settings, 1)
    assert deliver_now(settings) == 1
    assert len(mailbox.messages) == 1
    assert [r.status for r in _rows(settings)] == ["sent"]


def test_without_smtp_messages_are_kept_for_the_admin(settings, caplog):
    _enqueue(settings, 2)
    with caplog.at_level("INFO", logger="tierslieu.delivery"):
        assert deliver_now(settings) == 2
    rows = _rows(settings)
    assert {r.status for r in rows} == {"kept"}
    assert rows[0].subject == "Réservation confirmée n° 0"
    assert "est confirmée" in rows[0].body_text
    assert rows[0].locked_until is None
    assert sum("mail kept" in r.message for r in caplog.records) == 2
    assert deliver_now(settings) == 0  # kept is final: not handled again


def test_the_message_as_a_mail_client_reads_it(settings, mailbox):
    settings = _with(
        settings, mailbox, mail_from="Tiers-lieu des Tilleuls <ne-pas-repondre@tilleuls.test>"
    )
    _enqueue(settings, 1, ics=True, unsub=True)
    deliver_now(settings)
    [message] = mailbox.wait_for(1)
    [row] = _rows(settings)
    assert message["Message-ID"] == row.message_id
    assert message["Subject"] == "Réservation confirmée n° 0"
    assert message["To"].addresses[0].display_name == "Jeanne Martin-Lefèvre"
    assert message["To"].addresses[0].addr_spec == "personne0@exemple.test"
    assert message["From"].addresses[0].addr_spec == "ne-pas-repondre@tilleuls.test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] is not None
    assert message["List-Unsubscribe"] == "<https://tierslieu.test/desabonnement/abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mailbox.envelopes[0] == ("ne-pas-repondre@tilleuls.test", ["personne0@exemple.test"])
    # multipart/mixed: the alternative (text, html, calendar) and the .ics attachment.
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html, calendar = alternative.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert "réservation n° 0 est confirmée" in text.get_content()
    assert html.get_content_type() == "text/html"
    assert "<strong>confirmée</strong>" in html.get_content()
    assert "<img" not in html.get_content()
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_content_charset() == "utf-8"
    assert "UID:booking-1@tierslieu" in calendar.get_content()
    assert attachment.get_filename() == "invitation.ics"
    assert attachment.get_content() == ICS
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert row.body_text.startswith("Bonjour")


def test_plain_message_without_calendar_is_an_alternative(settings, mailbox):
    settings = _with(settings, mailbox)
    _enqueue(settings, 1)
    deliver_now(settings)
    [message] = mailbox.wait_for(1)
    assert message.get_content_type() == "multipart/alternative"
    assert "List-Unsubscribe" not in message


def test_a_renderer_failure_marks_the_row_failed_and_the_others_go(settings, mailbox):
    settings = _with(settings, mailbox)
    _enqueue(settings, 1, boom=True)
    _enqueue(settings, 2)

    async def unknown(session: Any) -> None:
        row = enqueue(session, KIND, Recipient(email="x@exemple.test"), {}, public_url="http://t")
        assert row is not None
        row.kind = "no-such-kind"
        await session.commit()

    run_db(settings, unknown)
    assert deliver_now(settings) == 4
    statuses = sorted((r.status, r.last_error[:20]) for r in _rows(settings))
    assert [s for s, _ in statuses] == ["failed", "failed", "sent", "sent"]
    assert any("renderer bug" in r.last_error for r in _rows(settings))
    assert len(mailbox.messages) == 2


def test_server_down_then_back_every_message_arrives_once(settings, mailbox):
    settings = _with(settings, mailbox)
    _enqueue(settings, 30)
    mailbox.stop()
    start = clock.utcnow()
    try:
        clock.travel_to(start)
        assert deliver_now(settings) == 30
        rows = _rows(settings)
        assert {r.status for r in rows} == {"pending"}
        assert all(r.attempts == 1 and "Connect" in r.last_error for r in rows)
        # Not due before the backoff: nothing happens, even with the server back.
        mailbox.start()
        assert deliver_now(settings) == 0
        clock.travel_to(start + retry_delay(1) + dt.timedelta(seconds=1))
        assert deliver_now(settings) == 30
    finally:
        clock.travel_to(None)
    mailbox.wait_for(30)
    ids = mailbox.message_ids()
    assert len(ids) == len(set(ids)) == 30
    assert {r.status for r in _rows(settings)} == {"sent"}
    assert deliver_now(settings) == 0
    assert len(mailbox.messages) == 30


def test_server_stopped_mid_run(settings, mailbox):
    """The server goes away while a pass is sending: what it accepted is marked sent, the
    rest waits; after the restart each message has arrived exactly once."""
    settings = _with(settings, mailbox)
    _enqueue(settings, 40)
    seen = 0

    def stop_after_ten(message: Any) -> str | None:
        nonlocal seen
        seen += 1
        if seen == 10:  # the server shuts down (from another thread: not its own loop)
            threading.Thread(target=mailbox.stop).start()
            return "421 Service not available, closing transmission channel"
        return None

    mailbox.answer = stop_after_ten
    start = clock.utcnow()
    try:
        clock.travel_to(start)
        deliver_now(settings)
        rows = _rows(settings)
        sent = [r for r in rows if r.status == "sent"]
        assert len(sent) == len(mailbox.messages)
        assert 9 <= len(sent) < 40
        assert {r.status for r in rows if r.status != "sent"} == {"pending"}
        mailbox.answer = None
        mailbox.start()
        clock.travel_to(start + dt.timedelta(hours=2))
        deliver_now(settings)
    finally:
        clock.travel_to(None)
    ids = mailbox.message_ids()
    assert len(ids) == len(set(ids)) == 40


def test_4xx_backs_off_then_fails_after_the_last_attempt(settings, mailbox):
    settings = _with(settings, mailbox, outbox_max_attempts=3)
    _enqueue(settings, 1)
    mailbox.answer = lambda message: "451 4.3.0 Try again later"
    start = clock.utcnow()
    try:
        at = start
        for attempt in (1, 2, 3):
            clock.travel_to(at)
            assert deliver_now(settings) == 1
            [row] = _rows(settings)
            assert row.attempts == attempt
            assert "451" in row.last_error
            if attempt < 3:
                assert row.status == "pending"
                due = row.next_attempt_at.replace(tzinfo=dt.UTC)
                assert due == at + retry_delay(attempt)
                clock.travel_to(due - dt.timedelta(seconds=1))
                assert deliver_now(settings) == 0  # not before its time
                at = due
        assert row.status == "failed"
        clock.travel_to(at + dt.timedelta(days=1))
        assert deliver_now(settings) == 0
    finally:
        clock.travel_to(None)
    assert mailbox.messages == []


def test_5xx_fails_at_once(settings, mailbox):
    settings = _with(settings, mailbox)
    _enqueue(settings, 2)
    mailbox.answer = lambda m: "550 5.1.1 No such user" if "n° 0" in str(m["Subject"]) else None
    assert deliver_now(settings) == 2
    rows = {r.subject: r for r in _rows(settings)}
    refused = rows["Réservation confirmée n° 0"]
    assert refused.status == "failed" and "550" in refused.last_error and refused.attempts == 1
    assert rows["Réservation confirmée n° 1"].status == "sent"
    assert len(mailbox.messages) == 1


def test_health_reports_the_backlog(settings, client, mailbox):
    _enqueue(settings, 3)
    body = client.get("/health").json()
    assert body["outbox"]["due"] == 3
    assert body["outbox"]["failed"] == 0
    assert body["outbox"]["oldest_pending_seconds"] >= 0
    mailbox.answer = lambda m: "550 5.1.1 No such user"
    deliver_now(_with(settings, mailbox))
    body = client.get("/health").json()
    assert body["outbox"] == {"due": 0, "oldest_pending_seconds": 0, "failed": 3}


@pytest.mark.postgres_only
def test_two_concurrent_passes_never_send_a_row_twice(settings, mailbox):
    """Two workers on separate connections and engines claim disjoint rows (SKIP LOCKED)."""
    assert IS_POSTGRES
    settings = _with(settings, mailbox)
    _enqueue(settings, 300)

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tierslieu import db
    from tierslieu.services.delivery import deliver_due

    async def worker() -> int:
        engine = db.create_engine(settings)
        try:
            factory = async_sessionmaker(engine, expire_on_commit=False)
            total = 0
            while True:
                done = await deliver_due(factory, settings, limit=20)
                if not done:
                    return total
                total += done
        finally:
            await engine.dispose()

    async def both() -> list[int]:
        return list(await asyncio.gather(worker(), worker(), worker()))

    counts = asyncio.run(both())
    assert sum(counts) == 300
    assert sum(1 for c in counts if c) >= 2  # they did work side by side
    ids = mailbox.message_ids()
    assert len(ids) == len(set(ids)) == 300
    assert {r.status for r in _rows(settings)} == {"sent"}


def test_the_in_process_loop_delivers(settings, mailbox):
    """`tierslieu serve` delivers by itself (the app's lifespan), unless told not to."""
    from litestar.testing import TestClient

    from tierslieu.app import create_app

    live = _with(settings, mailbox, delivery_in_process=True, delivery_every_seconds=0.1)
    _enqueue(live, 2)
    with TestClient(app=create_app(live)):
        mailbox.wait_for(2)


def test_stopping_the_service_finishes_the_batch_in_hand(settings, mailbox):
    """Stopped in the middle of a batch, the loop sends and marks what it holds: every
    message that arrived is marked sent (none sent again after its lease), the rest wait."""
    from litestar.testing import TestClient

    from tierslieu.app import create_app

    live = _with(settings, mailbox, delivery_in_process=True, delivery_every_seconds=0.1)
    _enqueue(live, 120)
    with TestClient(app=create_app(live)):
        mailbox.wait_for(1)
    arrived = len(mailbox.messages)
    statuses = [r.status for r in _rows(settings)]
    assert 0 < arrived < 120
    assert statuses.count("sent") == arrived
    assert statuses.count("pending") == 120 - arrived


def test_a_sent_account_mail_keeps_no_copy_of_its_single_use_link(settings, mailbox):
    previous = mail._RENDERERS.get(Kind.PASSWORD_RESET)
    mail.renderer(Kind.PASSWORD_RESET)(_test_mail)
    try:

        async def work(session: Any) -> None:
            to = Recipient(email="jeanne@exemple.test")
            enqueue(session, Kind.PASSWORD_RESET, to, {"n": 7}, public_url=settings.public_url)
            await session.commit()

        run_db(settings, work)
        deliver_now(_with(settings))  # no SMTP server: kept, the only copy, shown to admins
        run_db(settings, work)
        deliver_now(_with(settings, mailbox))
    finally:
        if previous is None:
            mail._RENDERERS.pop(Kind.PASSWORD_RESET, None)
        else:
            mail._RENDERERS[Kind.PASSWORD_RESET] = previous
    kept, sent = _rows(settings)
    assert (kept.status, sent.status) == ("kept", "sent")
    assert "n° 7" in kept.body_text
    assert sent.body_text == "" and sent.subject == "Réservation confirmée n° 7"
    assert "n° 7" in mailbox.messages[0].get_body(("plain",)).get_content()
