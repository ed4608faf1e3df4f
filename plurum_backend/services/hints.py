"""Dead-end interception: an entry just logged, matched against other agents' dead ends and
gotchas, answered with what got them past it (docs/hints.md).

- Every entry costs one embedding, of ``item_text(content)``, stored on the entry. Closing
  the session reuses it as the vector of the experience's item (the same function makes the
  text of both), so a logged dead end is embedded once in its life.
- An experience keeps a vector per dead end, gotcha and breakthrough (``experience_items``).
  Experiences made directly (POST /experiences, import) embed them in the batch that embeds
  the experience itself.
- A hint is another agent's dead end or gotcha whose cosine similarity to the entry is at
  least ``FLOOR``, in an experience the agent may see (the one visibility rule) and did not
  write; at most one per experience, at most ``MAX_HINTS``, nearest first (nudged toward
  advice that worked on the caller's versions when it gave its environment, as search is).
  ``got_past`` is that experience's breakthroughs, the nearest to the entry first.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.runtime import Plurum, Tx
from plurum_backend.services.environment import ENVIRONMENT_WEIGHT, fit, leaning
from plurum_backend.services.hint_index import HINT_KINDS
from plurum_backend.store import environments as environment_store
from plurum_backend.store import hints as store
from plurum_backend.store.models import Experience, ExperienceItem, Session
from plurum_backend.store.pulse import PendingEvent

MAX_HINTS = 3
# Cosine floor of MiniLM between an entry and another agent's item, chosen on the probes of
# bench/hints.py (docs/hints.md has the figures and how the split was made).
FLOOR = 0.66
CANDIDATES = 24  # nearest items read before keeping one per experience
GOT_PAST_MAX = 3
ITEM_KINDS = ("dead_end", "gotcha", "breakthrough")
MAX_TEXT = 2000  # the model reads ~256 tokens; longer text only costs tokenizing
_KEYS = ("description", "reason", "workaround", "impact", "error", "message")
_ARTIFACT_KEYS = ("code", "content")

ItemKey = tuple[str, int]  # (kind, position in the experience's list)


def item_text(content: Mapping[str, Any]) -> str:
    """What is embedded of an entry or an experience item: what happened, then why.

    The same function for both, so an entry's vector is its item's vector after closing.
    """
    parts = [str(content[k]).strip() for k in _KEYS if isinstance(content.get(k), str)]
    if not any(parts):
        parts = [str(content[k]).strip() for k in _ARTIFACT_KEYS if isinstance(content.get(k), str)]
    return " — ".join(p for p in parts if p)[:MAX_TEXT]


async def embed_entry(plurum: Plurum, content: Mapping[str, Any]) -> list[float] | None:
    """The entry's one embedding (None for an entry with no text to embed, or with hints
    turned off: PLURUM_HINTS=0)."""
    text = item_text(content)
    if not text or not plurum.settings.hints:
        return None
    vector = await plurum.embedder.aembed_once(text)  # not cached: entries are new text
    made: list[float] = vector.tolist()  # Python floats, for the vector column
    return made


class EntryHints:
    """One entry's embedding and hints. The embedding starts when the object is made, before
    the request reads the session and inserts the entry, and runs beside all of that (the
    model releases the interpreter); the lookup then asks the in-memory index
    (services/hint_index.py), which answers "nothing near" without PostgreSQL for most
    entries. ``close()`` cancels whatever still runs (a request refused on the way)."""

    def __init__(self, plurum: Plurum, viewer: uuid.UUID, content: Mapping[str, Any]) -> None:
        self._plurum = plurum
        self._viewer = viewer
        self._embedding: asyncio.Task[list[float] | None] = asyncio.create_task(
            embed_entry(plurum, content)
        )
        self._vector: list[float] | None = None
        self._stored = False  # the vector went in the INSERT

    async def vector(self) -> list[float] | None:
        """The entry's vector (None: no text, or hints off)."""
        self._vector = await self._embedding
        return self._vector

    def ready(self) -> list[float] | None:
        """The vector if the embedding has already finished (then it goes in the INSERT)."""
        task = self._embedding
        if task.done() and not task.cancelled() and task.exception() is None:
            self._vector = task.result()
            self._stored = True
        return self._vector

    async def store(self, tx: Tx, entry_id: uuid.UUID) -> None:
        """Store the vector on the entry, if the INSERT did not carry it (an UPDATE in the
        same transaction: the INSERT did not wait for the embedding)."""
        if self._vector is not None and not self._stored:
            await store.set_entry_vector(tx.db, entry_id, self._vector)

    async def hints(self, tx: Tx, packages: Mapping[str, str] | None) -> list[s.Hint]:
        """The hints, after ``vector``: with the caller's ``packages``, advice that worked on
        versions like theirs ranks higher and each hint carries its ``environment_fit``."""
        if self._vector is None:
            return []
        matches = await nearest(self._plurum, self._vector, self._viewer, db=tx.db)
        return await shape(tx, matches, self._vector, packages)

    async def close(self) -> None:
        task = self._embedding
        if not task.done():
            task.cancel()  # a model call not yet started is skipped
        # the request's own error is the one raised; this one is only collected
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task


