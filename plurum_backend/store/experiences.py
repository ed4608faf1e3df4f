"""Queries about experiences, outcomes, votes and the two retrievals of hybrid search."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Dialect,
    Float,
    Integer,
    Select,
    Text,
    Uuid,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from plurum_backend.store.models import Agent, Experience, Outcome, Vote, card_only
from plurum_backend.store.visibility import (
    experience_discoverable_by,
    experience_listed_for,
    experience_visible_to,
)


def _by_identifier(identifier: str) -> Select[Experience, str]:
    """By short_id or slug, or by the ``id`` a create answered with."""
    matches = [Experience.short_id == identifier, Experience.slug == identifier]
    with contextlib.suppress(ValueError):
        matches.append(Experience.id == uuid.UUID(identifier))
    return (
        select(Experience, Agent.username)
        .join(Agent, Agent.id == Experience.agent_id)
        .where(or_(*matches))
    )


async def visible(
    db: AsyncSession, identifier: str, viewer: uuid.UUID | None, *, lock: bool = False
) -> tuple[Experience, str] | None:
    query = _by_identifier(identifier).where(experience_visible_to(viewer))
    if lock:
        query = query.with_for_update(of=Experience)
    row = (await db.execute(query)).first()
    return (row[0], row[1]) if row else None


async def short_id_or_slug_taken(db: AsyncSession, short_id: str, slug: str) -> tuple[bool, bool]:
    rows = await db.execute(
        select(Experience.short_id, Experience.slug).where(
            or_(Experience.short_id == short_id, Experience.slug == slug)
        )
    )
    found = rows.all()
    return any(r[0] == short_id for r in found), any(r[1] == slug for r in found)


@functools.lru_cache(maxsize=8)
def _with_authors_statement(own: bool, discover: bool) -> Select[Experience, str]:
    """with_authors' SELECT for one combination of rules, built once: building the
    visibility expressions and the loader options anew cost about 1 ms a call, more than
    PostgreSQL takes to answer it. ``ids`` and ``viewer`` are bound at execution."""
    viewer = bindparam("viewer", type_=Uuid) if own else None
    rule = experience_discoverable_by(viewer) if discover else experience_visible_to(viewer)
    return (
        select(Experience, Agent.username)
        .join(Agent, Agent.id == Experience.agent_id)
        .options(*card_only())
        .where(Experience.id.in_(bindparam("ids", type_=Uuid, expanding=True)), rule)
    )


async def with_authors(
    db: AsyncSession,
    ids: Sequence[uuid.UUID],
    viewer: uuid.UUID | None,
    *,
    discover: bool = True,
) -> dict[uuid.UUID, tuple[Experience, str]]:
    """The visible ones among ``ids``, loaded for a card (search hits, similar, a session's).

    ``discover``: the rule of search results (no archived or quarantined experience);
    otherwise the rule of a read by identifier (a closed session's own experience).

    A card shows the goal, the counts and a snippet of the context or first breakthrough, so
    the vector and the other item lists (dead ends, gotchas, artifacts with their code) stay
    in the database; touching them on these objects raises instead of loading lazily.
    """
    if not ids:
        return {}
    statement = _with_authors_statement(viewer is not None, discover)
    params: dict[str, Any] = {"ids": list(ids)}
    if viewer is not None:
        params["viewer"] = viewer
    rows = await db.execute(statement, params)
    return {e.id: (e, u) for e, u in rows.all()}


async def page(
    db: AsyncSession,
    viewer: uuid.UUID | None,
    tags: Sequence[str],
    limit: int,
    offset: int,
    include_archived: bool = False,
) -> tuple[list[tuple[Experience, str]], int]:
    conditions = [experience_listed_for(viewer, include_archived)]
    if tags:
        conditions.append(Experience.tags.contains(list(tags)))
    total = await db.scalar(select(func.count()).select_from(Experience).where(and_(*conditions)))
    rows = await db.execute(
        select(Experience, Agent.username)
        .join(Agent, Agent.id == Experience.agent_id)
        .where(and_(*conditions))
        .order_by(Experience.created_at.desc(), Experience.id)
        .limit(limit)
        .offset(offset)
    )
    return [(e, u) for e, u in rows.all()], int(total or 0)


@functools.lru_cache(maxsize=64)  # 16 combinations per dialect (one per engine)
def _nearest_sql(
    dialect: Dialect, own: bool, tags: bool, quality: bool, exclude: bool
) -> tuple[str, dict[str, Any]]:
    """The nearest-neighbour SELECT for one combination of filters, compiled once.

    Returns the SQL and the values of its constant parameters (visibility's 'public' ...);
    the caller adds embedding, viewer, tags, min_quality, exclude and limit.
    """
    viewer = bindparam("viewer", type_=Uuid) if own else None
    distance = Experience.embedding.cosine_distance(bindparam("embedding")).label("distance")
    conditions = [experience_discoverable_by(viewer), Experience.embedding.is_not(None)]
    if tags:
        conditions.append(Experience.tags.contains(bindparam("tags", type_=ARRAY(Text))))
    if quality:
        conditions.append(Experience.quality_score >= bindparam("min_quality", type_=Float))
    if exclude:
        conditions.append(Experience.id != bindparam("exclude", type_=Uuid))
    statement = (
        select(Experience.id, distance)
        .where(and_(*conditions))
        .order_by(distance)
        .limit(bindparam("limit", type_=Integer))
    )
    compiled = statement.compile(dialect=dialect)
    return str(compiled), dict(compiled.params)


async def nearest(
    vectors: AsyncConnection,
    embedding: Sequence[float],
    *,
    viewer: uuid.UUID | None,
    tags: Sequence[str] = (),
    min_quality: float | None = None,
    limit: int,
    exclude: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, float]]:
    """Cosine-nearest visible experiences (HNSW), filters applied inside the index scan.

    ``vectors`` is a connection of ``database.vector_engine``, whose session settings (no
    sequential scans, ef_search, iterative scans) this one statement relies on. It is sent
    through the psycopg connection directly, compiled once per combination of filters: on
    the hot path of every search, SQLAlchemy's expression building and execution layer cost
    about 1.5 ms here (docs/search.md).
    """
    own, quality = viewer is not None, min_quality is not None and min_quality > 0
    sql, constants = _nearest_sql(vectors.dialect, own, bool(tags), quality, exclude is not None)
    params = {
        **constants,
        "embedding": "[" + ",".join(map(str, embedding)) + "]",  # pgvector's text form
        "viewer": viewer,
        "tags": list(tags),
        "min_quality": min_quality,
        "exclude": exclude,
        "limit": limit,
    }
    driver = (await vectors.get_raw_connection()).driver_connection
    assert driver is not None, "a pooled connection has its psycopg connection"
    async with driver.cursor() as cursor:
        await cursor.execute(sql, params)
        rows: list[tuple[uuid.UUID, float]] = await cursor.fetchall()
    # An iterative scan in relaxed order may return a few rows out of order; sort them here.
    return [(i, 1.0 - float(d)) for i, d in sorted(rows, key=lambda row: float(row[1]))]


async def set_archived(db: AsyncSession, exp: Experience, archived: bool) -> None:
    """Archive or unarchive; the time of a repeated archive is the first one's."""
    if archived and exp.archived_at is None:
        exp.archived_at = datetime.now(UTC)
    elif not archived:
        exp.archived_at = None
    await db.flush()
    await db.refresh(exp)


async def vote_of(db: AsyncSession, experience_id: uuid.UUID, agent_id: uuid.UUID) -> Vote | None:
    return await db.get(Vote, (experience_id, agent_id))


async def counted_reports(
    db: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[bool, datetime, dict[str, Any] | None]]]:
    """Each non-author agent's latest report per experience: (success, when, environment)."""
    found: dict[uuid.UUID, list[tuple[bool, datetime, dict[str, Any] | None]]] = {
        i: [] for i in ids
    }
    if not ids:
        return found
    rows = await db.execute(
        select(Outcome.experience_id, Outcome.success, Outcome.created_at, Outcome.environment)
        .join(Experience, Experience.id == Outcome.experience_id)
        .where(Outcome.experience_id.in_(ids), Outcome.agent_id != Experience.agent_id)
        .ext(distinct_on(Outcome.experience_id, Outcome.agent_id))
        .order_by(
            Outcome.experience_id,
            Outcome.agent_id,
            Outcome.created_at.desc(),
            Outcome.id.desc(),
        )
    )
    for exp_id, success, when, environment in rows.all():
        found[exp_id].append((bool(success), when, environment))
    return found


async def cast_votes(
    db: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[bool, datetime]]]:
    """Every vote per experience: (is it up, when it was cast or last changed)."""
    found: dict[uuid.UUID, list[tuple[bool, datetime]]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await db.execute(
        select(Vote.experience_id, Vote.vote_type, Vote.created_at).where(
            Vote.experience_id.in_(ids)
        )
    )
    for exp_id, vote_type, when in rows.all():
        found[exp_id].append((vote_type == "up", when))
    return found


async def due_for_rescore(
    db: AsyncSession, scored_before: datetime, half_life_days: float, limit: int
) -> list[Experience]:
    """Experiences with evidence whose stored score is older than ``scored_before`` (or was
    never weighted, or with another half-life), locked; rows another writer holds are
    skipped (its own rescore is newer)."""
    evidence = (
        Experience.success_count
        + Experience.failure_count
        + Experience.up_votes
        + Experience.down_votes
    ) > 0
    due = or_(
        Experience.scored_at.is_(None),
        Experience.scored_at < scored_before,
        Experience.weighted["half_life_days"].as_float() != half_life_days,
    )
    rows = await db.execute(
        select(Experience)
        .options(*card_only())
        .where(evidence, due)
        .order_by(Experience.scored_at.asc().nulls_first(), Experience.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars().all())
