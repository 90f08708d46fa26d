"""A booking series: « every Tuesday at 10:00 », one booking per occurrence."""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.models.base import Base


class BookingSeries(Base):
    """What was asked: the asset, the wall-clock start, the rhythm and the bound.

    Holds no personal data: whose series it is comes from its bookings (``booking.series_id``),
    so erasing a person or a guest needs nothing here. The occurrences are bookings like any
    other (capacity, reminders, feeds); this row only groups them.
    """

    __tablename__ = "booking_series"
    __table_args__ = (
        CheckConstraint("every_weeks >= 1", name="every_weeks_positive"),
        CheckConstraint("requested >= 1", name="requested_positive"),
    )

    asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), index=True
    )
    every_weeks: Mapped[int] = mapped_column(Integer)
    # The first occurrence asked for, as a UTC instant, and its wall-clock time (« 10:00 »)
    # in the structure's zone: every occurrence keeps that wall-clock time.
    first_starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    local_time: Mapped[str] = mapped_column(String(5))
    # How the end was given: a number of occurrences, or a last local date (inclusive).
    count: Mapped[int | None] = mapped_column(Integer, default=None)
    until: Mapped[dt.date | None] = mapped_column(Date, default=None)
    # Occurrences computed from the request (booked + skipped).
    requested: Mapped[int] = mapped_column(Integer)
