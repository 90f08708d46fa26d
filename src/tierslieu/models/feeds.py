"""Secret calendar feed tokens: one per person, and one per person and structure for staff."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.models.base import Base


class FeedToken(Base):
    """The SHA-256 of a feed URL's secret (never the secret itself).

    ``scope`` is ``"me"`` for the person's own feed, or ``"staff"`` for a
    structure's staff feed (then ``structure_id`` is set). ``scope_key`` makes
    "one token per person and scope" a unique constraint; rotating deletes the
    row and inserts a new one in one transaction, so the old URL dies at once.
    """

    __tablename__ = "feed_token"
    __table_args__ = (
        UniqueConstraint("user_id", "scope_key"),
        CheckConstraint("scope IN ('me', 'staff')", name="scope"),
        CheckConstraint(
            "(scope = 'me' AND structure_id IS NULL) OR (scope = 'staff' AND structure_id IS NOT NULL)",
            name="scope_structure",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    structure_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("structure.id", ondelete="CASCADE"), default=None, index=True
    )
    scope: Mapped[str] = mapped_column(String(10))
    scope_key: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
