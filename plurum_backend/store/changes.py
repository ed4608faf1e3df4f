"""Queries of the search change sequence (see SearchChange)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from plurum_backend.store.models import Experience, SearchChange

Cursor = tuple[int, int]


async def settled_changes(
    db: AsyncSession, after: Cursor, limit: int
) -> list[tuple[int, int, uuid.UUID]]:
    """Changes past ``after`` whose writing transaction, and every older one, has ended."""
    horizon = text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    rows = await db.execute(
        select(SearchChange.xid, SearchChange.seq, SearchChange.experience_id)
        .where(tuple_(SearchChange.xid, SearchChange.seq) > tuple_(*after))
        .where(SearchChange.xid < horizon)
        .order_by(SearchChange.xid, SearchChange.seq)
        .limit(limit)
    )
    return [(int(x), int(s), e) for x, s, e in rows.all()]


async def experiences_by_ids(db: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Experience]:
    query = select(Experience).options(defer(Experience.embedding)).where(Experience.id.in_(ids))
    result = await db.scalars(query)
    return list(result)


async def experience_ids_page(
    db: AsyncSession, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    query = select(Experience.id).order_by(Experience.id).limit(limit)
    if after is not None:
        query = query.where(Experience.id > after)
    return list(await db.scalars(query))


async def count_experiences(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Experience)) or 0)


async def head(db: AsyncSession) -> Cursor:
    """The cursor past every change settled so far (a full rebuild starts from here)."""
    row = (
        await db.execute(
            select(SearchChange.xid, SearchChange.seq)
            .where(SearchChange.xid < text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
            .order_by(SearchChange.xid.desc(), SearchChange.seq.desc())
            .limit(1)
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)
