"""projects, service accounts and API keys; every top-level object belongs to a project

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCOPED = ("assistants", "threads", "runs", "files", "vector_stores", "containers", "prompts")
CHILDREN = (
    "messages",
    "run_steps",
    "response_items",
    "vector_store_files",
    "vector_store_file_batches",
    "container_files",
    "assistant_versions",
    "prompt_versions",
)
DEFAULT = "proj_default"


def upgrade() -> None:
    projects = op.create_table(
        "projects",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("archived_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_table(
        "service_accounts",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_service_accounts_project_id", "service_accounts", ["project_id"])
    op.create_table(
        "api_keys",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("service_account_id", sa.String(64), sa.ForeignKey("service_accounts.id"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("redacted_value", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_api_keys_project", "api_keys", ["project_id", "seq"])
    op.create_table(
        "usage",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False, server_default=DEFAULT),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_usage_created", "usage", ["created_at"])
    op.bulk_insert(projects, [{"id": DEFAULT, "name": "Default project", "created_at": int(time.time())}])
    for table in SCOPED:
        op.add_column(table, sa.Column("project_id", sa.String(64), nullable=False, server_default=DEFAULT))
        op.create_index(f"ix_{table}_project_id", table, ["project_id"])
    for table in CHILDREN:
        op.add_column(table, sa.Column("project_id", sa.String(64), nullable=False, server_default=DEFAULT))


def downgrade() -> None:
    for table in CHILDREN:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("project_id")
    for table in SCOPED:
        op.drop_index(f"ix_{table}_project_id", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("project_id")
    op.drop_table("usage")
    op.drop_table("api_keys")
    op.drop_table("service_accounts")
    op.drop_table("projects")
