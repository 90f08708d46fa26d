"""booking statistics: a covering index in (asset, start, end) order

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 02:45:00

A year of monthly figures on 1,000,000 bookings took 6.7 s on SQLite (17.6 s on a busy
machine) and 2.2 s on PostgreSQL: each grouped statement looked every booking of the
window up in the table from ``ix_booking_asset_time``, then sorted them. The statistics
now group per booked slot in this index's order and find every column they read in it
(an index-only scan of one range; the contact columns are NULL, one byte, for bookings
made by an account). Its first two columns are those of ``ix_booking_asset_time``, which
it replaces (availability and bookings search it the same way).

On PostgreSQL, ``CREATE INDEX`` blocks writes to ``booking`` while it builds (a few
seconds per million bookings).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATS_COLUMNS = [
    "asset_id",
    "starts_at",
    "ends_at",
    "status",
    "party_size",
    "exclusive",
    "cancelled_at",
    "user_id",
    "guest_email",
    "guest_phone",
    "guest_name",
]


def upgrade() -> None:
    op.create_index("ix_booking_stats", "booking", STATS_COLUMNS, unique=False)
    op.drop_index("ix_booking_asset_time", table_name="booking")


def downgrade() -> None:
    op.create_index("ix_booking_asset_time", "booking", ["asset_id", "starts_at"], unique=False)
    op.drop_index("ix_booking_stats", table_name="booking")
