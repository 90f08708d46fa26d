"""waitlist: waiting lists on full shared slots, with automatic promotion

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 10:10:00.000000

Assets get ``waitlist`` and ``waitlist_max_length``; bookings a ``waitlisted`` status and a
``waitlist_position`` (unique per slot among waiting entries: a partial unique index on
both databases); slot counters count the entries waiting (``waiting``), whose row lock
serialises positions as it serialises places.
"""

from collections.abc import Sequence
from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'pending', 'confirmed', 'cancelled', 'declined', 'attended', 'no_show'"
NEW_STATUSES = OLD_STATUSES + ", 'waitlisted'"
POSITION_CHECK = (
    "(status = 'waitlisted' AND waitlist_position IS NOT NULL AND waitlist_position >= 1)"
    " OR (status <> 'waitlisted' AND waitlist_position IS NULL)"
)
WAITING = sa.text("status = 'waitlisted'")


def _uuid_back(_inspector: object, _table: object, column: dict[str, Any]) -> None:
    """SQLite reflects the BINARY(16) of UUID columns as NUMERIC(16) (its type affinity):
    give them back their type before the batch copy recreates the table."""
    kind = column["type"]
    if isinstance(kind, sa.NUMERIC) and getattr(kind, "precision", None) == 16:
        column["type"] = advanced_alchemy.types.guid.GUID(length=16)


def _batch(table: str) -> Any:
    return op.batch_alter_table(
        table, recreate="always", reflect_kwargs={"listeners": [("column_reflect", _uuid_back)]}
    )


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN: a batch copy of ``asset`` would drop its
    # schedule-version triggers (0009).
    op.add_column(
        "asset", sa.Column("waitlist", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "asset",
        sa.Column("waitlist_max_length", sa.Integer(), server_default="20", nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "slot_counter",
            sa.Column("waiting", sa.Integer(), server_default="0", nullable=False),
        )
        op.create_check_constraint(
            op.f("ck_slot_counter_waiting_non_negative"), "slot_counter", "waiting >= 0"
        )
        op.add_column("booking", sa.Column("waitlist_position", sa.Integer(), nullable=True))
        op.drop_constraint(op.f("ck_booking_status"), "booking", type_="check")
        op.create_check_constraint(
            op.f("ck_booking_status"), "booking", f"status IN ({NEW_STATUSES})"
        )
        op.create_check_constraint(op.f("ck_booking_waitlist_position"), "booking", POSITION_CHECK)
    else:
        with _batch("slot_counter") as batch_op:
            batch_op.add_column(
                sa.Column("waiting", sa.Integer(), server_default="0", nullable=False)
            )
            batch_op.create_check_constraint(
                op.f("ck_slot_counter_waiting_non_negative"), "waiting >= 0"
            )
        with _batch("booking") as batch_op:
            batch_op.add_column(sa.Column("waitlist_position", sa.Integer(), nullable=True))
            batch_op.drop_constraint(op.f("ck_booking_status"), type_="check")
            batch_op.create_check_constraint(
                op.f("ck_booking_status"), f"status IN ({NEW_STATUSES})"
            )
            batch_op.create_check_constraint(op.f("ck_booking_waitlist_position"), POSITION_CHECK)
    op.create_index(
        "uq_booking_waitlist_position",
        "booking",
        ["asset_id", "starts_at", "waitlist_position"],
        unique=True,
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("uq_booking_waitlist_position", table_name="booking")
    # Waiting entries have no status the old schema knows: they are cancelled.
    op.execute(
        "UPDATE booking SET status = 'cancelled', waitlist_position = NULL "
        "WHERE status = 'waitlisted'"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_booking_waitlist_position"), "booking", type_="check")
        op.drop_constraint(op.f("ck_booking_status"), "booking", type_="check")
        op.create_check_constraint(
            op.f("ck_booking_status"), "booking", f"status IN ({OLD_STATUSES})"
        )
        op.drop_column("booking", "waitlist_position")
        op.drop_constraint(
            op.f("ck_slot_counter_waiting_non_negative"), "slot_counter", type_="check"
        )
        op.drop_column("slot_counter", "waiting")
    else:
        with _batch("booking") as batch_op:
            batch_op.drop_constraint(op.f("ck_booking_waitlist_position"), type_="check")
            batch_op.drop_constraint(op.f("ck_booking_status"), type_="check")
            batch_op.create_check_constraint(
                op.f("ck_booking_status"), f"status IN ({OLD_STATUSES})"
            )
            batch_op.drop_column("waitlist_position")
        with _batch("slot_counter") as batch_op:
            batch_op.drop_constraint(op.f("ck_slot_counter_waiting_non_negative"), type_="check")
            batch_op.drop_column("waiting")
    op.execute("ALTER TABLE asset DROP COLUMN waitlist_max_length")
    op.execute("ALTER TABLE asset DROP COLUMN waitlist")
