"""Liveness and readiness, for load balancers, orchestrators and `plurum db status`.

- live: the process answers; no database call, so a database outage does not get every
  replica restarted by its orchestrator (restarting would not help).
- ready: this replica can serve: the database answers a query within ``DB_TIMEOUT_S`` and
  the full-text index is open and readable. How many search changes the index has not
  applied yet is reported, not judged: a replica following a large import elsewhere is
  behind for a while and still serves everything else correctly.
"""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel, ConfigDict

from plurum_backend.runtime import Plurum
from plurum_backend.store import health as store

DB_TIMEOUT_S = 3.0
PENDING_CAP = 100_000


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Liveness(Model):
    status: str = "ok"
    indexed: int  # documents in this replica's full-text index


class DatabaseCheck(Model):
    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class IndexCheck(Model):
    ok: bool
    documents: int | None = None
    pending_changes: int | None = None  # counted up to 100,000
    error: str | None = None


class Readiness(Model):
    status: str  # "ready" or "not ready"
    database: DatabaseCheck
    index: IndexCheck

    @property
    def ready(self) -> bool:
        return self.database.ok and self.index.ok

    def problem(self) -> str:
        """One sentence for the 503's ``detail``."""
        parts = []
        if not self.database.ok:
            parts.append(f"the database does not answer ({self.database.error})")
        if not self.index.ok:
            parts.append(f"the search index is not readable ({self.index.error})")
        return "Not ready: " + " and ".join(parts) + "."


def live(plurum: Plurum) -> Liveness:
    return Liveness(indexed=plurum.index.num_docs())


async def ready(plurum: Plurum) -> Readiness:
    database, pending = await _database(plurum)
    try:
        if plurum.index.lost():
            index = IndexCheck(ok=False, error="its directory is missing; it is being rebuilt")
        else:
            documents = plurum.index.num_docs()
            index = IndexCheck(ok=True, documents=documents, pending_changes=pending)
    except Exception as exc:
        index = IndexCheck(ok=False, error=exc.__class__.__name__)
    ok = database.ok and index.ok
    return Readiness(status="ready" if ok else "not ready", database=database, index=index)


async def _database(plurum: Plurum) -> tuple[DatabaseCheck, int | None]:
    """Answering within the timeout is readiness; the index's backlog is a best-effort extra."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(DB_TIMEOUT_S), plurum.engine.connect() as conn:
            await store.ping(conn)
            latency_ms = round(1000 * (time.perf_counter() - start), 2)
            try:
                pending = await store.changes_after(conn, plurum.index.cursor, PENDING_CAP)
            except Exception:
                pending = None
    except TimeoutError:
        return DatabaseCheck(ok=False, error=f"no answer within {DB_TIMEOUT_S:g} s"), None
    except Exception as exc:  # any driver or pool error: name it, never leak the URL
        return DatabaseCheck(ok=False, error=exc.__class__.__name__), None
    return DatabaseCheck(ok=True, latency_ms=latency_ms), pending
