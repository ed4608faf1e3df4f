"""Exact cosine similarities of a query to given experiences (search's ``similarity``).

The vector retrieval returns a cosine for the experiences it found; the ones only BM25 found
get theirs here, by primary key, so every hit shown carries the same kind of similarity.
``cosines_and_items`` also gives the cosine of the query to each item vector (dead end,
gotcha, breakthrough) of given experiences: the other vectors of a multi-vector document.
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
# Both in one round trip (search's hot path): the whole-text cosine of the ``missing``
# experiences (false) and the cosines of the item vectors of all ``ids`` (true).
_BOTH = (
    "SELECT id, false, ARRAY[1 - (embedding <=> %(embedding)s::vector)] FROM experiences "
    "WHERE id = ANY(%(missing)s) AND embedding IS NOT NULL "
    "UNION ALL " + _ITEM_COSINES.replace("SELECT experience_id,", "SELECT experience_id, true,")
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


async def cosines_and_items(
    vectors: AsyncConnection,
    embedding: str,
    missing: Sequence[uuid.UUID],
    ids: Sequence[uuid.UUID],
) -> tuple[dict[uuid.UUID, float], dict[uuid.UUID, list[float]]]:
    """The whole-text cosine of ``missing`` (as ``cosines``) and the cosine of every item
    vector of ``ids`` (experiences without items are left out), in one statement."""
    if not missing and not ids:
        return {}, {}
    driver = (await vectors.get_raw_connection()).driver_connection
    assert driver is not None, "a pooled connection has its psycopg connection"
    params = {"embedding": embedding, "missing": list(missing), "ids": list(ids)}
    async with driver.cursor() as cursor:
        await cursor.execute(_BOTH, params)
        rows: list[tuple[uuid.UUID, bool, list[float]]] = await cursor.fetchall()
    whole = {i: float(cs[0]) for i, item, cs in rows if not item}
    items = {i: [float(c) for c in cs] for i, item, cs in rows if item}
    return whole, items


async def cosines(
    vectors: AsyncConnection, embedding: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, float]:
    """``embedding`` in pgvector's text form; experiences without a vector are left out."""
    if not ids:
        return {}
    rows = await _rows(vectors, _COSINES, embedding, ids)
    return {i: float(c) for i, c in rows}  # type: ignore[arg-type]


_CLUSTERS = (
    "SELECT experience_id, cluster_id FROM cluster_members WHERE experience_id = ANY(%(ids)s)"
)


async def clusters_of(
    vectors: AsyncConnection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Which of ``ids`` are in a cluster of near-duplicates, and which (as
    ``store.clusters.cluster_of``, on a vector connection: search asks it for every
    candidate while it ranks them, outside the request's transaction)."""
    if not ids:
        return {}
    return dict(await _rows(vectors, _CLUSTERS, "", ids))  # type: ignore[arg-type]
