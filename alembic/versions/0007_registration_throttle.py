"""registration attempts (per-client registration throttle)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 23:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_attempt",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column(
            "occurred_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_attempt")),
    )
    with op.batch_alter_table("registration_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registration_attempt_client_at", ["client", "occurred_at"], unique=False
        )
    # Failures stored before this revision keyed the client by its raw address; they are
    # meaningless under the hashed key and expire within the window anyway.
    op.execute("DELETE FROM login_failure")


def downgrade() -> None:
    with op.batch_alter_table("registration_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_registration_attempt_client_at")
    op.drop_table("registration_attempt")
