"""quotas: fair use per person on an asset, and why staff went over it

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 10:30:00

Four optional limits per asset (bookings per week, per month, hours per week, bookings to
come; NULL: none) and, on a booking, the reason staff gave for booking over a limit.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUOTAS = (
    "quota_bookings_per_week",
    "quota_bookings_per_month",
    "quota_hours_per_week",
    "quota_upcoming",
)


def upgrade() -> None:
    for name in QUOTAS:
        op.add_column("asset", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("booking", sa.Column("quota_override", sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain columns without constraints: SQLite (3.35+) drops them in place, no table copy.
    op.execute("ALTER TABLE booking DROP COLUMN quota_override")
    for name in reversed(QUOTAS):
        op.execute(f"ALTER TABLE asset DROP COLUMN {name}")
