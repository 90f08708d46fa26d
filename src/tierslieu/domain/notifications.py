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
    ORDER_CONFIRMED = "order-confirmed"
    ORDER_CANCELLED = "order-cancelled"
    ORDER_READY = "order-ready"
    ORDER_REMINDER = "order-reminder"
    STAFF_DIGEST = "staff-digest"  # new requests awaiting approval, one per structure per hour
    PASSWORD_RESET = "password-reset"
    EMAIL_CONFIRM = "email-confirm"
    PASSWORD_CHANGED = "password-changed"


# Kinds a person may turn off (« Mon compte »); the others tell of a change they must know.
REMINDER_KINDS = frozenset({Kind.BOOKING_REMINDER, Kind.ORDER_REMINDER})
# Kinds about the account itself: sent by e-mail only, never as a phone notice.
ACCOUNT_KINDS = frozenset({Kind.PASSWORD_RESET, Kind.EMAIL_CONFIRM, Kind.PASSWORD_CHANGED})

# Delivery: after the n-th failed attempt, wait RETRY_BASE * 2**(n-1), at most RETRY_CAP.
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=1)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failed attempts (exponential, capped)."""
    if attempts < 1:
        return dt.timedelta(0)
    return min(RETRY_CAP, RETRY_BASE * 2 ** min(attempts - 1, 20))
