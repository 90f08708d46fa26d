"""The outbox: notifications written in the transaction of the change that causes them.

Writing (this part): ``enqueue`` adds one row to the caller's session, so the message
exists if and only if the change commits; ``enqueue_once`` inserts a row keyed by a
``dedupe_key`` and does nothing if it exists (reminders, digests: exactly once even when
two workers or a restarted one try). Neither commits; neither renders anything: the row
holds a JSON snapshot (``params``) rendered at delivery (``services/mail``), so no
template work runs inside a held write transaction.

Who hears it: a person with an e-mail gets an e-mail; a person (or guest) with a phone
and no e-mail becomes a phone notice on the staff dashboard (« À prévenir par
téléphone »); a person with neither is told nothing (there is no way to).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from tierslieu.db import insert_for
from tierslieu.domain.notifications import ACCOUNT_KINDS, REMINDER_KINDS, Channel, Kind
from tierslieu.models import OutboxMessage, User
from tierslieu.services.clock import utcnow


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a notification is for, as known when the change happened."""

    user_id: uuid.UUID | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    language: str = "fr"
    # False when the person turned reminders off (« Mon compte » or the unsubscribe link).
    reminders: bool = True

    @property
    def channel(self) -> Channel | None:
        if self.email:
            return Channel.EMAIL
        if self.phone:
            return Channel.PHONE
        return None


def guest_recipient(
    name: str | None, email: str | None, phone: str | None, language: str = "fr"
) -> Recipient:
    """A guest booked or served by staff: the contact details staff typed."""
    return Recipient(email=email or None, phone=phone or None, name=name, language=language)


def user_recipient(user: User) -> Recipient:
    """A person with an account (an erased account has no address: told nothing)."""
    if user.erased_at is not None or not user.is_active:
        return Recipient(user_id=user.id, language=user.locale or "fr", reminders=False)
    return Recipient(
        user_id=user.id,
        email=user.email or None,
        phone=user.phone or None,
        name=user.display_name,
        language=user.locale or "fr",
        reminders=user.reminders,
    )


async def recipient_of(session: AsyncSession, user_id: uuid.UUID) -> Recipient:
    """The recipient for an account id (one small query)."""
    user = await session.scalar(select(User).where(User.id == user_id))
    if user is None:
        return Recipient()
    return user_recipient(user)


def message_id(row_id: uuid.UUID, public_url: str) -> str:
    """The stable Message-ID of a notification: the same on every (re)send."""
    host = urlsplit(public_url).hostname or "localhost"
    return f"<{row_id}@{host}>"


def instant(value: dt.datetime) -> str:
    """An instant for ``params`` (UTC, ISO 8601); read back with ``dt.datetime.fromisoformat``."""
    return value.astimezone(dt.UTC).isoformat()


def _channel_for(kind: Kind, to: Recipient) -> Channel | None:
    channel = to.channel
    if kind in REMINDER_KINDS and not to.reminders:
        return None
    if kind in ACCOUNT_KINDS and channel is not Channel.EMAIL:
        return None  # account mails only make sense by e-mail
    return channel


def row(
    kind: Kind,
    to: Recipient,
    params: Mapping[str, Any],
    *,
    public_url: str,
    structure_id: uuid.UUID | None = None,
    not_before: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any] | None:
    """The outbox row of a notification (column values), or None when the person cannot be
    told (no address) or asked not to be (reminders off). ``params`` must be JSON (use
    ``instant()`` for datetimes)."""
    channel = _channel_for(kind, to)
    if channel is None:
        return None
    row_id = uuid7()
    now = dt.datetime.now(dt.UTC)
    return {
        "id": row_id,
        "created_at": now,
        "updated_at": now,
        "kind": kind.value,
        "channel": channel.value,
        "status": "pending",
        "structure_id": structure_id,
        "user_id": to.user_id,
        "email": to.email if channel is Channel.EMAIL else None,
        "phone": to.phone,
        "name": to.name,
        "language": to.language or "fr",
        "params": dict(params),
        "dedupe_key": dedupe_key,
        "message_id": message_id(row_id, public_url),
        "next_attempt_at": not_before or utcnow(),
        "attempts": 0,
        "last_error": "",
        "subject": "",
        "body_text": "",
    }


def enqueue(
    session: AsyncSession,
    kind: Kind,
    to: Recipient,
    params: Mapping[str, Any],
    *,
    public_url: str,
    structure_id: uuid.UUID | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage | None:
    """Add a notification to the caller's transaction (committed with it, or not at all).

    Returns the row, or None when there is nobody to tell (``row``).
    """
    values = row(
        kind, to, params, public_url=public_url, structure_id=structure_id, not_before=not_before
    )
    if values is None:
        return None
    message = OutboxMessage(**values)
    session.add(message)
    return message


async def enqueue_once(
    session: AsyncSession,
    kind: Kind,
    to: Recipient,
    params: Mapping[str, Any],
    *,
    dedupe_key: str,
    public_url: str,
    structure_id: uuid.UUID | None = None,
    not_before: dt.datetime | None = None,
) -> bool:
    """Insert a notification unless one with ``dedupe_key`` already exists (in the caller's
    transaction). True if this call inserted it. The unique key, not a read-then-write,
    makes it exactly once across workers and restarts."""
    values = row(
        kind,
        to,
        params,
        public_url=public_url,
        structure_id=structure_id,
        not_before=not_before,
        dedupe_key=dedupe_key,
    )
    if values is None:
        return False
    insert = insert_for(session)
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    return (await session.execute(statement)).first() is not None
