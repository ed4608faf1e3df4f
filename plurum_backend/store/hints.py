"""Queries of hints: experience item vectors, nearest dead ends / gotchas, ranked breakthroughs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from plurum_backend.store.models import Entry, Experience, ExperienceItem
from plurum_backend.store.visibility import experience_discoverable_by

NEAREST_SCAN = 200
# what a hint shows of the experience, in the order ``_matches`` reads them
_MATCH_COLUMNS_OF_EXPERIENCE = (
    Experience.id,
    Experience.short_id,
    Experience.goal,
    Experience.agent_id,
    Experience.success_count,
    Experience.failure_count,
    Experience.environment,
)


@dataclass(frozen=True)
class ItemMatch:
    """One of another agent's items near an entry, with what a hint shows of its experience."""

    experience_id: uuid.UUID
    short_id: str
    goal: str
    author_id: uuid.UUID
    success_count: int
    failure_count: int
    kind: str
    position: int
    text: str
    similarity: float
    environment: dict[str, Any] | None  # the experience's (its author's session's)


async def set_entry_vector(db: AsyncSession, entry_id: uuid.UUID, vector: Sequence[float]) -> None:
    """Store an entry's embedding, computed while the entry was being inserted."""
    statement = update(Entry).where(Entry.id == entry_id).values(embedding=vector)
    await db.execute(statement.execution_options(synchronize_session=False))


def add_items(db: AsyncSession, items: Sequence[ExperienceItem]) -> None:
    """A new experience's items (an experience's lists never change after it is stored)."""
    db.add_all(items)


async def nearest_items(
    vectors: AsyncConnection,
    embedding: Sequence[float],
    *,
    viewer: uuid.UUID,
    kinds: Sequence[str],
    min_similarity: float,
    limit: int,
) -> list[ItemMatch]:
    """Items of ``kinds`` nearest to ``embedding`` (HNSW), of experiences the viewer may
    discover (the rule of search: readable, not archived, not quarantined) and did not
    write, at least ``min_similarity`` (cosine) close, nearest first.

    ``vectors`` is a connection of ``database.vector_engine`` (iterative index scans, so the
    kind filter does not starve the walk). Only the ``NEAREST_SCAN`` nearest items are
    considered: an experience is missed only when that many nearer items are the viewer's
    own or hidden from it.
    """
    # The nearest items first, by the HNSW index alone; then who may see them. Joined in one
    # scan, the planner walks every visible experience's items once the table is large.
    distance = ExperienceItem.embedding.cosine_distance(embedding).label("distance")
    near = (
        select(
            ExperienceItem.experience_id,
            ExperienceItem.kind,
            ExperienceItem.position,
            ExperienceItem.text,
            distance,
        )
        .where(ExperienceItem.kind.in_(list(kinds)))
        .order_by(distance)
        .limit(NEAREST_SCAN)
        .subquery()
    )
    rows = await vectors.execute(
        select(
            *_MATCH_COLUMNS_OF_EXPERIENCE,
            near.c.kind,
            near.c.position,
            near.c.text,
            near.c.distance,
        )
        .join(Experience, Experience.id == near.c.experience_id)
        .where(
            and_(
                experience_discoverable_by(viewer),
                Experience.agent_id != viewer,
                # outside the subquery: its LIMIT bounds the index walk (see below), and an
                # entry with nothing near (most entries) gets no row back at all
                near.c.distance <= 1.0 - min_similarity,
            )
        )
        .order_by(near.c.distance)
        .limit(limit)
    )
    # The floor is not in the subquery: with a distance condition there, an iterative index
    # scan that finds nothing near (most entries) walks on to hnsw.max_scan_tuples.
    return _matches(rows.all(), min_similarity)


