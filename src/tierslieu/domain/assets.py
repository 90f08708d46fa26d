"""Booking rules of an asset and their defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BookingRules:
    """What an asset allows. Defaults suit a garden opened to the neighbourhood."""

    min_notice_minutes: int = 60
    max_advance_days: int = 60
    cancel_until_minutes: int = 120
    max_party_size: int = 4
    requires_approval: bool = False


DEFAULT_RULES = BookingRules()

# Bounds that keep rules meaningful (a year of advance booking, a week of notice…).
RULE_BOUNDS = {
    "min_notice_minutes": (0, 7 * 24 * 60),
    "max_advance_days": (1, 366),
    "cancel_until_minutes": (0, 30 * 24 * 60),
    "max_party_size": (1, 500),
}
