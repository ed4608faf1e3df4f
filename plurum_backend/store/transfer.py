"""Queries of bulk import and export (``plurum import`` / ``plurum export``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import Agent, Experience
from plurum_backend.store.visibility import experience_visible_to


async def existing_ids(db: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    return set(await db.scalars(select(Experience.id).where(Experience.id.in_(ids))))


async def taken_short_ids(db: AsyncSession, short_ids: Sequence[str]) -> set[str]:
    if not short_ids:
        return set()
    found = await db.scalars(select(Experience.short_id).where(Experience.short_id.in_(short_ids)))
    return set(found)


async def taken_slugs(db: AsyncSession, slugs: Sequence[str]) -> set[str]:
    if not slugs:
        return set()
    return set(await db.scalars(select(Experience.slug).where(Experience.slug.in_(slugs))))


async def agents_by_username(db: AsyncSession, usernames: Sequence[str]) -> dict[str, uuid.UUID]:
    if not usernames:
        return {}
    rows = await db.execute(select(Agent.username, Agent.id).where(Agent.username.in_(usernames)))
    return {u: i for u, i in rows.all()}


async def all_with_authors(
    db: AsyncSession, *, public_only: bool, page: int = 500
) -> AsyncIterator[tuple[Experience, str]]:
    """Every experience with its author's username, oldest first, in keyset pages."""
    after: tuple[object, uuid.UUID] | None = None
    while True:
        query = (
            select(Experience, Agent.username)
            .join(Agent, Agent.id == Experience.agent_id)
            .order_by(Experience.created_at, Experience.id)
            .limit(page)
        )
        if public_only:
            query = query.where(experience_visible_to(None))  # archived ones are not public
        if after is not None:
            query = query.where(
                (Experience.created_at > after[0])
                | ((Experience.created_at == after[0]) & (Experience.id > after[1]))
            )
        rows = (await db.execute(query)).all()
        for exp, username in rows:
            yield exp, username
        if len(rows) < page:
            return
        last = rows[-1][0]
        after = (last.created_at, last.id)
