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
  write; at most one per experience, at most ``MAX_HINTS``, nearest first. ``got_past`` is
  that experience's breakthroughs, the nearest to the entry first.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from plurum_backend import schemas as s
from plurum_backend.runtime import Plurum, Tx
from plurum_backend.store import hints as store
from plurum_backend.store.models import Experience, ExperienceItem, Session
from plurum_backend.store.pulse import PendingEvent

MAX_HINTS = 3
# Cosine floor of MiniLM between an entry and another agent's item, chosen on the probes of
# bench/hints.py (docs/hints.md has the figures and how the split was made).
FLOOR = 0.66
CANDIDATES = 24  # nearest items read before keeping one per experience
GOT_PAST_MAX = 3
HINT_KINDS = ("dead_end", "gotcha")
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
    """The entry's one embedding (None for an entry with no text to embed)."""
    text = item_text(content)
    if not text:
        return None
    vector = await plurum.embedder.aembed_query(text)
    return [float(x) for x in vector]


def _success_rate(match: store.ItemMatch) -> float | None:
    total = match.success_count + match.failure_count
    return round(match.success_count / total, 4) if total else None


async def find(
    plurum: Plurum, tx: Tx, vector: Sequence[float], viewer: uuid.UUID, floor: float = FLOOR
) -> list[s.Hint]:
    async with plurum.vectors.connect() as vectors:
        matches = await store.nearest_items(
            vectors,
            vector,
            viewer=viewer,
            kinds=HINT_KINDS,
            min_similarity=floor,
            limit=CANDIDATES,
        )
    best: dict[uuid.UUID, store.ItemMatch] = {}
    for match in matches:
        if match.experience_id not in best:
            best[match.experience_id] = match
        if len(best) == MAX_HINTS:
            break
    if not best:
        return []
    got_past = await store.ranked_items(tx.db, list(best), "breakthrough", vector)
    return [
        s.Hint(
            experience=s.HintExperience(short_id=m.short_id, goal=m.goal),
            matched="dead_end" if m.kind == "dead_end" else "gotcha",
            text=m.text,
            got_past=got_past.get(m.experience_id, [])[:GOT_PAST_MAX],
            success_rate=_success_rate(m),
            relevance=round(m.similarity, 4),
        )
        for m in best.values()
    ]


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
