"""Delivery of the outbox: claim due e-mails, render them, send them over SMTP, mark them.

Nothing here decides what a message says (``services/mail``) nor when it is written
(``services/outbox.py``). The cycle of one pass (:func:`deliver_due`):

1. **Claim** due e-mail rows in a short transaction (``locked_until = now + lease``,
   ``attempts + 1``) and commit. On PostgreSQL the rows are chosen with
   ``FOR UPDATE SKIP LOCKED``, so several workers on several machines take disjoint rows;
   on SQLite every write transaction is ``BEGIN IMMEDIATE``, which serialises the claims.
2. **Render** the claimed rows off the event loop (one thread hop for the batch): the
   renderer, the MIME message and its bytes. A row without renderer, or whose renderer
   raises, is marked failed with the error; the loop goes on.
3. **Send** outside any transaction, over one SMTP connection for the batch.
4. **Mark** the outcomes in short transactions, every few messages: sent (``sent_at``,
   subject and text kept), back to pending with a backoff, or failed. Each mark also
   extends the lease of the rows still to send.

A worker killed between sending and marking leaves the row claimed; the lease expires
and another pass sends it again, with the same ``Message-ID`` (``outbox.message_id``): at
most one duplicate per message, which the receiving side can recognise.

Without ``TIERSLIEU_SMTP_URL`` nothing is sent: rows are rendered, kept (status ``kept``)
for the admin page ``/admin/courriels`` and logged, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.policy
import email.utils
import io
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import anyio
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tierslieu.domain.notifications import ACCOUNT_KINDS, Channel, OutboxStatus, retry_delay
from tierslieu.models import OutboxMessage
from tierslieu.runtime import for_log
from tierslieu.services.clock import utcnow
from tierslieu.services.mail import Mail, render
from tierslieu.services.reminders import enqueue_due_reminders
from tierslieu.settings import Settings, parse_smtp_url

logger = logging.getLogger("tierslieu.delivery")

SessionFactory = async_sessionmaker[AsyncSession] | Callable[[], Any]


class Paced:
    """``job`` run at most once every ``seconds`` by this process's loop (the delivery loop
    passes every few seconds; a job that reads many rows keeps its own cadence)."""

    def __init__(self, seconds: float, job: Callable[[Any, Settings], Awaitable[Any]]) -> None:
        self.seconds, self.job = seconds, job
        self.last = -float("inf")

    async def __call__(self, session_factory: Any, settings: Settings) -> None:
        if time.monotonic() - self.last < self.seconds:
            return
        self.last = time.monotonic()
        await self.job(session_factory, settings)

    def reset(self) -> None:
        """Due again at the next pass (tests)."""
        self.last = -float("inf")

    def __repr__(self) -> str:
        return f"Paced({self.seconds:g} s, {self.job.__qualname__})"


# Jobs run on passes of the delivery loop, before delivering: queue the reminders whose
# time has come (exactly once across workers: ``outbox.enqueue_once``), every minute.
# ``async def job(session_factory, settings) -> None``; an exception is logged, not fatal.
PERIODIC_JOBS: tuple[Paced, ...] = (Paced(60.0, enqueue_due_reminders),)

BATCH = 50  # rows claimed per transaction
MARK_EVERY = 20  # outcomes written after at most this many messages…
MARK_EVERY_SECONDS = 1.0  # …or this long
SMTP_TIMEOUT_SECONDS = 30.0
ERROR_MAX = 500
SUBJECT_MAX = 300


# --- claiming ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed row, detached from any session (sending happens outside transactions)."""

    id: Any
    kind: str
    email: str
    name: str | None
    language: str
    params: dict[str, Any]
    message_id: str
    attempts: int  # including this one


def _due(now: dt.datetime) -> Any:
    return and_(
        OutboxMessage.channel == Channel.EMAIL.value,
        OutboxMessage.status == OutboxStatus.PENDING.value,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
    )


