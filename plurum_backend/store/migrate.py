"""Run the versioned schema migrations at start, one process at a time."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from plurum_backend.store.database import Database, sync_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any constant works; it only has to be the same in every replica.
_MIGRATION_LOCK = 7_246_551


def upgrade(db: Database, revision: str = "head") -> None:
    _run(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> None:
    """Back to an older revision (each migration documents what its downgrade keeps)."""
    _run(db, command.downgrade, revision)


def _run(db: Database, action: Callable[[Config, str], None], revision: str) -> None:
    engine = create_engine(sync_url(db), poolclass=None)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            try:
                config = _config()
                config.attributes["connection"] = conn
                action(config, revision)
                conn.commit()
            finally:
                # Also after a failure or a SIGTERM mid-migration: then the transaction is
                # rolled back first, and an error here must not hide the one that got us here
                # (the lock is the session's, so closing the connection releases it anyway).
                with contextlib.suppress(SQLAlchemyError):
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                    conn.commit()
    finally:
        engine.dispose()


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head
