"""Opening rules, closures, per-slot counters and bookings."""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.domain.bookings import BookingStatus
from tierslieu.domain.vocabulary import sql_in
from tierslieu.models.base import Base


class AvailabilityRule(Base):
    """When an asset is open, in local wall-clock time of its structure."""

    __tablename__ = "availability_rule"
    __table_args__ = (
        CheckConstraint("start_time < end_time", name="times_ordered"),
        CheckConstraint("valid_until IS NULL OR valid_from <= valid_until", name="dates_ordered"),
        CheckConstraint("slot_minutes IS NULL OR slot_minutes >= 5", name="slot_minutes_min"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
    )

    asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), index=True
    )
    weekdays: Mapped[list[int]] = mapped_column(JsonB)
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, default=None)
    slot_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)


class Closure(Base):
    """Time removed from an asset's opening (holiday, heatwave plan, training…)."""

    __tablename__ = "closure"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="ordered"),
        UniqueConstraint("asset_id", "external_uid"),
        Index("ix_closure_asset_time", "asset_id", "starts_at", "ends_at"),
    )

    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    # Whole local days, when given as dates (ends_on inclusive); None for timed closures.
    starts_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    reason: Mapped[str] = mapped_column(String(300), default="")
    # UID of the calendar event it was imported from (re-importing creates nothing new).
    external_uid: Mapped[str | None] = mapped_column(String(255), default=None)

    @property
    def all_day(self) -> bool:
        return self.starts_on is not None


class SlotCounter(Base):
    """Places taken in one slot of a shared asset: the capacity invariant lives here.

    Booking is one conditional ``UPDATE … SET taken = taken + n WHERE taken + n <=
    capacity``; the CHECK makes overbooking impossible even for a buggy writer.
    """

    __tablename__ = "slot_counter"
    __table_args__ = (
        UniqueConstraint("asset_id", "starts_at"),
        CheckConstraint("taken >= 0", name="taken_non_negative"),
        CheckConstraint("taken <= capacity", name="taken_within_capacity"),
        CheckConstraint("waiting >= 0", name="waiting_non_negative"),
    )

    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    # Bookings on the slot's waiting list: joining is one conditional ``UPDATE … SET
    # waiting = waiting + 1 … RETURNING waiting`` (the new entry's position), so the row
    # lock that serialises places also serialises positions (``services/waitlist.py``).
    waiting: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Booking(Base):
    """A person (or a guest named by staff) holding places in a slot, or an interval."""

    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_in(BookingStatus)})", name="status"),
        CheckConstraint("starts_at < ends_at", name="ordered"),
        CheckConstraint("party_size >= 1", name="party_size_positive"),
        CheckConstraint("user_id IS NOT NULL OR guest_name IS NOT NULL", name="owner_or_guest"),
        CheckConstraint("sequence >= 0", name="sequence_non_negative"),
        # A waiting-list entry has a position from 1, and only a waiting-list entry has one.
        CheckConstraint(
            "(status = 'waitlisted' AND waitlist_position IS NOT NULL AND waitlist_position >= 1)"
            " OR (status <> 'waitlisted' AND waitlist_position IS NULL)",
            name="waitlist_position",
        ),
        # Availability and bookings search by (asset, start); the statistics read every
        # column they need from this index in its order (migration 0010).
        Index(
            "ix_booking_stats",
            "asset_id",
            "starts_at",
            "ends_at",
            "status",
            "party_size",
            "exclusive",
            "cancelled_at",
            "user_id",
            "guest_email",
            "guest_phone",
            "guest_name",
        ),
        Index("ix_booking_user_time", "user_id", "starts_at"),
        # One person per place in a slot's line (gap-free too: services/waitlist.py keeps
        # positions 1..n under the slot counter's row lock).
        Index(
            "uq_booking_waitlist_position",
            "asset_id",
            "starts_at",
            "waitlist_position",
            unique=True,
            sqlite_where=text("status = 'waitlisted'"),
            postgresql_where=text("status = 'waitlisted'"),
        ),
    )

    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    # The contact (a person without an account) the booking was made for, by staff.
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), default=None, index=True
    )
    guest_name: Mapped[str | None] = mapped_column(String(120), default=None)
    guest_phone: Mapped[str | None] = mapped_column(String(30), default=None)
    guest_email: Mapped[str | None] = mapped_column(String(254), default=None)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    # Copied from the asset's booking mode: the PostgreSQL exclusion constraint
    # (no overlap) applies to exclusive bookings only.
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    # Place in the slot's waiting list (1 = next to be promoted); only while waitlisted.
    waitlist_position: Mapped[int | None] = mapped_column(Integer, default=None)
    # iCalendar SEQUENCE: +1 on each change of time or status.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    # Set when the person's details were erased (guest retention, erasure, deleted account).
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Staff booked over the person's fair-use limit: why (kept with the booking, never public).
    quota_override: Mapped[str | None] = mapped_column(Text, default=None)
    # The series this booking is one occurrence of (``models/series.py``), if any.
    series_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("booking_series.id", ondelete="SET NULL"), default=None, index=True
    )
