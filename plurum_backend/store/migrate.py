"""Run the versioned schema migrations at start, one process at a time."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from plurum_backend.store.database import Database, sync_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any constant works; it only has to be the same in every replica.
_MIGRATION_LOCK = 7_246_551


def upgrade(db: Database, revision: str = "head") -> None:
    # A warm start finds the schema current: one query says so, and Alembic (with Mako and
    # Pygments, ~15 % of the server's import time) is imported only when there is work to do.
    if revision == "head" and _current(db) == _head_from_files():
        return
    from alembic import command

    _run(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> None:
    """Back to an older revision (each migration documents what its downgrade keeps)."""
    from alembic import command

    _run(db, command.downgrade, revision)


_REVISION = re.compile(r'^revision\s*(?::[^=]*)?=\s*"([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def _head_from_files() -> str | None:
    """The single head of the migration scripts, read from their ``revision`` and
    ``down_revision`` lines; None when that reading is not certain (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("[!_]*.py"):
        source = script.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found is None or down is None:
            return None
        revisions.add(found.group(1))
        parents.update(re.findall(r'"([^"]+)"', down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _current(db: Database) -> str | None:
    """The database's one recorded revision, or None (no table yet, or several)."""
    engine = create_engine(sync_url(db), poolclass=None)
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            if exists is None:
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            return str(rows[0]) if len(rows) == 1 else None
    finally:
        engine.dispose()


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head
