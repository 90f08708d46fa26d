"""schedule version: one number bumped by triggers on what booking rules depend on

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 23:00:00

Per-process caches (asset, structure, opening rules, closures, roles) are keyed by this
number and every request that uses them reads it in the same statement as its own data,
so a change made by any process, or by hand in psql, is seen at once. The triggers
recreate the row if it was deleted (readers then see 0 until the next change).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("structure", "asset", "availability_rule", "closure", "membership")
SQLITE_BUMP = (
    "INSERT OR IGNORE INTO schedule_version (id, value) VALUES (1, 0); "
    "UPDATE schedule_version SET value = value + 1 WHERE id = 1; END"
)


def upgrade() -> None:
    op.create_table(
        "schedule_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_schedule_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_version")),
    )
    op.execute("INSERT INTO schedule_version (id, value) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN INSERT INTO schedule_version (id, value) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET value = schedule_version.value + 1; "
            "RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER trg_{table}_schedule_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version()"
            )
        return
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_{table}_{event.lower()}_schedule_version "
                f"AFTER {event} ON {table} FOR EACH ROW BEGIN "
                + SQLITE_BUMP  # constant SQL; table and event names come from the tuples above
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER trg_{table}_schedule_version ON {table}")
        op.execute("DROP FUNCTION bump_schedule_version()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER trg_{table}_{event}_schedule_version")
    op.drop_table("schedule_version")
