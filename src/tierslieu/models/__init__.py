"""SQLAlchemy tables, one module per aggregate. Importing this registers them all."""

from tierslieu.models.accounts import ApiToken, LoginFailure, User
from tierslieu.models.base import Base, metadata
from tierslieu.models.bookings import AvailabilityRule, Booking, Closure, SlotCounter
from tierslieu.models.structures import Asset, Membership, Structure

__all__ = [
    "ApiToken",
    "Asset",
    "AvailabilityRule",
    "Booking",
    "Closure",
    "Base",
    "LoginFailure",
    "Membership",
    "SlotCounter",
    "Structure",
    "User",
    "metadata",
]
