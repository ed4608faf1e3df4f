"""Hybrid search: Tantivy BM25 and pgvector cosine, fused by reciprocal rank fusion.

Both retrievals apply visibility, tag and quality filters inside the index, so filtered-out
documents never crowd a match out of the candidate list. Each side contributes
``weight / (RRF_K + rank)`` for the rank at which it found a document (1-based).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.runtime import Plurum
from plurum_backend.services import render
from plurum_backend.store import experiences as store
from plurum_backend.store.visibility import audience_for

RRF_K = 60
CANDIDATES = 100
FULLTEXT_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0


def normalize_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip().lower()
        if clean:
            seen.setdefault(clean, None)
    return list(seen)


@dataclass(frozen=True)
class Fused:
    id: uuid.UUID
    score: float
    fulltext_rank: int | None
    vector_rank: int | None


def fuse(fulltext: list[uuid.UUID], vector: list[uuid.UUID]) -> list[Fused]:
    ft_rank = {doc: i + 1 for i, doc in enumerate(fulltext)}
    vec_rank = {doc: i + 1 for i, doc in enumerate(vector)}
    fused = []
    for doc in dict.fromkeys([*fulltext, *vector]):
        score = 0.0
        if doc in ft_rank:
            score += FULLTEXT_WEIGHT / (RRF_K + ft_rank[doc])
        if doc in vec_rank:
            score += VECTOR_WEIGHT / (RRF_K + vec_rank[doc])
        fused.append(Fused(doc, score, ft_rank.get(doc), vec_rank.get(doc)))
    fused.sort(key=lambda f: (-f.score, min(f.fulltext_rank or 10**9, f.vector_rank or 10**9)))
    return fused


async def retrieve(
    plurum: Plurum,
    db: AsyncSession,
    *,
    query: str,
    viewer: uuid.UUID | None,
    tags: list[str],
    min_quality: float | None,
    depth: int = CANDIDATES,
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The two candidate lists, best first: (full-text ids, vector ids)."""
    vector = await plurum.embedder.aembed_query(query)
    hits = await anyio.to_thread.run_sync(
        lambda: plurum.index.search(
            query, audience=audience_for(viewer), tags=tags, min_quality=min_quality, limit=depth
        )
    )
    nearest = await store.nearest(
        db, vector.tolist(), viewer=viewer, tags=tags, min_quality=min_quality, limit=depth
    )
    return [uuid.UUID(doc_id) for doc_id, _ in hits], [doc_id for doc_id, _ in nearest]


async def search(
    plurum: Plurum, db: AsyncSession, viewer: uuid.UUID | None, body: s.SearchRequest
) -> s.SearchResponse:
    tags = normalize_tags(body.tags)
    fulltext, vector = await retrieve(
        plurum,
        db,
        query=body.query,
        viewer=viewer,
        tags=tags,
        min_quality=body.min_quality_score,
    )
    ranked = fuse(fulltext, vector)
    rows = await store.with_authors(db, [f.id for f in ranked[: body.limit * 2]], viewer)
    results: list[s.SearchHit] = []
    for f in ranked:
        if f.id in rows and len(results) < body.limit:
            exp, username = rows[f.id]
            results.append(
                render.search_hit(exp, username, f.score, f.fulltext_rank, f.vector_rank)
            )
    return s.SearchResponse(query=body.query, results=results)