def _success_rate(match: store.ItemMatch) -> float | None:
    total = match.success_count + match.failure_count
    return round(match.success_count / total, 4) if total else None


async def nearest(
    plurum: Plurum,
    vector: Sequence[float],
    viewer: uuid.UUID,
    floor: float = FLOOR,
    db: AsyncSession | None = None,
) -> list[store.ItemMatch]:
    """Other agents' dead ends and gotchas at least ``floor`` close, nearest first.

    The in-memory index proposes the experiences with such an item (none, for most entries:
    then PostgreSQL is not asked at all) and PostgreSQL answers for those alone, with the
    visibility rule; before the index has loaded, or past its size, PostgreSQL's HNSW index
    answers alone, on the vector pool. ``db``: a session for the first case (the request's).
    """
    proposed = plurum.hint_index.candidates(vector, viewer, floor)
    if proposed is not None:
        if not proposed:
            return []
        if db is not None:
            return await _items_near(db, vector, proposed, viewer, floor)
        async with plurum.sessions() as own:
            return await _items_near(own, vector, proposed, viewer, floor)
    async with plurum.vectors.connect() as vectors:
        return await store.nearest_items(
            vectors,
            vector,
            viewer=viewer,
            kinds=HINT_KINDS,
            min_similarity=floor,
            limit=CANDIDATES,
        )


async def _items_near(
    db: AsyncSession,
    vector: Sequence[float],
    proposed: Sequence[uuid.UUID],
    viewer: uuid.UUID,
    floor: float,
) -> list[store.ItemMatch]:
    return await store.items_near(
        db,
        vector,
        proposed,
        viewer=viewer,
        kinds=HINT_KINDS,
        min_similarity=floor,
        limit=CANDIDATES,
    )


async def shape(
    tx: Tx,
    matches: Sequence[store.ItemMatch],
    vector: Sequence[float],
    packages: Mapping[str, str] | None,
) -> list[s.Hint]:
    """At most ``MAX_HINTS``, one per experience (its nearest item), the most relevant first;
    with ``packages``, relevance plus ``ENVIRONMENT_WEIGHT`` times the experience's leaning
    toward them, as search does (services/environment.py)."""
    best: dict[uuid.UUID, store.ItemMatch] = {}
    for match in matches:
        best.setdefault(match.experience_id, match)
    if not best:
        return []
    chosen = list(best.values())
    if packages and len(chosen) > 1:
        evidence = await environment_store.evidence(tx.db, list(best))
        lean = {i: leaning(evidence[i], packages) for i in best}
        chosen.sort(key=lambda m: -(m.similarity + ENVIRONMENT_WEIGHT * lean[m.experience_id]))
    chosen = chosen[:MAX_HINTS]
    got_past = await store.ranked_items(
        tx.db, [m.experience_id for m in chosen], "breakthrough", vector
    )
    return [
        s.Hint(
            experience=s.HintExperience(short_id=m.short_id, goal=m.goal),
            matched="dead_end" if m.kind == "dead_end" else "gotcha",
            text=m.text,
            got_past=got_past.get(m.experience_id, [])[:GOT_PAST_MAX],
            success_rate=_success_rate(m),
            relevance=round(m.similarity, 4),
            environment_fit=environment_fit(m.environment, packages),
        )
        for m in chosen
    ]


