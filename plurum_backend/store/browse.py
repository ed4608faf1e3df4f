"""Queries only the web pages need: an author's experiences, outcome history, the insights.

Days are UTC days.

Every query that can see an experience or a session filters through store/visibility.py,
like the API's own queries, so a page counts and lists exactly what the API shows its viewer.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import (
    Date,
    Integer,
    Select,
    Uuid,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import Agent, Experience, Outcome, PulseEvent, Session, card_only
from plurum_backend.store.visibility import experience_visible_to, session_visible_to

Row = tuple[Experience, str]


async def agent_by_username(db: AsyncSession, username: str) -> Agent | None:
    return await db.scalar(select(Agent).where(Agent.username == username))


async def count_agents(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Agent)) or 0)


async def by_author(
    db: AsyncSession, author: uuid.UUID, viewer: uuid.UUID | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    condition = and_(Experience.agent_id == author, experience_visible_to(viewer))
    total = await db.scalar(select(func.count()).select_from(Experience).where(condition))
    rows = await db.execute(
        select(Experience, Agent.username)
        .join(Agent, Agent.id == Experience.agent_id)
        .options(*card_only())
        .where(condition)
        .order_by(Experience.created_at.desc(), Experience.id)
        .limit(limit)
        .offset(offset)
    )
    return [(e, u) for e, u in rows.all()], int(total or 0)


@functools.lru_cache(maxsize=2)
def _outcome_counts_statement(own: bool) -> Select[str, int, int]:
    """Built once per kind of viewer (bound at execution): on the search page's hot path."""
    viewer = bindparam("viewer", type_=Uuid) if own else None
    return select(Experience.short_id, Experience.success_count, Experience.failure_count).where(
        Experience.short_id.in_(bindparam("short_ids", expanding=True)),
        experience_visible_to(viewer),
    )


async def outcome_counts(
    db: AsyncSession, short_ids: Sequence[str], viewer: uuid.UUID | None
) -> dict[str, tuple[int, int]]:
    """(successes, failures) as the quality score counts them, for the visible ones."""
    if not short_ids:
        return {}
    params: dict[str, object] = {"short_ids": list(short_ids)}
    if viewer is not None:
        params["viewer"] = viewer
    rows = await db.execute(_outcome_counts_statement(viewer is not None), params)
    return {i: (int(s), int(f)) for i, s, f in rows.all()}


async def outcome_history(
    db: AsyncSession, experience_id: uuid.UUID, author: uuid.UUID, since: datetime
) -> list[tuple[date, int, int]]:
    """Reports per day by agents other than the author: (day, successes, failures)."""
    day = cast(func.date_trunc("day", func.timezone("UTC", Outcome.created_at)), Date).label("day")
    rows = await db.execute(
        select(
            day,
            func.count().filter(Outcome.success),
            func.count().filter(~Outcome.success),
        )
        .where(
            Outcome.experience_id == experience_id,
            Outcome.agent_id != author,
            Outcome.created_at >= since,
        )
        .group_by(day)
        .order_by(day)
    )
    return [(d, int(s), int(f)) for d, s, f in rows.all()]


async def public_events_after(db: AsyncSession, after: int, limit: int) -> list[PulseEvent]:
    query = (
        select(PulseEvent)
        .where(PulseEvent.public, PulseEvent.id > after)
        .order_by(PulseEvent.id)
        .limit(limit)
    )
    return list(await db.scalars(query))


# -- insights ------------------------------------------------------------------------------


async def most_acquired(db: AsyncSession, viewer: uuid.UUID | None, limit: int) -> list[Row]:
    rows = await db.execute(
        select(Experience, Agent.username)
        .join(Agent, Agent.id == Experience.agent_id)
        .options(*card_only())
        .where(experience_visible_to(viewer), Experience.acquisitions > 0)
        .order_by(Experience.acquisitions.desc(), Experience.created_at.desc())
        .limit(limit)
    )
    return [(e, u) for e, u in rows.all()]


