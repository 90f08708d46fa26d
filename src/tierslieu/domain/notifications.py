"""Notifications: the closed sets of words, and the pure rules of when and how often.

What a message says lives in ``services/mail/``; how it is stored and delivered in
``services/outbox.py``. Nothing here touches the database or the network.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    # The person has a phone and no e-mail: staff call them (« À prévenir par téléphone »).
    PHONE = "phone"


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for delivery (or, for a phone notice, for the call)
    SENT = "sent"  # accepted by the SMTP server
    KEPT = "kept"  # no SMTP server configured: kept for the admin page, and logged
    FAILED = "failed"  # gave up after the last attempt; shown to admins
    CALLED = "called"  # phone notice: staff ticked « Prévenu·e »
    DROPPED = "dropped"  # no longer true when its time came (a reminder of a cancelled booking)


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password-reset"
    EMAIL_CONFIRM = "email-confirm"


class Kind(StrEnum):
    """What happened. One renderer per kind (``services/mail``)."""

    BOOKING_RECEIVED = "booking-received"  # pending approval
    BOOKING_CONFIRMED = "booking-confirmed"
    BOOKING_APPROVED = "booking-approved"
    BOOKING_DECLINED = "booking-declined"
    BOOKING_CANCELLED = "booking-cancelled"
    BOOKING_CHANGED = "booking-changed"
    BOOKING_PROMOTED = "booking-promoted"  # from a waiting list
    BOOKING_REMINDER = "booking-reminder"
    BOOKING_SERIES = "booking-series"  # a recurring booking: its occurrences, in one message
    BOOKING_SERIES_CANCELLED = "booking-series-cancelled"
    ORDER_CONFIRMED = "order-confirmed"
    ORDER_CANCELLED = "order-cancelled"
    ORDER_READY = "order-ready"
    ORDER_REMINDER = "order-reminder"
    STAFF_DIGEST = "staff-digest"  # new requests awaiting approval, one per structure per hour
    PASSWORD_RESET = "password-reset"
    EMAIL_CONFIRM = "email-confirm"
    PASSWORD_CHANGED = "password-changed"
    CONTACT_INVITE = "contact-invite"  # staff invite a contact to link it to an account


# Kinds a person may turn off (« Mon compte »); the others tell of a change they must know.
REMINDER_KINDS = frozenset({Kind.BOOKING_REMINDER, Kind.ORDER_REMINDER})
# Kinds about the account itself: sent by e-mail only, never as a phone notice.
ACCOUNT_KINDS = frozenset(
    {Kind.PASSWORD_RESET, Kind.EMAIL_CONFIRM, Kind.PASSWORD_CHANGED, Kind.CONTACT_INVITE}
)

# Delivery: after the n-th failed attempt, wait RETRY_BASE * 2**(n-1), at most RETRY_CAP.
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=1)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failed attempts (exponential, capped)."""
    if attempts < 1:
        return dt.timedelta(0)
    return min(RETRY_CAP, RETRY_BASE * 2 ** min(attempts - 1, 20))


# --- reminders: when ---------------------------------------------------------------------

# Nobody is reminded in the night: a reminder that would fall between QUIET_FROM and
# QUIET_UNTIL (local time of the place) is sent the evening before at EVENING instead
# (earlier, never later: a reminder after the start would be useless).
QUIET_FROM = dt.time(21, 0)
QUIET_UNTIL = dt.time(8, 0)
EVENING = dt.time(20, 0)
# How far ahead the reminder job looks: the longest reminder (168 h, a week) plus the
# longest move out of the night (from 07:59 back to 20:00 the evening before, < 12 h).
REMINDER_HOURS_MAX = 168
REMINDER_LOOKAHEAD = dt.timedelta(hours=REMINDER_HOURS_MAX + 12)


def reminder_at(starts_at_utc: dt.datetime, hours: int, tz: str) -> dt.datetime:
    """When to remind a person of something that starts at ``starts_at_utc`` (aware), ``hours``
    before (``asset.reminder_hours``, > 0) in the place's wall-clock time ``tz``.

    « The day before » is counted on the wall clock (24 hours before 10:00 is 10:00 the day
    before, even across a daylight-saving change). A time in the night (21:00–08:00 local)
    moves to 20:00 the evening before; the result is never after the start. It may be in
    the past (a booking made at short notice): the caller decides what that means.
    """
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    local_start = starts_at_utc.astimezone(zone)
    wall = local_start.replace(tzinfo=None) - dt.timedelta(hours=hours)
    clock = wall.time()
    if clock >= QUIET_FROM:
        wall = dt.datetime.combine(wall.date(), EVENING)
    elif clock < QUIET_UNTIL:
        wall = dt.datetime.combine(wall.date() - dt.timedelta(days=1), EVENING)
    # 20:00 exists and is unambiguous in every zone we serve (changes happen in the night).
    at = wall.replace(tzinfo=zone).astimezone(dt.UTC)
    return min(at, starts_at_utc.astimezone(dt.UTC))
