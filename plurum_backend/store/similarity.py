"""Exact cosine similarities of a query to given experiences (search's ``similarity``).

The vector retrieval returns a cosine for the experiences it found; the ones only BM25 found
get theirs here, by primary key, so every hit shown carries the same kind of similarity.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

_COSINES = (
    "SELECT id, 1 - (embedding <=> %(embedding)s::vector) FROM experiences "
    "WHERE id = ANY(%(ids)s) AND embedding IS NOT NULL"
)


async def cosines(
    vectors: AsyncConnection, embedding: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, float]:
    """``embedding`` in pgvector's text form; experiences without a vector are left out."""
    if not ids:
        return {}
    driver = (await vectors.get_raw_connection()).driver_connection
    assert driver is not None, "a pooled connection has its psycopg connection"
    async with driver.cursor() as cursor:
        await cursor.execute(_COSINES, {"embedding": embedding, "ids": list(ids)})
        rows: list[tuple[uuid.UUID, float]] = await cursor.fetchall()
    return {i: float(c) for i, c in rows}
