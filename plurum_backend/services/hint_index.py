"""Other agents' dead ends and gotchas in memory, so that an entry near none of them (most
entries) learns it without asking PostgreSQL (docs/hints.md, Cost).

The index holds the vector of every dead end and gotcha of every experience, with the
experience's author and whether other agents may discover it (the rule of search,
``experience_discoverable_by`` / ``audience_of``). A lookup multiplies the entry's vector by
that matrix (a fraction of a millisecond for thousands of items) and returns the
discoverable experiences with an item at least the floor close, the viewer's own left out.
It only *proposes*: the hints are then read from PostgreSQL for those experiences alone
(``store.hints.items_near``), with the visibility rule and the exact floor applied again
there. So a stale index can delay a hint or cost a query, never show what the agent may not
see; and since hidden items are never proposed, whether a hidden experience is near the
entry does not even change how long the entry takes.

Kept fresh from the change sequence the search index follows (``IndexSync.listeners``, the
same changes that keep the search index's audiences right): a new experience's items are
read once (an experience's items never change after it is stored); a change of who may see
an experience (published, archived, held, quarantined, deleted) turns its rows on or off.

It loads in the background at start-up (or on first use); until it is ready, or if it grows
past ``MAX_ITEMS`` (where scanning it would cost more than the HNSW lookup), lookups go to
PostgreSQL's HNSW index as before (``candidates`` returns None).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plurum_backend.store import hints as store
from plurum_backend.store.models import EMBEDDING_DIM, Experience
from plurum_backend.store.visibility import audience_of

log = logging.getLogger(__name__)

# 20,000 vectors are a 30 MB matrix, scanned in about 1 ms of one core; beyond that the
# HNSW index in PostgreSQL is the cheaper lookup.
MAX_ITEMS = 20_000
# The scan rounds differently from pgvector's cosine: it proposes a little below the floor,
# and PostgreSQL applies the floor itself.
SLACK = 1e-3
# OpenBLAS spreads a longer matrix-vector product over every core, which on a busy machine
# costs several milliseconds of waiting; blocks this long stay on the calling thread.
_BLOCK = 512

COLD, LOADING, READY, TOO_BIG = "cold", "loading", "ready", "too big"
HINT_KINDS = ("dead_end", "gotcha")  # what a hint may match


class HintIndex:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        kinds: Sequence[str] = HINT_KINDS,
        max_items: int = MAX_ITEMS,
    ) -> None:
        self._sessions = sessions
        self._kinds = tuple(kinds)
        self._max_items = max_items
        self.state = COLD
        self._load_task: asyncio.Task[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self._matrix = np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        self._owner = np.zeros(0, dtype=np.int32)  # row -> experience number
        self._author = np.zeros(0, dtype=np.int32)  # row -> author number
        self._live = np.zeros(0, dtype=bool)
        self._size = 0
        self._experiences: list[uuid.UUID] = []
        self._number: dict[uuid.UUID, int] = {}  # every experience read, items or not
        self._rows: dict[int, list[int]] = {}
        self._authors: dict[uuid.UUID, int] = {}

    @property
    def size(self) -> int:
        """How many item vectors are held (deleted experiences' rows included)."""
        return self._size

    # -- filling ------------------------------------------------------------------------

    def _grow(self, needed: int) -> None:
        capacity = len(self._matrix)
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity, 256)
        matrix = np.zeros((capacity, EMBEDDING_DIM), dtype=np.float32)
        matrix[: self._size] = self._matrix[: self._size]
        self._matrix = matrix
        for name in ("_owner", "_author", "_live"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: self._size] = old[: self._size]
            setattr(self, name, new)

    def _add(
        self, experience: uuid.UUID, author: uuid.UUID, shared: bool, vectors: list[Any]
    ) -> None:
        """One experience's items (idempotent: items never change once stored); ``shared``:
        other agents may discover it now (only then are its items proposed)."""
        if experience in self._number:
            return
        number = self._number[experience] = len(self._experiences)
        self._experiences.append(experience)
        if not vectors:
            return
        if self._size + len(vectors) > self._max_items:
            log.info(
                "hint index: more than %d dead ends and gotchas; hints are looked up in "
                "PostgreSQL from now on",
                self._max_items,
            )
            self.state = TOO_BIG
            self._reset()
            return
        author_number = self._authors.setdefault(author, len(self._authors))
        start = self._size
        self._grow(start + len(vectors))
        block = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        self._matrix[start : start + len(vectors)] = block / np.maximum(norms, 1e-12)
        self._owner[start : start + len(vectors)] = number
        self._author[start : start + len(vectors)] = author_number
        self._live[start : start + len(vectors)] = shared
        self._rows[number] = list(range(start, start + len(vectors)))
        self._size = start + len(vectors)

    def _share(self, experience: uuid.UUID, shared: bool) -> None:
        """Propose the experience's items, or stop proposing them (hidden, deleted)."""
        number = self._number.get(experience)
        if number is not None:
            self._live[self._rows.get(number, [])] = shared

    def _add_rows(self, rows: Sequence[tuple[uuid.UUID, uuid.UUID, bool, Any]]) -> None:
        grouped: dict[uuid.UUID, tuple[uuid.UUID, bool, list[Any]]] = {}
        for experience, author, shared, vector in rows:
            grouped.setdefault(experience, (author, shared, []))[2].append(vector)
        for experience, (author, shared, vectors) in grouped.items():
            if self.state in (COLD, TOO_BIG):
                return
            self._add(experience, author, shared, vectors)

    async def load(self) -> None:
        """Read every item vector (once; a second call waits for the first)."""
        if self._load_task is None:
            self._load_task = asyncio.create_task(self._load())
        await asyncio.shield(self._load_task)

    async def _load(self) -> None:
        self.state = LOADING
        try:
            async with self._sessions() as db:
                if await store.hint_item_count(db, self._kinds) > self._max_items:
                    self.state = TOO_BIG
                    self._reset()
                    return
                rows = await store.hint_item_vectors(db, self._kinds)
        except Exception:
            log.warning("hint index: loading failed; hints use PostgreSQL until it loads")
            self.state = COLD
            self._load_task = None
            raise
        self._add_rows(rows)
        if self.state == LOADING:
            self.state = READY

    def start_loading(self) -> None:
        """Start the background load if it has not started (a lookup that finds the index
        cold calls this and goes to PostgreSQL meanwhile)."""
        if self._load_task is None:
            self._load_task = asyncio.create_task(self._load())
            self._load_task.add_done_callback(_collect)

    async def close(self) -> None:
        """Stop a load still running (the server is shutting down)."""
        task, self._load_task = self._load_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def changed(self, found: Sequence[Experience], gone: Sequence[uuid.UUID]) -> None:
        """Experiences the change sequence says were written (``found``, as they are now) or
        deleted (``gone``). The rule of who may discover them is applied as the search index
        applies it (``audience_of``); only experiences not read before cost a query."""
        if self.state in (COLD, TOO_BIG):
            return  # the load reads everything
        for experience_id in gone:
            self._share(experience_id, False)
        for experience in found:
            self._share(experience.id, "public" in audience_of(experience))
        new = [e for e in found if e.id not in self._number]
        if not new:
            return
        try:
            async with self._sessions() as db:
                rows = await store.hint_item_vectors(db, self._kinds, [e.id for e in new])
        except Exception:
            # a missed experience would never be hinted: read everything again later
            log.warning("hint index: an update failed; reloading it on next use")
            self.state = COLD
            self._load_task = None
            self._reset()
            return
        self._add_rows(rows)
        for experience in new:  # those with no dead end or gotcha: not read again
            self._add(experience.id, experience.agent_id, False, [])

    # -- looking up ----------------------------------------------------------------------

    def candidates(
        self, vector: Sequence[float], viewer: uuid.UUID, floor: float
    ) -> list[uuid.UUID] | None:
        """Experiences not the viewer's with an item at least ``floor`` close to ``vector``
        (a unit vector), nearest first; None when the index cannot answer (not loaded yet,
        or too big): ask PostgreSQL."""
        if self.state != READY:
            if self.state == COLD:
                self.start_loading()
            return None
        size = self._size
        if size == 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        similarity = np.empty(size, dtype=np.float32)
        for start in range(0, size, _BLOCK):
            stop = min(start + _BLOCK, size)
            np.dot(self._matrix[start:stop], query, out=similarity[start:stop])
        rows = np.flatnonzero(similarity >= floor - SLACK)
        if rows.size == 0:
            return []
        mine = self._authors.get(viewer, -1)
        rows = rows[self._live[rows] & (self._author[rows] != mine)]
        rows = rows[np.argsort(-similarity[rows], kind="stable")]
        ordered = dict.fromkeys(int(self._owner[r]) for r in rows)
        return [self._experiences[n] for n in ordered]


def _collect(task: asyncio.Task[None]) -> None:
    """A background load's failure was logged; retrieve it so asyncio does not log it too."""
    if not task.cancelled():
        task.exception()
