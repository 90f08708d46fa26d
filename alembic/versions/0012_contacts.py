"""contacts: people a structure knows without an account; bookings and orders made for them

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 05:46:25.790036
"""

from collections.abc import Sequence
from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("structure_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("phone_key", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", sa.String(length=254), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "erased_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint("length(name) >= 1", name=op.f("ck_contact_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structure.id"],
            name=op.f("fk_contact_structure_id_structure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_contact_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_structure_email", ["structure_id", "email_key"], unique=False
        )
        batch_op.create_index(
            "ix_contact_structure_name", ["structure_id", "name_key"], unique=False
        )
        batch_op.create_index(
            "ix_contact_structure_phone", ["structure_id", "phone_key"], unique=False
        )

    for table in ("booking", "meal_order"):
        _add_contact_column(table)


def downgrade() -> None:
    for table in ("meal_order", "booking"):
        op.drop_index(f"ix_{table}_contact_id", table_name=table)
        if op.get_bind().dialect.name == "postgresql":
            op.drop_constraint(f"fk_{table}_contact_id_contact", table, type_="foreignkey")
            op.drop_column(table, "contact_id")
            continue
        with op.batch_alter_table(
            table,
            recreate="always",
            reflect_kwargs={"listeners": [("column_reflect", _uuid_back)]},
        ) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_contact_id_contact", type_="foreignkey")
            batch_op.drop_column("contact_id")

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_structure_phone")
        batch_op.drop_index("ix_contact_structure_name")
        batch_op.drop_index("ix_contact_structure_email")

    op.drop_table("contact")


def _uuid_back(_inspector: object, _table: object, column: dict[str, Any]) -> None:
    """SQLite reflects the BINARY(16) of UUID columns as NUMERIC(16) (its type affinity):
    give them back their type before the batch copy recreates the table."""
    kind = column["type"]
    if isinstance(kind, sa.NUMERIC) and getattr(kind, "precision", None) == 16:
        column["type"] = advanced_alchemy.types.guid.GUID(length=16)


def _add_contact_column(table: str) -> None:
    """``contact_id`` on bookings and meal orders, with its foreign key."""
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            table,
            sa.Column("contact_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        )
        op.create_foreign_key(
            f"fk_{table}_contact_id_contact",
            table,
            "contact",
            ["contact_id"],
            ["id"],
            ondelete="SET NULL",
        )
    else:
        # SQLite cannot add a named foreign key to a table: the table is copied once.
        with op.batch_alter_table(
            table,
            recreate="always",
            reflect_kwargs={"listeners": [("column_reflect", _uuid_back)]},
        ) as batch_op:
            batch_op.add_column(
                sa.Column("contact_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
            )
            batch_op.create_foreign_key(
                f"fk_{table}_contact_id_contact",
                "contact",
                ["contact_id"],
                ["id"],
                ondelete="SET NULL",
            )
    op.create_index(f"ix_{table}_contact_id", table, ["contact_id"], unique=False)
