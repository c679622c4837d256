"""Alembic environment: runs migrations on a synchronous connection to the configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

import assistantd.store.containers  # noqa: F401  (its tables join Base.metadata)
from assistantd.store import prompts  # noqa: F401  (its tables join Base.metadata)
from assistantd.store.tables import Base

MIGRATION_LOCK = 0x61737464  # "astd": the advisory lock that lets one process migrate at a time

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Processes starting together queue here; each then reads the version the first one left
                # (DDL is transactional on PostgreSQL, so a failed migration leaves nothing half-done).
                connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


run_migrations_online()
