"""Stored outcomes of writes sent with an Idempotency-Key header."""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.models.base import Base


class IdempotencyKey(Base):
    """One key of one caller: claimed while the write runs, then its stored response.

    The claim is committed first (so a concurrent retry sees it and gets 409); the
    response is stored in the same transaction as the write itself.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        CheckConstraint("state IN ('running', 'done')", name="state"),
        Index("ix_idempotency_key_expires", "expires_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
