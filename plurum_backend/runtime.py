"""The running backend: database engine, embedder, full-text index, and the unit of work.

``Plurum`` is built once per process (``Plurum.start``) and handed to the API. Services get a
``Tx``: a database session plus the set of experiences whose search view changed. The request
boundary commits; after the commit the touched experiences are re-indexed at once, so a
writer reads its own writes, and every other replica catches up from the change sequence.
A change of an experience's quality score alone (an outcome, a vote) is left to the tailer
instead (``touch(..., at_once=False)``): it moves no words, only the number the
``min_quality_score`` filter reads, and waiting for a Tantivy commit made those writes the
slowest answers under load (docs/performance.md, "Load").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from plurum_backend.config import Settings
from plurum_backend.errors import ConfigError, InsufficientStorage, Unavailable
from plurum_backend.hub import Hub
from plurum_backend.search.embedder import Embedder, backend_labelled, shared_embedder
from plurum_backend.search.fulltext import FulltextIndex
from plurum_backend.search.sync import IndexSync
from plurum_backend.services import rescore, usage
from plurum_backend.services.hint_index import HintIndex
from plurum_backend.services.limits import Limits
from plurum_backend.store import embedded, embeddings, faults, migrate
from plurum_backend.store import pulse as pulse_store
from plurum_backend.store.database import (
    Database,
    async_engine,
    check_server,
    normalize_url,
    vector_engine,
)
from plurum_backend.store.models import EMBEDDING_DIM, SearchChange
from plurum_backend.store.pulse import PendingEvent
from plurum_backend.store.supervisor import Supervisor

log = logging.getLogger(__name__)

TAIL_INTERVAL_S = 0.5


@dataclass
class Tx:
    db: AsyncSession
    touched: set[uuid.UUID] = field(default_factory=set)
    at_once: set[uuid.UUID] = field(default_factory=set)  # re-indexed before the answer
    events: list[PendingEvent] = field(default_factory=list)
    changes: list[SearchChange] = field(default_factory=list)

    def emit(self, event: PendingEvent) -> None:
        """Queue a pulse event; it is written (and NOTIFYed) in this transaction, at the end."""
        if event.recipients or event.public:
            self.events.append(event)

    def touch(self, experience_id: uuid.UUID, *, at_once: bool = True) -> None:
        """Record that search must see this experience anew (same transaction as the write).

        ``at_once`` (the default): the index is refreshed before the request answers, so the
        writer's next search finds what it wrote. ``at_once=False`` is for changes of the
        quality score alone: the change row is committed all the same (nothing acknowledged
        is lost), and the tailer applies it within about ``TAIL_INTERVAL_S``; until then the
        index's ``min_quality_score`` pre-filter may read the previous score (search re-checks
        every hit against the database's score, so a lowered score never lets one through).
        """
        if at_once:
            self.at_once.add(experience_id)
        if experience_id not in self.touched:
            self.touched.add(experience_id)
            change = SearchChange(experience_id=experience_id)
            self.changes.append(change)
            self.db.add(change)


def check_embedder(database: Database, embedder: Embedder) -> None:
    """Refuse to start with another embedder than the one whose vectors the database holds
    (an empty database takes this one)."""
    mine = embeddings.Identity(embedder.model_name, embedder.label)
    recorded = embeddings.claim(database.url, mine)
    if recorded != mine:
        raise ConfigError(
            f"This database holds vectors from {recorded}, not {mine}: run `plurum reembed` "
            f"to re-embed them with {mine} (search keeps working meanwhile), or start with "
            f"PLURUM_EMBEDDING_BACKEND={recorded.backend.split('/')[0]}."
        )


def backend_for(database: Database, settings: Settings) -> str:
    """PLURUM_EMBEDDING_BACKEND if set; otherwise the backend that made this database's
    vectors (when it is one this version runs), so that an upgrade whose default changed keeps
    serving without `plurum reembed`; otherwise the default."""
    if settings.embedding_backend_chosen:
        return settings.embedding_backend
    recorded = embeddings.recorded(database.url)
    if recorded is None or recorded.model != settings.embedding_model:
        return settings.embedding_backend
    return backend_labelled(recorded.backend) or settings.embedding_backend


class Plurum:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        engine: AsyncEngine,
        embedder: Embedder,
        index: FulltextIndex,
    ) -> None:
        self.settings = settings
        self.database = database
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.embedder = embedder
        self.index = index
        self.sync = IndexSync(self.sessions, index)
        # other agents' dead ends and gotchas in memory, fed by the same change sequence
        self.hint_index = HintIndex(self.sessions)
        self.sync.listeners.append(self.hint_index.changed)
        timeout = settings.db_timeout_s
        # the nearest-neighbour query's own pool
        self.vectors = vector_engine(database, timeout_s=timeout)
        # a rate-limit hit is one write per request: its commit need not wait for the WAL
        # flush (a crash of PostgreSQL may forget the last fraction of a second of hits)
        self.limits = Limits(
            settings,
            async_engine(
                database, pool_size=10, timeout_s=timeout, options="-c synchronous_commit=off"
            ),
        )
        self.hub = Hub(database, self.sessions, connect_timeout_s=timeout)
        self.supervisor = Supervisor(database.pg_dir) if database.pg_dir else None
        # SQLAlchemy logs a traceback for every pooled connection whose reset (rollback) fails
        # on its way back to the pool: after a database restart, each one that died does.
        # The request already answered 503 and the pool drops the connection; one line each
        # from our own handlers is enough.
        logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
        self._tail_task: asyncio.Task[None] | None = None
        self._supervise_task: asyncio.Task[None] | None = None
        self._usage_task: asyncio.Task[None] | None = None
        self.search_log = usage.SearchLog(self.sessions)  # search events, written in batches
        self._search_log_task: asyncio.Task[None] | None = None
        self._rescore_task: asyncio.Task[None] | None = None
        rescore.configure(settings.outcome_half_life_days)

    @classmethod
    def open_database(cls, settings: Settings) -> Database:
        """Find or start the database, check pgvector, run migrations (blocking)."""
        if settings.database_url:
            database = Database(url=normalize_url(settings.database_url), embedded=False)
        else:
            # registered as one of the server's users: the last one out stops it (embedded.py)
            database = embedded.acquire(settings.pg_dir)
        check_server(database)
        migrate.upgrade(database)
        return database

    @classmethod
    def start(cls, settings: Settings, database: Database | None = None) -> Plurum:
        """Blocking start: database, migrations, model, index. Call before the event loop."""
        database = database or cls.open_database(settings)
        embedder = shared_embedder(
            settings.embedding_model, backend_for(database, settings), settings.model_dir
        )
        if embedder.dimension != EMBEDDING_DIM:
            raise ConfigError(
                f"The embedding model {settings.embedding_model!r} makes {embedder.dimension}-"
                f"dimensional vectors but the database stores {EMBEDDING_DIM}."
            )
        check_embedder(database, embedder)
        index = FulltextIndex(settings.index_dir)
        engine = async_engine(database, settings.db_pool_size, timeout_s=settings.db_timeout_s)
        return cls(settings, database, engine, embedder, index)

    # -- lifecycle ----------------------------------------------------------------------

    async def startup(self) -> None:
        await self.sync.catch_up(progress=True)
        if self.settings.hints:
            self.hint_index.start_loading()
        self._tail_task = asyncio.create_task(self._tail_forever())
        self._usage_task = asyncio.create_task(
            usage.prune_forever(self.sessions, self.settings.usage_retention_days)
        )
        self._search_log_task = asyncio.create_task(self.search_log.run_forever())
        self._rescore_task = asyncio.create_task(rescore.sweep_forever(self))
        await self.hub.start()
        if self.supervisor is not None:
            self._supervise_task = asyncio.create_task(self.supervisor.run())

    async def shutdown(self) -> None:
        # the supervisor first: nothing may restart the server once shutting down begins
        tasks = (
            self._supervise_task,
            self._tail_task,
            self._usage_task,
            self._search_log_task,
            self._rescore_task,
        )
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.hint_index.close()
        await self.hub.stop()
        await self.close()

    def database_state(self) -> str:
        """ "up", "restarting", "stopped" or "gave_up" (embedded), or "external"."""
        return self.supervisor.state if self.supervisor is not None else "external"

    async def close(self) -> None:
        """Close the connection pools (what a command that never served calls at its end)."""
        with contextlib.suppress(Exception):  # the last searches' events (telemetry)
            await self.search_log.flush()
        await self.limits.close()
        await self.vectors.dispose()
        await self.engine.dispose()

    async def _tail_forever(self) -> None:
        """Follow the change sequence. A database or disk fault pauses it (one log line) and
        it resumes from the index's cursor, which only moves after Tantivy committed."""
        paused = False
        while True:
            await asyncio.sleep(TAIL_INTERVAL_S)
            try:
                await self.sync.catch_up()
            except Exception as exc:  # a passing database fault must not stop the tailer
                if not faults.is_fault(exc):
                    log.exception("search index catch-up failed; retrying")
                elif not paused:
                    log.warning("search index catch-up paused (%s); retrying", faults.summary(exc))
                paused = True
                continue
            if paused:
                log.warning("search index catch-up resumed at cursor %s", self.index.cursor)
                paused = False

    # -- unit of work -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(self, *, deadline: bool = False) -> AsyncIterator[Tx]:
        """One unit of work. A database or disk fault inside it (or at commit) is raised as
        the PlurumError the caller should see (503 Unavailable, 507 InsufficientStorage).
        ``deadline`` (every API request) bounds the unit of work up to its commit to
        PLURUM_DB_TIMEOUT_S (``request_deadline``); the indexing after the commit is not
        bounded, since a committed write must not be answered with an error."""
        async with (
            self._faults_translated(),
            self.request_deadline(enabled=deadline),
            self.sessions() as db,
        ):
            tx = Tx(db)
            try:
                yield tx
                if tx.touched and self.sync.disk_full:
                    # search could not index it: refuse now rather than store it unseen
                    raise InsufficientStorage(faults.INDEX_FULL_DETAIL)
                if tx.events:
                    await pulse_store.write_events(db, tx.events)
                await db.commit()
            except BaseException:
                with contextlib.suppress(Exception):  # a dead connection cannot roll back
                    await db.rollback()
                raise
        if tx.touched - tx.at_once:
            self.sync.defer(
                (c.seq, c.experience_id) for c in tx.changes if c.experience_id not in tx.at_once
            )
        if tx.at_once:
            seqs = [c.seq for c in tx.changes if c.experience_id in tx.at_once]
            try:
                await self.sync.refresh(tx.at_once, seqs)
            except Exception as exc:  # committed is committed: the tailer re-indexes from the log
                if faults.is_fault(exc):
                    log.warning(
                        "indexing after commit deferred to catch-up (%s)", faults.summary(exc)
                    )
                else:
                    log.exception("indexing after commit failed; the catch-up loop will retry")

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self._faults_translated(), self.sessions() as db:
            yield db

    @contextlib.asynccontextmanager
    async def request_deadline(self, *, enabled: bool = True) -> AsyncIterator[None]:
        """Bound a request's unit of work to PLURUM_DB_TIMEOUT_S as a whole.

        Each statement, lock wait, pool checkout and connect is bounded by the same limit on
        its own; this also bounds their sum (a wait for a connection, then for a lock) and a
        server that stopped answering without closing the connection, where no server-side
        timeout can fire. Past it the request answers 503; cancelling the statement makes
        psycopg cancel it on the server, and an interrupted commit was not acknowledged.
        """
        limit = self.settings.db_timeout_s
        if not enabled:
            yield
            return
        try:
            async with asyncio.timeout(limit):
                yield
        except TimeoutError:
            raise Unavailable(
                f"The database did not answer within {limit:g} s (a long-held lock or an "
                "overloaded server); try again shortly.",
                retry_after=max(1, round(limit)),
            ) from None

    @contextlib.asynccontextmanager
    async def _faults_translated(self) -> AsyncIterator[None]:
        try:
            yield
        except Exception as exc:
            fault = faults.translate(exc, self.settings.db_timeout_s)
            if fault is None or fault is exc:
                raise
            raise fault from exc
