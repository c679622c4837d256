"""responses: a run record of kind "response", its items and its stream events

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("thread_id", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="run"))
        batch.add_column(sa.Column("options", JSON, nullable=True))
    op.create_table(
        "response_items",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("response_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_response_items_response_seq", "response_items", ["response_id", "seq"])
    op.create_table(
        "response_events",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("response_id", sa.String(length=64), nullable=False),
        sa.Column("sequence_number", sa.Integer(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_response_events_response_seq", "response_events", ["response_id", "sequence_number"])


def downgrade() -> None:
    op.drop_index("ix_response_events_response_seq", table_name="response_events")
    op.drop_table("response_events")
    op.drop_index("ix_response_items_response_seq", table_name="response_items")
    op.drop_table("response_items")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("options")
        batch.drop_column("kind")
        batch.alter_column("thread_id", existing_type=sa.String(length=64), nullable=False)
