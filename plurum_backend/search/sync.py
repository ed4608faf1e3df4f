"""Keeping the local Tantivy index equal to PostgreSQL.

``refresh`` re-indexes experiences this process just wrote (read-your-writes). ``catch_up``
applies the settled part of the change sequence past the index's cursor; it runs at start and
every half second, which repairs a crash mid-indexing, a deleted index directory and a new
replica alike. ``rebuild`` starts over from every row.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import Iterable

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from plurum_backend.search.documents import index_doc
from plurum_backend.search.fulltext import FulltextIndex
from plurum_backend.store import changes

log = logging.getLogger(__name__)
BATCH = 500


class IndexSync:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], index: FulltextIndex) -> None:
        self._sessions = sessions
        self._index = index
        self._lock = asyncio.Lock()

    async def _apply(self, ids: Iterable[uuid.UUID], cursor: changes.Cursor | None) -> None:
        wanted = sorted(set(ids))
        async with self._sessions() as db:
            found = await changes.experiences_by_ids(db, wanted) if wanted else []
        docs = [index_doc(e) for e in found]
        gone = sorted({str(i) for i in wanted} - {d.id for d in docs})
        await anyio.to_thread.run_sync(self._index.apply, docs, gone, cursor)

    async def refresh(self, ids: Iterable[uuid.UUID]) -> None:
        async with self._lock:
            await self._apply(ids, None)

    async def catch_up(self, progress: bool = False) -> int:
        """Apply every settled change past the cursor; returns how many were applied."""
        applied = 0
        bar = None
        async with self._lock:
            while True:
                async with self._sessions() as db:
                    batch = await changes.settled_changes(db, self._index.cursor, BATCH)
                if not batch:
                    break
                if progress and bar is None and len(batch) == BATCH:
                    bar = tqdm(desc="Catching up the search index", unit="change", file=sys.stderr)
                last = batch[-1]
                await self._apply((e for _, _, e in batch), (last[0], last[1]))
                applied += len(batch)
                if bar is not None:
                    bar.update(len(batch))
        if bar is not None:
            bar.close()
        return applied

    async def rebuild(self, progress: bool = True) -> int:
        """Index every experience from scratch, then follow the change sequence from there."""
        async with self._lock:
            async with self._sessions() as db:
                start = await changes.head(db)
                total = await changes.count_experiences(db)
            await anyio.to_thread.run_sync(self._index.clear)
            bar = tqdm(
                total=total, desc="Reindexing", unit="exp", file=sys.stderr, disable=not progress
            )
            after: uuid.UUID | None = None
            done = 0
            while True:
                async with self._sessions() as db:
                    ids = await changes.experience_ids_page(db, after, BATCH)
                if not ids:
                    break
                await self._apply(ids, None)
                after = ids[-1]
                done += len(ids)
                bar.update(len(ids))
            bar.close()
            await anyio.to_thread.run_sync(self._index.apply, [], [], start)
        await self.catch_up()
        return done
