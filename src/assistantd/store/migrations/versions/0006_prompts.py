"""versions of assistants (backfilled: each existing assistant's current state is its version 1), and stored
prompts with their versions

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_ASSISTANT_FIELDS = (
    "model, name, description, instructions, tools, tool_resources, metadata, temperature, top_p, "
    "response_format, reasoning_effort"
)


def upgrade() -> None:
    op.create_table(
        "assistant_versions",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("assistant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("description", sa.String(length=512), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("tools", _JSON, nullable=False),
        sa.Column("tool_resources", _JSON, nullable=True),
        sa.Column("metadata", _JSON, nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("top_p", sa.Float(), nullable=True),
        sa.Column("response_format", _JSON, nullable=True),
        sa.Column("reasoning_effort", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["assistant_id"], ["assistants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("assistant_versions", schema=None) as batch_op:
        batch_op.create_index("ux_assistant_versions_version", ["assistant_id", "version"], unique=True)
    op.execute(
        f"INSERT INTO assistant_versions (assistant_id, version, created_at, {_ASSISTANT_FIELDS}) "
        f"SELECT id, 1, created_at, {_ASSISTANT_FIELDS} FROM assistants ORDER BY seq"
    )
    op.create_table(
        "prompts",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("prompt_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("tools", _JSON, nullable=False),
        sa.Column("text", _JSON, nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("top_p", sa.Float(), nullable=True),
        sa.Column("metadata", _JSON, nullable=True),
        sa.Column("variables", _JSON, nullable=True),
        sa.ForeignKeyConstraint(["prompt_id"], ["prompts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("prompt_versions", schema=None) as batch_op:
        batch_op.create_index("ux_prompt_versions_version", ["prompt_id", "version"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("prompt_versions", schema=None) as batch_op:
        batch_op.drop_index("ux_prompt_versions_version")
    op.drop_table("prompt_versions")
    op.drop_table("prompts")
    with op.batch_alter_table("assistant_versions", schema=None) as batch_op:
        batch_op.drop_index("ux_assistant_versions_version")
    op.drop_table("assistant_versions")