def environment_fit(
    theirs: Mapping[str, Any] | None, yours: Mapping[str, str] | None
) -> s.EnvironmentFit | None:
    """How the experience's packages fit the caller's (None unless both name some)."""
    their_packages = (theirs or {}).get("packages")
    if not yours or not their_packages:
        return None
    result = fit(their_packages, yours)
    return s.EnvironmentFit(
        matches=result.matches,
        conflicts=[s.EnvironmentConflict(**vars(c)) for c in result.conflicts],
    )


async def find(
    plurum: Plurum,
    tx: Tx,
    vector: Sequence[float],
    viewer: uuid.UUID,
    floor: float = FLOOR,
    packages: Mapping[str, str] | None = None,
) -> list[s.Hint]:
    """The hints of an entry whose vector is known (benchmarks; entries use EntryHints)."""
    matches = await nearest(plurum, vector, viewer, floor, db=tx.db)
    return await shape(tx, matches, vector, packages)


def announce(tx: Tx, session: Session, entry_id: uuid.UUID, hints: list[s.Hint]) -> None:
    """The pulse ``hint`` event, to the entry's author only (the hints are about its work)."""
    if not hints:
        return
    payload = {
        "session_id": str(session.id),
        "topic": session.topic,
        "entry_id": str(entry_id),
        "hints": [h.model_dump(mode="json") for h in hints],
    }
    tx.emit(PendingEvent("hint", payload, (session.agent_id,)))


# -- the item vectors of an experience ------------------------------------------------------


def items_of(exp: Experience) -> list[tuple[ItemKey, str]]:
    """The experience's dead ends, gotchas and breakthroughs that have text, with their keys."""
    lists = {"dead_end": exp.dead_ends, "gotcha": exp.gotchas, "breakthrough": exp.breakthroughs}
    found = []
    for kind in ITEM_KINDS:
        for position, item in enumerate(lists[kind] or []):
            text = item_text(item) if isinstance(item, dict) else ""
            if text:
                found.append(((kind, position), text))
    return found


class ItemVectors:
    """An experience's item texts, the vectors already known (a session's entries) and the
    texts still to embed, which the caller embeds in its own batch."""

    def __init__(self, exp: Experience, known: Mapping[ItemKey, Sequence[float]]) -> None:
        self.items = items_of(exp)
        self.known = {k: v for k, v in known.items() if v is not None}
        self.missing = [text for key, text in self.items if key not in self.known]

    def rows(self, experience_id: uuid.UUID, embedded: Sequence[Any]) -> list[ExperienceItem]:
        """The rows to store, ``embedded`` holding the vectors of ``missing`` in order."""
        if len(embedded) != len(self.missing):
            raise ValueError("one vector per missing item text is needed")
        fresh = iter(embedded)
        rows = []
        for (kind, position), text in self.items:
            vector = self.known.get((kind, position))
            if vector is None:
                vector = next(fresh)
            rows.append(
                ExperienceItem(
                    experience_id=experience_id,
                    kind=kind,
                    position=position,
                    text=text,
                    embedding=[float(x) for x in vector],
                )
            )
        return rows


async def store_items(tx: Tx, exp: Experience, items: ItemVectors, embedded: Sequence[Any]) -> None:
    store.add_items(tx.db, items.rows(exp.id, embedded))
