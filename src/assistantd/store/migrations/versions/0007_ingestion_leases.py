"""ingestion leases: which worker (of any process) is ingesting a vector store file, and until when

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vector_store_files", sa.Column("lease_owner", sa.String(64), nullable=True))
    op.add_column("vector_store_files", sa.Column("lease_until", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vector_store_files") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
