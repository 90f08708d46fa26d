"""booking on behalf: a person agrees to be found by staff by e-mail or phone

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 10:15:00

(Rechained after 0013 at merge.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("findable_by_staff", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), as in 0011: no table copy.
    op.execute("ALTER TABLE user_account DROP COLUMN findable_by_staff")
