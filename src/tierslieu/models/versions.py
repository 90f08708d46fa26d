"""One number the database bumps whenever what booking rules depend on changes."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.models.base import orm_registry

# Tables whose every INSERT, UPDATE or DELETE bumps the number (triggers, migration 0009):
# what an asset's listing and a booking's checks read besides counters and bookings.
VERSIONED_TABLES = ("structure", "asset", "availability_rule", "closure", "membership")


@orm_registry.mapped
class ScheduleVersion:
    """A single row (id = 1). Per-process caches of assets, opening rules, closures and
    roles are valid only while this number is the one they were loaded under; every
    request that uses them reads it in the same statement as its own data."""

    __tablename__ = "schedule_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
