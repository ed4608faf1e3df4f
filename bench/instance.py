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


@contextlib.asynccontextmanager
async def fresh_plurum(
    database: Database | None = None, keep: Path | None = None
) -> AsyncIterator[Plurum]:
    """A started runtime on the given database, or on a new (or kept) embedded server."""
    with _directory(keep) as data_dir:
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
            await plurum.sync.catch_up()  # a kept index may be behind its database
            try:
                yield plurum
            finally:
                await plurum.engine.dispose()
        finally:
            if own:
                stop_embedded(pg_dir)
