"""Hybrid search: Tantivy BM25 and pgvector cosine, fused by ``search.fusion``.

Both retrievals apply visibility, tag and quality filters inside the index, so filtered-out
documents never crowd a match out of the candidate list. ``rank`` is the one ranking path:
the API's search, a session's relevant experiences and the quality benchmark all call it.
How the settings were chosen, with the measurements, is in docs/search.md.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Literal

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.runtime import Plurum
from plurum_backend.search.fusion import Fused, Hit, Tuning, fuse_hits
from plurum_backend.services import render, usage
from plurum_backend.store import experiences as store
from plurum_backend.store.visibility import audience_for

Mode = Literal["hybrid", "fulltext", "vector"]
TUNING = Tuning()
CANDIDATES = TUNING.depth

__all__ = [
    "CANDIDATES",
    "TUNING",
    "Candidates",
    "Fused",
    "Mode",
    "Tuning",
    "candidates",
    "normalize_tags",
    "rank",
    "search",
]


def normalize_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip().lower()
        if clean:
            seen.setdefault(clean, None)
    return list(seen)


@dataclass(frozen=True)
class Candidates:
    fulltext: list[Hit]
    vector: list[Hit]


async def candidates(
    plurum: Plurum,
    *,
    query: str,
    viewer: uuid.UUID | None,
    tags: list[str],
    min_quality: float | None,
    depth: int,
    mode: Mode = "hybrid",
) -> Candidates:
    """Each side's filtered top ``depth``, best first, with its own score.

    Tantivy runs in a worker thread while PostgreSQL answers the vector query.
    """
    bm25: asyncio.Future[list[tuple[str, float]]] | None = None
    if mode != "vector":
        audience = audience_for(viewer)
        bm25 = asyncio.ensure_future(
            anyio.to_thread.run_sync(
                lambda: plurum.index.search(
                    query, audience=audience, tags=tags, min_quality=min_quality, limit=depth
                )
            )
        )
    vector: list[Hit] = []
    try:
        if mode != "fulltext":
            embedding = await plurum.embedder.aembed_query(query)
            async with plurum.vectors.connect() as vectors:
                nearest = await store.nearest(
                    vectors,
                    embedding.tolist(),
                    viewer=viewer,
                    tags=tags,
                    min_quality=min_quality,
                    limit=depth,
                )
            vector = [Hit(doc_id, similarity) for doc_id, similarity in nearest]
    finally:
        found = await bm25 if bm25 is not None else []
    fulltext = [Hit(uuid.UUID(doc_id), score) for doc_id, score in found]
    return Candidates(fulltext, vector)


async def rank(
    plurum: Plurum,
    *,
    query: str,
    viewer: uuid.UUID | None,
    tags: list[str] = [],  # noqa: B006 - never mutated
    min_quality: float | None = None,
    mode: Mode = "hybrid",
    tuning: Tuning = TUNING,
) -> list[Fused]:
    """Every candidate, best first, with the rank each side gave it."""
    found = await candidates(
        plurum,
        query=query,
        viewer=viewer,
        tags=normalize_tags(tags),
        min_quality=min_quality,
        depth=tuning.depth,
        mode=mode,
    )
    return fuse_hits(query, found.fulltext, found.vector, tuning)


async def search(
    plurum: Plurum, db: AsyncSession, viewer: uuid.UUID | None, body: s.SearchRequest
) -> s.SearchResponse:
    ranked = await rank(
        plurum,
        query=body.query,
        viewer=viewer,
        tags=body.tags,
        min_quality=body.min_quality_score,
    )
    # A hit the local index still holds after another replica hid it is dropped by the
    # visibility check here; then the next ones are read, until `limit` are found.
    results: list[s.SearchHit] = []
    start = 0
    while len(results) < body.limit and start < len(ranked):
        chunk = ranked[start : start + body.limit - len(results)]
        start += len(chunk)
        rows = await store.with_authors(db, [f.id for f in chunk], viewer)
        results += [
            render.search_hit(*rows[f.id], f.score, f.fulltext_rank, f.vector_rank)
            for f in chunk
            if f.id in rows
        ]
    await usage.record_search(
        db,
        agent_id=viewer,
        query=body.query,
        hits=results,
        record_queries=plurum.settings.record_queries,
    )
    return s.SearchResponse(query=body.query, results=results)
