"""Queries about sessions, their entries and contributions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import Agent, Contribution, Entry, Session
from plurum_backend.store.visibility import session_visible_to


async def visible(
    db: AsyncSession, session_id: uuid.UUID, viewer: uuid.UUID | None, *, lock: bool = False
) -> Session | None:
    query = select(Session).where(Session.id == session_id, session_visible_to(viewer))
    if lock:
        query = query.with_for_update()
    return await db.scalar(query)


async def usernames(db: AsyncSession, agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not agent_ids:
        return {}
    rows = await db.execute(select(Agent.id, Agent.username).where(Agent.id.in_(set(agent_ids))))
    return {i: u for i, u in rows.all()}


async def page(
    db: AsyncSession,
    *,
    owner: uuid.UUID | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Session], int]:
    """The owner's own sessions (any visibility), or everyone's public ones."""
    condition = Session.agent_id == owner if owner is not None else session_visible_to(None)
    query = select(Session).where(condition)
    if status is not None:
        query = query.where(Session.status == status)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(
        query.order_by(Session.created_at.desc(), Session.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def entries(db: AsyncSession, session_id: uuid.UUID) -> list[Entry]:
    rows = await db.scalars(select(Entry).where(Entry.session_id == session_id).order_by(Entry.seq))
    return list(rows)


async def entry_count(db: AsyncSession, session_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(Entry).where(Entry.session_id == session_id)
    return int(await db.scalar(query) or 0)


async def contributions(
    db: AsyncSession, session_id: uuid.UUID, limit: int = 100, offset: int = 0
) -> tuple[list[Contribution], int]:
    query = select(Contribution).where(Contribution.session_id == session_id)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(
        query.order_by(Contribution.created_at, Contribution.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def similar_open(
    db: AsyncSession,
    embedding: Sequence[float],
    *,
    exclude_agent: uuid.UUID,
    exclude_session: uuid.UUID,
    min_similarity: float,
    limit: int,
) -> list[tuple[Session, float]]:
    """Other agents' open public sessions nearest to ``embedding``."""
    distance = Session.embedding.cosine_distance(embedding)
    rows = await db.execute(
        select(Session, (1 - distance).label("similarity"))
        .where(
            Session.status == "open",
            session_visible_to(None),
            Session.agent_id != exclude_agent,
            Session.id != exclude_session,
            Session.embedding.is_not(None),
            distance <= 1 - min_similarity,
        )
        .order_by(distance)
        .limit(limit)
    )
    return [(s, float(sim)) for s, sim in rows.all()]
