"""Experiences by the errors they quote (``experiences.signature_keys``, GIN-indexed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from plurum_backend.store.models import Agent, Experience
from plurum_backend.store.visibility import experience_discoverable_by


async def stored_signature(
    db: AsyncSession, signature_id: str, viewer: uuid.UUID | None
) -> dict[str, Any] | None:
    """The stored form of a signature, from an experience the viewer may find that quotes it."""
    query = (
        select(Experience.error_signatures)
        .where(Experience.signature_keys.contains([signature_id]))
        .where(experience_discoverable_by(viewer))
        .limit(1)
    )
    found = (await db.execute(query)).scalar_one_or_none()
    return next((sig for sig in found or [] if sig.get("id") == signature_id), None)


def _quoting(
    keys: list[str],
    viewer: uuid.UUID | None,
    tags: Sequence[str] = (),
    min_quality: float | None = None,
) -> list[ColumnElement[bool]]:
    """Overlapping ``keys``, findable by the viewer, within search's filters."""
    conditions = [Experience.signature_keys.overlap(keys), experience_discoverable_by(viewer)]
    if tags:
        conditions.append(Experience.tags.contains(list(tags)))
    if min_quality is not None and min_quality > 0:
        conditions.append(Experience.quality_score >= min_quality)
    return conditions


_BEST_FIRST = (Experience.quality_score.desc(), Experience.created_at.desc())


async def quoting(
    db: AsyncSession, keys: list[str], viewer: uuid.UUID | None, limit: int
) -> list[tuple[Experience, str]]:
    """Experiences whose errors overlap ``keys``, best quality first."""
    if not keys:
        return []
    query = (
        select(Experience, Agent.username)
        .join(Agent, Agent.id == Experience.agent_id)
        .where(*_quoting(keys, viewer))
        .order_by(*_BEST_FIRST)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await db.execute(query)).all()]


async def quoting_ids(
    conn: AsyncConnection,
    keys: list[str],
    *,
    viewer: uuid.UUID | None,
    tags: Sequence[str],
    min_quality: float | None,
    limit: int,
) -> list[uuid.UUID]:
    """For search: the experiences that quote one of the query's errors, with its filters."""
    if not keys:
        return []
    query = (
        select(Experience.id)
        .where(*_quoting(keys, viewer, tags, min_quality))
        .order_by(*_BEST_FIRST)
        .limit(limit)
    )
    return list((await conn.execute(query)).scalars())
