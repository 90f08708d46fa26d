"""Contacts: people a structure knows without an account (booked and served on their behalf)."""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.models.base import Base


class Contact(Base):
    """A person known to one structure's staff: a name, a phone and/or an e-mail address.

    The ``*_key`` columns hold the compared forms (``domain.contacts``): searches and
    duplicate checks use them. ``user_id`` is set once the person links an account.
    """

    __tablename__ = "contact"
    __table_args__ = (
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
        Index("ix_contact_structure_name", "structure_id", "name_key"),
        Index("ix_contact_structure_phone", "structure_id", "phone_key"),
        Index("ix_contact_structure_email", "structure_id", "email_key"),
    )

    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(30), default=None)
    phone_key: Mapped[str | None] = mapped_column(String(30), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    email_key: Mapped[str | None] = mapped_column(String(254), default=None)
    # What staff need to remember (« préfère être appelée le matin »); never public.
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
