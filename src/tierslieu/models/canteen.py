"""Canteen: tariffs, meal services (menu, pickup windows), orders, repas suspendus.

Counters that must never overflow (portions sold, pickup places taken, pool
balance) carry CHECK constraints and only move through conditional UPDATEs.
"""

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
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.domain.canteen import DishKind, LedgerKind, MealKind, OrderStatus
from tierslieu.domain.vocabulary import sql_in
from tierslieu.models.base import Base


class Tariff(Base):
    """A price category of a structure (professionnel, habitant, solidaire…)."""

    __tablename__ = "tariff"
    __table_args__ = (UniqueConstraint("structure_id", "code"),)

    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    # Kinds of person (neighbour, professional) who pay this tariff unless assigned another.
    default_for: Mapped[list[str]] = mapped_column(JsonB)


class TariffAssignment(Base):
    """Staff decided that this person pays this tariff in this structure."""

    __tablename__ = "tariff_assignment"
    __table_args__ = (UniqueConstraint("structure_id", "user_id"),)

    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    tariff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tariff.id", ondelete="CASCADE"), index=True
    )
    assigned_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )


class MealService(Base):
    """One lunch (or dinner) of a canteen asset on a date."""

    __tablename__ = "meal_service"
    __table_args__ = (
        UniqueConstraint("asset_id", "service_date", "meal"),
        CheckConstraint(f"meal IN ({sql_in(MealKind)})", name="meal"),
        Index("ix_meal_service_date", "service_date"),
    )

    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structure.id", ondelete="CASCADE"), index=True
    )
    service_date: Mapped[dt.date] = mapped_column(Date)
    meal: Mapped[str] = mapped_column(String(10), default=MealKind.LUNCH.value)
    order_cutoff: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")


class PickupWindow(Base):
    __tablename__ = "pickup_window"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meal_service.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def remaining(self) -> int:
        """Pickup places left, as this row was read."""
        return self.capacity - self.taken


class MenuItem(Base):
    __tablename__ = "menu_item"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(DishKind)})", name="kind"),
        CheckConstraint("portions >= 0", name="portions_non_negative"),
        CheckConstraint("sold >= 0 AND sold <= portions", name="sold_within_portions"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meal_service.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    portions: Mapped[int] = mapped_column(Integer)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    allergens: Mapped[list[str]] = mapped_column(JsonB)
    diets: Mapped[list[str]] = mapped_column(JsonB)
    prices: Mapped[dict[str, int]] = mapped_column(JsonB)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )

    @property
    def remaining(self) -> int:
        """Portions left, as this row was read."""
        return self.portions - self.sold


class SuspendedMealPool(Base):
    """A structure's pool of repas suspendus: its price and balance (never below zero)."""

    __tablename__ = "suspended_meal_pool"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_non_negative"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
    )

    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structure.id", ondelete="CASCADE"), unique=True
    )
    price_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    balance: Mapped[int] = mapped_column(Integer, default=0)


class SuspendedMealVoucher(Base):
    """A single-use voucher given by staff; only the SHA-256 of its code is stored."""

    __tablename__ = "suspended_meal_voucher"

    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structure.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hint: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(200), default="")
    given_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )


class MealOrder(Base):
    __tablename__ = "meal_order"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_in(OrderStatus)})", name="status"),
        CheckConstraint("total_cents >= 0", name="total_non_negative"),
        CheckConstraint("suspended_meals >= 0", name="suspended_non_negative"),
        CheckConstraint("user_id IS NOT NULL OR guest_name IS NOT NULL", name="owner_or_guest"),
        Index("ix_meal_order_user_status", "user_id", "status"),
        Index("ix_meal_order_service", "service_id"),
        # One active order per person and service (re-order = cancel and order again).
        Index(
            "uq_meal_order_one_active",
            "service_id",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('placed', 'ready')"),
            postgresql_where=text("status IN ('placed', 'ready')"),
        ),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meal_service.id", ondelete="CASCADE"))
    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structure.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    guest_name: Mapped[str | None] = mapped_column(String(120), default=None)
    placed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    # The contact (a person without an account) the order was placed for, by staff.
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), default=None, index=True
    )
    pickup_window_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pickup_window.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PLACED.value)
    tariff_code: Mapped[str] = mapped_column(String(40))
    suspended_meals: Mapped[int] = mapped_column(Integer, default=0)
    suspended_meal_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    voucher_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("suspended_meal_voucher.id", ondelete="SET NULL"), default=None
    )
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    # Set when the person's details were erased (guest retention, erasure, deleted account).
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class MealOrderLine(Base):
    __tablename__ = "meal_order_line"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint(
            "free_quantity >= 0 AND free_quantity <= quantity", name="free_within_quantity"
        ),
        CheckConstraint("unit_cents >= 0", name="unit_non_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meal_order.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("menu_item.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cents: Mapped[int] = mapped_column(Integer)
    free_quantity: Mapped[int] = mapped_column(Integer, default=0)


class SuspendedMealEntry(Base):
    """One line of the pool's ledger: +n paid forward, -1 given as a voucher."""

    __tablename__ = "suspended_meal_entry"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(LedgerKind)})", name="kind"),
        CheckConstraint("delta <> 0", name="delta_non_zero"),
        Index("ix_suspended_meal_entry_structure_at", "structure_id", "created_at"),
    )

    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("meal_order.id", ondelete="SET NULL"), default=None
    )
    voucher_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("suspended_meal_voucher.id", ondelete="SET NULL"), default=None
    )
    # Who paid forward (credits) or who gave the voucher (debits): shown to staff only.
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
