"""A throwaway Plurum for a benchmark: its own embedded PostgreSQL and index in a temp dir."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

from plurum_backend.config import Settings
from plurum_backend.runtime import Plurum
from plurum_backend.store import migrate
from plurum_backend.store.database import Database, check_server, start_embedded, stop_embedded


@contextlib.asynccontextmanager
async def fresh_plurum(database: Database | None = None) -> AsyncIterator[Plurum]:
    """A started runtime on an empty database (the given one, or a new embedded server)."""
    with tempfile.TemporaryDirectory(prefix="plurum-bench-") as tmp:
        data_dir = Path(tmp)
        pg_dir = data_dir / "pgdata"
        own = database is None
        if database is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                database = start_embedded(pg_dir)
        try:
            check_server(database)
            migrate.upgrade(database)
            settings = Settings(data_dir=data_dir, registrations_per_hour=0)
            plurum = Plurum.start(settings, database)
            try:
                yield plurum
            finally:
                await plurum.engine.dispose()
        finally:
            if own:
                stop_embedded(pg_dir)
