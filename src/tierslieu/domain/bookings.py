"""Booking states and the rules a booking request must satisfy (pure functions)."""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# Bookings that hold places or time (cancelled and declined ones have released theirs).
ACTIVE_STATUSES = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.ATTENDED,
    BookingStatus.NO_SHOW,
)
CANCELLABLE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
ATTENDANCE_STATUSES = (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
