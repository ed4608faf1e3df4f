"""The two queries of the readiness probe."""

from __future__ import annotations

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from plurum_backend.store.changes import Cursor
from plurum_backend.store.models import SearchChange


async def ping(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT 1"))


async def changes_after(conn: AsyncConnection, cursor: Cursor, cap: int) -> int:
    """How many search changes lie past ``cursor`` (counted up to ``cap``)."""
    past = (
        select(SearchChange.seq)
        .where(tuple_(SearchChange.xid, SearchChange.seq) > tuple_(*cursor))
        .limit(cap)
        .subquery()
    )
    return int(await conn.scalar(select(func.count()).select_from(past)) or 0)
