"""The outbox: every notification is a row written in the transaction of the change that
causes it, delivered afterwards by a worker (``services/outbox.py``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.domain.notifications import Channel, OutboxStatus, TokenPurpose
from tierslieu.domain.vocabulary import sql_in
from tierslieu.models.base import Base


class OutboxMessage(Base):
    """One message to one person: an e-mail to send, or a phone call for staff to make.

    ``params`` is a snapshot of what the message says (names, times in UTC, UID and
    SEQUENCE of the calendar event, amounts…), taken when the change happened, so the text
    rendered at delivery tells what happened then even if the booking changed since.
    ``dedupe_key`` makes reminders and digests exactly-once (unique; NULL for the others).
    ``message_id`` is the stable RFC 5322 Message-ID: a resend after a crash carries the
    same one, so the receiving side can drop the duplicate.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(f"channel IN ({sql_in(Channel)})", name="channel"),
        CheckConstraint(f"status IN ({sql_in(OutboxStatus)})", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint(
            "email IS NOT NULL OR phone IS NOT NULL OR user_id IS NOT NULL",
            name="has_recipient",
        ),
        # The delivery loop claims due e-mails in this order.
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The staff call list: pending phone notices of a structure.
        Index("ix_outbox_structure_channel", "structure_id", "channel", "status"),
        Index("ix_outbox_user", "user_id"),
    )

    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING.value)
    structure_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("structure.id", ondelete="CASCADE"), default=None
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    # Where it goes: copied at enqueue time (a guest has no account to read them from).
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(30), default=None)
    name: Mapped[str | None] = mapped_column(String(120), default=None)
    language: Mapped[str] = mapped_column(String(5), default="fr")
    params: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    message_id: Mapped[str] = mapped_column(String(200))
    # Not delivered before this instant (digests wait for the end of their hour, reminders
    # for their time); then the next retry time after a failure.
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A claimed message is someone's until then; a worker that died lets it go by itself.
    locked_until: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # As rendered at delivery (for the admin page when no SMTP server is configured).
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    # Phone notices: who called, and when (the « Prévenu·e » tick).
    called_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    called_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class AccountToken(Base):
    """A single-use link sent by e-mail (password reset, address confirmation).
    Only its SHA-256 is stored; it is spent (``used_at``) by the first use."""

    __tablename__ = "account_token"
    __table_args__ = (CheckConstraint(f"purpose IN ({sql_in(TokenPurpose)})", name="purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