async def claim(session: AsyncSession, settings: Settings, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due e-mails for this worker and commit (a short transaction)."""
    now = utcnow()
    statement = (
        select(OutboxMessage)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        # PostgreSQL: rows another worker is claiming are skipped, not waited for.
        # SQLite ignores it: BEGIN IMMEDIATE already serialises the claims.
        .with_for_update(skip_locked=True)
    )
    rows = list(await session.scalars(statement))
    if not rows:
        await session.commit()
        return []
    ids = [row.id for row in rows]
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(
            locked_until=now + dt.timedelta(seconds=settings.outbox_lease_seconds),
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = [
        Claimed(
            id=row.id,
            kind=row.kind,
            email=row.email or "",
            name=row.name,
            language=row.language or "fr",
            params=dict(row.params or {}),
            message_id=row.message_id,
            attempts=row.attempts + 1,
        )
        for row in rows
    ]
    await session.commit()
    return claimed


# --- the message -------------------------------------------------------------------------


def _one_line(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def build_message(row: Any, mail: Mail, settings: Settings) -> EmailMessage:
    """The MIME message of one outbox row (``row`` has ``email``, ``name``, ``message_id``).

    multipart/mixed
      multipart/alternative: text/plain, text/html, text/calendar; method=…   (inline iTIP:
          what Gmail, Outlook and Apple Mail read to offer « add / update / remove »)
      application/ics "invitation.ics" (attachment, for clients that only offer files)

    Without calendar, just the alternative (or the text alone). No remote images, no
    tracking: the parts are the renderer's text and HTML as they are.
    """
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = settings.mail_from
    message["To"] = Address(display_name=_one_line(row.name or "", 120), addr_spec=row.email)
    message["Subject"] = _one_line(mail.subject, SUBJECT_MAX)
    message["Date"] = email.utils.format_datetime(utcnow())
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        # RFC 8058 one-click unsubscribe (a POST to the URL, without cookies).
        message["List-Unsubscribe"] = f"<{_one_line(mail.unsubscribe_url, 1000)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text, cte="quoted-printable")
    if mail.html:
        message.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    if mail.calendar:
        method = (mail.calendar_method or "REQUEST").upper()
        if method not in {"REQUEST", "CANCEL", "PUBLISH"}:
            raise ValueError(f"calendar method {method!r}")
        ics = mail.calendar.decode("utf-8")
        message.add_alternative(ics, subtype="calendar", cte="base64", params={"method": method})
        message.add_attachment(
            mail.calendar, maintype="application", subtype="ics", filename="invitation.ics"
        )
    return message


@dataclass(slots=True)
class Prepared:
    row: Claimed
    mail: Mail | None = None
    data: bytes = b""
    error: str = ""


def _prepare(rows: Sequence[Claimed], settings: Settings) -> list[Prepared]:
    """Render and serialise a batch (runs in a worker thread)."""
    prepared = []
    for row in rows:
        try:
            mail = render(row.kind, row.params, row.language, settings)
            data = build_message(row, mail, settings).as_bytes() if settings.smtp_url else b""
            prepared.append(Prepared(row, mail, data))
        except KeyError as exc:
            prepared.append(Prepared(row, error=f"no renderer for {row.kind!r} ({exc})"))
        except Exception as exc:  # a renderer's bug must not stop the loop
            prepared.append(Prepared(row, error=f"{type(exc).__name__}: {exc}"))
    return prepared


# --- outcomes ----------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    row: Claimed
    status: OutboxStatus  # SENT, KEPT, FAILED, or PENDING (retry later)
    mail: Mail | None = None
    error: str = ""


@dataclass(slots=True)
class Marker:
    """Writes outcomes in short transactions and extends the lease of what remains."""

    session_factory: Any
    settings: Settings
    pending: list[Outcome] = field(default_factory=list)
    last: float = field(default_factory=time.monotonic)
    handled: int = 0

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)

    async def maybe_flush(self, remaining: Sequence[Claimed]) -> None:
        if len(self.pending) >= MARK_EVERY or time.monotonic() - self.last >= MARK_EVERY_SECONDS:
            await self.flush(remaining)

    async def flush(self, remaining: Sequence[Claimed] = ()) -> None:
        self.last = time.monotonic()
        if not self.pending and not remaining:
            return
        now = utcnow()
        async with self.session_factory() as session:
            for outcome in self.pending:
                await session.execute(_mark(outcome, now, self.settings))
            if remaining:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([row.id for row in remaining]))
                    .where(OutboxMessage.status == OutboxStatus.PENDING.value)
                    .values(
                        locked_until=now + dt.timedelta(seconds=self.settings.outbox_lease_seconds)
                    )
                    .execution_options(synchronize_session=False)
                )
            await session.commit()
        self.handled += len(self.pending)
        self.pending.clear()


def _mark(outcome: Outcome, now: dt.datetime, settings: Settings) -> Any:
    row = outcome.row
    statement = update(OutboxMessage).where(OutboxMessage.id == row.id)
    values: dict[str, Any] = {"locked_until": None}
    if outcome.mail is not None:
        values["subject"] = _one_line(outcome.mail.subject, SUBJECT_MAX)
        # A sent account mail holds a live single-use link (password reset): its text is
        # not kept. A kept one is the only copy (no SMTP server): the admin page shows it.
        secret = row.kind in ACCOUNT_KINDS and outcome.status is not OutboxStatus.KEPT
        values["body_text"] = "" if secret else outcome.mail.text
    error = outcome.error[:ERROR_MAX]
    if outcome.status is OutboxStatus.SENT:
        # What the SMTP server accepted is sent, whatever became of the row meanwhile.
        values.update(status=OutboxStatus.SENT.value, sent_at=now, last_error="")
        return statement.values(**values).execution_options(synchronize_session=False)
    # Never revive a row someone else settled meanwhile (a reminder dropped, say).
    statement = statement.where(OutboxMessage.status == OutboxStatus.PENDING.value)
    if outcome.status is OutboxStatus.PENDING and row.attempts >= settings.outbox_max_attempts:
        values.update(status=OutboxStatus.FAILED.value, last_error=error)
    elif outcome.status is OutboxStatus.PENDING:
        values.update(next_attempt_at=now + retry_delay(row.attempts), last_error=error)
    else:
        values.update(status=outcome.status.value, last_error=error)
    return statement.values(**values).execution_options(synchronize_session=False)


# --- SMTP --------------------------------------------------------------------------------


class Permanent(Exception):
    """The server refused this message for good (5xx): failed at once."""


class Transient(Exception):
    """This message may pass later (4xx, or the server refused the sender or the login)."""


def _smtp_client(settings: Settings) -> aiosmtplib.SMTP:
    server = parse_smtp_url(settings.smtp_url)
    return aiosmtplib.SMTP(
        hostname=server.hostname,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.implicit_tls,
        start_tls=server.start_tls,
        timeout=SMTP_TIMEOUT_SECONDS,
    )


def _envelope_sender(settings: Settings) -> str:
    return email.utils.parseaddr(settings.mail_from)[1]


async def _send_one(client: aiosmtplib.SMTP, settings: Settings, item: Prepared) -> None:
    """Send one message; raises Permanent or Transient for a refusal of this message, and
    connection errors (OSError, SMTPServerDisconnected, timeouts) as they are."""
    try:
        await client.sendmail(_envelope_sender(settings), [item.row.email], item.data)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusal = exc.recipients[0] if exc.recipients else None
        code = refusal.code if refusal is not None else 450
        text = f"{code} {refusal.message if refusal is not None else ''}".strip()
        raise (Permanent if 500 <= code < 600 else Transient)(text) from None
    except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPAuthenticationError) as exc:
        # Our configuration, not this message: retried (and failed after the last attempt).
        raise Transient(f"{exc.code} {exc.message}") from None
    except aiosmtplib.SMTPServerDisconnected:
        raise
    except aiosmtplib.SMTPResponseException as exc:
        raise (Permanent if 500 <= exc.code < 600 else Transient)(
            f"{exc.code} {exc.message}"
        ) from None


async def _send_batch(prepared: list[Prepared], settings: Settings, marker: Marker) -> None:
    client: aiosmtplib.SMTP | None = None
    queue = [item for item in prepared if not item.error]
    try:
        for index, item in enumerate(queue):
            remaining = [later.row for later in queue[index + 1 :]]
            try:
                if client is None or not client.is_connected:
                    client = _smtp_client(settings)
                    await client.connect()
                await _send_one(client, settings, item)
                marker.add(Outcome(item.row, OutboxStatus.SENT, item.mail))
            except Permanent as exc:
                marker.add(Outcome(item.row, OutboxStatus.FAILED, item.mail, str(exc)))
            except Transient as exc:
                marker.add(Outcome(item.row, OutboxStatus.PENDING, item.mail, str(exc)))
            except (OSError, aiosmtplib.SMTPException, TimeoutError) as exc:
                # The server is unreachable or dropped us: this message and the rest of the
                # batch wait for the next attempt (nothing more to try on this connection).
                error = f"{type(exc).__name__}: {exc}"
                for rest in queue[index:]:
                    marker.add(Outcome(rest.row, OutboxStatus.PENDING, rest.mail, error))
                logger.warning("SMTP unavailable, %d message(s) retried later: %s",
                               len(queue) - index, for_log(error))  # fmt: skip
                await _close(client)
                client = None
                return
            await marker.maybe_flush(remaining)
    finally:
        await _close(client)


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None or not client.is_connected:
        return
    try:
        await client.quit()
    except (OSError, aiosmtplib.SMTPException, TimeoutError):
        client.close()


# --- one pass, and the loop --------------------------------------------------------------


PASS_LIMIT = 500


async def deliver_due(
    session_factory: Any,
    settings: Settings,
    *,
    limit: int = PASS_LIMIT,
    stopping: asyncio.Event | None = None,
) -> int:
    """One delivery pass: up to ``limit`` due e-mails, claimed ``BATCH`` at a time (and no
    further batch once ``stopping`` is set). Returns how many rows were handled (sent,
    kept, failed or put back for later)."""
    handled = 0
    while handled < limit and not (stopping is not None and stopping.is_set()):
        async with session_factory() as session:
            rows = await claim(session, settings, min(BATCH, limit - handled))
        if not rows:
            break
        prepared = await anyio.to_thread.run_sync(_prepare, rows, settings)
        marker = Marker(session_factory, settings)
        for item in prepared:
            if item.error:
                logger.error("mail %s (%s) not rendered: %s", item.row.message_id,
                             for_log(item.row.kind), for_log(item.error))  # fmt: skip
                marker.add(Outcome(item.row, OutboxStatus.FAILED, None, item.error))
            elif not settings.smtp_url:
                logger.info("mail kept (no TIERSLIEU_SMTP_URL; see /admin/courriels): %s to %s: %s",
                            for_log(item.row.kind), for_log(item.row.email),
                            for_log(item.mail.subject if item.mail else ""))  # fmt: skip
                marker.add(Outcome(item.row, OutboxStatus.KEPT, item.mail))
        if settings.smtp_url:
            await _send_batch(prepared, settings, marker)
        await marker.flush()
        handled += marker.handled
        if len(rows) < BATCH:
            break
    return handled


async def run_periodic_jobs(session_factory: Any, settings: Settings) -> None:
    for job in PERIODIC_JOBS:
        try:
            await job(session_factory, settings)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("periodic job %s failed; tried again at the next pass", job)


async def run_delivery_forever(
    session_factory: Any, settings: Settings, *, stopping: asyncio.Event
) -> None:
    """The delivery loop: periodic jobs, then every due e-mail, then a pause. Errors
    (the database away, say) are logged and the loop goes on. It returns once
    ``stopping`` is set, after the batch in hand (its messages sent and marked)."""
    pause = settings.delivery_every_seconds
    while not stopping.is_set():
        await run_periodic_jobs(session_factory, settings)
        try:
            backlog_left = True
            while backlog_left and not stopping.is_set():  # a backlog: no pause between passes
                handled = await deliver_due(session_factory, settings, stopping=stopping)
                backlog_left = handled >= PASS_LIMIT
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("delivery pass failed; tried again in %s s", pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), pause)


STOP_GRACE_SECONDS = 10.0


class DeliveryLoop:
    """The delivery loop as a task (``tierslieu serve``'s lifespan, ``tierslieu worker``)
    that stops between two batches when asked, instead of being cancelled in the middle of
    an SMTP exchange or of marking what was sent (a message sent but not marked would be
    sent again after its lease)."""

    def __init__(self, engine: Any, settings: Settings) -> None:
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(
            run_delivery_forever(
                async_sessionmaker(engine, expire_on_commit=False), settings, stopping=self.stopping
            ),
            name="tierslieu-delivery",
        )

    def ask_to_stop(self) -> None:
        """The first call stops the loop after the batch in hand; a second, at once."""
        if self.stopping.is_set():
            self.task.cancel()
        self.stopping.set()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Ask the loop to stop, and cancel it if it has not after ``grace`` seconds. A task
        that does not end even then is logged with where it waits, and left behind."""
        self.ask_to_stop()
        if not await self._ended(grace, "stop"):
            self.ask_to_stop()
            await self._ended(grace, "end once cancelled")

    async def _ended(self, grace: float, what: str) -> bool:
        done, _ = await asyncio.wait({self.task}, timeout=grace)
        if not done:
            where = io.StringIO()
            self.task.print_stack(file=where)
            logger.warning("delivery loop did not %s within %s s; it waits at:\n%s",
                           what, grace, where.getvalue())  # fmt: skip
            return False
        if not self.task.cancelled() and self.task.exception() is not None:
            logger.error("delivery loop ended on an error", exc_info=self.task.exception())
        return True


def start_delivery(engine: Any, settings: Settings) -> DeliveryLoop | None:
    """The delivery loop of the running service, unless ``delivery_in_process`` is off
    (``--no-worker``: a ``tierslieu worker`` delivers)."""
    return DeliveryLoop(engine, settings) if settings.delivery_in_process else None


# --- what /health and the admin page read -----------------------------------------------


async def backlog(session: AsyncSession) -> dict[str, Any]:
    """E-mails due and not yet delivered, the oldest one's wait (since it became due: its
    creation, or its scheduled time for reminders and digests), and the failed ones."""
    now = utcnow()
    pending = OutboxMessage.status == OutboxStatus.PENDING.value
    due = and_(pending, OutboxMessage.next_attempt_at <= now)
    waiting_since = case(
        (OutboxMessage.attempts == 0, OutboxMessage.next_attempt_at),
        else_=OutboxMessage.created_at,
    )
    row = (
        await session.execute(
            select(
                func.count().filter(due),
                func.min(waiting_since).filter(or_(due, and_(pending, OutboxMessage.attempts > 0))),
                func.count().filter(OutboxMessage.status == OutboxStatus.FAILED.value),
            ).where(
                OutboxMessage.channel == Channel.EMAIL.value,
                OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.FAILED.value]),
            )
        )
    ).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return {
        "due": int(row[0] or 0),
        "oldest_pending_seconds": round(max(0.0, (now - oldest).total_seconds()))
        if oldest is not None
        else 0,
        "failed": int(row[2] or 0),
    }
