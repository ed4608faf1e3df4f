"""The usage log's queries: append an event, prune old ones, and what ``plurum usage`` reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, String, case, cast, delete, func, insert, or_, select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import Agent, Experience, UsageEvent
from plurum_backend.store.visibility import experience_visible_to

E = UsageEvent


_INSERT = insert(UsageEvent.__table__)  # type: ignore[arg-type]


async def add(db: AsyncSession, values: dict[str, Any]) -> None:
    """Append one event in a savepoint of the caller's transaction; a failure rolls back the
    savepoint only. Core rather than the ORM session's nested transaction and statement
    building: every search and write logs one, and that cost about 1 ms each."""
    await db.flush()  # what the session's own savepoint did first: rows it references exist
    conn = await db.connection()
    async with conn.begin_nested():
        await conn.execute(_INSERT, values)


async def add_many_unflushed(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append many events in one statement, in a transaction that does not wait for its WAL
    flush at commit (telemetry: see services.usage.SearchLog)."""
    await db.execute(sql("SET LOCAL synchronous_commit TO off"))
    await db.execute(insert(UsageEvent), rows)


async def prune(db: AsyncSession, before: datetime) -> int:
    result = await db.execute(delete(UsageEvent).where(UsageEvent.created_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def counts_by_kind(db: AsyncSession, since: datetime) -> dict[str, int]:
    rows = await db.execute(
        select(E.kind, func.count()).where(E.created_at >= since).group_by(E.kind)
    )
    return {kind: int(n) for kind, n in rows}


async def active_agents(db: AsyncSession, since: datetime) -> int:
    found = await db.scalar(
        select(func.count(func.distinct(E.agent_id))).where(E.created_at >= since)
    )
    return int(found or 0)


async def search_stats(db: AsyncSession, since: datetime) -> dict[str, Any]:
    row = (
        await db.execute(
            select(
                func.count(),
                func.count().filter(E.result_count == 0),
                func.avg(cast(E.result_count, Float)),
                func.avg(E.best_similarity),
                func.avg(E.best_score),
                func.count(E.query),
                func.count(func.distinct(E.agent_id)),
                func.count().filter(E.agent_id.is_(None)),
                func.avg(E.best_relevance),
            ).where(E.kind == "search", E.created_at >= since)
        )
    ).one()
    return {
        "searches": int(row[0]),
        "without_results": int(row[1]),
        "mean_results": None if row[2] is None else float(row[2]),
        "mean_best_similarity": None if row[3] is None else float(row[3]),
        "mean_best_score": None if row[4] is None else float(row[4]),
        "with_query_text": int(row[5]),
        "searching_agents": int(row[6]),
        "anonymous": int(row[7]),
        "mean_best_relevance": None if row[8] is None else float(row[8]),
    }


async def top_queries(
    db: AsyncSession,
    since: datetime,
    limit: int,
    *,
    unanswered: bool,
    shared_by: int = 1,
    viewer: uuid.UUID | None = None,
) -> list[tuple[str, int, float]]:
    """The most frequent recorded queries (lower-cased, trimmed): (query, times, mean results).

    ``unanswered``: only searches that returned nothing — what agents look for and lack.
    ``shared_by``: only queries asked by at least that many different askers (each agent is
    one, anonymous searches together are one), except those ``viewer`` asked itself: one
    agent's query text, which may name its private work, is never shown to anyone else.
    """
    text = func.lower(func.btrim(E.query))
    conditions = [E.kind == "search", E.created_at >= since, E.query.is_not(None)]
    if unanswered:
        conditions.append(E.result_count == 0)
    asker = func.coalesce(cast(E.agent_id, String), "anonymous")
    shared = func.count(func.distinct(asker)) >= shared_by
    asked_it = func.bool_or(E.agent_id == viewer) if viewer is not None else None
    rows = await db.execute(
        select(text, func.count(), func.avg(cast(E.result_count, Float)))
        .where(*conditions)
        .group_by(text)
        .having(shared if asked_it is None else or_(shared, asked_it))
        .order_by(func.count().desc(), text)
        .limit(limit)
    )
    return [(str(q), int(n), float(mean or 0.0)) for q, n, mean in rows]


async def grouped(db: AsyncSession, since: datetime, kind: str, column: Any) -> dict[str, int]:
    """Events of one kind counted by one of their columns (acquisition mode, outcome, vote)."""
    rows = await db.execute(
        select(column, func.count()).where(E.kind == kind, E.created_at >= since).group_by(column)
    )
    return {str(value): int(n) for value, n in rows}


async def top_experiences(
    db: AsyncSession, since: datetime, kind: str, limit: int
) -> list[tuple[str | None, str | None, int]]:
    """(short_id, goal, events) for the experiences with the most events of ``kind``; the goal
    only of what anyone may read (public and published): private text never leaves here."""
    shared = experience_visible_to(None)
    ranked = (
        select(E.experience_id, func.count().label("n"))
        .where(E.kind == kind, E.created_at >= since, E.experience_id.is_not(None))
        .group_by(E.experience_id)
        .order_by(func.count().desc(), E.experience_id)
        .limit(limit)
        .subquery()
    )
    rows = await db.execute(
        select(Experience.short_id, case((shared, Experience.goal), else_=None), ranked.c.n)
        .select_from(ranked)
        .outerjoin(Experience, Experience.id == ranked.c.experience_id)
        .order_by(ranked.c.n.desc(), Experience.short_id)
    )
    return [(short, goal, int(n)) for short, goal, n in rows]


async def per_day(db: AsyncSession, since: datetime) -> list[tuple[date, str, int]]:
    """Events per UTC day and kind, oldest first (what a chart draws)."""
    day = cast(func.timezone("UTC", E.created_at), Date)
    rows = await db.execute(
        select(day, E.kind, func.count())
        .where(E.created_at >= since)
        .group_by(day, E.kind)
        .order_by(day, E.kind)
    )
    return [(d, kind, int(n)) for d, kind, n in rows]


async def recent(db: AsyncSession, limit: int, kind: str | None = None) -> list[dict[str, Any]]:
    """The newest events, with the agent's username and the experience's short_id."""
    query = (
        select(
            E.created_at,
            E.kind,
            Agent.username,
            Experience.short_id,
            E.query,
            E.result_count,
            E.best_score,
            E.best_similarity,
            E.best_relevance,
            E.mode,
            E.success,
            E.vote,
        )
        .outerjoin(Agent, Agent.id == E.agent_id)
        .outerjoin(Experience, Experience.id == E.experience_id)
        .order_by(E.created_at.desc(), E.id.desc())
        .limit(limit)
    )
    if kind is not None:
        query = query.where(E.kind == kind)
    rows = await db.execute(query)
    return [dict(row._mapping) for row in rows]


async def oldest(db: AsyncSession) -> datetime | None:
    found: datetime | None = await db.scalar(select(func.min(E.created_at)))
    return found