async def items_near(
    db: AsyncSession,
    embedding: Sequence[float],
    experience_ids: Sequence[uuid.UUID],
    *,
    viewer: uuid.UUID,
    kinds: Sequence[str],
    min_similarity: float,
    limit: int,
) -> list[ItemMatch]:
    """The same answer as ``nearest_items``, among the items of ``experience_ids`` only (the
    in-memory scan's candidates, services/hint_index.py): every item of ``kinds`` of those
    experiences that the viewer may discover and did not write, at least ``min_similarity``
    close, nearest first. Exact: no index walk (there is no ORDER BY on the distance)."""
    if not experience_ids:
        return []
    distance = ExperienceItem.embedding.cosine_distance(embedding).label("distance")
    rows = await db.execute(
        select(
            *_MATCH_COLUMNS_OF_EXPERIENCE,
            ExperienceItem.kind,
            ExperienceItem.position,
            ExperienceItem.text,
            distance,
        )
        .join(Experience, Experience.id == ExperienceItem.experience_id)
        .where(
            ExperienceItem.experience_id.in_(list(experience_ids)),
            ExperienceItem.kind.in_(list(kinds)),
            experience_discoverable_by(viewer),
            Experience.agent_id != viewer,
        )
    )
    return _matches(rows.all(), min_similarity)[:limit]


def _matches(rows: Sequence[Any], min_similarity: float) -> list[ItemMatch]:
    found = [
        ItemMatch(
            experience_id=r[0],
            short_id=r[1],
            goal=r[2],
            author_id=r[3],
            success_count=int(r[4]),
            failure_count=int(r[5]),
            environment=r[6],
            kind=r[7],
            position=int(r[8]),
            text=r[9],
            similarity=1.0 - float(r[10]),
        )
        for r in rows
    ]
    # Relaxed-order iterative scans may return a few rows out of order: sort them.
    return sorted((m for m in found if m.similarity >= min_similarity), key=lambda m: -m.similarity)


async def hint_item_count(db: AsyncSession, kinds: Sequence[str]) -> int:
    """How many items of ``kinds`` there are, of any experience."""
    query = select(func.count()).select_from(ExperienceItem)
    return int(await db.scalar(query.where(ExperienceItem.kind.in_(list(kinds)))) or 0)


async def hint_item_vectors(
    db: AsyncSession, kinds: Sequence[str], experience_ids: Sequence[uuid.UUID] | None = None
) -> list[tuple[uuid.UUID, uuid.UUID, bool, Any]]:
    """(experience, its author, whether anyone may discover it, vector) of every item of
    ``kinds`` with a vector, of every experience or of ``experience_ids``, grouped by
    experience. "Anyone may discover it" is the rule of search for other agents
    (``experience_discoverable_by``); its author's own view does not matter to hints."""
    shared = experience_discoverable_by(None).label("shared")
    query = (
        select(ExperienceItem.experience_id, Experience.agent_id, shared, ExperienceItem.embedding)
        .join(Experience, Experience.id == ExperienceItem.experience_id)
        .where(ExperienceItem.kind.in_(list(kinds)), ExperienceItem.embedding.is_not(None))
        .order_by(ExperienceItem.experience_id)
    )
    if experience_ids is not None:
        query = query.where(ExperienceItem.experience_id.in_(list(experience_ids)))
    return [(r[0], r[1], bool(r[2]), r[3]) for r in (await db.execute(query)).all()]


async def ranked_items(
    db: AsyncSession,
    experience_ids: Sequence[uuid.UUID],
    kind: str,
    embedding: Sequence[float],
) -> dict[uuid.UUID, list[str]]:
    """Each experience's items of ``kind``, nearest to ``embedding`` first."""
    if not experience_ids:
        return {}
    distance = ExperienceItem.embedding.cosine_distance(embedding)
    rows = await db.execute(
        select(ExperienceItem.experience_id, ExperienceItem.text)
        .where(ExperienceItem.experience_id.in_(list(experience_ids)), ExperienceItem.kind == kind)
        .order_by(ExperienceItem.experience_id, distance, ExperienceItem.position)
    )
    ranked: dict[uuid.UUID, list[str]] = {i: [] for i in experience_ids}
    for experience_id, text in rows.all():
        ranked[experience_id].append(text)
    return ranked
