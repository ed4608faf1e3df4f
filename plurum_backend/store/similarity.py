"""Exact cosine similarities of a query to given experiences (search's ``similarity``).

The vector retrieval returns a cosine for the experiences it found; the ones only BM25 found
get theirs here, by primary key, so every hit shown carries the same kind of similarity.
``item_cosines`` gives the cosine of the query to each item vector (dead end, gotcha,
breakthrough) of given experiences: the other vectors of a multi-vector document.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

_COSINES = (
    "SELECT id, 1 - (embedding <=> %(embedding)s::vector) FROM experiences "
    "WHERE id = ANY(%(ids)s) AND embedding IS NOT NULL"
)

_ITEM_COSINES = (
    "SELECT experience_id, array_agg(1 - (embedding <=> %(embedding)s::vector)) "
    "FROM experience_items WHERE experience_id = ANY(%(ids)s) AND embedding IS NOT NULL "
    "GROUP BY experience_id"
)


async def _rows(
    vectors: AsyncConnection, sql: str, embedding: str, ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, object]]:
    driver = (await vectors.get_raw_connection()).driver_connection
    assert driver is not None, "a pooled connection has its psycopg connection"
    async with driver.cursor() as cursor:
        await cursor.execute(sql, {"embedding": embedding, "ids": list(ids)})
        rows: list[tuple[uuid.UUID, object]] = await cursor.fetchall()
    return rows


async def cosines(
    vectors: AsyncConnection, embedding: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, float]:
    """``embedding`` in pgvector's text form; experiences without a vector are left out."""
    if not ids:
        return {}
    rows = await _rows(vectors, _COSINES, embedding, ids)
    return {i: float(c) for i, c in rows}  # type: ignore[arg-type]


async def item_cosines(
    vectors: AsyncConnection, embedding: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[float]]:
    """The cosine of ``embedding`` to every item vector of each experience that has items
    (one statement over the items' primary key; experiences without items are left out)."""
    if not ids:
        return {}
    rows = await _rows(vectors, _ITEM_COSINES, embedding, ids)
    return {i: [float(c) for c in cs] for i, cs in rows}  # type: ignore[attr-defined]
