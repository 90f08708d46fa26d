"""Structures, who works there, and the assets they open."""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tierslieu.domain.vocabulary import (
    AssetKind,
    BookingMode,
    MemberRole,
    StructureKind,
    sql_in,
)
from tierslieu.models.base import Base


class Structure(Base):
    __tablename__ = "structure"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(StructureKind)})", name="kind"),
        Index("ix_structure_commune", "commune"),
    )

    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300), default="")
    # Shown on asset pages for booking by phone, and in e-mails.
    phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    commune: Mapped[str] = mapped_column(String(120))
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    description: Mapped[str] = mapped_column(Text, default="")
    # Public holidays of France (``holidays`` package) close every asset of the structure,
    # with the structure's subdivision (e.g. "57" for Moselle) when it has its own.
    closed_on_public_holidays: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    holiday_subdivision: Mapped[str | None] = mapped_column(String(10), default=None)
    # The managers agree that territory coordinators see this structure's figures (never names).
    share_stats: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Membership(Base):
    """A person's role in a structure: manager, staff or kitchen."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("structure_id", "user_id"),
        CheckConstraint(f"role IN ({sql_in(MemberRole)})", name="role"),
    )

    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="memberships", lazy="raise")
    structure: Mapped[Structure] = relationship(lazy="raise")


class Asset(Base):
    """One opened resource of a structure and its booking rules."""

    __tablename__ = "asset"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(AssetKind)})", name="kind"),
        CheckConstraint(f"booking_mode IN ({sql_in(BookingMode)})", name="booking_mode"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("max_party_size >= 1", name="max_party_size_positive"),
        CheckConstraint("min_notice_minutes >= 0", name="min_notice_non_negative"),
        CheckConstraint("max_advance_days >= 1", name="max_advance_positive"),
        CheckConstraint("cancel_until_minutes >= 0", name="cancel_until_non_negative"),
        Index("ix_asset_structure_kind", "structure_id", "kind"),
    )

    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    booking_mode: Mapped[str] = mapped_column(String(20))
    capacity: Mapped[int] = mapped_column(Integer)
    audience: Mapped[list[str]] = mapped_column(JsonB)
    description: Mapped[str] = mapped_column(Text, default="")
    wheelchair: Mapped[bool] = mapped_column(Boolean, default=False)
    step_free: Mapped[bool] = mapped_column(Boolean, default=False)
    accessible_toilets: Mapped[bool] = mapped_column(Boolean, default=False)
    min_notice_minutes: Mapped[int] = mapped_column(Integer)
    max_advance_days: Mapped[int] = mapped_column(Integer)
    cancel_until_minutes: Mapped[int] = mapped_column(Integer)
    max_party_size: Mapped[int] = mapped_column(Integer)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    # Reminder this many hours before the start (moved out of the night); 0: none.
    # 0–168, checked by the API schema.
    reminder_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # Fair use per person (domain.quotas); None: no limit. Bounds checked by the API schema.
    quota_bookings_per_week: Mapped[int | None] = mapped_column(Integer, default=None)
    quota_bookings_per_month: Mapped[int | None] = mapped_column(Integer, default=None)
    quota_hours_per_week: Mapped[int | None] = mapped_column(Integer, default=None)
    quota_upcoming: Mapped[int | None] = mapped_column(Integer, default=None)
    # A waiting list on full shared slots, and how many entries it may hold per slot.
    waitlist: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    waitlist_max_length: Mapped[int] = mapped_column(Integer, default=20, server_default="20")
    archived_at: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )

    structure: Mapped[Structure] = relationship(lazy="raise")


from tierslieu.models.accounts import User  # noqa: E402
