"""``plurum reembed``: move every stored vector to this process's embedder, online.

1. The target embedder is recorded as the re-embed in progress (``embedding_meta.target_*``).
   A run for another target first drops the leftover ``embedding_next`` vectors.
2. Experiences without a new vector get one, a page per transaction, into
   ``experiences.embedding_next``, then the experiences' items (dead ends, gotchas,
   breakthroughs: hints and search's item scoring) into ``experience_items.embedding_next``;
   a killed run resumes at the first row without one. Entries of closed sessions lose their
   embedding (nothing reads it after the close). Servers keep searching and writing with the
   old vectors meanwhile; what they write has no new vector yet and is picked up by step 4.
3. The HNSW graphs of the new vectors are built beside the old ones (CONCURRENTLY: writes go
   on).
4. The swap, in one transaction holding the embedder record FOR UPDATE (writes of vectors wait
   for it, a few seconds at most): the last experiences and items, the open sessions, their
   entries and the pulse subscriptions are embedded, then the vector columns and their
   indexes trade names and the target becomes the recorded embedder. Search and hints read
   the old vectors up to this commit and the new ones after it.
5. The old vectors and graphs are dropped. Servers still running the old embedder now refuse
   to write vectors (409, naming the restart) until restarted with the new backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from plurum_backend.search import vectors
from plurum_backend.search.embedder import Embedder
from plurum_backend.services.hints import item_text
from plurum_backend.services.sessions import session_text
from plurum_backend.store import embeddings as store
from plurum_backend.store.models import Experience

PAGE = 128
CLEAR_PAGE = 2000

# (done, total) after each committed page; experiences then items, counted together
Progress = Callable[[int, int], None]


@dataclass
class ReembedReport:
    target: str
    previous: str
    total: int = 0
    embedded: int = 0  # experiences embedded by this run (a resumed run skips done ones)
    resumed: bool = False
    at_swap: int = 0  # experiences written by servers during the run, embedded at the swap
    items: int = 0
    items_embedded: int = 0
    items_at_swap: int = 0
    sessions: int = 0
    entries: int = 0  # entries of open sessions embedded at the swap
    entries_dropped: int = 0  # embeddings of closed sessions' entries set to NULL
    subscriptions: int = 0

    def summary(self) -> str:
        if not self.previous:
            return "No vectors are stored yet; nothing to do."
        if self.previous == self.target:
            return f"Every vector is already from {self.target}; nothing to do."
        resumed = " (resumed)" if self.resumed else ""
        return (
            f"Re-embedded {self.total} experiences{resumed} from {self.previous} to "
            f"{self.target}: {self.embedded} in this run, {self.at_swap} at the swap; "
            f"{self.items} experience items: {self.items_embedded} in this run, "
            f"{self.items_at_swap} at the swap; {self.sessions} open sessions with "
            f"{self.entries} entries and {self.subscriptions} pulse topics (the embeddings of "
            f"{self.entries_dropped} entries of closed sessions were dropped)."
        )


async def reembed(
    engine: AsyncEngine,
    embedder: Embedder,
    progress: Progress | None = None,
    page: int = PAGE,
) -> ReembedReport:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    target = vectors.identity(embedder)
    async with sessions() as db:
        recorded = await store.current(db)
    if recorded is None or recorded == target:
        async with sessions() as db:
            await _tidy(engine, db)
        return ReembedReport(target=str(target), previous=str(recorded or ""))
    report = ReembedReport(target=str(target), previous=str(recorded))
    async with sessions() as db:
        report.resumed = await store.start_target(db, target)
        await db.commit()
    if not report.resumed:
        async with sessions() as db:
            await _clear(db)
    await _fill(sessions, embedder, report, progress, page)
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await store.build_next_index(autocommit)
    async with sessions() as db:
        await _swap(db, embedder, target, report)
    async with sessions() as db:
        await _tidy(engine, db)
    return report


async def _fill(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    report: ReembedReport,
    progress: Progress | None,
    page: int,
) -> None:
    async with sessions() as db:
        report.total, todo = await store.counts(db)
        report.items, items_todo = await store.item_counts(db)
    total = report.total + report.items
    done = total - todo - items_todo

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if progress:
            progress(min(done, total), total)

    advance(0)
    after: uuid.UUID | None = None
    while True:
        async with sessions() as db:
            rows = await store.pending_page(db, after, page)
            if not rows:
                break
            await _write_next(db, embedder, rows)
            await db.commit()
        after = rows[-1].id
        report.embedded += len(rows)
        advance(len(rows))
    after_item: store.ItemKey | None = None
    while True:
        async with sessions() as db:
            items = await store.pending_items(db, after_item, page)
            if not items:
                break
            await _write_items_next(db, embedder, items)
            await db.commit()
        after_item = items[-1].key
        report.items_embedded += len(items)
        advance(len(items))
    async with sessions() as db:
        while dropped := await store.clear_closed_entries_page(db, CLEAR_PAGE):
            report.entries_dropped += dropped
            await db.commit()


async def _write_next(db: AsyncSession, embedder: Embedder, rows: list[Experience]) -> None:
    made = await vectors.compute(embedder, rows)
    pairs = [(r.id, v.embedding.tolist()) for r, v in zip(rows, made, strict=True)]
    await store.write_next(db, pairs)


async def _write_items_next(
    db: AsyncSession, embedder: Embedder, items: list[store.PendingItem]
) -> None:
    made = await embedder.aembed([i.text for i in items])
    pairs = [(i.key, v.tolist()) for i, v in zip(items, made, strict=True)]
    await store.write_items_next(db, pairs)


async def _swap(
    db: AsyncSession, embedder: Embedder, target: store.Identity, report: ReembedReport
) -> None:
    await store.lock_meta(db)
    late = await store.pending_page(db, None, 1_000_000, lock=True)
    await _write_next(db, embedder, late)
    report.at_swap = len(late)
    late_items = await store.pending_items(db, None, 1_000_000, lock=True)
    await _write_items_next(db, embedder, late_items)
    report.items_at_swap = len(late_items)
    open_sessions = await store.sessions_to_embed(db)
    texts = [session_text(s.topic, s.domain, list(s.tools_used)) for s in open_sessions]
    for session, vector in zip(open_sessions, await embedder.aembed(texts), strict=True):
        session.embedding = vector.tolist()
    report.sessions = len(open_sessions)
    entries = await store.open_entries(db)
    made = await embedder.aembed([item_text(e.content) for e in entries])
    for entry, vector in zip(entries, made, strict=True):
        entry.embedding = vector.tolist()
    report.entries = len(entries)
    topics = await store.subscriptions(db)
    for topic, vector in zip(topics, await embedder.aembed([t.topic for t in topics]), strict=True):
        topic.embedding = vector.tolist()
    report.subscriptions = len(topics)
    await db.flush()
    await store.swap(db, target)
    await db.commit()


async def _clear(db: AsyncSession) -> None:
    while await store.clear_next_page(db, CLEAR_PAGE):
        await db.commit()
    while await store.clear_items_next_page(db, CLEAR_PAGE):
        await db.commit()
    await db.commit()


async def _tidy(engine: AsyncEngine, db: AsyncSession) -> None:
    """Drop what a swap left behind (the old graph, the old vectors); harmless when clean."""
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await store.drop_previous_index(autocommit)
    if not await store.in_progress(db):
        await _clear(db)
