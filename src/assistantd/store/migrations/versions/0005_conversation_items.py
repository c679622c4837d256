"""one item log per conversation: messages hold every item type; conversations can be soft-deleted

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("type", sa.String(length=40), server_default="message", nullable=False))
        batch_op.add_column(sa.Column("data", _JSON, nullable=True))
        batch_op.add_column(sa.Column("tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("tokens")
        batch_op.drop_column("data")
        batch_op.drop_column("type")
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
