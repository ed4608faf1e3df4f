"""Queries about agents, their keys and their activity counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from plurum_backend.store.models import (
    Acquisition,
    Agent,
    Contribution,
    Entry,
    Experience,
    Outcome,
    Session,
    Vote,
)
from plurum_backend.store.visibility import not_held, session_visible_to


async def by_key_hash(db: AsyncSession, key_hash: str) -> Agent | None:
    return await db.scalar(select(Agent).where(Agent.key_hash == key_hash))


async def by_id(db: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    return await db.get(Agent, agent_id)


async def username_taken(db: AsyncSession, username: str) -> bool:
    return await db.scalar(select(Agent.id).where(Agent.username == username)) is not None


async def usernames_taken(db: AsyncSession, names: list[str]) -> set[str]:
    rows = await db.scalars(select(Agent.username).where(Agent.username.in_(names)))
    return set(rows.all())


LAST_USED_GRANULARITY = timedelta(minutes=1)


async def touch_last_used(db: AsyncSession, agent: Agent) -> None:
    """Record a use, at most once a minute per agent.

    Writing on every request would lock the agent's row until each request commits, and so
    serialize an agent's concurrent requests (a bulk loader, a busy MCP host) on it.
    """
    now = datetime.now(UTC)
    if agent.last_used_at is not None and now - agent.last_used_at < LAST_USED_GRANULARITY:
        return
    stale = or_(Agent.last_used_at.is_(None), Agent.last_used_at < now - LAST_USED_GRANULARITY)
    touched = await db.scalar(
        update(Agent)
        .where(Agent.id == agent.id, stale)
        .values(last_used_at=now)
        .returning(Agent.last_used_at)
        .execution_options(synchronize_session=False)
    )
    if touched is not None:
        set_committed_value(agent, "last_used_at", touched)


async def _count(db: AsyncSession, query: object) -> int:
    return int(await db.scalar(query) or 0)  # type: ignore[call-overload]


async def stats(db: AsyncSession, agent_id: uuid.UUID, public_only: bool) -> dict[str, int]:
    """Activity counts; ``public_only`` hides work done in private (what others may see)."""
    sessions = select(func.count()).select_from(Session).where(Session.agent_id == agent_id)
    experiences = (
        select(func.count())
        .select_from(Experience)
        .where(Experience.agent_id == agent_id, Experience.status == "published")
    )
    entries = (
        select(func.count())
        .select_from(Entry)
        .join(Session, Session.id == Entry.session_id)
        .where(Session.agent_id == agent_id)
    )
    if public_only:
        sessions = sessions.where(session_visible_to(None))
        experiences = experiences.where(Experience.visibility == "public", not_held())
        entries = entries.where(session_visible_to(None))
    own_experience = select(Experience.id).where(Experience.visibility == "public", not_held())
    outcomes = select(func.count()).select_from(Outcome).where(Outcome.agent_id == agent_id)
    votes = select(func.count()).select_from(Vote).where(Vote.agent_id == agent_id)
    if public_only:
        outcomes = outcomes.where(Outcome.experience_id.in_(own_experience))
        votes = votes.where(Vote.experience_id.in_(own_experience))
    return {
        "sessions_opened": await _count(db, sessions),
        "sessions_closed": await _count(db, sessions.where(Session.status == "closed")),
        "experiences_published": await _count(db, experiences),
        "entries_logged": await _count(db, entries),
        "contributions_made": await _count(
            db,
            select(func.count()).select_from(Contribution).where(Contribution.agent_id == agent_id),
        ),
        "outcomes_reported": await _count(db, outcomes),
        "votes_cast": await _count(db, votes),
    }


async def impact(db: AsyncSession, agent_id: uuid.UUID) -> dict[str, object]:
    """What others did with this agent's public, published experiences."""
    mine = select(Experience.id).where(
        Experience.agent_id == agent_id,
        Experience.visibility == "public",
        Experience.status == "published",
        not_held(),
    )
    by_others = (
        select(func.count())
        .select_from(Acquisition)
        .where(Acquisition.experience_id.in_(mine), Acquisition.agent_id != agent_id)
    )
    outcome_counts = (
        select(Outcome.success, func.count())
        .where(Outcome.experience_id.in_(mine), Outcome.agent_id != agent_id)
        .group_by(Outcome.success)
    )
    counts = {bool(s): int(n) for s, n in (await db.execute(outcome_counts)).all()}
    upvotes = (
        select(func.count())
        .select_from(Vote)
        .where(Vote.experience_id.in_(mine), Vote.vote_type == "up")
    )
    mean = await db.scalar(
        select(func.avg(Experience.quality_score)).where(Experience.id.in_(mine))
    )
    return {
        "acquisitions_by_others": await _count(db, by_others),
        "outcome_successes_by_others": counts.get(True, 0),
        "outcome_failures_by_others": counts.get(False, 0),
        "upvotes_received": await _count(db, upvotes),
        "mean_quality_score": None if mean is None else round(float(mean), 4),
    }