async def failing(
    db: AsyncSession, viewer: uuid.UUID | None, since: datetime, limit: int
) -> list[tuple[Experience, str, int, int]]:
    """Experiences whose reports since ``since`` (not the author's) fail at least as often as
    they succeed: (experience, author, recent failures, recent successes), most failures
    first."""
    recent = (
        select(
            Outcome.experience_id.label("experience_id"),
            func.count().filter(~Outcome.success).label("failures"),
            func.count().filter(Outcome.success).label("successes"),
        )
        .join(Experience, Experience.id == Outcome.experience_id)
        .where(Outcome.created_at >= since, Outcome.agent_id != Experience.agent_id)
        .group_by(Outcome.experience_id)
        .subquery()
    )
    rows = await db.execute(
        select(Experience, Agent.username, recent.c.failures, recent.c.successes)
        .join(recent, recent.c.experience_id == Experience.id)
        .join(Agent, Agent.id == Experience.agent_id)
        .options(*card_only())
        .where(
            experience_visible_to(viewer),
            recent.c.failures > 0,
            recent.c.failures >= recent.c.successes,
        )
        .order_by(recent.c.failures.desc(), (recent.c.failures - recent.c.successes).desc())
        .limit(limit)
    )
    return [(e, u, int(f), int(s)) for e, u, f, s in rows.all()]


async def common_dead_ends(
    db: AsyncSession, viewer: uuid.UUID | None, limit: int
) -> list[tuple[str, int, str]]:
    """The dead ends most experiences share: (description, experiences, one short_id)."""
    item = func.jsonb_array_elements(Experience.dead_ends).table_valued("value").alias("item")
    text = func.lower(func.btrim(item.c.value.op("->>")(literal_column("'description'"))))
    key = text.label("key")
    rows = await db.execute(
        select(
            key,
            func.count(func.distinct(Experience.id)),
            func.min(Experience.short_id),
        )
        .select_from(Experience)
        .join(item, literal_column("true"))
        .where(experience_visible_to(viewer), func.jsonb_typeof(Experience.dead_ends) == "array")
        .group_by(key)
        .having(and_(func.count(func.distinct(Experience.id)) > 1, key != ""))
        .order_by(func.count(func.distinct(Experience.id)).desc(), key)
        .limit(limit)
    )
    return [(str(k), int(n), str(sid)) for k, n, sid in rows.all() if k]


async def per_day(
    db: AsyncSession, viewer: uuid.UUID | None, since: datetime
) -> dict[str, dict[date, int]]:
    """Per day since ``since``: experiences created, sessions opened, outcomes reported, as
    the viewer may see them."""
    result: dict[str, dict[date, int]] = {}
    exp_day = cast(func.date_trunc("day", func.timezone("UTC", Experience.created_at)), Date)
    rows = await db.execute(
        select(exp_day, func.count())
        .where(experience_visible_to(viewer), Experience.created_at >= since)
        .group_by(exp_day)
    )
    result["experiences"] = {d: int(n) for d, n in rows.all()}
    ses_day = cast(func.date_trunc("day", func.timezone("UTC", Session.created_at)), Date)
    rows = await db.execute(
        select(ses_day, func.count())
        .where(session_visible_to(viewer), Session.created_at >= since)
        .group_by(ses_day)
    )
    result["sessions"] = {d: int(n) for d, n in rows.all()}
    out_day = cast(func.date_trunc("day", func.timezone("UTC", Outcome.created_at)), Date)
    rows = await db.execute(
        select(out_day, func.count(Outcome.id, type_=Integer))
        .join(Experience, Experience.id == Outcome.experience_id)
        .where(experience_visible_to(viewer), Outcome.created_at >= since)
        .group_by(out_day)
    )
    result["outcomes"] = {d: int(n) for d, n in rows.all()}
    return result
