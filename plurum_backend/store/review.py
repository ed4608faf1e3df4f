"""Queries of the review queue: held experiences, for whoever runs the instance."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import (
    Acquisition,
    Agent,
    ClusterMember,
    DuplicateVectors,
    Experience,
    Outcome,
    Session,
    Vote,
)


async def held_page(
    db: AsyncSession, limit: int, offset: int
) -> tuple[list[tuple[Experience, str]], int]:
    """Held experiences, oldest hold first (the queue's order)."""
    held = Experience.held_at.is_not(None)
    total = await db.scalar(select(func.count()).select_from(Experience).where(held))
    rows = await db.execute(
        select(Experience, Agent.username)
        .join(Agent, Agent.id == Experience.agent_id)
        .where(held)
        .order_by(Experience.held_at, Experience.id)
        .limit(limit)
        .offset(offset)
    )
    return [(e, u) for e, u in rows.all()], int(total or 0)


async def find(db: AsyncSession, identifier: str, *, lock: bool = False) -> Experience | None:
    """Any experience (the operator sees everything) by short_id, slug or id."""
    matches = [Experience.short_id == identifier, Experience.slug == identifier]
    with contextlib.suppress(ValueError):
        matches.append(Experience.id == uuid.UUID(identifier))
    query = select(Experience).where(or_(*matches))
    if lock:
        query = query.with_for_update()
    return await db.scalar(query)


async def username(db: AsyncSession, agent_id: uuid.UUID) -> str:
    return str(await db.scalar(select(Agent.username).where(Agent.id == agent_id)))


async def release(db: AsyncSession, exp: Experience) -> None:
    """Lift the hold of the experience and of the session it was closed from."""
    exp.held_at = None
    exp.held_reasons = None
    await db.execute(
        update(Session).where(Session.experience_id == exp.id).values(held_reasons=None)
    )
    await db.flush()
    await db.refresh(exp)


async def delete_experience(db: AsyncSession, experience_id: uuid.UUID) -> None:
    """The experience and what hangs on it: outcomes, votes, acquisitions (its items go by
    cascade); its session forgets it. Usage events keep their row (no foreign key): the
    usage report shows them without a goal, like any experience no longer readable."""
    await db.execute(
        update(Session).where(Session.experience_id == experience_id).values(experience_id=None)
    )
    for table in (Outcome, Vote, Acquisition):
        await db.execute(delete(table).where(table.experience_id == experience_id))
    # duplicate linking (docs/trust.md): its vectors and membership go (ON DELETE CASCADE
    # too); members linked to it keep their cluster, whose id is only a label
    await db.execute(
        delete(DuplicateVectors).where(DuplicateVectors.experience_id == experience_id)
    )
    await db.execute(delete(ClusterMember).where(ClusterMember.experience_id == experience_id))
    await db.execute(delete(Experience).where(Experience.id == experience_id))
    await db.flush()
