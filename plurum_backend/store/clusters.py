"""Queries of duplicate linking: goal/solution vectors, fix vectors, cluster membership."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import (
    Agent,
    ClusterMember,
    DuplicateVectors,
    Experience,
    ExperienceItem,
    Outcome,
    card_only,
)
from plurum_backend.store.visibility import experience_discoverable_by, experience_listed_for


@dataclass(frozen=True)
class Member:
    """One member of a cluster as a viewer may see it."""

    cluster_id: uuid.UUID
    experience: Experience
    username: str
    discoverable: bool  # may stand for the cluster in search (not quarantined, ...)


@dataclass(frozen=True)
class Report:
    experience_id: uuid.UUID
    agent_id: uuid.UUID
    success: bool
    created_at: datetime
    id: uuid.UUID


async def vectors_of(
    db: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Any, Any | None]]:
    """(goal vector, solution vector or None) of those of ``ids`` that have them stored."""
    if not ids:
        return {}
    rows = await db.execute(
        select(
            DuplicateVectors.experience_id, DuplicateVectors.goal, DuplicateVectors.solution
        ).where(DuplicateVectors.experience_id.in_(list(ids)))
    )
    return {i: (goal, solution) for i, goal, solution in rows.all()}


async def add_vectors(
    db: AsyncSession, experience_id: uuid.UUID, goal: Sequence[float], solution: Any | None
) -> None:
    """Store them; a concurrent writer that stored them first wins (same text, same vectors)."""
    await db.execute(
        insert(DuplicateVectors)
        .values(
            experience_id=experience_id,
            goal=[float(x) for x in goal],
            solution=None if solution is None else [float(x) for x in solution],
        )
        .on_conflict_do_nothing(index_elements=[DuplicateVectors.experience_id])
    )


@dataclass(frozen=True)
class Described:
    """What linking reads of a candidate besides its vectors."""

    goal: str
    solution: str | None
    environment: dict[str, Any] | None
    held: bool


async def described(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Described]:
    if not ids:
        return {}
    rows = await db.execute(
        select(
            Experience.id,
            Experience.goal,
            Experience.solution,
            Experience.environment,
            Experience.held_at.is_not(None),
        ).where(Experience.id.in_(list(ids)))
    )
    return {i: Described(goal, sol, env, bool(held)) for i, goal, sol, env, held in rows.all()}


async def breakthrough_vectors(
    db: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Any]]:
    if not ids:
        return {}
    rows = await db.execute(
        select(ExperienceItem.experience_id, ExperienceItem.embedding).where(
            ExperienceItem.experience_id.in_(list(ids)),
            ExperienceItem.kind == "breakthrough",
            ExperienceItem.embedding.is_not(None),  # nullable since 0022 (reembed's swap)
        )
    )
    found: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    for experience_id, vector in rows.all():
        found[experience_id].append(vector)
    return found


async def join(
    db: AsyncSession,
    experience_id: uuid.UUID,
    target_id: uuid.UUID,
    goal_similarity: float,
    fix_similarity: float,
) -> uuid.UUID:
    """Put ``experience_id`` in ``target_id``'s cluster (started by the target if it has none)."""
    await db.execute(
        insert(ClusterMember)
        .values(experience_id=target_id, cluster_id=target_id)
        .on_conflict_do_nothing(index_elements=[ClusterMember.experience_id])
    )
    cluster_id = await db.scalar(
        select(ClusterMember.cluster_id).where(ClusterMember.experience_id == target_id)
    )
    assert cluster_id is not None, "the target's row was just ensured"
    await db.execute(
        insert(ClusterMember).values(
            experience_id=experience_id,
            cluster_id=cluster_id,
            linked_to=target_id,
            goal_similarity=goal_similarity,
            fix_similarity=fix_similarity,
        )
    )
    return cluster_id


async def cluster_of(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The cluster of each of ``ids`` in one (one light statement: it runs on every search)."""
    if not ids:
        return {}
    rows = await db.execute(
        select(ClusterMember.experience_id, ClusterMember.cluster_id).where(
            ClusterMember.experience_id == any_(bindparam("ids", type_=ARRAY(Uuid)))
        ),
        {"ids": list(ids)},
    )
    return {e: c for e, c in rows.all()}


@dataclass(frozen=True)
class Touched:
    """The members of some clusters the viewer may list, with their outcome reports."""

    members: list[Member]
    reports: list[Report]


async def touching(
    db: AsyncSession, clusters: Sequence[uuid.UUID], viewer: uuid.UUID | None
) -> Touched:
    """One statement: the members of ``clusters`` the viewer may list, loaded for a card,
    with their reports as JSON."""
    if not clusters:
        return Touched([], [])
    report = func.json_build_array(
        Outcome.agent_id,
        Outcome.success,
        func.extract("epoch", Outcome.created_at),
        Outcome.id,
    )
    reports = (
        select(func.json_agg(report))
        .where(Outcome.experience_id == ClusterMember.experience_id)
        .correlate(ClusterMember)
        .scalar_subquery()
    )
    rows = await db.execute(
        select(
            ClusterMember.experience_id,
            ClusterMember.cluster_id,
            Experience,
            Agent.username,
            experience_discoverable_by(viewer),
            reports,
        )
        .join(Experience, Experience.id == ClusterMember.experience_id)
        .join(Agent, Agent.id == Experience.agent_id)
        .options(*card_only())
        .where(
            ClusterMember.cluster_id == any_(bindparam("clusters", type_=ARRAY(Uuid))),
            experience_listed_for(viewer),
        ),
        {"clusters": list(clusters)},
    )
    found = Touched([], [])
    for experience_id, cluster_id, exp, username, discoverable, made in rows.all():
        found.members.append(Member(cluster_id, exp, username, bool(discoverable)))
        for agent_id, success, epoch, report_id in made or []:
            found.reports.append(
                Report(
                    experience_id,
                    uuid.UUID(agent_id),
                    bool(success),
                    datetime.fromtimestamp(float(epoch), UTC),
                    uuid.UUID(report_id),
                )
            )
    return found
