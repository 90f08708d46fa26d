"""SQLAlchemy tables, one module per aggregate. Importing this registers them all."""

from tierslieu.models.accounts import ApiToken, LoginFailure, RegistrationAttempt, User
from tierslieu.models.base import Base, metadata
from tierslieu.models.bookings import AvailabilityRule, Booking, Closure, SlotCounter
from tierslieu.models.canteen import (
    MealOrder,
    MealOrderLine,
    MealService,
    MenuItem,
    PickupWindow,
    SuspendedMealEntry,
    SuspendedMealPool,
    SuspendedMealVoucher,
    Tariff,
    TariffAssignment,
)
from tierslieu.models.contacts import Contact
from tierslieu.models.feeds import FeedToken
from tierslieu.models.idempotency import IdempotencyKey
from tierslieu.models.notifications import AccountToken, OutboxMessage
from tierslieu.models.series import BookingSeries
from tierslieu.models.structures import Asset, Membership, Structure
from tierslieu.models.territory import TerritoryCoordinator
from tierslieu.models.versions import ScheduleVersion

__all__ = [
    "AccountToken",
    "ApiToken",
    "Asset",
    "AvailabilityRule",
    "Base",
    "Booking",
    "BookingSeries",
    "Closure",
    "Contact",
    "FeedToken",
    "IdempotencyKey",
    "LoginFailure",
    "MealOrder",
    "MealOrderLine",
    "MealService",
    "Membership",
    "MenuItem",
    "OutboxMessage",
    "PickupWindow",
    "RegistrationAttempt",
    "ScheduleVersion",
    "SlotCounter",
    "Structure",
    "SuspendedMealEntry",
    "SuspendedMealPool",
    "SuspendedMealVoucher",
    "Tariff",
    "TariffAssignment",
    "TerritoryCoordinator",
    "User",
    "metadata",
]
