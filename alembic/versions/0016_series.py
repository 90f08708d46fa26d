"""booking series: « every Tuesday at 10:00 », one booking per occurrence (booking.series_id)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 10:26:35.916529

Written on a branch beside 0013–0015: the lead rechains ``down_revision`` at merge.
"""

from collections.abc import Sequence
from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_series",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("asset_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("every_weeks", sa.Integer(), nullable=False),
        sa.Column(
            "first_starts_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint("every_weeks >= 1", name=op.f("ck_booking_series_every_weeks_positive")),
        sa.CheckConstraint("requested >= 1", name=op.f("ck_booking_series_requested_positive")),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_booking_series_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_series")),
    )
    op.create_index("ix_booking_series_asset_id", "booking_series", ["asset_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "booking",
            sa.Column("series_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        )
        op.create_foreign_key(
            "fk_booking_series_id_booking_series",
            "booking",
            "booking_series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )
    else:
        # SQLite cannot add a named foreign key to a table: the table is copied once.
        with op.batch_alter_table(
            "booking",
            recreate="always",
            reflect_kwargs={"listeners": [("column_reflect", _uuid_back)]},
        ) as batch_op:
            batch_op.add_column(
                sa.Column("series_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
            )
            batch_op.create_foreign_key(
                "fk_booking_series_id_booking_series",
                "booking_series",
                ["series_id"],
                ["id"],
                ondelete="SET NULL",
            )
    op.create_index("ix_booking_series_id", "booking", ["series_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_booking_series_id", table_name="booking")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_booking_series_id_booking_series", "booking", type_="foreignkey")
        op.drop_column("booking", "series_id")
    else:
        with op.batch_alter_table(
            "booking",
            recreate="always",
            reflect_kwargs={"listeners": [("column_reflect", _uuid_back)]},
        ) as batch_op:
            batch_op.drop_constraint("fk_booking_series_id_booking_series", type_="foreignkey")
            batch_op.drop_column("series_id")
    op.drop_index("ix_booking_series_asset_id", table_name="booking_series")
    op.drop_table("booking_series")


def _uuid_back(_inspector: object, _table: object, column: dict[str, Any]) -> None:
    """SQLite reflects the BINARY(16) of UUID columns as NUMERIC(16) (its type affinity):
    give them back their type before the batch copy recreates the table."""
    kind = column["type"]
    if isinstance(kind, sa.NUMERIC) and getattr(kind, "precision", None) == 16:
        column["type"] = advanced_alchemy.types.guid.GUID(length=16)
