"""Alembic environment: always given a live connection by plurum_backend.store.migrate."""

from __future__ import annotations

from alembic import context

from plurum_backend.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
