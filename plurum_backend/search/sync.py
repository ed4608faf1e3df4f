"""Keeping the local Tantivy index equal to PostgreSQL.

``refresh`` re-indexes experiences this process just wrote (read-your-writes). ``catch_up``
applies the settled part of the change sequence past the index's cursor; it runs at start and
every half second. The cursor is written only after Tantivy commits, and applying a change
is idempotent, so a crash mid-indexing replays from the last cursor. A new replica, a deleted
or outdated index directory, or a crash during a rebuild all leave the cursor at zero, which
``catch_up`` answers with ``rebuild``: every row indexed from scratch.

Under load the writes of many requests share one Tantivy commit (``refresh`` takes whatever
is pending when it gets the lock), and the tailer skips the changes this process has already
indexed itself, so each write costs the index about one commit, not two. Changes this process
committed without waiting for the index (``defer``: an outcome's or a vote's new quality
score) ride along with the next ``refresh`` commit, or the tailer applies them within its
half second, whichever comes first.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from plurum_backend.search.documents import index_doc
from plurum_backend.search.fulltext import FulltextIndex
from plurum_backend.store import changes
from plurum_backend.store.faults import is_fault, summary
from plurum_backend.store.models import Experience

log = logging.getLogger(__name__)
BATCH = 500


class IndexSync:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        index: FulltextIndex,
        batch: int = BATCH,
    ) -> None:
        self._sessions = sessions
        self._index = index
        self._batch = batch
        self._lock = asyncio.Lock()
        self._pending: set[uuid.UUID] = set()  # committed here, not yet indexed
        self._pending_seqs: set[int] = set()
        self._indexed_seqs: set[int] = set()  # changes refresh indexed that follow may skip
        self._deferred: dict[int, uuid.UUID] = {}  # committed here, left to the next commit
        # A failed Tantivy commit leaves its writer unusable (later commits silently drop
        # documents), so the next apply reopens the index first. ``disk_full`` says the
        # failure was a full disk: writes are refused (507) until an apply succeeds again.
        self._writer_broken = False
        self.disk_full = False
        # told of every applied change, after the index took it: (experiences as they are
        # now, ids no longer in the database); services/hint_index.py follows the sequence so
        self.listeners: list[Callable[[list[Experience], list[uuid.UUID]], Awaitable[None]]] = []

    async def _apply(self, ids: Iterable[uuid.UUID], cursor: changes.Cursor | None) -> None:
        wanted = sorted(set(ids))
        async with self._sessions() as db:
            found = await changes.experiences_by_ids(db, wanted) if wanted else []
        docs = [index_doc(e) for e in found]
        gone = sorted({str(i) for i in wanted} - {d.id for d in docs})
        try:
            if self._writer_broken:
                await anyio.to_thread.run_sync(self._index.reopen)
                self._writer_broken = False
            await anyio.to_thread.run_sync(self._index.apply, docs, gone, cursor)
        except (ValueError, OSError) as exc:  # Tantivy reports I/O errors as ValueError
            self._writer_broken = True
            if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or _out_of_space(exc):
                self.disk_full = True
                raise OSError(
                    errno.ENOSPC, f"No space left for the search index at {self._index.path}"
                ) from exc
            raise
        self.disk_full = False
        if self.listeners:
            present = {e.id for e in found}
            deleted = [i for i in wanted if i not in present]
            for listener in self.listeners:
                await listener(found, deleted)

    def defer(self, changes_made: Iterable[tuple[int, uuid.UUID]]) -> None:
        """Changes (seq, experience) committed by this process that need not be searchable
        before its answer: the next ``refresh`` takes them into its commit, else the tailer
        applies them from the change sequence (committed, so never lost)."""
        self._deferred.update(changes_made)

    async def refresh(self, ids: Iterable[uuid.UUID], seqs: Iterable[int] = ()) -> None:
        """Index what this process just committed, at once (its writer reads its own writes).

        ``seqs`` are the change rows the write added. Concurrent callers share one commit: a
        caller whose experiences another caller already took (after they were committed)
        finds nothing pending and returns. The data is already committed and in the change
        sequence, so a failure here only delays the index until the next catch-up; it must
        not fail the request.
        """
        self._pending.update(ids)
        self._pending_seqs.update(seqs)
        async with self._lock:
            if not self._pending or self._index.lost():
                return  # indexed by an earlier holder, or catch_up reopens and rebuilds
            taken, self._pending = self._pending, set()
            taken_seqs, self._pending_seqs = self._pending_seqs, set()
            deferred, self._deferred = self._deferred, {}
            taken |= set(deferred.values())
            taken_seqs |= set(deferred)
            try:
                await self._apply(taken, None)
            except Exception as exc:
                if is_fault(exc):  # the database or the disk is away: one line, no traceback
                    log.warning(
                        "indexing a fresh write deferred to the catch-up (%s)", summary(exc)
                    )
                else:
                    log.exception("indexing a fresh write failed; the next catch-up repairs it")
                return
            self._indexed_seqs.update(taken_seqs)

    async def catch_up(self, progress: bool = False) -> int:
        """Bring the index level with the database; returns how many changes were applied.

        A lost directory is reopened empty, and an index at cursor zero (new replica, deleted
        or outdated index, crash during a rebuild) is rebuilt from the rows themselves.
        """
        if self._index.lost():
            log.warning("The search index at %s was lost; rebuilding it.", self._index.path)
            await anyio.to_thread.run_sync(self._index.reopen)
        if self._index.cursor == (0, 0):
            async with self._sessions() as db:
                started = await changes.head(db) != (0, 0)
            if started:
                return await self.rebuild(progress=progress)
        return await self._follow(progress)

    async def _follow(self, progress: bool = False) -> int:
        """Apply every settled change past the cursor."""
        applied = 0
        bar = None
        async with self._lock:
            while True:
                async with self._sessions() as db:
                    batch = await changes.settled_changes(db, self._index.cursor, self._batch)
                if not batch:
                    break
                if progress and bar is None and len(batch) == self._batch:
                    bar = tqdm(desc="Catching up the search index", unit="change", file=sys.stderr)
                last = batch[-1]
                todo = [e for _, seq, e in batch if seq not in self._indexed_seqs]
                self._indexed_seqs.difference_update(seq for _, seq, _ in batch)
                for _, seq, _ in batch:  # applied here: no later refresh need take it
                    self._deferred.pop(seq, None)
                if todo:
                    await self._apply(todo, (last[0], last[1]))
                else:
                    await anyio.to_thread.run_sync(self._index.advance, (last[0], last[1]))
                applied += len(batch)
                if bar is not None:
                    bar.update(len(batch))
        if bar is not None:
            bar.close()
        return applied

    async def rebuild(self, progress: bool = True) -> int:
        """Index every experience anew, drop what the database no longer has, then follow the
        change sequence from where the rebuild started. The index stays searchable throughout:
        documents are replaced page by page, never cleared first."""
        async with self._lock:
            self._indexed_seqs.clear()
            async with self._sessions() as db:
                start = await changes.head(db)
                total = await changes.count_experiences(db)
            before = await anyio.to_thread.run_sync(self._index.ids)
            bar = tqdm(
                total=total, desc="Reindexing", unit="exp", file=sys.stderr, disable=not progress
            )
            after: uuid.UUID | None = None
            seen: set[str] = set()
            while True:
                async with self._sessions() as db:
                    ids = await changes.experience_ids_page(db, after, self._batch)
                if not ids:
                    break
                await self._apply(ids, None)
                seen.update(str(i) for i in ids)
                after = ids[-1]
                bar.update(len(ids))
            bar.close()
            await anyio.to_thread.run_sync(self._index.apply, [], sorted(before - seen), None)
            await anyio.to_thread.run_sync(self._index.set_cursor, start)
        await self._follow()
        return len(seen)


def _out_of_space(exc: BaseException) -> bool:
    text = str(exc)
    return "No space left on device" in text or "StorageFull" in text
